package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

func fixture() sources.Snapshot {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	return sources.Snapshot{
		At: now, Context: "demo", Namespaces: []string{"ml-prod"},
		Pipelines: sources.Pipelines{Window: 24 * time.Hour, Runs: []sources.PipelineRun{
			{ID: "b", Name: "run-b", State: sources.RunFailed, Created: now.Add(-2 * time.Hour), Finished: now.Add(-90 * time.Minute), Error: "train-model: OOMKilled"},
			{ID: "a", Name: "run-a", State: sources.RunSucceeded, Created: now.Add(-3 * time.Hour), Finished: now.Add(-150 * time.Minute)},
		}},
		Training: sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean", Runs: []sources.TrainingRun{
			{ID: "r1", Name: "r1", Value: 0.887, HasValue: true, Start: now.Add(-5 * time.Hour), End: now.Add(-4 * time.Hour)},
			{ID: "r2", Name: "r2", Value: 0.857, HasValue: true, Start: now.Add(-2 * time.Hour), End: now.Add(-90 * time.Minute)},
		}},
		Registry: sources.Registry{PromotedAlias: "champion",
			Promoted: []sources.ModelVersion{{Model: "m", Version: "7", Aliases: []string{"champion"}}},
			Waiting:  []sources.ModelVersion{{Model: "m", Version: "8", Status: "READY", Created: now.Add(-30 * time.Hour)}}},
		Serving: []sources.ServiceRow{
			{Service: sources.Service{Namespace: "ml-prod", Name: "churn-model", Mode: sources.ModeStandard, Reason: "MLmodel not found"}},
			{Service: sources.Service{Namespace: "ml-prod", Name: "fraud-detector", Ready: true, Mode: sources.ModeKnative,
				CanaryPercent: 20, HasCanaryPercent: true},
				HasMetrics: true, Metrics: sources.ServiceMetrics{Traffic: sources.Traffic{RPS: 100, ErrorRate: 0.012, HasErrors: true, P99: 471 * time.Millisecond, HasP99: true}}},
		},
		Canaries: []sources.CanaryView{{Key: sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"}, Percent: 20, HasMetrics: true,
			StableRevision: "fraud-detector-predictor-00001", CanaryRevision: "fraud-detector-predictor-00002",
			Stable: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: 80, ErrorRate: 0.005, HasErrors: true}},
			Canary: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: 20, ErrorRate: 0.04, HasErrors: true}}}},
		Infra: sources.Infra{GPUs: []sources.GPU{{Node: "n", Device: "0", Util: 73}, {Node: "n", Device: "1", Util: 0}}},
		Sources: []sources.SourceStatus{
			{ID: sources.SourceProm, Health: sources.HealthOK, Configured: true, FetchedAt: now.Add(-2 * time.Second)},
			{ID: sources.SourceKFP, Health: sources.HealthOff, Hint: "set --kfp-url"},
		},
	}
}

func TestJSONDocument(t *testing.T) {
	s := fixture()
	th := config.Default().Thresholds
	d := Build(s, health.Evaluate(s, th), th)
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pipelines", "training", "registry", "serving", "canary", "infra", "alerts", "sources"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	if d.Pipelines.SuccessRate == nil || *d.Pipelines.SuccessRate != 0.5 {
		t.Errorf("success rate %v", d.Pipelines.SuccessRate)
	}
	if d.Training.Delta == nil || *d.Training.Delta != -0.03 {
		t.Errorf("delta %v", d.Training.Delta)
	}
	if d.Registry.OldestWaitSec == nil || *d.Registry.OldestWaitSec != 30*3600 {
		t.Errorf("oldest wait %v", d.Registry.OldestWaitSec)
	}
	// Unknown figures are null, not zero.
	if d.Serving[0].Traffic != nil || d.Serving[1].Traffic.P50Ms != nil || d.Serving[0].CanaryPercent != nil {
		t.Errorf("unknowns not null: %+v", d.Serving)
	}
	if c := d.Canary[0]; c.ErrorRatio == nil || *c.ErrorRatio != 8 || !c.Breached || c.Verdict != "BREACH" {
		t.Errorf("canary %+v", c)
	}
	if d.Infra.GPUUtilMean == nil || *d.Infra.GPUUtilMean != 36.5 {
		t.Errorf("gpu mean %v", d.Infra.GPUUtilMean)
	}
	if d.Sources[0].AgeSeconds == nil || *d.Sources[0].AgeSeconds != 2 || d.Sources[1].FetchedAt != nil {
		t.Errorf("sources %+v", d.Sources)
	}
	if len(d.Alerts) == 0 || d.Alerts[0].Severity != "CRIT" {
		t.Errorf("alerts %+v", d.Alerts)
	}
}

func TestTextReport(t *testing.T) {
	s := fixture()
	th := config.Default().Thresholds
	var buf bytes.Buffer
	if err := WriteText(&buf, Build(s, health.Evaluate(s, th), th)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"context demo", "ALERTS (", "CRIT", "success 50.0%", "latest 0.857 (r2)  previous 0.887  delta -0.030",
		"m v8  waiting 30h", "ml-prod/fraud-detector", "churn-model not ready: MLmodel not found",
		"verdict BREACH", "5xx 4.00%", "OOM kills in 24h: 0", "kfp", "set --kfp-url",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Error("text report contains escape characters")
	}
}
