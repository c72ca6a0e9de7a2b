package sources

import (
	"testing"
	"time"
)

func TestBoardComposesAndKeepsLastGoodValue(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	b := NewBoard([]SourceStatus{{ID: SourceKFP, Health: HealthOff, Hint: "set --kfp-url"}})
	svc := Service{Namespace: "ml-prod", Name: "fraud-detector", Ready: true,
		CanaryPercent: 20, HasCanaryPercent: true,
		StableRevision: "fraud-detector-predictor-00001", CanaryRevision: "fraud-detector-predictor-00002"}
	raw := Service{Namespace: "ml-prod", Name: "churn-model", Mode: ModeStandard, Ready: true}
	b.Apply(Update{Status: SourceStatus{ID: SourceKube, Health: HealthOK, Seq: 1, FetchedAt: now},
		Part: Part{Inventory: &Inventory{Context: "demo", Services: []Service{svc, raw},
			OOMKills: []OOMKill{{Namespace: "ml-prod", Pod: "p", Container: "c", Service: "churn-model", At: now.Add(-time.Hour)},
				{Namespace: "ml-prod", Pod: "old", Container: "c", At: now.Add(-25 * time.Hour)}}}}})
	b.Apply(Update{Status: SourceStatus{ID: SourceProm, Health: HealthOK, Seq: 1, FetchedAt: now},
		Part: Part{Metrics: &Metrics{
			Services: map[ServiceKey]ServiceMetrics{svc.Key(): {Traffic: Traffic{RPS: 100}}},
			Revisions: map[ServiceKey]RevisionMetrics{
				{"ml-prod", "fraud-detector-predictor-00001"}: {Revision: "fraud-detector-predictor-00001", Traffic: Traffic{RPS: 80}},
				{"ml-prod", "fraud-detector-predictor-00002"}: {Revision: "fraud-detector-predictor-00002", Traffic: Traffic{RPS: 20}},
			},
			// The same container reported by kube-state-metrics counts once.
			OOMKills: []OOMKill{{Namespace: "ml-prod", Pod: "p", Container: "c", At: now.Add(-time.Hour)}},
		}}})

	s := b.Snapshot(now)
	if s.Context != "demo" || len(s.Serving) != 2 || s.Serving[0].Name != "churn-model" {
		t.Fatalf("serving = %+v", s.Serving)
	}
	if s.Serving[0].OOMKills != 1 || s.Serving[1].HasMetrics != true || s.Serving[0].HasMetrics {
		t.Fatalf("rows = %+v", s.Serving)
	}
	if len(s.Canaries) != 1 || !s.Canaries[0].HasMetrics || s.Canaries[0].Canary.RPS != 20 || s.Canaries[0].Stable.RPS != 80 {
		t.Fatalf("canaries = %+v", s.Canaries)
	}
	if len(s.Infra.OOMKills) != 1 {
		t.Fatalf("ooms = %+v", s.Infra.OOMKills)
	}
	if st := s.Source(SourceKFP); st.Health != HealthOff || st.Hint == "" {
		t.Fatalf("kfp status = %+v", st)
	}

	// A failed fetch publishes a status without a value: the value stays.
	b.Apply(Update{Status: SourceStatus{ID: SourceProm, Health: HealthStale, Seq: 2, Err: "connection refused", FetchedAt: now}})
	s = b.Snapshot(now.Add(time.Minute))
	if st := s.Source(SourceProm); st.Health != HealthStale || st.Age(s.At) != time.Minute {
		t.Fatalf("prom status = %+v", st)
	}
	if !s.Serving[1].HasMetrics {
		t.Fatal("last good metrics were dropped on failure")
	}

	// A late update (lower Seq) never rolls the board back.
	b.Apply(Update{Status: SourceStatus{ID: SourceProm, Health: HealthOK, Seq: 1}, Part: Part{Metrics: &Metrics{}}})
	s = b.Snapshot(now)
	if s.Source(SourceProm).Health != HealthStale || !s.Serving[1].HasMetrics {
		t.Fatal("a stale update replaced a newer one")
	}
}

func TestPipelineStats(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	p := Pipelines{Runs: []PipelineRun{
		{State: RunSucceeded, Created: t0, Finished: t0.Add(30 * time.Minute)},
		{State: RunSucceeded, Created: t0, Finished: t0.Add(40 * time.Minute)},
		{State: RunFailed, Created: t0.Add(time.Hour), Finished: t0.Add(time.Hour + 20*time.Minute), Error: "OOMKilled"},
		{State: RunRunning, Created: t0.Add(2 * time.Hour)},
		{State: RunCanceled, Created: t0, Finished: t0.Add(time.Minute)},
	}}
	st := p.Stats()
	if st.Total != 5 || st.Succeeded != 2 || st.Failed != 1 || st.Running != 1 || st.Other != 1 {
		t.Fatalf("counts %+v", st)
	}
	if !st.HasRate || st.SuccessRate < 0.666 || st.SuccessRate > 0.667 {
		t.Fatalf("rate %v", st.SuccessRate)
	}
	// Average over finished runs, the unfinished one excluded.
	if st.AvgDuration != (30+40+20+1)*time.Minute/4 || st.P95Duration != 40*time.Minute {
		t.Fatalf("avg %v p95 %v", st.AvgDuration, st.P95Duration)
	}
	if st.LastFailure == nil || st.LastFailure.Error != "OOMKilled" {
		t.Fatal("last failure")
	}
}
