package sim

import (
	"testing"
	"time"
)

// increments reads a revision's counters twice, d apart.
func increments(t *testing.T, p *Platform, revision string, d time.Duration, bounds []time.Duration) Counters {
	t.Helper()
	a, ok := p.RevisionCounters(demoNamespace, revision, bounds)
	if !ok {
		t.Fatalf("no counters for %s", revision)
	}
	p.Advance(d)
	b, _ := p.RevisionCounters(demoNamespace, revision, bounds)
	if b.Requests < a.Requests || b.Errors < a.Errors {
		t.Fatalf("%s: counters went down: %+v -> %+v", revision, a, b)
	}
	out := Counters{Revision: revision, Requests: b.Requests - a.Requests, Errors: b.Errors - a.Errors}
	for i := range bounds {
		out.Slower = append(out.Slower, b.Slower[i]-a.Slower[i])
	}
	return out
}

func TestCountersGiveTheJudgeExactIncrements(t *testing.T) {
	const stable, canary = "fraud-detector-predictor-00001", "fraud-detector-predictor-00002"
	bounds := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}
	p := newPlatform(t, Options{Seed: 1})
	if _, ok := p.RevisionCounters(demoNamespace, "churn-model-predictor-00001", nil); ok {
		t.Error("counters for a Standard-mode service, which has no revisions")
	}
	if _, ok := p.RevisionCounters(demoNamespace, "nope", nil); ok {
		t.Error("counters for an unknown revision")
	}

	// A healthy canary: same error share as the stable, a fifth of the requests.
	c := increments(t, p, canary, time.Minute, bounds)
	within(t, "healthy canary requests per minute", c.Requests, 0.8*1200, 1.2*1200)
	within(t, "healthy canary error share", c.Errors/c.Requests, 0.003, 0.007)

	p.Advance(4 * time.Minute) // regressed by now
	a, _ := p.RevisionCounters(demoNamespace, stable, bounds)
	c = increments(t, p, canary, time.Minute, bounds)
	b, _ := p.RevisionCounters(demoNamespace, stable, bounds)
	s := Counters{Requests: b.Requests - a.Requests, Errors: b.Errors - a.Errors, Slower: []float64{b.Slower[0] - a.Slower[0], b.Slower[1] - a.Slower[1]}}
	within(t, "regressed canary error share", c.Errors/c.Requests, 0.034, 0.046)
	within(t, "stable error share", s.Errors/s.Requests, 0.004, 0.006)
	within(t, "canary share of requests", c.Requests/(c.Requests+s.Requests), 0.19, 0.21)
	within(t, "canary share slower than 500ms", c.Slower[1]/c.Requests, 0.02, 0.06)
	if s.Slower[1]/s.Requests > 0.001 {
		t.Errorf("stable share slower than 500ms %.4f", s.Slower[1]/s.Requests)
	}
	if c.Slower[0] < c.Slower[1] {
		t.Error("fewer requests slower than 250ms than slower than 500ms")
	}

	if err := p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)); err != nil {
		t.Fatal(err)
	}
	p.Advance(routeSettle)
	if c = increments(t, p, canary, time.Minute, bounds); c.Requests != 0 {
		t.Errorf("canary counted %.1f requests after the rollback", c.Requests)
	}
}

func TestCountersAreContinuousAndDeterministic(t *testing.T) {
	a := newPlatform(t, Options{Seed: 3})
	b := newPlatform(t, Options{Seed: 3})
	a.Advance(95 * time.Second)
	b.Advance(95 * time.Second)
	ca, _ := a.RevisionCounters(demoNamespace, "search-ranker-predictor-00003", nil)
	cb, _ := b.RevisionCounters(demoNamespace, "search-ranker-predictor-00003", nil)
	if ca.Requests != cb.Requests || ca.Errors != cb.Errors {
		t.Fatalf("same platform, different counters: %+v %+v", ca, cb)
	}
	// One second later the count grew by about one second of traffic (5 req/s).
	a.Advance(time.Second)
	next, _ := a.RevisionCounters(demoNamespace, "search-ranker-predictor-00003", nil)
	within(t, "requests in one second", next.Requests-ca.Requests, 4, 6)

	// An action changes the future, never the count so far.
	before, _ := a.RevisionCounters(demoNamespace, "fraud-detector-predictor-00002", nil)
	if err := a.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)); err != nil {
		t.Fatal(err)
	}
	after, _ := a.RevisionCounters(demoNamespace, "fraud-detector-predictor-00002", nil)
	if before.Requests != after.Requests {
		t.Errorf("the rollback rewrote history: %.3f -> %.3f", before.Requests, after.Requests)
	}
}

func BenchmarkRevisionCounters(b *testing.B) {
	p := newPlatform(b, Options{Seed: 1})
	p.Advance(30 * time.Minute)
	bounds := []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond}
	for b.Loop() {
		p.RevisionCounters(demoNamespace, "fraud-detector-predictor-00002", bounds)
	}
}
