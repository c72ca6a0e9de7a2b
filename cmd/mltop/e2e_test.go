package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// The end-to-end tests run mltop's own wiring (flags, config, the live
// adapters, poller, board, report and dashboard) against a fake Kubernetes
// API server, fake MLflow and Kubeflow Pipelines servers speaking their
// real JSON, and a real Prometheus scraping an exporter at known rates.
// Every expected figure is computed by hand from what the fakes serve.
//
// One Prometheus serves every subtest (starting it and waiting for its
// window to fill takes most of the run); each subtest has fakes of its own,
// and its own proxy in front of Prometheus, so the fault of one never
// reaches another.

// world is one platform: the cluster, MLflow, KFP and a proxy in front of
// the shared Prometheus.
type world struct {
	now        time.Time
	oomAt      time.Time
	cluster    *fakeCluster
	mlflow     *fakeMLflow
	kfp        *fakeKFP
	prom       *faultyServer
	kubeconfig string
}

func newWorld(t *testing.T, pf *promFixture) *world {
	t.Helper()
	now := time.Now()
	w := &world{now: now, oomAt: now.Add(-time.Hour).Truncate(time.Second)}
	w.cluster = startFakeCluster(t, inferenceServiceFixtures(t), podFixtures(t, w.oomAt))
	w.mlflow = startFakeMLflow(t, newMLflowFixture(now))
	w.kfp = startFakeKFP(t, newKFPFixture(now))
	w.prom = pf.front(t)
	w.kubeconfig = w.cluster.kubeconfig(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests the fake API server did not expect: %v", w.cluster.unexpected)
		}
	})
	return w
}

// args is the command line that points mltop at the world.
func (w *world) args() []string {
	return []string{
		"--kubeconfig", w.kubeconfig, "--prometheus-url", w.prom.URL(),
		"--mlflow-url", w.mlflow.URL(), "--kfp-url", w.kfp.URL(),
	}
}

// server returns the fake behind a source.
func (w *world) server(id sources.SourceID) *faultyServer {
	switch id {
	case sources.SourceKube:
		return w.cluster.server
	case sources.SourceProm:
		return w.prom
	case sources.SourceMLflow:
		return w.mlflow.server
	}
	return w.kfp.server
}

// writeConfig writes a config file and returns the environment that
// points mltop at it, with HOME and XDG directories in t's temp dirs.
func writeConfig(t *testing.T, yaml string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"MLTOP_CONFIG": path, "HOME": dir,
		"XDG_CONFIG_HOME": filepath.Join(dir, "config"), "XDG_STATE_HOME": filepath.Join(dir, "state"),
	}
}

// snapshotConfig sets only the rate window: the default 5m would reach
// back before Prometheus started.
func snapshotConfig() string {
	return "prometheus:\n  window: " + e2eWindow.String() + "\n"
}

// pollConfig makes every source refresh each second (the minimum) with
// short timeouts, so failures show within a few seconds.
func pollConfig() string {
	return `refresh: 1s
kubernetes:
  timeout: 3s
prometheus:
  window: ` + e2eWindow.String() + `
  timeout: 2s
mlflow:
  refresh: 1s
  timeout: 2s
kfp:
  refresh: 1s
  timeout: 2s
`
}

func TestLiveEndToEnd(t *testing.T) {
	start := time.Now()
	pf := startPromFixture(t)
	t.Logf("prometheus ready with %s scraped in %s", e2eWindow, time.Since(start).Round(time.Millisecond))

	// The snapshots run alone, before the others: each command points
	// klog's process-wide logger at its log file (openLog), which informers
	// running meanwhile read. The absent case also sets the process's HOME.
	t.Run("absent sources", func(t *testing.T) { testAbsentSources(t, pf) })
	t.Run("snapshot", func(t *testing.T) { testSnapshot(t, pf) })
	t.Run("snapshot through the API server proxy", func(t *testing.T) { testSnapshotThroughProxy(t, pf) })

	// The other cases spend their time waiting on refresh intervals and
	// timeouts, not on the CPU, so they all run at once (t.Parallel would
	// run only GOMAXPROCS of them at a time).
	var wg sync.WaitGroup
	concurrently := func(name string, test func(t *testing.T)) {
		wg.Go(func() { t.Run(name, test) })
	}
	concurrently("dashboard", func(t *testing.T) { testDashboard(t, pf) })
	// client-go's reflector backs off longer after each failed list or
	// watch (up to 30 s, reset after 2 minutes of calm), so each fault of
	// the cluster gets a cluster of its own; the other sources' pollers
	// back off from the last failure only, so each goes through its faults
	// in turn.
	concurrently("degrade/kube", func(t *testing.T) { testDegradeEach(t, pf, sources.SourceKube, faultsOf(sources.SourceKube)) })
	for _, id := range []sources.SourceID{sources.SourceProm, sources.SourceMLflow, sources.SourceKFP} {
		concurrently("degrade/"+string(id), func(t *testing.T) { testDegradeInTurn(t, pf, id, faultsOf(id)) })
	}
	for _, id := range sources.AllSources() {
		concurrently(fmt.Sprintf("down/%s/%s", id, refused), func(t *testing.T) { testDown(t, pf, id, refused) })
	}
	concurrently(fmt.Sprintf("down/%s/%s", sources.SourceKube, hang), func(t *testing.T) { testDown(t, pf, sources.SourceKube, hang) })
	wg.Wait()
	t.Logf("all cases done in %s", time.Since(start).Round(time.Millisecond))
}

// ---------------------------------------------------------------- A: snapshot

// snapshotDoc is the part of `snapshot -o json` the tests read.
type snapshotDoc struct {
	TakenAt    time.Time `json:"taken_at"`
	Context    string    `json:"context"`
	Namespaces []string  `json:"namespaces"`
	Pipelines  struct {
		WindowSeconds  float64  `json:"window_seconds"`
		Total          int      `json:"total"`
		Succeeded      int      `json:"succeeded"`
		Failed         int      `json:"failed"`
		Running        int      `json:"running"`
		Other          int      `json:"other"`
		SuccessRate    *float64 `json:"success_rate"`
		AvgDuration    *float64 `json:"avg_duration_seconds"`
		P95Duration    *float64 `json:"p95_duration_seconds"`
		RecentFailures []struct {
			RunID              string `json:"run_id"`
			Name, State, Error string
		} `json:"recent_failures"`
	} `json:"pipelines"`
	Training struct {
		Experiment, Metric string
		Latest, Previous   *trainingRun
		Delta              *float64
		Runs               []trainingRun
	} `json:"training"`
	Registry struct {
		PromotedAlias string         `json:"promoted_alias"`
		Promoted      []modelVersion `json:"promoted"`
		Waiting       []modelVersion `json:"waiting"`
		OldestWait    *float64       `json:"oldest_wait_seconds"`
	} `json:"registry"`
	Serving []struct {
		Name, Mode     string
		Ready          bool
		MinReplicas    int      `json:"min_replicas"`
		MaxReplicas    int      `json:"max_replicas"`
		CanaryPercent  *int     `json:"canary_percent"`
		StableRevision string   `json:"stable_revision"`
		CanaryRevision string   `json:"canary_revision"`
		GPU            bool     `json:"gpu"`
		PodsReady      int      `json:"pods_ready"`
		PodsTotal      int      `json:"pods_total"`
		OOMKills       int      `json:"oom_kills_24h"`
		Traffic        *traffic `json:"traffic"`
	} `json:"serving"`
	Canary []struct {
		Service    string
		Percent    int
		Stable     revision
		Canary     revision
		ErrorRatio *float64 `json:"error_ratio"`
		Breached   bool
		Verdict    string
	} `json:"canary"`
	Infra struct {
		GPUs []struct {
			Node, Device, Model, Namespace, Pod string
			Util                                float64 `json:"util_percent"`
		} `json:"gpus"`
		GPUUtilMean *float64 `json:"gpu_util_mean"`
		OOMKills    []struct {
			Namespace, Pod, Container, Service string
			At                                 time.Time
		} `json:"oom_kills_24h"`
	} `json:"infra"`
	Alerts  []struct{ Severity, Pane, Object, Text, Action string } `json:"alerts"`
	Sources []struct {
		ID, Health, Error, Hint string
		Configured              bool
	} `json:"sources"`
}

type trainingRun struct {
	RunID    string   `json:"run_id"`
	Name     string   `json:"name"`
	Status   string   `json:"status"`
	Value    *float64 `json:"value"`
	KFPRunID string   `json:"kfp_run_id"`
}

type modelVersion struct {
	Model, Version, Status string
	Aliases                []string
	WaitSeconds            *float64 `json:"wait_seconds"`
}

type traffic struct {
	RPS       float64  `json:"rps"`
	ErrorRate *float64 `json:"error_rate"`
	P99Ms     *float64 `json:"p99_ms"`
}

type revision struct {
	Revision string
	Traffic  *traffic
}

// snapshotJSON runs `mltop snapshot -o json` with args and decodes it.
func snapshotJSON(t *testing.T, env map[string]string, args ...string) snapshotDoc {
	t.Helper()
	began := time.Now()
	code, out, errs := invoke(t, env, append([]string{"snapshot", "-o", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("snapshot: exit %d\nstderr: %s\nstdout: %s", code, errs, out)
	}
	t.Logf("snapshot took %s", time.Since(began).Round(time.Millisecond))
	var r snapshotDoc
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("snapshot is not JSON: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("snapshot:\n%s", out)
		}
	})
	return r
}

func testSnapshot(t *testing.T, pf *promFixture) {
	w := newWorld(t, pf)
	pf.covered(t)
	r := snapshotJSON(t, writeConfig(t, snapshotConfig()), w.args()...)

	for _, s := range r.Sources {
		if s.Health != "ok" || s.Error != "" {
			t.Errorf("source %s: %s %q", s.ID, s.Health, s.Error)
		}
	}
	if len(r.Sources) != 4 {
		t.Errorf("%d sources, want 4", len(r.Sources))
	}
	if r.Context != e2eContext || strings.Join(r.Namespaces, ",") != e2eNamespace {
		t.Errorf("context %q namespaces %v, want %s and [%s]", r.Context, r.Namespaces, e2eContext, e2eNamespace)
	}
	checkServing(t, r)
	checkCanary(t, r)
	checkInfra(t, r, w.oomAt)
	checkPipelines(t, r)
	if n := w.kfp.pagesServed(); n < 2 {
		t.Errorf("KFP served %d pages; 115 runs at the client's page size of 100 take two", n)
	}
	checkTraining(t, r)
	checkRegistry(t, r, w.now)
	checkAlerts(t, r)
}

func checkServing(t *testing.T, r snapshotDoc) {
	t.Helper()
	if len(r.Serving) != 3 {
		t.Fatalf("serving has %d rows, want churn-xgb, fraud-detector, recommender", len(r.Serving))
	}
	churn, fraud, reco := r.Serving[0], r.Serving[1], r.Serving[2]
	if churn.Name != "churn-xgb" || fraud.Name != "fraud-detector" || reco.Name != "recommender" {
		t.Fatalf("serving rows %s, %s, %s", churn.Name, fraud.Name, reco.Name)
	}
	// The raw deployment: Standard mode, KServe's default minReplicas 1,
	// the spec's canaryTrafficPercent (ignored in raw mode: no canary
	// revision), no queue-proxy series so no traffic figures.
	if churn.Mode != "Standard" || !churn.Ready || churn.MinReplicas != 1 || churn.MaxReplicas != 3 ||
		churn.CanaryPercent == nil || *churn.CanaryPercent != 10 || churn.CanaryRevision != "" ||
		churn.PodsReady != 1 || churn.PodsTotal != 1 || churn.Traffic != nil {
		t.Errorf("churn-xgb = %+v", churn)
	}
	if fraud.Mode != "Knative" || !fraud.Ready || fraud.MinReplicas != 1 || fraud.MaxReplicas != 4 ||
		fraud.CanaryPercent == nil || *fraud.CanaryPercent != 20 ||
		fraud.StableRevision != "fraud-detector-predictor-00001" || fraud.CanaryRevision != "fraud-detector-predictor-00002" ||
		fraud.PodsReady != 2 || fraud.PodsTotal != 2 || fraud.OOMKills != 0 {
		t.Errorf("fraud-detector = %+v", fraud)
	}
	checkTraffic(t, "fraud-detector", fraud.Traffic, 50, 0.06, 875)
	if reco.Mode != "Knative" || !reco.Ready || reco.MinReplicas != 2 || reco.MaxReplicas != 6 || reco.CanaryPercent != nil ||
		reco.StableRevision != "recommender-predictor-00003" || reco.CanaryRevision != "" || !reco.GPU ||
		reco.PodsReady != 2 || reco.PodsTotal != 2 || reco.OOMKills != 1 {
		t.Errorf("recommender = %+v", reco)
	}
	checkTraffic(t, "recommender", reco.Traffic, 20, 0, 24.7)
}

func checkCanary(t *testing.T, r snapshotDoc) {
	t.Helper()
	if len(r.Canary) != 1 {
		t.Fatalf("canary has %d entries, want fraud-detector's", len(r.Canary))
	}
	c := r.Canary[0]
	if c.Service != "fraud-detector" || c.Percent != 20 || c.Stable.Revision != "fraud-detector-predictor-00001" ||
		c.Canary.Revision != "fraud-detector-predictor-00002" || !c.Breached || c.Verdict != "BREACH" {
		t.Errorf("canary = %+v", c)
	}
	checkTraffic(t, "stable revision", c.Stable.Traffic, 40, 0.025, 400)
	checkTraffic(t, "canary revision", c.Canary.Traffic, 10, 0.2, 975)
	if c.ErrorRatio == nil {
		t.Error("canary error ratio is null")
	} else {
		within(t, "canary error ratio", *c.ErrorRatio, 8)
	}
}

func checkInfra(t *testing.T, r snapshotDoc, oomAt time.Time) {
	t.Helper()
	if len(r.Infra.GPUs) != 1 {
		t.Errorf("GPUs = %+v, want the one L4", r.Infra.GPUs)
	} else if g := r.Infra.GPUs[0]; g.Node != "gpu-node-1" || g.Device != "0" || g.Model != "NVIDIA L4" || g.Pod == "" || g.Util != 72 {
		t.Errorf("GPU = %+v", g)
	}
	if r.Infra.GPUUtilMean == nil || *r.Infra.GPUUtilMean != 72 {
		t.Errorf("GPU mean = %v, want 72", r.Infra.GPUUtilMean)
	}
	// The pipeline step's OOM kill is not an InferenceService pod's.
	if len(r.Infra.OOMKills) != 1 {
		t.Fatalf("OOM kills = %+v, want the recommender's one", r.Infra.OOMKills)
	}
	k := r.Infra.OOMKills[0]
	if k.Namespace != e2eNamespace || k.Pod != "recommender-predictor-00003-deployment-7c9d-abcde" ||
		k.Container != "kserve-container" || k.Service != "recommender" || !k.At.Equal(oomAt) {
		t.Errorf("OOM kill = %+v, want the recommender's at %s", k, oomAt.UTC())
	}
}

func checkPipelines(t *testing.T, r snapshotDoc) {
	t.Helper()
	p := r.Pipelines
	// newKFPFixture: 104 succeeded in 600 s, 10 failed in 240 s, 1 running
	// (finished_at 1970) that counts in neither rate nor duration; the
	// three runs of 30 h ago are outside the 24 h window.
	if p.WindowSeconds != 86400 || p.Total != 115 || p.Succeeded != 104 || p.Failed != 10 || p.Running != 1 || p.Other != 0 {
		t.Errorf("pipelines counts = %+v", p)
	}
	if p.SuccessRate == nil || *p.SuccessRate != 0.9123 { // 104/114 = 0.91228..., four decimals
		t.Errorf("success rate = %v, want 0.9123", p.SuccessRate)
	}
	if p.AvgDuration == nil || math.Abs(*p.AvgDuration-64800.0/114) > 1e-6 {
		t.Errorf("average duration = %v s, want 64800/114 = %.3f s", p.AvgDuration, 64800.0/114)
	}
	if p.P95Duration == nil || *p.P95Duration != 600 {
		t.Errorf("p95 duration = %v s, want 600 (rank 109 of 114)", p.P95Duration)
	}
	if len(p.RecentFailures) != 5 || p.RecentFailures[0].RunID != "run-005" ||
		p.RecentFailures[0].Error != "task 'train' failed: pod score-fraud-005-train OOMKilled" || p.RecentFailures[4].RunID != "run-049" {
		t.Errorf("recent failures = %+v, want run-005, -016, -027, -038, -049", p.RecentFailures)
	}
}

func checkTraining(t *testing.T, r snapshotDoc) {
	t.Helper()
	tr := r.Training
	if tr.Experiment != "recommendation-v3" || tr.Metric != "cv_f1_mean" || len(tr.Runs) != 7 {
		t.Errorf("training = %s %s with %d runs, want recommendation-v3 cv_f1_mean with 7", tr.Experiment, tr.Metric, len(tr.Runs))
	}
	// The newest run is still training and has no value: the latest
	// scored run is nightly-6.
	if tr.Latest == nil || tr.Latest.Name != "nightly-6" || tr.Latest.Value == nil || *tr.Latest.Value != 0.812 || tr.Latest.KFPRunID != "kfp-run-206" {
		t.Errorf("latest = %+v", tr.Latest)
	}
	if tr.Previous == nil || tr.Previous.Name != "nightly-5" || tr.Previous.Value == nil || *tr.Previous.Value != 0.842 {
		t.Errorf("previous = %+v", tr.Previous)
	}
	if tr.Delta == nil || *tr.Delta != -0.03 {
		t.Errorf("delta = %v, want -0.03", tr.Delta)
	}
	if n := len(tr.Runs); n > 0 && (tr.Runs[n-1].Status != "RUNNING" || tr.Runs[n-1].Value != nil) {
		t.Errorf("newest run = %+v, want RUNNING without a value", tr.Runs[n-1])
	}
}

func checkRegistry(t *testing.T, r snapshotDoc, now time.Time) {
	t.Helper()
	reg := r.Registry
	versions := func(vs []modelVersion) string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Model+" v"+v.Version)
		}
		return strings.Join(out, ", ")
	}
	if reg.PromotedAlias != "champion" || versions(reg.Promoted) != "fraud-detector v5, recommender v12" {
		t.Errorf("promoted (%s) = %s, want fraud-detector v5, recommender v12", reg.PromotedAlias, versions(reg.Promoted))
	}
	// v4 is archived and older than the champion, recommender v13 is still
	// registering: only fraud-detector v6 and v7 wait, oldest first.
	if versions(reg.Waiting) != "fraud-detector v6, fraud-detector v7" {
		t.Errorf("waiting = %s, want fraud-detector v6, fraud-detector v7", versions(reg.Waiting))
	}
	want := r.TakenAt.Sub(now.Add(-30 * time.Hour)).Seconds()
	if reg.OldestWait == nil || math.Abs(*reg.OldestWait-want) > 1 {
		t.Errorf("oldest wait = %v s, want %.0f (30 h)", reg.OldestWait, want)
	}
}

func checkAlerts(t *testing.T, r snapshotDoc) {
	t.Helper()
	want := []struct{ severity, pane, object, text string }{
		{"CRIT", "canary", "fraud-detector", "fraud-detector canary 5xx 20.0% vs stable 2.50% (8.0x) > 2x"},
		{"CRIT", "serving", "fraud-detector", "fraud-detector errors 6.00% > 1.00%"},
		{"WARN", "serving", "fraud-detector", "fraud-detector p99 875ms > 500ms"},
		{"WARN", "infra", "recommender", "recommender OOM killed x1 in 24h"},
		{"WARN", "pipelines", "pipelines", "success 91.2% < 95% (104/114 finished, 24h)"},
		{"WARN", "training", "cv_f1_mean", "cv_f1_mean 0.812 is 0.030 below previous 0.842 (limit 0.02, run nightly-6)"},
		{"WARN", "registry", "fraud-detector v6", "fraud-detector v6 waits 30h > 24h for promotion"},
	}
	if len(r.Alerts) != len(want) {
		t.Errorf("%d alerts, want %d: %+v", len(r.Alerts), len(want), r.Alerts)
	}
	for i := range min(len(r.Alerts), len(want)) {
		a, w := r.Alerts[i], want[i]
		if a.Severity != w.severity || a.Pane != w.pane || a.Object != w.object || a.Text != w.text {
			t.Errorf("alert %d = %s %s %s %q\n           want %s %s %s %q", i, a.Severity, a.Pane, a.Object, a.Text, w.severity, w.pane, w.object, w.text)
		}
	}
	if len(r.Alerts) > 0 && r.Alerts[0].Action != "rollback" {
		t.Errorf("the canary alert offers %q, want rollback", r.Alerts[0].Action)
	}
}

// checkTraffic compares figures within 2 %; an error rate of 0 must be 0.
func checkTraffic(t *testing.T, what string, got *traffic, rps, errRate, p99ms float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s has no traffic figures", what)
		return
	}
	within(t, what+" rps", got.RPS, rps)
	if got.ErrorRate == nil {
		t.Errorf("%s error rate is null", what)
	} else {
		within(t, what+" error rate", *got.ErrorRate, errRate)
	}
	if got.P99Ms == nil {
		t.Errorf("%s p99 is null", what)
	} else {
		within(t, what+" p99 ms", *got.P99Ms, p99ms)
	}
}

func within(t *testing.T, what string, got, want float64) {
	t.Helper()
	if want == 0 {
		if got != 0 {
			t.Errorf("%s = %g, want 0", what, got)
		}
		return
	}
	if math.Abs(got-want) > 0.02*math.Abs(want) {
		t.Errorf("%s = %g, want %g within 2%%", what, got, want)
	}
}

// testSnapshotThroughProxy reaches MLflow and KFP as in-cluster services
// through the API server's service proxy (a bastion with only a
// kubeconfig): the numbers are the same, and every request reached the
// fake API server with the kubeconfig's token (it refuses any other).
func testSnapshotThroughProxy(t *testing.T, pf *promFixture) {
	w := newWorld(t, pf)
	w.cluster.proxyTo("ml-platform/mlflow:5000", w.mlflow.URL())
	w.cluster.proxyTo("kubeflow/ml-pipeline:8888", w.kfp.URL())
	pf.covered(t)
	r := snapshotJSON(t, writeConfig(t, snapshotConfig()),
		"--kubeconfig", w.kubeconfig, "--prometheus-url", w.prom.URL(),
		"--mlflow-url", "k8s://ml-platform/mlflow:5000", "--kfp-url", "k8s://kubeflow/ml-pipeline:8888")
	for _, s := range r.Sources {
		if s.Health != "ok" {
			t.Errorf("source %s: %s %q", s.ID, s.Health, s.Error)
		}
	}
	checkTraining(t, r)
	checkRegistry(t, r, w.now)
	checkPipelines(t, r)
	// experiments/get-by-name, runs/search, registered-models/search, two
	// model-versions/search; KFP's two pages and one pipeline lookup.
	if n := w.cluster.proxiedRequests(); n < 8 {
		t.Errorf("%d requests went through the API server's proxy, want at least 8", n)
	}
}

// ---------------------------------------------------------------- D: absent sources

// testAbsentSources gives mltop Prometheus only. HOME is an empty directory
// for mltop and for client-go (which reads the process environment, not
// the injected one), so there is no kubeconfig either.
func testAbsentSources(t *testing.T, pf *promFixture) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod either
	prom := pf.front(t)
	env := writeConfig(t, snapshotConfig())
	env["HOME"] = home
	r := snapshotJSON(t, env, "--prometheus-url", prom.URL())

	byID := map[string]struct{ health, err, hint string }{}
	for _, s := range r.Sources {
		byID[s.ID] = struct{ health, err, hint string }{s.Health, s.Error, s.Hint}
	}
	if s := byID["prom"]; s.health != "ok" {
		t.Errorf("prom = %+v, want ok", s)
	}
	if s := byID["kube"]; s.health != "DOWN" || !strings.Contains(s.err, "no kubeconfig found") || !strings.Contains(s.err, "--kubeconfig") {
		t.Errorf("kube = %+v, want DOWN saying no kubeconfig was found and how to give one", s)
	}
	for id, want := range map[string]string{
		"mlflow": "not configured: set --mlflow-url or MLFLOW_TRACKING_URI",
		"kfp":    "not configured: set --kfp-url or KF_PIPELINES_ENDPOINT",
	} {
		if s := byID[id]; s.health != "off" || s.hint != want || s.err != "" {
			t.Errorf("%s = %+v, want off with hint %q", id, s, want)
		}
	}
	// Prometheus still answers what needs no cluster: the GPU.
	if r.Infra.GPUUtilMean == nil || *r.Infra.GPUUtilMean != 72 {
		t.Errorf("GPU mean = %v, want 72 from Prometheus alone", r.Infra.GPUUtilMean)
	}
	if len(r.Serving) != 0 || len(r.Alerts) != 0 {
		t.Errorf("without the cluster there are no services to show: serving %d, alerts %+v", len(r.Serving), r.Alerts)
	}
}

// ---------------------------------------------------------------- live platform in-process

// testLog collects the platform's log lines (client-go's included) and
// prints them when the test fails.
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// livePlatform builds the platform as the dashboard command does: flags
// parsed into an app, the config loaded from env, the live sources wired
// with the dashboard's short first-list wait. The test's cleanup stops it.
func livePlatform(t *testing.T, env map[string]string, args ...string) (config.Config, platform) {
	t.Helper()
	a := &app{streams: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}, env: func(k string) string { return env[k] }}
	fs := pflag.NewFlagSet("mltop", pflag.ContinueOnError)
	a.addGlobalFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	logs := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("platform log:\n%s", logs.String())
		}
	})
	p, err := a.newLivePlatform(cfg, liveOptions{logger: slog.New(slog.NewTextHandler(logs, nil)), kubeSyncWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p
}

// statusWatch follows the poller's updates on a board, as the UI does.
type statusWatch struct {
	updates <-chan sources.Update
	board   *sources.Board
	status  map[sources.SourceID]sources.SourceStatus
}

func newStatusWatch(poller *sources.Poller) *statusWatch {
	w := &statusWatch{updates: poller.Updates(), board: sources.NewBoard(poller.Initial()), status: map[sources.SourceID]sources.SourceStatus{}}
	for _, st := range poller.Initial() {
		w.status[st.ID] = st
	}
	return w
}

// until applies updates until cond holds, failing after limit.
func (w *statusWatch) until(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for !cond() {
		select {
		case u, ok := <-w.updates:
			if !ok {
				t.Fatalf("the poller stopped while waiting for %s", what)
			}
			w.board.Apply(u)
			w.status[u.Status.ID] = u.Status
		case <-timer.C:
			t.Fatalf("no %s within %s; statuses:\n%s", what, limit, w.describe())
		}
	}
}

func (w *statusWatch) describe() string {
	var b strings.Builder
	for _, id := range sources.AllSources() {
		st := w.status[id]
		fmt.Fprintf(&b, "  %s %s seq %d fetched %s: %s%s\n", id, st.Health, st.Seq, st.FetchedAt.Format("15:04:05.000"), st.Err, st.Hint)
	}
	return b.String()
}

func (w *statusWatch) allOK() bool {
	for _, id := range sources.AllSources() {
		if w.status[id].Health != sources.HealthOK {
			return false
		}
	}
	return true
}

// runPoller starts the platform and its poller the way runTUI does, and
// stops both when the test ends.
func runPoller(t *testing.T, p platform) *sources.Poller {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stop := p.run(ctx)
	poller := sources.NewPoller(p.sources, sources.WithClock(p.clock))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = poller.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		stop()
	})
	return poller
}
