package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/sources"
)

// judgeRun reads the platform every step through its fetchers, as the
// dashboard's poller does, and feeds a canary tracker.
type judgeRun struct {
	t   *testing.T
	p   *Platform
	tr  *canary.Tracker
	seq uint64
}

func newJudgeRun(t *testing.T, scenario string) *judgeRun {
	t.Helper()
	tr, err := canary.NewTracker(canary.TrackerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &judgeRun{t: t, p: newPlatform(t, Options{Seed: 1, Scenario: scenario}), tr: tr}
}

func (r *judgeRun) read() {
	r.t.Helper()
	all := fetchAll(r.t, r.p)
	r.seq++
	r.tr.Observe(r.p.Now(), all.inv.Services, all.met, r.seq)
}

// until reads every step until the fraud-detector's verdict is terminal or
// limit passes, and returns the verdict and when it came.
func (r *judgeRun) until(step, limit time.Duration) (canary.Verdict, time.Duration) {
	r.t.Helper()
	for elapsed := time.Duration(0); elapsed <= limit; elapsed += step {
		r.read()
		if v, ok := r.tr.Verdict(fraudKey()); ok && v.Decision.Terminal() {
			return v, r.p.Now().Sub(r.p.Start())
		}
		r.p.Advance(step)
	}
	v, _ := r.tr.Verdict(fraudKey())
	return v, r.p.Now().Sub(r.p.Start())
}

func TestJudgeCountersOfTheDemo(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	p.Advance(2 * time.Minute)
	m := fetchAll(t, p).met
	revs := map[string]sources.SeriesCounter{}
	for _, c := range m.Counters {
		revs[c.Revision] = c
	}
	// Only fraud-detector splits its traffic: its two revisions, one series each.
	if len(revs) != 2 || len(m.Counters) != 2 {
		t.Fatalf("counters of %v, want fraud-detector's two revisions", m.Counters)
	}
	stable, canaryRev := revs["fraud-detector-predictor-00001"], revs["fraud-detector-predictor-00002"]
	if !strings.HasPrefix(stable.Series, "fraud-detector-predictor-00001-deployment-") {
		t.Errorf("series named %q, want the revision's pod", stable.Series)
	}
	// The counters are RevisionCounters' values, in whole requests.
	want, _ := p.RevisionCounters(demoNamespace, canaryRev.Revision, []time.Duration{250 * time.Millisecond})
	if canaryRev.Requests != math.Floor(want.Requests) || canaryRev.Errors != math.Floor(want.Errors) ||
		canaryRev.Buckets[250] != math.Floor(want.Requests-want.Slower[0]) {
		t.Errorf("canary counters %+v, RevisionCounters %+v", canaryRev, want)
	}
	// Buckets are cumulative: they never decrease with le, and never exceed the count.
	prev := 0.0
	for _, le := range knativeBucketsMillis() {
		b := stable.Buckets[le]
		if b < prev || b > stable.Requests {
			t.Errorf("bucket le=%v is %v after %v (count %v)", le, b, prev, stable.Requests)
		}
		prev = b
	}
	// The stable (p50 60 ms, p99 180 ms) passes 90 % of its requests
	// by 150 ms (97.4 %; 86 % by 100) and 99 % by 200 ms (99.5 %; 97.4 % by 150).
	lb, ok := m.Bounds[fraudKey()]
	if !ok || !lb.Known || lb.L90 != 150*time.Millisecond || lb.L99 != 200*time.Millisecond {
		t.Errorf("bounds %+v, want L90 150ms, L99 200ms", lb)
	}
	if len(m.Bounds) != 1 {
		t.Errorf("bounds for %v, want fraud-detector only", m.Bounds)
	}
}

// TestDemoRegressionIsRolledBackByTheJudge: the incident's canary
// regresses 3 minutes in; read every 5 seconds from 2 minutes in, the judge
// calls ROLLBACK within a couple of minutes of the regression, explains it,
// and its verdict goes once the canary is rolled back.
func TestDemoRegressionIsRolledBackByTheJudge(t *testing.T) {
	r := newJudgeRun(t, ScenarioIncident)
	r.p.Advance(2 * time.Minute)
	v, at := r.until(5*time.Second, 10*time.Minute)
	if v.Decision != canary.Rollback {
		t.Fatalf("no rollback by %v: %s %s", at, v.Decision, v.Explanation)
	}
	if at < 3*time.Minute || at > 5*time.Minute {
		t.Errorf("rollback %v into the scenario, want within two minutes of the regression at 3m", at)
	}
	if !strings.Contains(v.Explanation, "harm evidence") || !strings.Contains(v.Explanation, "canaryTrafficPercent=0") {
		t.Errorf("explanation: %s", v.Explanation)
	}
	t.Logf("%v: %s", at, v.Explanation)

	if err := r.p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)); err != nil {
		t.Fatal(err)
	}
	r.p.Advance(5 * time.Second)
	r.read()
	if vs := r.tr.Verdicts(); len(vs) != 0 {
		t.Errorf("verdicts after the rollback: %v", vs)
	}
	// The rolled-back canary's counters stop growing.
	before := fetchAll(t, r.p).met
	r.p.Advance(time.Minute)
	after := fetchAll(t, r.p).met
	for i, c := range after.Counters {
		if c.Revision == "fraud-detector-predictor-00002" && c.Requests != before.Counters[i].Requests {
			t.Errorf("the canary served %v requests after its rollback", c.Requests-before.Counters[i].Requests)
		}
	}
}

// TestDemoCalmCanaryPromotes: on a good day the same canary is promoted
// once it has been watched for T_min and every metric is cleared.
func TestDemoCalmCanaryPromotes(t *testing.T) {
	r := newJudgeRun(t, ScenarioCalm)
	v, at := r.until(10*time.Second, 30*time.Minute)
	if v.Decision != canary.Promote {
		t.Fatalf("no promotion by %v: %s %s", at, v.Decision, v.Explanation)
	}
	if at > 20*time.Minute {
		t.Errorf("promotion took %v", at)
	}
	for _, m := range v.Metrics {
		if !m.Cleared || math.IsNaN(m.Harm) {
			t.Errorf("metric %s not cleared at promotion: %+v", m.Name, m)
		}
	}
	t.Logf("%v: %s", at, v.Explanation)
}

func BenchmarkPromFetchWithCounters(b *testing.B) {
	p := newPlatform(b, Options{Seed: 1})
	p.Advance(30 * time.Minute)
	fetch := p.Fetchers()[sources.SourceProm]
	for b.Loop() {
		if _, err := fetch(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}
