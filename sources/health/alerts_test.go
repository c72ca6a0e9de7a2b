package health

import (
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

var now = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

func runs(ok, failed, running int) []sources.PipelineRun {
	var out []sources.PipelineRun
	at := now.Add(-time.Hour)
	add := func(n int, state string) {
		for i := 0; i < n; i++ {
			r := sources.PipelineRun{ID: state, State: state, Created: at}
			if state != sources.RunRunning {
				r.Finished = at.Add(30 * time.Minute)
			}
			out = append(out, r)
		}
	}
	add(ok, sources.RunSucceeded)
	add(failed, sources.RunFailed)
	add(running, sources.RunRunning)
	return out
}

func find(alerts []Alert, pane string) *Alert {
	for i := range alerts {
		if alerts[i].Pane == pane {
			return &alerts[i]
		}
	}
	return nil
}

func TestPipelineSuccessRule(t *testing.T) {
	th := config.Default().Thresholds
	// 52 of 57 finished = 91.2 %: below 95 %.
	s := sources.Snapshot{At: now, Pipelines: sources.Pipelines{Window: 24 * time.Hour, Runs: runs(52, 5, 3)}}
	a := find(Evaluate(s, th), PanePipelines)
	if a == nil || a.Severity != Warn || !strings.Contains(a.Text, "91.2% < 95%") || !strings.Contains(a.Text, "52/57") {
		t.Fatalf("alert = %+v", a)
	}
	// 95 of 100 is exactly the limit: no alert (the rule is "< 95 %").
	s.Pipelines.Runs = runs(95, 5, 0)
	if a := find(Evaluate(s, th), PanePipelines); a != nil {
		t.Fatalf("unexpected alert at the limit: %+v", a)
	}
	// Only running runs: no rate, no alert.
	s.Pipelines.Runs = runs(0, 0, 4)
	if a := find(Evaluate(s, th), PanePipelines); a != nil {
		t.Fatalf("unexpected alert without finished runs: %+v", a)
	}
}

func TestTrainingDropRule(t *testing.T) {
	th := config.Default().Thresholds
	mk := func(vals ...float64) sources.Training {
		tr := sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean"}
		for i, v := range vals {
			tr.Runs = append(tr.Runs, sources.TrainingRun{ID: "r" + string(rune('a'+i)), Value: v, HasValue: true})
		}
		// A run without the metric does not count as the latest.
		tr.Runs = append(tr.Runs, sources.TrainingRun{ID: "running"})
		return tr
	}
	s := sources.Snapshot{At: now, Training: mk(0.87, 0.887, 0.857)}
	a := find(Evaluate(s, th), PaneTraining)
	if a == nil || !strings.Contains(a.Text, "0.857 is 0.030 below previous 0.887") {
		t.Fatalf("alert = %+v", a)
	}
	s.Training = mk(0.887, 0.867) // a drop of exactly 0.02 is within the limit
	if a := find(Evaluate(s, th), PaneTraining); a != nil {
		t.Fatalf("unexpected alert: %+v", a)
	}
	s.Training = mk(0.80, 0.95) // a rise never alerts
	if a := find(Evaluate(s, th), PaneTraining); a != nil {
		t.Fatalf("unexpected alert: %+v", a)
	}
}

func TestRegistryWaitRule(t *testing.T) {
	th := config.Default().Thresholds
	s := sources.Snapshot{At: now, Registry: sources.Registry{Waiting: []sources.ModelVersion{
		{Model: "recommendation-classifier", Version: "8", Created: now.Add(-30 * time.Hour)},
		{Model: "recommendation-classifier", Version: "9", Created: now.Add(-5 * time.Hour)},
	}}}
	alerts := Evaluate(s, th)
	if len(alerts) != 1 || alerts[0].Object != "recommendation-classifier v8" || !strings.Contains(alerts[0].Text, "30h > 24h") {
		t.Fatalf("alerts = %+v", alerts)
	}
}

func TestServingAndCanaryRules(t *testing.T) {
	th := config.Default().Thresholds
	svc := func(name string, ready bool) sources.Service {
		return sources.Service{Namespace: "ml-prod", Name: name, Ready: ready}
	}
	row := func(s sources.Service, errRate float64, p99 time.Duration) sources.ServiceRow {
		return sources.ServiceRow{Service: s, HasMetrics: true, Metrics: sources.ServiceMetrics{Traffic: sources.Traffic{
			RPS: 10, ErrorRate: errRate, HasErrors: true, P99: p99, HasP99: true}}}
	}
	churn := svc("churn-model", false)
	churn.Reason = `Could not find an "MLmodel" configuration file`
	rev := func(name string, errRate float64) sources.RevisionMetrics {
		return sources.RevisionMetrics{Revision: name, Traffic: sources.Traffic{RPS: 20, ErrorRate: errRate, HasErrors: true}}
	}
	s := sources.Snapshot{At: now,
		Serving: []sources.ServiceRow{
			row(svc("fraud-detector", true), 0.012, 471*time.Millisecond),
			row(svc("recommendation-classifier", true), 0.002, 242*time.Millisecond),
			row(svc("slow", true), 0.0, 700*time.Millisecond),
			{Service: churn},
		},
		Canaries: []sources.CanaryView{{
			Key: sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"}, Percent: 20, HasMetrics: true,
			Stable: rev("fraud-detector-predictor-00001", 0.005), Canary: rev("fraud-detector-predictor-00002", 0.04),
		}},
	}
	alerts := Evaluate(s, th)
	if len(alerts) != 4 {
		t.Fatalf("want 4 alerts, got %d: %+v", len(alerts), alerts)
	}
	// The canary breach leads: critical, and it names the rollback.
	if a := alerts[0]; a.Pane != PaneCanary || a.Severity != Crit || a.Action != "rollback" ||
		!strings.Contains(a.Text, "4.00% vs stable 0.50% (8.0x) > 2x") || a.Service == nil || a.Service.Name != "fraud-detector" {
		t.Fatalf("first alert = %+v", a)
	}
	var texts []string
	for _, a := range alerts {
		texts = append(texts, a.Severity.String()+" "+a.Text)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{
		"CRIT churn-model not ready: Could not find",
		"CRIT fraud-detector errors 1.20% > 1.00%",
		"WARN slow p99 700ms > 500ms",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("missing %q in\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "recommendation-classifier") {
		t.Errorf("healthy service alerted:\n%s", joined)
	}
}

func TestCompareCanary(t *testing.T) {
	th := config.Default().Thresholds
	cv := func(stable, canary float64, canaryRPS float64) sources.CanaryView {
		return sources.CanaryView{HasMetrics: true,
			Stable: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: 80, ErrorRate: stable, HasErrors: true}},
			Canary: sources.RevisionMetrics{Traffic: sources.Traffic{RPS: canaryRPS, ErrorRate: canary, HasErrors: true}}}
	}
	cases := []struct {
		name          string
		c             sources.CanaryView
		known, breach bool
	}{
		{"regression", cv(0.005, 0.04, 20), true, true},
		{"exactly 2x is within", cv(0.005, 0.01, 20), true, false},
		{"no canary traffic", cv(0.005, 0.04, 0), false, false},
		{"perfect stable, stray canary error", cv(0, 0.004, 20), true, false},
		{"perfect stable, canary over the serving limit", cv(0, 0.03, 20), true, true},
		{"no metrics", sources.CanaryView{}, false, false},
	}
	for _, c := range cases {
		got := CompareCanary(c.c, th)
		if got.Known != c.known || got.Breached != c.breach {
			t.Errorf("%s: got %+v", c.name, got)
		}
	}
}

func TestOOMRuleGroupsByService(t *testing.T) {
	th := config.Default().Thresholds
	s := sources.Snapshot{At: now,
		Serving: []sources.ServiceRow{{Service: sources.Service{Namespace: "ml-prod", Name: "image-embedder", Ready: true}}},
		Infra: sources.Infra{OOMKills: []sources.OOMKill{
			{Namespace: "ml-prod", Pod: "image-embedder-predictor-00001-deployment-abc", Service: "image-embedder", At: now.Add(-2 * time.Hour)},
		}}}
	a := find(Evaluate(s, th), PaneInfra)
	if a == nil || a.Text != "image-embedder OOM killed x1 in 24h" || a.Service == nil {
		t.Fatalf("alert = %+v", a)
	}
	s.Infra.OOMKills = nil
	if a := find(Evaluate(s, th), PaneInfra); a != nil {
		t.Fatalf("unexpected alert %+v", a)
	}
}

func TestFormatters(t *testing.T) {
	if Percent(0.005) != "0.50%" || Percent(0.125) != "12.5%" {
		t.Fatal(Percent(0.005), Percent(0.125))
	}
	if Age(42*time.Second) != "42s" || Age(12*time.Minute) != "12m" || Age(30*time.Hour) != "30h" || Age(100*time.Hour) != "4d" {
		t.Fatal("Age")
	}
	if Millis(471*time.Millisecond) != "471ms" {
		t.Fatal("Millis")
	}
}
