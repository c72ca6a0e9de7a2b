package canary

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestZeroCanaryTickContributesNothing(t *testing.T) {
	j := newTestJudge(t, 10)
	v := j.Observe(Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(0, 0, 0, 0, 0)})
	for _, m := range v.Metrics {
		if m.Harm != 1 || m.Safety != 1 {
			t.Errorf("%s after a tick without canary requests: E^H %v, E^S %v; want both 1 (no evidence)", m.Name, m.Harm, m.Safety)
		}
	}
	if v.Metrics[0].Floor != 1 {
		t.Errorf("floor after a tick without canary requests: %v, want 1", v.Metrics[0].Floor)
	}
	// Nor does a tick without any bad events, nor one without stable traffic.
	e := newRatioEvidence(1.2, []float64{1.5, 2})
	e.add(0, 0, 300, 2700)
	e.add(5, 0, 300, 0)
	if e.logValue() != 0 {
		t.Errorf("ln E = %v after uninformative ticks, want 0", e.logValue())
	}
}

// TestEvidenceAlgebra: the one-logarithm form of l_k equals the
// specification's theta form.
func TestEvidenceAlgebra(t *testing.T) {
	x, y, nC, nS := 6.0, 14.0, 300.0, 2700.0
	e := newRatioEvidence(1.2, []float64{1.5, 2, 3, 5, 10})
	e.add(x, y, nC, nS)
	for i, rho1 := range []float64{1.5, 2, 3, 5, 10} {
		t1, t0 := theta(rho1, nC, nS), theta(1.2, nC, nS)
		want := x*math.Log(t1/t0) + y*math.Log((1-t1)/(1-t0))
		if math.Abs(e.logSum[i]-want) > 1e-12 {
			t.Errorf("rho1 %v: l = %v, want %v", rho1, e.logSum[i], want)
		}
	}
}

func TestLogMeanExpDoesNotOverflow(t *testing.T) {
	got := logMeanExp([]float64{2000, 2000 + math.Log(3)})
	if want := 2000 + math.Log(2); math.Abs(got-want) > 1e-9 {
		t.Errorf("logMeanExp = %v, want %v", got, want)
	}
	if got := logMeanExp([]float64{-2000, -3000}); math.IsInf(got, 0) || math.Abs(got-(-2000-math.Log(2))) > 1e-9 {
		t.Errorf("logMeanExp of tiny values = %v", got)
	}
}

func TestFailedQueriesHoldAfterFourAndContributeNothing(t *testing.T) {
	j := newTestJudge(t, 10)
	before := j.Observe(steadyTick())
	for k := 2; k <= 5; k++ {
		v := j.Observe(Tick{QueryFailed: true, Canary: counts(300, 300, 300, 300, 300)})
		for i, m := range v.Metrics {
			if m != before.Metrics[i] {
				t.Fatalf("tick %d: a failed query changed %s: %+v -> %+v", k, m.Name, before.Metrics[i], m)
			}
		}
		held := hasReason(v, "consecutive failed queries")
		if want := k-1 >= 4; held != want || (v.Decision == Hold) != want {
			t.Errorf("tick %d (%d failed in a row): %s %v; want the hold %v", k, k-1, v.Decision, v.Reasons, want)
		}
		if v.Decision == Rollback {
			t.Fatalf("a failed query must never be a failure: %s", v.Explanation)
		}
	}
	if v := j.Observe(steadyTick()); hasReason(v, "failed queries") {
		t.Errorf("a successful query must end the hold: %v", v.Reasons)
	}
	// Counts that cannot be true are treated as a failed query.
	bad := newTestJudge(t, 10)
	for k := 1; k <= 4; k++ {
		v := bad.Observe(Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: Counts{Requests: 10, Errors: 20}})
		if v.Metrics[0].CanaryTotal != 0 || (k == 4) != hasReason(v, "4 consecutive failed queries") {
			t.Fatalf("tick %d with errors > requests: %+v %v", k, v.Metrics[0], v.Reasons)
		}
	}
}

func TestColdStartTicksAreDropped(t *testing.T) {
	j := newTestJudge(t, 10)
	dying := Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(300, 300, 300, 300, 300)}
	for _, readyFor := range []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second} {
		dying.CanaryReadyFor = readyFor // the tick began before Ready+60s
		if v := j.Observe(dying); v.Decision == Rollback || v.Metrics[0].CanaryTotal != 0 {
			t.Fatalf("ready for %v: cold-start tick was counted: %s", readyFor, v.Explanation)
		}
	}
	warm := steadyTick()
	warm.CanaryReadyFor = 120 * time.Second // began 60 s after Ready
	if v := j.Observe(warm); v.Metrics[0].CanaryTotal != 300 {
		t.Errorf("the first tick after the cold start was dropped: %+v", v.Metrics[0])
	}
	if v := j.Observe(steadyTick()); v.Metrics[0].CanaryTotal != 600 || v.Tick != 5 {
		t.Errorf("unknown readiness age must count as warm: %+v at tick %d", v.Metrics[0], v.Tick)
	}
}

func TestTrafficSplitHold(t *testing.T) {
	skewed := Tick{Stable: counts(580, 3, 58, 6, 1), Canary: counts(20, 0, 2, 0, 0)} // 3.3% share at w = 10%
	j := newTestJudge(t, 10)
	if v := j.Observe(skewed); hasReason(v, "traffic split") {
		t.Errorf("600 requests are too few to judge the split: %v", v.Reasons)
	}
	v := j.Observe(skewed)
	if v.Decision != Hold || !hasReason(v, "traffic split mismatch: canary share 3.33% of 1200 requests is outside [5%, 20%] for canaryTrafficPercent 10") {
		t.Errorf("1200 requests at 3.3%%: %s %v", v.Decision, v.Reasons)
	}
	// The split changed to 3%: the expected share is request-weighted,
	// (1200*10% + 2400*3%)/3600 = 5.33%, so after four such ticks 3.33%
	// lies inside [2.67%, 10.7%].
	skewed.CanaryPercent = 3
	for range 4 {
		v = j.Observe(skewed)
	}
	if hasReason(v, "traffic split") {
		t.Errorf("share 3.3%% with an expected 5.33%%: %v", v.Reasons)
	}
	// Too much canary traffic holds too.
	over := Tick{Stable: counts(700, 4, 70, 7, 1), Canary: counts(300, 2, 30, 3, 0)}
	k := newTestJudge(t, 10)
	k.Observe(over)
	if v := k.Observe(over); !hasReason(v, "outside [5%, 20%]") {
		t.Errorf("share 30%% at w = 10%%: %v", v.Reasons)
	}
}

func TestNoCanaryTrafficHold(t *testing.T) {
	j := newTestJudge(t, 10)
	j.Observe(steadyTick())
	silent := Tick{Stable: counts(2700, 14, 270, 27, 3)}
	for k, want := range []bool{false, false, true, true} {
		v := j.Observe(silent)
		if got := hasReason(v, "no canary requests for"); got != want {
			t.Errorf("after %d silent minutes: hold %v, want %v (%v)", k+1, got, want, v.Reasons)
		}
	}
	// An idle service (no traffic at all) neither extends nor resets it.
	if v := j.Observe(Tick{}); !hasReason(v, "no canary requests for 4m") {
		t.Errorf("idle tick: %v", v.Reasons)
	}
	if v := j.Observe(steadyTick()); hasReason(v, "no canary requests") {
		t.Errorf("canary traffic must end the hold: %v", v.Reasons)
	}
}

func TestStableSLOHoldUsesTrailingWindow(t *testing.T) {
	j := newTestJudge(t, 10)
	slowStable := Tick{Stable: counts(2700, 14, 800, 600, 540), Canary: counts(300, 2, 30, 3, 0)} // 20% slower than 500ms
	j.Observe(slowStable)
	v := j.Observe(slowStable)
	if v.Decision != Hold || !hasReason(v, "stable breaches its SLO over the last 5m (slower than 500ms 20.00% > 1%)") {
		t.Fatalf("stable 2%% slower than the SLO: %s %v", v.Decision, v.Reasons)
	}
	// Healthy minutes dilute the slow ones (tick 6: (540+4*3)/13500 = 4.1%)
	// until the window no longer holds them (tick 7).
	for k := 3; k <= 7; k++ {
		v = j.Observe(steadyTick())
		if breached := hasReason(v, "stable breaches"); breached != (k < 7) {
			t.Errorf("tick %d: breach %v, want %v (%v)", k, breached, k < 7, v.Reasons)
		}
	}
}

func TestKillSwitch(t *testing.T) {
	j := newTestJudge(t, 10)
	v := j.Observe(Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(40, 20, 4, 0, 0)})
	want := "ROLLBACK at tick 1: kill switch: canary 5xx 50.00% (20/40) in one tick (>= 50% of >= 20 requests). Action: canaryTrafficPercent=0"
	if v.Decision != Rollback || v.Explanation != want {
		t.Errorf("got %s\nwant %s", v.Explanation, want)
	}
	// 19 requests are too few for the kill switch; without stable traffic
	// there is no comparison either, so the judge keeps observing.
	k := newTestJudge(t, 10)
	if v := k.Observe(Tick{Canary: counts(19, 19, 0, 0, 0)}); v.Decision != Observing {
		t.Errorf("19 failing requests without a baseline: %s", v.Explanation)
	}
}

func TestCanaryNotReadyRollsBack(t *testing.T) {
	j := newTestJudge(t, 10)
	j.Observe(steadyTick())
	v := j.Observe(Tick{QueryFailed: true, CanaryNotReady: true})
	if v.Decision != Rollback || v.Tick != 2 || !strings.Contains(v.Explanation, "not Ready") {
		t.Errorf("canary not Ready: %s at %d: %s", v.Decision, v.Tick, v.Explanation)
	}
}

// TestImprovementNeverRollsBack: the harm test is one-sided, so a canary
// far better than the stable never builds harm evidence.
func TestImprovementNeverRollsBack(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MinCanaryRequests = math.Inf(1) // keep observing to T_max
	j, err := NewJudge(cfg, fixtureBounds(), 10)
	if err != nil {
		t.Fatal(err)
	}
	better := Tick{Stable: counts(2700, 81, 810, 270, 27), Canary: counts(300, 0, 3, 0, 0)}
	for k := 1; k <= 30; k++ {
		v := j.Observe(better)
		if v.Decision == Rollback {
			t.Fatalf("tick %d: an improvement rolled back: %s", k, v.Explanation)
		}
		for _, m := range v.Metrics {
			if m.Harm > 1 {
				t.Fatalf("tick %d: %s harm evidence %v grew on an improvement", k, m.Name, m.Harm)
			}
		}
	}
}

// TestTerminalVerdictPersists: after a decision every later tick reports
// it unchanged, and callers cannot edit the kept verdict.
func TestTerminalVerdictPersists(t *testing.T) {
	j := newTestJudge(t, 10)
	bad := Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(300, 6, 30, 3, 0)}
	var decided Verdict
	for k := 1; k <= 3; k++ {
		decided = j.Observe(bad)
	}
	if decided.Decision != Rollback || decided.Tick != 3 {
		t.Fatalf("v2's ticks: %s at %d", decided.Decision, decided.Tick)
	}
	decided.Reasons = append(decided.Reasons, "edited")
	decided.Metrics[0].Harm = -1
	for k := 4; k <= 10; k++ {
		v := j.Observe(steadyTick())
		if v.Decision != Rollback || v.Tick != 3 || v.Explanation != decided.Explanation || v.Metrics[0].Harm < 300 || len(v.Reasons) != 0 {
			t.Fatalf("tick %d after ROLLBACK: %s at %d: %s %v", k, v.Decision, v.Tick, v.Explanation, v.Reasons)
		}
	}
}

func TestExplanationLines(t *testing.T) {
	run := func(t *testing.T, file string) Result {
		res, err := ReplayFile("testdata/"+file, PolicyJudge)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	v2 := run(t, "v2.yaml")
	const spec = "ROLLBACK at tick 3: canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x; harm evidence 354 >= 300 (false-rollback risk <= 1%). Action: canaryTrafficPercent=0"
	if v2.Verdict.Explanation != spec {
		t.Errorf("v2:\n got %s\nwant %s", v2.Verdict.Explanation, spec)
	}
	v6 := run(t, "v6.yaml")
	const tail = "ROLLBACK at tick 1: canary slower than 250ms 5.00% (15/300) vs stable 1.00% (27/2700) = 5.0x (p99 >=500ms vs 250ms); harm evidence 943 >= 300 (false-rollback risk <= 1%). Action: canaryTrafficPercent=0"
	if v6.Verdict.Explanation != tail {
		t.Errorf("v6:\n got %s\nwant %s", v6.Verdict.Explanation, tail)
	}
	for _, tc := range []struct {
		file   string
		prefix string
		parts  []string
	}{
		{"v1.yaml", "PROMOTE at tick 10: canary 5xx 0.50% (15/3000) vs stable 0.52% (140/27000) = 1.0x; cleared errors (safety 46.7)",
			[]string{">= 40 after 10m and 3000 canary requests. Action: remove canaryTrafficPercent"}},
		{"v4.yaml", "INCONCLUSIVE at tick 30: canary 5xx 0.00% (0/360) vs stable 0.46% (15/3240) = 0.0x; no decision after 30m: canary requests 360 < 500",
			[]string{"errors not cleared (safety 6.43, floor 3.81 < 40)", "Action: none, keep the split; a human decides"}},
		{"v8.yaml", "INCONCLUSIVE at tick 30: canary 5xx 3.00% (270/9000) vs stable 3.00% (2430/81000) = 1.0x",
			[]string{"stable breaches its SLO over the last 5m (5xx 3.00% > 2%)"}},
	} {
		line := run(t, tc.file).Verdict.Explanation
		if !strings.HasPrefix(line, tc.prefix) {
			t.Errorf("%s:\n got %s\nwant prefix %s", tc.file, line, tc.prefix)
		}
		for _, p := range tc.parts {
			if !strings.Contains(line, p) {
				t.Errorf("%s: %q lacks %q", tc.file, line, p)
			}
		}
	}
	v8 := run(t, "v8.yaml")
	const hold = "HOLD at tick 2: stable breaches its SLO over the last 5m (5xx 3.00% > 2%); canary 5xx 3.00% (18/600) vs stable 3.00% (162/5400) = 1.0x. No action: a hold is not a failure; a 2x regression would roll back in ~13 ticks (13m)"
	if got := v8.Ticks[1].Explanation; got != hold {
		t.Errorf("v8 tick 2:\n got %s\nwant %s", got, hold)
	}
	if got := v2.Ticks[0].Explanation; !strings.HasPrefix(got, "OBSERVING at tick 1: canary 5xx 2.00% (6/300) vs stable 0.52% (14/2700) = 3.9x; harm 5.39/300, safety 0.05/40; waiting: observed 1m < 5m, canary requests 300 < 500") {
		t.Errorf("v2 tick 1: %s", got)
	}
}

// TestHistogramQuantile checks histogram_quantile's interpolation by hand.
func TestHistogramQuantile(t *testing.T) {
	h := newHistogram()
	h.add(counts(300, 0, 60, 15, 5))
	// p90: rank 270; cumulative 240 at 100ms and 285 at 250ms, so
	// 100 + 150*(270-240)/(285-240) = 200ms.
	if got, ok := h.quantile(0.90); !ok || got != "200ms" {
		t.Errorf("p90 = %q, want 200ms", got)
	}
	// p99: rank 297 is above the 295 at 500ms: the +Inf bucket.
	if got, _ := h.quantile(0.99); got != ">=500ms" {
		t.Errorf("p99 = %q, want >=500ms", got)
	}
	// p50: rank 150 in the first bucket, which starts at 0: 100*150/240.
	if got, _ := h.quantile(0.50); got != "63ms" {
		t.Errorf("p50 = %q, want 63ms", got)
	}
	// A bound missing from one tick is left out: over 250 and 500 only,
	// cumulative 570 at 250ms, so p90 (rank 540) = 250*540/570 = 237ms.
	h.add(Counts{Requests: 300, Slower: map[float64]float64{250: 15, 500: 5}})
	if got, _ := h.quantile(0.90); got != "237ms" {
		t.Errorf("p90 over the buckets every tick reported = %q, want 237ms", got)
	}
	if _, ok := newHistogram().quantile(0.99); ok {
		t.Error("an empty histogram has no quantile")
	}
}

// TestETA checks the ETA against a hand computation. Steady v1 traffic:
// n_C 300, n_S 2700, p_S = 14/2700.
//
//	theta(2)   = 600/3300 = 0.181818, theta(1.2) = 360/3060 = 0.117647
//	KL         = 0.181818 ln(0.181818/0.117647) + 0.818182 ln(0.818182/0.882353) = 0.0173698
//	D          = (2*300 + 2700) * 14/2700 * KL = 17.1111 * 0.0173698 = 0.297217
//	ticks      = ln(5*300)/D = 7.313220/0.297217 = 24.6056
func TestETA(t *testing.T) {
	j := newTestJudge(t, 10)
	v := j.Observe(Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(300, 1, 30, 3, 0)})
	e := v.ETA
	if !e.Known || e.Metric != MetricErrors || math.Abs(e.Ticks-24.6056) > 1e-3 {
		t.Fatalf("ETA = %+v, want 24.6056 ticks on errors", e)
	}
	if e.ExceedsMax || e.SuggestPercent != 0 || math.Abs(e.Seconds-24.6056*60) > 0.1 {
		t.Errorf("ETA = %+v: 24.6 minutes fit in 30", e)
	}
	// A 2% canary (60 of 3000 per tick) at p_S = 0.5%: by the same formula
	// 113.2 ticks at 2%, 30.94 at 8%, 27.92 at 9%: suggest 9%.
	k := newTestJudge(t, 2)
	e = k.Observe(Tick{Stable: counts(2940, 14.7, 294, 29, 3), Canary: counts(60, 0, 6, 0, 0)}).ETA
	if math.Abs(e.Ticks-113.22) > 0.01 || !e.ExceedsMax || e.SuggestPercent != 9 {
		t.Errorf("ETA = %+v, want 113.22 ticks, exceeding T_max, suggesting 9%%", e)
	}
	// Without stable bad events on any metric there is no baseline to scale.
	if e := newTestJudge(t, 10).Observe(Tick{Stable: counts(2700, 0, 0, 0, 0), Canary: counts(300, 0, 0, 0, 0)}).ETA; e.Known {
		t.Errorf("ETA without a baseline = %+v", e)
	}
}

func TestConfigValidation(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, edit := range map[string]func(*Config){
		"harm grid below null": func(c *Config) { c.HarmGrid = []float64{1.1, 2} },
		"safety grid above":    func(c *Config) { c.SafetyGrid = []float64{1, 3} },
		"empty grid":           func(c *Config) { c.HarmGrid = nil },
		"threshold 1":          func(c *Config) { c.HarmThreshold = 1 },
		"floor rate":           func(c *Config) { c.FloorRate = 0 },
		"max < min":            func(c *Config) { c.MaxDuration = time.Minute },
		"failed queries":       func(c *Config) { c.MaxFailedQueries = 0 },
		"no tick length":       func(c *Config) { c.DefaultTick = 0 },
	} {
		cfg := DefaultConfig()
		edit(&cfg)
		if _, err := NewJudge(cfg, fixtureBounds(), 10); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, b := range []Bounds{{}, {L90: 250, L99: 100, SLO: 500}, {L90: 100, L99: 250, SLO: math.NaN()}} {
		if _, err := NewJudge(DefaultConfig(), b, 10); err == nil {
			t.Errorf("bounds %+v accepted", b)
		}
	}
	for _, p := range []int{0, 101} {
		if _, err := NewPolicy(PolicyJudge, DefaultConfig(), fixtureBounds(), p); err == nil {
			t.Errorf("percent %d accepted", p)
		}
	}
}

func TestSlowerThanToleratesConvertedBounds(t *testing.T) {
	c := Counts{Slower: map[float64]float64{0.1 * 3 * 1000: 7}} // 300.00000000000006
	if n, ok := c.SlowerThan(300); !ok || n != 7 {
		t.Errorf("SlowerThan(300) = %v, %v", n, ok)
	}
	if _, ok := c.SlowerThan(301); ok {
		t.Error("a different bound must not match")
	}
}
