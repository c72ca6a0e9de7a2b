package canary

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestSeed(t *testing.T) *Seed {
	t.Helper()
	s, err := NewSeed(DefaultSeedConfig(), fixtureBounds(), 10)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runSeed feeds ticks until the seed decides and returns the decision.
func runSeed(t *testing.T, ticks func(k int) Tick, max int) Verdict {
	t.Helper()
	s := newTestSeed(t)
	var v Verdict
	for k := 1; k <= max; k++ {
		v = s.Observe(ticks(k))
		if v.Decision.Terminal() {
			return v
		}
	}
	t.Fatalf("the seed did not decide in %d ticks: %s", max, v.Explanation)
	return v
}

func canaryOnly(requests, errors float64) Tick {
	return Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(requests, errors, requests/10, requests/100, 0)}
}

func TestSeedFastRollback(t *testing.T) {
	v := runSeed(t, func(int) Tick { return canaryOnly(300, 21) }, 15)
	if v.Decision != Rollback || v.Tick != 1 || !strings.Contains(v.Explanation, "immediate rollback") {
		t.Errorf("7%% errors: %s at %d: %s", v.Decision, v.Tick, v.Explanation)
	}
}

// TestSeedLowTrafficCountsAsFailure: skipped checks stay in the pass
// ratio's denominator, so a healthy canary at 40 requests/min rolls back.
func TestSeedLowTrafficCountsAsFailure(t *testing.T) {
	v := runSeed(t, func(int) Tick { return canaryOnly(60, 0) }, 15)
	if v.Decision != Promote || v.Tick != 15 || !strings.Contains(v.Explanation, "14/15 checks passed") {
		t.Errorf("60 req/min (first check skipped): %s", v.Explanation)
	}
	v = runSeed(t, func(int) Tick { return canaryOnly(40, 0) }, 15)
	if v.Decision != Rollback || !strings.Contains(v.Explanation, "13/15 checks passed (pass ratio 0.87 < 0.9)") {
		t.Errorf("40 req/min (two checks skipped): %s", v.Explanation)
	}
}

// TestSeedOverlappingWindowsJudgeOneSpikeFiveTimes: one bad minute (30
// errors in 300 requests) fails the five checks whose 5-minute windows
// contain it: 30/900 = 3.3% at check 3, then 2.5%, 2%, 2%, 2% (2% is not
// below 2%). None is above 6%, so there is no fast path, and 10/15 passes
// roll back.
func TestSeedOverlappingWindowsJudgeOneSpikeFiveTimes(t *testing.T) {
	s := newTestSeed(t)
	var failed []int
	var v Verdict
	for k := 1; k <= 15; k++ {
		tick := canaryOnly(300, 0)
		if k == 3 {
			tick = canaryOnly(300, 30)
		}
		v = s.Observe(tick)
		if len(v.Reasons) == 1 && strings.Contains(v.Reasons[0], "failed") {
			failed = append(failed, k)
		}
	}
	if want := []int{3, 4, 5, 6, 7}; !slices.Equal(failed, want) {
		t.Errorf("failed checks %v, want %v", failed, want)
	}
	if v.Decision != Rollback || v.Tick != 15 || !strings.Contains(v.Explanation, "10/15 checks passed") {
		t.Errorf("after one spike: %s", v.Explanation)
	}
}

// TestSeedFiveSecondTicks: checks stay one per minute over 5-minute
// windows, so the decision comes at tick 180 (15 minutes).
func TestSeedFiveSecondTicks(t *testing.T) {
	v := runSeed(t, func(int) Tick {
		tick := canaryOnly(25, 0)
		tick.Length = 5 * time.Second
		return tick
	}, 400)
	if v.Decision != Promote || v.Tick != 180 || v.Elapsed != 15*time.Minute {
		t.Errorf("5 s ticks: %s at tick %d (%v): %s", v.Decision, v.Tick, v.Elapsed, v.Explanation)
	}
}

func TestSeedFailedQueryIsASkippedCheck(t *testing.T) {
	v := runSeed(t, func(k int) Tick {
		if k == 5 || k == 9 {
			return Tick{QueryFailed: true}
		}
		return canaryOnly(300, 0)
	}, 15)
	if v.Decision != Rollback || !strings.Contains(v.Explanation, "13/15 checks passed") {
		t.Errorf("two failed queries: %s", v.Explanation)
	}
}

// TestSeedEmptyWindowFails: no canary requests over 5 minutes (but enough
// over 15) is 0/0 in PromQL: NaN fails the check without the fast path.
func TestSeedEmptyWindowFails(t *testing.T) {
	s := newTestSeed(t)
	var v Verdict
	for k := 1; k <= 10; k++ {
		tick := canaryOnly(300, 0)
		if k > 5 {
			tick = canaryOnly(0, 0)
		}
		v = s.Observe(tick)
	}
	if v.Decision != Observing || !strings.Contains(v.Reasons[0], "check 10/15 failed") || !strings.Contains(v.Reasons[0], "5xx n/a (0/0)") {
		t.Errorf("empty window: %s %v", v.Decision, v.Reasons)
	}
}

func TestSeedConfigValidation(t *testing.T) {
	cfg := DefaultSeedConfig()
	cfg.CheckInterval = time.Hour
	if _, err := NewSeed(cfg, fixtureBounds(), 10); err == nil {
		t.Error("an interval longer than the observation must be rejected")
	}
}
