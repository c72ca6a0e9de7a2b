package panes

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/theme"
)

// The fixture is the incident the dashboard was designed around: the
// fraud-detector canary (20 %) errs at 4 % against 0.5 % on stable,
// churn-model (Standard mode) cannot find its MLmodel file, search-ranker
// scales to zero, image-embedder was OOM-killed once, pipelines succeed 52 of
// 57 times, the training metric fell by 0.03 and the registry has versions
// waiting 30h, 5h and 40m.

func fixtureNow() time.Time { return time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC) }

const churnReason = `Could not find an "MLmodel" configuration file`

func asciiTheme() *theme.Theme {
	t := theme.New(theme.Options{Color: false, ASCII: true, Output: &bytes.Buffer{}})
	return &t
}

func unicodeTheme() *theme.Theme {
	t := theme.New(theme.Options{Color: false, ASCII: false, Output: &bytes.Buffer{}})
	return &t
}

// colourTheme forces ANSI colours on a buffer so widths are checked with
// escape sequences in the strings.
func colourTheme() *theme.Theme {
	t := theme.New(theme.Options{Color: true, ASCII: false, Output: &bytes.Buffer{}})
	t.Renderer.SetColorProfile(termenv.ANSI256)
	t.Renderer.SetHasDarkBackground(true)
	return &t
}

func themes() map[string]*theme.Theme {
	return map[string]*theme.Theme{"ascii": asciiTheme(), "unicode": unicodeTheme(), "colour": colourTheme()}
}

func trend(now time.Time, n int, f func(i int) float64) []sources.Point {
	pts := make([]sources.Point, n)
	for i := range pts {
		pts[i] = sources.Point{T: now.Add(time.Duration(i-n) * time.Minute), V: f(i)}
	}
	return pts
}

func flat(v float64) func(int) float64 { return func(int) float64 { return v } }

func okStatus(id sources.SourceID, age time.Duration) sources.SourceStatus {
	return sources.SourceStatus{
		ID: id, Health: sources.HealthOK, Configured: true,
		FetchedAt: fixtureNow().Add(-age), AttemptedAt: fixtureNow().Add(-age), Seq: 1,
		Interval: 5 * time.Second,
	}
}

func fixtureInventory() *sources.Inventory {
	ns := "ml-prod"
	return &sources.Inventory{
		Context:    "prod-gke",
		Namespaces: []string{ns},
		Services: []sources.Service{
			{Namespace: ns, Name: "fraud-detector", Mode: sources.ModeKnative, Ready: true, MinReplicas: 1,
				CanaryPercent: 20, HasCanaryPercent: true,
				StableRevision: "fraud-detector-predictor-00001", CanaryRevision: "fraud-detector-predictor-00002",
				Traffic: []sources.TrafficTarget{{Revision: "fraud-detector-predictor-00001", Percent: 80},
					{Revision: "fraud-detector-predictor-00002", Percent: 20, Latest: true}}},
			{Namespace: ns, Name: "recommendation-classifier", Mode: sources.ModeKnative, Ready: true, MinReplicas: 1},
			{Namespace: ns, Name: "churn-model", Mode: sources.ModeStandard, Ready: false, MinReplicas: 1, Reason: churnReason},
			{Namespace: ns, Name: "search-ranker", Mode: sources.ModeKnative, Ready: true, MinReplicas: 0},
			{Namespace: ns, Name: "image-embedder", Mode: sources.ModeKnative, Ready: true, MinReplicas: 1, GPU: true},
		},
		OOMKills: []sources.OOMKill{{Namespace: ns, Pod: "image-embedder-predictor-7f9c6d-xk2p4",
			Container: "kserve-container", Service: "image-embedder", At: fixtureNow().Add(-2 * time.Hour)}},
	}
}

func traffic(rps, errRate float64, p50, p99 time.Duration) sources.Traffic {
	return sources.Traffic{RPS: rps, ErrorRate: errRate, HasErrors: true, P50: p50, P99: p99, HasP99: true,
		Requests: rps * 300, Errors: rps * 300 * errRate}
}

func fixtureMetrics() *sources.Metrics {
	ns := "ml-prod"
	key := func(name string) sources.ServiceKey { return sources.ServiceKey{Namespace: ns, Name: name} }
	rising := func(i int) float64 { return 0.001 * float64(i) }
	return &sources.Metrics{
		Profile: "knative",
		Services: map[sources.ServiceKey]sources.ServiceMetrics{
			key("fraud-detector"): {Traffic: traffic(100, 0.012, 70*time.Millisecond, 471*time.Millisecond),
				ErrTrend: trend(fixtureNow(), 30, rising), RPSTrend: trend(fixtureNow(), 30, flat(100))},
			key("recommendation-classifier"): {Traffic: traffic(50, 0.002, 40*time.Millisecond, 242*time.Millisecond),
				ErrTrend: trend(fixtureNow(), 30, flat(0.002)), RPSTrend: trend(fixtureNow(), 30, flat(50))},
			key("search-ranker"): {Traffic: traffic(5, 0, 30*time.Millisecond, 100*time.Millisecond),
				ErrTrend: trend(fixtureNow(), 30, flat(0)), RPSTrend: trend(fixtureNow(), 30, flat(5))},
			key("image-embedder"): {Traffic: traffic(12, 0.01, 90*time.Millisecond, 242*time.Millisecond),
				ErrTrend: trend(fixtureNow(), 30, flat(0.01)), RPSTrend: trend(fixtureNow(), 30, flat(12))},
		},
		Revisions: map[sources.ServiceKey]sources.RevisionMetrics{
			key("fraud-detector-predictor-00001"): {Revision: "fraud-detector-predictor-00001",
				Traffic: traffic(80, 0.005, 68*time.Millisecond, 242*time.Millisecond), ErrTrend: trend(fixtureNow(), 30, flat(0.005))},
			key("fraud-detector-predictor-00002"): {Revision: "fraud-detector-predictor-00002",
				Traffic: traffic(20, 0.04, 160*time.Millisecond, 1450*time.Millisecond), ErrTrend: trend(fixtureNow(), 30, rising)},
		},
		GPUs: []sources.GPU{
			{Node: "gpu-node-1", Device: "0", Model: "A100", Namespace: ns, Pod: "image-embedder-predictor-7f9c6d-xk2p4",
				Util: 73, MemUsedMB: 12 * 1024, MemTotMB: 40 * 1024},
			{Node: "gpu-node-1", Device: "1", Model: "A100", Util: 0, MemTotMB: 40 * 1024},
		},
		GPUTrend: trend(fixtureNow(), 60, func(i int) float64 { return float64(i) }),
	}
}

func fixtureTracking() *sources.Tracking {
	values := []float64{0.84, 0.85, 0.86, 0.87, 0.872, 0.88, 0.879, 0.883, 0.885, 0.886, 0.887, 0.857}
	runs := make([]sources.TrainingRun, 0, len(values)+1)
	for i, v := range values {
		start := fixtureNow().Add(-time.Duration(len(values)-i) * 6 * time.Hour)
		runs = append(runs, sources.TrainingRun{ID: fmt.Sprintf("run%02d", i), Name: fmt.Sprintf("train-%02d", i),
			Status: "FINISHED", Start: start, End: start.Add(27 * time.Minute), Value: v, HasValue: true})
	}
	model := "recommendation-v3"
	return &sources.Tracking{
		Training: sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean", Runs: runs},
		Registry: sources.Registry{
			PromotedAlias: "champion",
			Promoted:      []sources.ModelVersion{{Model: model, Version: "7", Aliases: []string{"champion"}, Status: "READY", Created: fixtureNow().Add(-72 * time.Hour)}},
			Waiting: []sources.ModelVersion{
				{Model: model, Version: "8", Status: "READY", Created: fixtureNow().Add(-30 * time.Hour)},
				{Model: model, Version: "9", Status: "READY", Created: fixtureNow().Add(-5 * time.Hour)},
				{Model: model, Version: "10", Status: "PENDING_REGISTRATION", Created: fixtureNow().Add(-40 * time.Minute)},
			},
		},
	}
}

func fixturePipelines() *sources.Pipelines {
	var runs []sources.PipelineRun
	add := func(state string, i int, errMsg string) {
		created := fixtureNow().Add(-time.Duration(i+1) * 20 * time.Minute)
		r := sources.PipelineRun{ID: fmt.Sprintf("r%02d", i), Name: fmt.Sprintf("train-model-%02d", i),
			Pipeline: "train-model", State: state, Created: created, Error: errMsg}
		if state != sources.RunRunning {
			r.Finished = created.Add(time.Duration(30+i%12) * time.Minute)
		}
		runs = append(runs, r)
	}
	i := 0
	for ; i < 3; i++ {
		add(sources.RunRunning, i, "")
	}
	for f := 0; f < 5; f++ {
		add(sources.RunFailed, i, fmt.Sprintf("OOMKilled: exit code 137 in step train (attempt %d)", f+1))
		i++
	}
	for s := 0; s < 52; s++ {
		add(sources.RunSucceeded, i, "")
		i++
	}
	return &sources.Pipelines{Window: 24 * time.Hour, Runs: runs}
}

// fixtureSnapshot composes the fixture through the real board, so the rows,
// canary views and OOM merge are those the program would draw.
func fixtureSnapshot() sources.Snapshot { return fixtureSnapshotWith(nil) }

// fixtureSnapshotWith replaces the named sources by a status without any
// value, as the board holds them when they never answered.
func fixtureSnapshotWith(never map[sources.SourceID]sources.SourceStatus) sources.Snapshot {
	b := sources.NewBoard(nil)
	updates := []sources.Update{
		{Status: okStatus(sources.SourceKube, 0), Part: sources.Part{Inventory: fixtureInventory()}},
		{Status: okStatus(sources.SourceProm, 2*time.Second), Part: sources.Part{Metrics: fixtureMetrics()}},
		{Status: okStatus(sources.SourceMLflow, 12*time.Second), Part: sources.Part{Tracking: fixtureTracking()}},
		{Status: okStatus(sources.SourceKFP, 30*time.Second), Part: sources.Part{Pipelines: fixturePipelines()}},
	}
	for _, u := range updates {
		if st, ok := never[u.Status.ID]; ok {
			u = sources.Update{Status: st}
		}
		b.Apply(u)
	}
	return b.Snapshot(fixtureNow())
}

func fixtureInput(t *theme.Theme) Input {
	snap := fixtureSnapshot()
	th := config.Default().Thresholds
	return Input{Snap: snap, Alerts: health.Evaluate(snap, th), Thresholds: th, Theme: t, Now: fixtureNow()}
}

// withSource returns in with one source's status replaced.
func withSource(in Input, st sources.SourceStatus) Input {
	srcs := append([]sources.SourceStatus(nil), in.Snap.Sources...)
	for i := range srcs {
		if srcs[i].ID == st.ID {
			srcs[i] = st
		}
	}
	in.Snap.Sources = srcs
	return in
}

func staleStatus(id sources.SourceID) sources.SourceStatus {
	st := okStatus(id, 3*time.Minute)
	st.Health, st.Err, st.Failures = sources.HealthStale, "dial tcp 10.0.0.7:8888: i/o timeout", 4
	st.StaleSince, st.AttemptedAt = fixtureNow().Add(-150*time.Second), fixtureNow().Add(-5*time.Second)
	return st
}

func offStatus(id sources.SourceID) sources.SourceStatus {
	return sources.SourceStatus{ID: id, Health: sources.HealthOff, Hint: "set --" + string(id) + "-url or " + strings.ToUpper(string(id)) + "_ENDPOINT"}
}

func pendingStatus(id sources.SourceID) sources.SourceStatus {
	return sources.SourceStatus{ID: id, Health: sources.HealthPending, Configured: true}
}

func downStatus(id sources.SourceID) sources.SourceStatus {
	return sources.SourceStatus{ID: id, Health: sources.HealthDown, Configured: true, Failures: 3,
		Err: "connection refused", AttemptedAt: fixtureNow().Add(-4 * time.Second)}
}

// plain strips styling so assertions read what a colourless terminal shows.
func plain(s string) string { return ansi.Strip(s) }

func paneByID(id ID) Pane {
	for _, p := range All() {
		if p.ID() == id {
			return p
		}
	}
	panic(fmt.Sprintf("no pane %d", id))
}

// mustContain fails the test for each want missing from got (styling ignored).
func mustContain(t *testing.T, got string, wants ...string) {
	t.Helper()
	g := plain(got)
	for _, w := range wants {
		if !strings.Contains(g, w) {
			t.Errorf("missing %q in:\n%s", w, g)
		}
	}
}

func mustNotContain(t *testing.T, got string, bad ...string) {
	t.Helper()
	g := plain(got)
	for _, b := range bad {
		if strings.Contains(g, b) {
			t.Errorf("unexpected %q in:\n%s", b, g)
		}
	}
}
