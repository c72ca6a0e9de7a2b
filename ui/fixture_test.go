package ui

import (
	"fmt"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/theme"
)

// fixtureNow is the fixed clock of every test: a Saturday-morning incident.
var fixtureNow = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

func fixedClock() time.Time { return fixtureNow }

const ns = "ml-prod"

func svcKey(name string) sources.ServiceKey { return sources.ServiceKey{Namespace: ns, Name: name} }

// incident is the scenario the goldens show:
//   - fraud-detector runs a 20 % canary whose 5xx rate is 4 % against the
//     stable revision's 0.5 %;
//   - recommendation-classifier is healthy;
//   - churn-model (Standard/RawDeployment) is not ready: "MLmodel not found";
//   - search-ranker scales to zero (minReplicas 0);
//   - image-embedder runs on a GPU and had one OOM kill;
//   - pipelines: 52 of 57 finished runs succeeded, 3 are running;
//   - cv_f1_mean fell from 0.887 to 0.857;
//   - three registry versions wait 30h, 5h and 40m;
//   - KFP has failed for 3 minutes: STALE with a connection error.
func incident() []sources.Update {
	return []sources.Update{kubeUpdate(1), promUpdate(1), mlflowUpdate(1), kfpUpdate(1)}
}

func initialStatuses() []sources.SourceStatus {
	return []sources.SourceStatus{
		{ID: sources.SourceProm, Health: sources.HealthPending, Configured: true, Interval: 5 * time.Second},
		{ID: sources.SourceKube, Health: sources.HealthPending, Configured: true, Live: true},
		{ID: sources.SourceMLflow, Health: sources.HealthPending, Configured: true, Interval: 30 * time.Second},
		{ID: sources.SourceKFP, Health: sources.HealthPending, Configured: true, Interval: 30 * time.Second},
	}
}

func okStatus(id sources.SourceID, seq uint64, age, interval time.Duration) sources.SourceStatus {
	at := fixtureNow.Add(-age)
	return sources.SourceStatus{
		ID: id, Health: sources.HealthOK, Configured: true,
		FetchedAt: at, AttemptedAt: at, Seq: seq, Interval: interval,
	}
}

func rev(name string, n int) string { return fmt.Sprintf("%s-predictor-%05d", name, n) }

func kubeUpdate(seq uint64) sources.Update {
	st := okStatus(sources.SourceKube, seq, 40*time.Second, 0)
	st.Live = true
	inv := &sources.Inventory{
		Context:    "demo",
		Namespaces: []string{ns},
		Services: []sources.Service{
			{
				Namespace: ns, Name: "fraud-detector", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 1, MaxReplicas: 3, CanaryPercent: 20, HasCanaryPercent: true,
				StorageURI: "s3://models/fraud-detector/2", ModelFormat: "sklearn",
				StableRevision: rev("fraud-detector", 1), CanaryRevision: rev("fraud-detector", 2),
				PreviousRevision: rev("fraud-detector", 1),
				Traffic: []sources.TrafficTarget{
					{Revision: rev("fraud-detector", 1), Percent: 80},
					{Revision: rev("fraud-detector", 2), Percent: 20, Latest: true, Tag: "latest"},
				},
				PodsReady: 3, PodsTotal: 3, ResourceVersion: "884213",
			},
			{
				Namespace: ns, Name: "recommendation-classifier", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 2, MaxReplicas: 6, StorageURI: "s3://models/recommendation/7", ModelFormat: "xgboost",
				StableRevision: rev("recommendation-classifier", 3),
				Traffic:        []sources.TrafficTarget{{Revision: rev("recommendation-classifier", 3), Percent: 100, Latest: true}},
				PodsReady:      2, PodsTotal: 2,
			},
			{
				Namespace: ns, Name: "churn-model", Mode: sources.ModeStandard, Ready: false,
				Reason: "MLmodel not found", MinReplicas: 1, MaxReplicas: 1,
				StorageURI: "s3://models/churn/4", ModelFormat: "mlflow",
				Conditions: []sources.Condition{
					{Type: "PredictorReady", Status: "False", Reason: "ModelLoadFailed", Message: "MLmodel not found"},
					{Type: "Ready", Status: "False", Reason: "ModelLoadFailed", Message: "MLmodel not found"},
				},
				PodsReady: 0, PodsTotal: 1, Restarts: 7,
			},
			{
				Namespace: ns, Name: "search-ranker", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 0, MaxReplicas: 4, StorageURI: "s3://models/search-ranker/12", ModelFormat: "onnx",
				StableRevision: rev("search-ranker", 12),
				Traffic:        []sources.TrafficTarget{{Revision: rev("search-ranker", 12), Percent: 100, Latest: true}},
				PodsReady:      1, PodsTotal: 1,
			},
			{
				Namespace: ns, Name: "image-embedder", Mode: sources.ModeKnative, Ready: true, GPU: true,
				MinReplicas: 1, MaxReplicas: 2, StorageURI: "s3://models/image-embedder/5", ModelFormat: "pytorch",
				StableRevision: rev("image-embedder", 5),
				Traffic:        []sources.TrafficTarget{{Revision: rev("image-embedder", 5), Percent: 100, Latest: true}},
				PodsReady:      1, PodsTotal: 1, Restarts: 1,
			},
		},
		OOMKills: []sources.OOMKill{{
			Namespace: ns, Pod: "image-embedder-predictor-00005-deployment-7c9f8-x2kqp",
			Container: "kserve-container", Service: "image-embedder", At: fixtureNow.Add(-2 * time.Hour),
		}},
	}
	return sources.Update{Status: st, Part: sources.Part{Inventory: inv}}
}

// trend is n points ending at now, one a minute, from a to b.
func trend(n int, a, b float64) []sources.Point {
	out := make([]sources.Point, n)
	for i := range out {
		f := float64(i) / float64(n-1)
		out[i] = sources.Point{T: fixtureNow.Add(time.Duration(i-n+1) * time.Minute), V: a + (b-a)*f}
	}
	return out
}

func traffic(rps, errRate float64, p50, p99 time.Duration) sources.Traffic {
	req := rps * 60
	return sources.Traffic{
		RPS: rps, ErrorRate: errRate, HasErrors: true, P50: p50, P99: p99, HasP99: true,
		Requests: req, Errors: req * errRate,
	}
}

func promUpdate(seq uint64) sources.Update {
	st := okStatus(sources.SourceProm, seq, 2*time.Second, 5*time.Second)
	svc := func(t sources.Traffic, errFrom float64) sources.ServiceMetrics {
		return sources.ServiceMetrics{
			Traffic:  t,
			RPSTrend: trend(12, t.RPS*0.9, t.RPS),
			ErrTrend: trend(12, errFrom, t.ErrorRate),
			P99Trend: trend(12, float64(t.P99)*0.8, float64(t.P99)),
		}
	}
	stable := sources.RevisionMetrics{Revision: rev("fraud-detector", 1),
		Traffic: traffic(80, 0.005, 68*time.Millisecond, 242*time.Millisecond)}
	canary := sources.RevisionMetrics{Revision: rev("fraud-detector", 2),
		Traffic: traffic(20, 0.04, 160*time.Millisecond, 1450*time.Millisecond)}
	canary.ErrTrend = trend(12, 0.01, 0.04)
	met := &sources.Metrics{
		Profile: "knative",
		Services: map[sources.ServiceKey]sources.ServiceMetrics{
			svcKey("fraud-detector"):            svc(traffic(100, 0.012, 72*time.Millisecond, 471*time.Millisecond), 0.005),
			svcKey("recommendation-classifier"): svc(traffic(50, 0.002, 40*time.Millisecond, 242*time.Millisecond), 0.002),
			svcKey("search-ranker"):             svc(traffic(5, 0, 30*time.Millisecond, 100*time.Millisecond), 0),
			svcKey("image-embedder"):            svc(traffic(12, 0.01, 90*time.Millisecond, 242*time.Millisecond), 0.004),
		},
		Revisions: map[sources.ServiceKey]sources.RevisionMetrics{
			{Namespace: ns, Name: stable.Revision}: stable,
			{Namespace: ns, Name: canary.Revision}: canary,
		},
		GPUs: []sources.GPU{
			{Node: "gpu-node-1", Device: "0", Model: "NVIDIA L4", Namespace: ns,
				Pod: "image-embedder-predictor-00005-deployment-7c9f8-x2kqp", Util: 73, MemUsedMB: 17800, MemTotMB: 23034},
			{Node: "gpu-node-1", Device: "1", Model: "NVIDIA L4", Util: 0, MemTotMB: 23034},
		},
		GPUTrend: trend(12, 40, 36.5),
	}
	return sources.Update{Status: st, Part: sources.Part{Metrics: met}}
}

func mlflowUpdate(seq uint64) sources.Update {
	st := okStatus(sources.SourceMLflow, seq, 12*time.Second, 30*time.Second)
	values := []float64{0.861, 0.868, 0.872, 0.870, 0.876, 0.879, 0.881, 0.878, 0.884, 0.889, 0.887, 0.857}
	var runs []sources.TrainingRun
	for i, v := range values {
		start := fixtureNow.Add(time.Duration(i-len(values)) * 6 * time.Hour)
		runs = append(runs, sources.TrainingRun{
			ID: fmt.Sprintf("9f2c%04d", i), Name: fmt.Sprintf("train-%02d", i+1), Status: "FINISHED",
			Start: start, End: start.Add(27 * time.Minute), Value: v, HasValue: true,
		})
	}
	version := func(v string, age time.Duration) sources.ModelVersion {
		return sources.ModelVersion{Model: "recommendation-classifier", Version: v, Stage: "None",
			Status: "READY", Created: fixtureNow.Add(-age)}
	}
	champion := version("7", 9*24*time.Hour)
	champion.Aliases = []string{"champion"}
	tr := &sources.Tracking{
		Training: sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean", Runs: runs},
		Registry: sources.Registry{
			PromotedAlias: "champion",
			Promoted:      []sources.ModelVersion{champion},
			Waiting:       []sources.ModelVersion{version("8", 30*time.Hour), version("9", 5*time.Hour), version("10", 40*time.Minute)},
		},
	}
	return sources.Update{Status: st, Part: sources.Part{Tracking: tr}}
}

// kfpUpdate is a stale KFP: the last good runs are 3 minutes old and every
// fetch since fails.
func kfpUpdate(seq uint64) sources.Update {
	st := okStatus(sources.SourceKFP, seq, 3*time.Minute, 30*time.Second)
	st.Health = sources.HealthStale
	st.AttemptedAt = fixtureNow.Add(-10 * time.Second)
	st.StaleSince = fixtureNow.Add(-150 * time.Second)
	st.Failures = 5
	st.Err = `Get "http://ml-pipeline.kubeflow:8888/apis/v2beta1/runs": dial tcp 10.96.0.12:8888: connect: connection refused`
	return sources.Update{Status: st, Part: sources.Part{Pipelines: pipelineRuns()}}
}

// pipelineRuns are 60 runs of the last day, newest first: 52 succeeded,
// 5 failed, 3 running.
func pipelineRuns() *sources.Pipelines {
	var runs []sources.PipelineRun
	for i := 0; i < 60; i++ {
		created := fixtureNow.Add(-time.Duration(i)*23*time.Minute - 5*time.Minute)
		r := sources.PipelineRun{
			ID: fmt.Sprintf("run-%03d", i), Name: fmt.Sprintf("recommendation-train-%03d", 60-i),
			Pipeline: "recommendation-train", State: sources.RunSucceeded, Created: created,
			Finished: created.Add(time.Duration(30+i%12) * time.Minute),
		}
		switch {
		case i < 3:
			r.State, r.Finished = sources.RunRunning, time.Time{}
		case i == 5 || i == 17 || i == 29 || i == 41 || i == 53:
			r.State = sources.RunFailed
			r.Error = "train-model: OOMKilled (exit code 137)"
		}
		runs = append(runs, r)
	}
	return &sources.Pipelines{Window: 24 * time.Hour, Runs: runs}
}

func fixtureOptions(ch <-chan sources.Update, th theme.Theme) Options {
	return Options{
		Updates:    ch,
		Initial:    initialStatuses(),
		Thresholds: config.Default().Thresholds,
		Theme:      th,
		Now:        fixedClock,
		Tick:       time.Hour, // the clock is fixed; ticks would only redraw the same frame
		ReadOnly:   true,
		Context:    "demo",
		Namespace:  ns,
		Refresh:    func(sources.SourceID) {},
		Version:    "v0.1.0-test",
		Findings:   health.NewFindingsConfig(config.Default()),
	}
}

func plainTheme() theme.Theme { return theme.New(theme.Options{Color: false, ASCII: false}) }
func asciiTheme() theme.Theme { return theme.New(theme.Options{Color: false, ASCII: true}) }
