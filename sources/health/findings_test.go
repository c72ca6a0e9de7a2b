package health

import (
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

var findingsNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return findingsNow.Add(-d) }

func source(run string) string { return "gs://mlflow-artifacts/3/" + run + "/artifacts/model" }

// healthyPlatform is a platform on which every check passes: every
// successful training run is tracked, the service loads the champion from
// the right directory with a signature, versions are a verified row.
func healthyPlatform() sources.Snapshot {
	svcKey := sources.ServiceKey{Namespace: "ml-prod", Name: "recommender"}
	return sources.Snapshot{
		At: findingsNow,
		Pipelines: sources.Pipelines{Window: 24 * time.Hour, Runs: []sources.PipelineRun{
			{ID: "kfp-3", Name: "train-3", Pipeline: "train", State: sources.RunRunning, Created: ago(20 * time.Minute)},
			{ID: "kfp-2", Name: "train-2", Pipeline: "train", State: sources.RunSucceeded, Created: ago(3 * time.Hour), Finished: ago(150 * time.Minute)},
			{ID: "eval-1", Name: "eval-1", Pipeline: "eval", State: sources.RunSucceeded, Created: ago(4 * time.Hour), Finished: ago(230 * time.Minute)},
			{ID: "kfp-1", Name: "train-1", Pipeline: "train", State: sources.RunSucceeded, Created: ago(5 * time.Hour), Finished: ago(270 * time.Minute)},
			// Older than the oldest fetched MLflow run: not judged.
			{ID: "kfp-0", Name: "train-0", Pipeline: "train", State: sources.RunSucceeded, Created: ago(20 * time.Hour), Finished: ago(19 * time.Hour)},
		}},
		Training: sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean", Runs: []sources.TrainingRun{
			{ID: "run1", KFPRunID: "kfp-1", Start: ago(5*time.Hour - 5*time.Minute), Value: 0.88, HasValue: true},
			{ID: "run2", KFPRunID: "kfp-2", Start: ago(3*time.Hour - 5*time.Minute), Value: 0.889, HasValue: true},
			{ID: "run3", KFPRunID: "kfp-3", Start: ago(15 * time.Minute), Status: "RUNNING"},
		}},
		Registry: sources.Registry{
			PromotedAlias: "champion",
			Versions: []sources.ModelVersion{
				{Model: "reco", Version: "6", Source: source("run0"), RunID: "run0", Created: ago(30 * time.Hour), Metric: 0.881, HasMetric: true, Signature: sources.SignaturePresent},
				{Model: "reco", Version: "7", Source: source("run1"), RunID: "run1", Created: ago(4 * time.Hour), Metric: 0.88, HasMetric: true, Aliases: []string{"champion"}, Signature: sources.SignaturePresent},
				{Model: "reco", Version: "8", Source: source("run2"), RunID: "run2", Created: ago(2 * time.Hour), Metric: 0.889, HasMetric: true, Signature: sources.SignaturePresent},
			},
			Promoted: []sources.ModelVersion{{Model: "reco", Version: "7", Source: source("run1"), RunID: "run1", Created: ago(4 * time.Hour), Aliases: []string{"champion"}}},
			Waiting:  []sources.ModelVersion{{Model: "reco", Version: "8", Source: source("run2"), RunID: "run2", Created: ago(2 * time.Hour), Status: "READY"}},
		},
		Serving: []sources.ServiceRow{
			{Service: sources.Service{Namespace: svcKey.Namespace, Name: svcKey.Name, Mode: sources.ModeKnative, Ready: true,
				ModelFormat: "mlflow", StorageURI: source("run1"), MinReplicas: 1, MaxReplicas: 4,
				StableRevision: "recommender-predictor-00002", PreviousRevision: "recommender-predictor-00001",
				PodsReady: 2, PodsTotal: 2, Conditions: []sources.Condition{{Type: "Ready", Status: "True"}}}},
			{Service: sources.Service{Namespace: "ml-prod", Name: "fraud", Mode: sources.ModeKnative, Ready: true,
				ModelFormat: "sklearn", StorageURI: "gs://models/fraud/2", MinReplicas: 1, PodsReady: 1, PodsTotal: 1}},
		},
		Versions: sources.ComponentVersions{KFP: "2.3.0", MLflow: "2.17.2", KServe: "v0.14.1", Kubernetes: "v1.29.4-gke.1043002"},
	}
}

func defaultFindingsConfig() FindingsConfig { return NewFindingsConfig(config.Default()) }

// only returns the findings of one check.
func only(fs []Finding, check string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Check == check {
			out = append(out, f)
		}
	}
	return out
}

// one asserts exactly one finding of a check and returns it.
func one(t *testing.T, s sources.Snapshot, fc FindingsConfig, check string) Finding {
	t.Helper()
	fs := only(Findings(s, fc), check)
	if len(fs) != 1 {
		t.Fatalf("%s: %d findings, want 1: %+v", check, len(fs), fs)
	}
	f := fs[0]
	if f.What == "" || f.Evidence == "" || f.Remedy == "" || f.Object == "" {
		t.Errorf("%s: a finding needs an object, what, evidence and remedy: %+v", check, f)
	}
	return f
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q lacks %q", what, s, sub)
		}
	}
}

func TestHealthyPlatformHasNoFinding(t *testing.T) {
	if fs := Findings(healthyPlatform(), defaultFindingsConfig()); len(fs) != 0 {
		for _, f := range fs {
			t.Errorf("%s %s %s: %s | %s", f.Severity, f.Check, f.Object, f.What, f.Evidence)
		}
	}
}

func TestEmptySnapshotHasNoWarning(t *testing.T) {
	fs := Findings(sources.Snapshot{At: findingsNow}, defaultFindingsConfig())
	if w, ok := Worst(fs); ok && w > Info {
		t.Errorf("a platform nobody answered for raised %+v", fs)
	}
}

func TestRunNotTracked(t *testing.T) {
	s := healthyPlatform()
	// Green in KFP, absent from MLflow: the NetworkPolicy story.
	s.Pipelines.Runs = append(s.Pipelines.Runs, sources.PipelineRun{ID: "kfp-lost", Name: "train-lost", Pipeline: "train",
		State: sources.RunSucceeded, Created: ago(2 * time.Hour), Finished: ago(90 * time.Minute)})
	f := one(t, s, defaultFindingsConfig(), CheckRunNotTracked)
	if f.Severity != Warn || f.Object != "train-lost" {
		t.Errorf("finding %+v", f)
	}
	mustContain(t, "what", f.What, "train-lost", "SUCCEEDED")
	mustContain(t, "evidence", f.Evidence, "kfp-lost", "1h ago", "recommendation-v3", "kfp_run_id", "1 other successful run of train in that span does",
		"oldest fetched MLflow run", "mlflow.runs_limit")
	mustContain(t, "remedy", f.Remedy, "NetworkPolicy", "cluster-internal", "retries")

	// Several lost runs of one pipeline make one finding about the pipeline.
	s.Pipelines.Runs = append(s.Pipelines.Runs, sources.PipelineRun{ID: "kfp-lost2", Name: "train-lost2", Pipeline: "train",
		State: sources.RunSucceeded, Created: ago(time.Hour), Finished: ago(30 * time.Minute)})
	f = one(t, s, defaultFindingsConfig(), CheckRunNotTracked)
	if f.Object != "train" || !strings.HasPrefix(f.What, "2 successful runs of train") {
		t.Errorf("two lost runs: %+v", f)
	}
}

func TestRunNotTrackedJudgesOnlyTrackedPipelinesInTheFetchedSpan(t *testing.T) {
	s := healthyPlatform()
	fc := defaultFindingsConfig()
	// The eval pipeline never logs to the experiment and kfp-0 is older
	// than the oldest fetched MLflow run: neither is judged.
	if fs := only(Findings(s, fc), CheckRunNotTracked); len(fs) != 0 {
		t.Fatalf("findings %+v", fs)
	}
	// Named explicitly, eval must log too.
	fc.TrackedPipelines = []string{"eval"}
	f := one(t, s, fc, CheckRunNotTracked)
	if f.Object != "eval-1" {
		t.Errorf("explicit pipeline: %+v", f)
	}
	// Failed and running runs are not the scenario.
	s = healthyPlatform()
	s.Pipelines.Runs = append(s.Pipelines.Runs, sources.PipelineRun{ID: "x", Pipeline: "train", State: sources.RunFailed, Created: ago(time.Hour)})
	if fs := only(Findings(s, defaultFindingsConfig()), CheckRunNotTracked); len(fs) != 0 {
		t.Errorf("a failed run raised %+v", fs)
	}
}

func TestModelPathLacksArtifactPath(t *testing.T) {
	s := healthyPlatform()
	r := &s.Serving[0]
	r.StorageURI = strings.TrimSuffix(source("run1"), "/model")
	r.Ready = false
	msg := `Revision "recommender-predictor-00003" failed with message: mlflow.exceptions.MlflowException: Could not find an "MLmodel" configuration file`
	r.Conditions = []sources.Condition{{Type: "Ready", Status: "False", Message: msg}, {Type: "PredictorReady", Status: "False", Message: msg}}
	f := one(t, s, defaultFindingsConfig(), CheckModelPath)
	if f.Severity != Crit || f.Service == nil || f.Service.Name != "recommender" {
		t.Errorf("finding %+v", f)
	}
	mustContain(t, "evidence", f.Evidence, "reco v7", "lacks the artifact path /model", `Could not find an "MLmodel"`)
	if strings.Count(f.Evidence, "MLmodel\" configuration") != 1 {
		t.Errorf("the repeated condition is quoted more than once: %s", f.Evidence)
	}
	mustContain(t, "remedy", f.Remedy, "Set storageUri to "+source("run1"))
	// The same path is no drift: the service is matched to v7, the champion.
	if fs := only(Findings(s, defaultFindingsConfig()), CheckServingDrift); len(fs) != 0 {
		t.Errorf("drift on a path mismatch: %+v", fs)
	}
}

func TestModelPathOtherForms(t *testing.T) {
	for name, tc := range map[string]struct {
		uri, format string
		want        []string
		sev         Severity
	}{
		"runs URI":      {"runs:/run1/model", "mlflow", []string{"runs:/ scheme", "cannot download"}, Warn},
		"models URI":    {"models:/reco@champion", "sklearn", []string{"models:/ scheme"}, Warn},
		"artifact root": {"gs://mlflow-artifacts/9/abc/artifacts", "mlflow", []string{"artifact root", "/model"}, Warn},
	} {
		t.Run(name, func(t *testing.T) {
			s := healthyPlatform()
			s.Serving[0].StorageURI, s.Serving[0].ModelFormat = tc.uri, tc.format
			f := one(t, s, defaultFindingsConfig(), CheckModelPath)
			if f.Severity != tc.sev {
				t.Errorf("severity %s, want %s", f.Severity, tc.sev)
			}
			mustContain(t, "evidence", f.Evidence, tc.want...)
		})
	}
	// A sklearn model needs no MLmodel: a parent path is no finding.
	s := healthyPlatform()
	s.Serving[0].StorageURI, s.Serving[0].ModelFormat = strings.TrimSuffix(source("run1"), "/model"), "sklearn"
	if fs := only(Findings(s, defaultFindingsConfig()), CheckModelPath); len(fs) != 0 {
		t.Errorf("sklearn parent path: %+v", fs)
	}
}

func TestRollbackUnsafe(t *testing.T) {
	// A completed rollout on a scale-to-zero service.
	s := healthyPlatform()
	s.Serving[0].MinReplicas = 0
	f := one(t, s, defaultFindingsConfig(), CheckRollbackUnsafe)
	if f.Severity != Warn {
		t.Errorf("severity %s", f.Severity)
	}
	mustContain(t, "what", f.What, "recommender-predictor-00001", "zero pods")
	mustContain(t, "remedy", f.Remedy, "minReplicas", "readiness probe", "storageUri")

	// A canary on it, failing: the rollback is near, so critical.
	s.Serving[0].CanaryRevision, s.Serving[0].CanaryPercent, s.Serving[0].HasCanaryPercent = "recommender-predictor-00003", 20, true
	key := s.Serving[0].Key()
	s.Canaries = []sources.CanaryView{{Key: key, Percent: 20, HasMetrics: true,
		Stable: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: 8, ErrorRate: 0.005, HasErrors: true}},
		Canary: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: 2, ErrorRate: 0.04, HasErrors: true}}}}
	f = one(t, s, defaultFindingsConfig(), CheckRollbackUnsafe)
	if f.Severity != Crit {
		t.Errorf("failing canary with minReplicas 0: %s", f.Severity)
	}
	mustContain(t, "evidence", f.Evidence, "minReplicas 0", "canary 20%", "80% to recommender-predictor-00002")

	// The seed's controller message names the revision without pods.
	s = healthyPlatform()
	s.Serving[0].Conditions = []sources.Condition{{Type: "Ready", Status: "False", Reason: "RevisionFailed",
		Message: `Revision "recommender-predictor-prev" has no ready pods`}}
	f = one(t, s, defaultFindingsConfig(), CheckRollbackUnsafe)
	if f.Severity != Crit || !strings.Contains(f.Evidence, "has no ready pods") {
		t.Errorf("no ready pods: %+v", f)
	}
}

func TestServingDrift(t *testing.T) {
	s := healthyPlatform()
	s.Serving[0].StorageURI = source("run0") // v6
	f := one(t, s, defaultFindingsConfig(), CheckServingDrift)
	if f.Severity != Warn {
		t.Errorf("severity %s", f.Severity)
	}
	mustContain(t, "what", f.What, "serves reco v6", "@champion is v7")
	mustContain(t, "evidence", f.Evidence, "v6 (registered 30h ago)", source("run1"))
	mustContain(t, "remedy", f.Remedy, "set storageUri to "+source("run1"))

	// A child path of v6's source matches v6 too.
	s.Serving[0].StorageURI = source("run0") + "/"
	one(t, s, defaultFindingsConfig(), CheckServingDrift)

	// Canarying v8 ahead of the alias is a rollout in progress, not drift.
	s = healthyPlatform()
	s.Serving[0].StorageURI = source("run2")
	s.Serving[0].CanaryRevision, s.Serving[0].CanaryPercent, s.Serving[0].HasCanaryPercent = "recommender-predictor-00003", 10, true
	if f := one(t, s, defaultFindingsConfig(), CheckServingDrift); f.Severity != Info {
		t.Errorf("canary ahead of the alias: %+v", f)
	}

	// Promotion by legacy stage counts as well.
	s = healthyPlatform()
	s.Registry.Promoted[0].Aliases, s.Registry.Promoted[0].Stage = nil, "Production"
	s.Serving[0].StorageURI = source("run0")
	mustContain(t, "what", one(t, s, defaultFindingsConfig(), CheckServingDrift).What, "Production version is v7")
}

func TestSignatureMissing(t *testing.T) {
	s := healthyPlatform()
	s.Registry.Versions[1].Signature = sources.SignatureMissing
	f := one(t, s, defaultFindingsConfig(), CheckSignatureMissing)
	if f.Severity != Warn {
		t.Errorf("severity %s", f.Severity)
	}
	mustContain(t, "evidence", f.Evidence, "MLflow 2.17.2", "Model signature is missing")
	mustContain(t, "remedy", f.Remedy, "MLFLOW_MODEL_SIGNATURE_ENFORCEMENT=disabled", "signature")

	s.Versions.MLflow = "2.15.1" // not enforced yet
	if f := one(t, s, defaultFindingsConfig(), CheckSignatureMissing); f.Severity != Info {
		t.Errorf("before 2.16: %+v", f)
	}

	// Unknown (artifacts not served): one informational note, no warning.
	s = healthyPlatform()
	s.Registry.Versions[1].Signature = sources.SignatureUnknown
	if f := one(t, s, defaultFindingsConfig(), CheckSignatureMissing); f.Severity != Info || f.Object != "signatures" {
		t.Errorf("unknown signature: %+v", f)
	}
}

func TestVersionMatrix(t *testing.T) {
	s := healthyPlatform()
	s.Versions.MLflow = "2.16.2"
	f := one(t, s, defaultFindingsConfig(), CheckVersionMatrix)
	if f.Severity != Warn {
		t.Errorf("severity %s", f.Severity)
	}
	mustContain(t, "evidence", f.Evidence, "MLflow 2.16.2", "kfp=2.3.0 mlflow=2.17.x", "wants MLflow 2.17.x")
	mustContain(t, "remedy", f.Remedy, "doctor.compatibility")

	// The previous stable row fits as a whole.
	s.Versions = sources.ComponentVersions{KFP: "2.2.0", MLflow: "2.15.3", KServe: "v0.13.1", Kubernetes: "v1.27.9"}
	if fs := only(Findings(s, defaultFindingsConfig()), CheckVersionMatrix); len(fs) != 0 {
		t.Errorf("row 2: %+v", fs)
	}
	// Mixing rows does not.
	s.Versions.Kubernetes = "v1.30.1"
	mustContain(t, "evidence", one(t, s, defaultFindingsConfig(), CheckVersionMatrix).Evidence, "wants Kubernetes 1.27-1.29")

	// Unknown versions are information, never a warning.
	s = healthyPlatform()
	s.Versions.KServe = ""
	f = one(t, s, defaultFindingsConfig(), CheckVersionMatrix)
	if f.Severity != Info || !strings.Contains(f.What, "KServe") {
		t.Errorf("unknown KServe: %+v", f)
	}
	// An empty matrix turns the check off.
	fc := defaultFindingsConfig()
	fc.Matrix = nil
	s.Versions.MLflow = "1.0.0"
	if fs := only(Findings(s, fc), CheckVersionMatrix); len(fs) != 0 {
		t.Errorf("no matrix: %+v", fs)
	}
}

func TestQualityRegression(t *testing.T) {
	s := healthyPlatform()
	s.Registry.Versions = append(s.Registry.Versions, sources.ModelVersion{Model: "reco", Version: "10", Metric: 0.857, HasMetric: true, RunID: "run9"},
		sources.ModelVersion{Model: "reco", Version: "9"}) // no metric: skipped for the comparison
	f := one(t, s, defaultFindingsConfig(), CheckQualityRegression)
	if f.Severity != Warn || f.Object != "reco v10" {
		t.Errorf("finding %+v", f)
	}
	mustContain(t, "what", f.What, "0.857", "0.032 below v8's 0.889")
	mustContain(t, "evidence", f.Evidence, "0.02", "absolute gate")
	mustContain(t, "remedy", f.Remedy, "Do not promote v10", "previous version - 0.02")

	// A drop of exactly the limit is allowed.
	s.Registry.Versions[3].Metric = 0.869
	if fs := only(Findings(s, defaultFindingsConfig()), CheckQualityRegression); len(fs) != 0 {
		t.Errorf("drop at the limit: %+v", fs)
	}
}

func TestRegistryBacklogAndPipelineSuccess(t *testing.T) {
	s := healthyPlatform()
	s.Registry.Waiting[0].Created = ago(30 * time.Hour)
	f := one(t, s, defaultFindingsConfig(), CheckRegistryBacklog)
	mustContain(t, "what", f.What, "reco v8", "30h", "limit 24h")
	mustContain(t, "evidence", f.Evidence, "@champion is v7")

	s = healthyPlatform()
	for i := range 3 {
		s.Pipelines.Runs = append(s.Pipelines.Runs, sources.PipelineRun{ID: "f", Name: "train-f", Pipeline: "train", State: sources.RunFailed,
			Created: ago(time.Duration(6+i) * time.Hour), Finished: ago(time.Duration(6+i)*time.Hour - 10*time.Minute),
			Error: "train-model: OOMKilled (exit code 137)"})
	}
	f = one(t, s, defaultFindingsConfig(), CheckPipelineSuccess)
	mustContain(t, "what", f.What, "57.1%", "95%")
	mustContain(t, "evidence", f.Evidence, "4 of 7 finished runs", "train-model (3 of 3)", "OOMKilled")
	mustContain(t, "remedy", f.Remedy, "memory")
}

func TestFindingsAreSortedBySeverity(t *testing.T) {
	s := healthyPlatform()
	s.Serving[0].StorageURI = strings.TrimSuffix(source("run1"), "/model") // crit once not ready
	s.Serving[0].Ready = false
	s.Serving[1].MinReplicas, s.Serving[1].PreviousRevision = 0, "fraud-predictor-00001" // warn
	s.Versions.KServe = ""                                                               // info
	fs := Findings(s, defaultFindingsConfig())
	if len(fs) != 3 || fs[0].Severity != Crit || fs[1].Severity != Warn || fs[2].Severity != Info {
		t.Fatalf("order %+v", fs)
	}
	counts := CountBySeverity(fs)
	if w, _ := Worst(fs); w != Crit || counts[Crit] != 1 || counts[Warn] != 1 || counts[Info] != 1 {
		t.Errorf("worst %v counts %v", w, counts)
	}
}
