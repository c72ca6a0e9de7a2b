package canary

import (
	"math"
	"time"
)

// Counts are one revision's increments over one tick, summed over its pods:
// per series delta = v_k - v_(k-1), or v_k after a counter reset (see the
// specification's Data section; the data path computes them).
type Counts struct {
	Requests float64
	Errors   float64 // 5xx responses
	// Slower maps a latency bound in milliseconds to the requests slower
	// than it: delta(histogram count) - delta(bucket le=bound). A bound
	// missing on either revision means "unknown", never zero: that metric
	// then skips the tick.
	Slower map[float64]float64
}

// SlowerThan returns the requests slower than bound, and whether the bound
// is known. Bounds converted from Prometheus' seconds may be off in the
// last bits (0.1*1000), so a bound within 1e-9 relative counts as equal.
func (c Counts) SlowerThan(bound float64) (float64, bool) {
	if v, ok := c.Slower[bound]; ok {
		return v, true
	}
	for b, v := range c.Slower {
		if math.Abs(b-bound) <= 1e-9*math.Abs(bound) {
			return v, true
		}
	}
	return 0, false
}

// usable reports whether the counts can be believed: finite, not negative,
// and no more bad events than requests.
func (c Counts) usable() bool {
	if !validCount(c.Requests) || !validCount(c.Errors) || c.Errors > c.Requests {
		return false
	}
	for bound, slower := range c.Slower {
		if !(bound > 0) || !validCount(slower) || slower > c.Requests {
			return false
		}
	}
	return true
}

func validCount(x float64) bool {
	return x >= 0 && !math.IsInf(x, 1)
}

// Tick is one refresh of the data path. The zero value of every field but
// the counts is the common case: a successful query, a Ready canary past its
// cold start, the tick length and traffic split unchanged.
type Tick struct {
	Stable, Canary Counts
	// Length is the time the increments cover; 0 means Config.DefaultTick.
	Length time.Duration
	// QueryFailed: the counters could not be read. The tick contributes
	// nothing (it is not a failure); MaxFailedQueries in a row hold.
	// Counts that are not usable (negative, NaN, more errors than
	// requests) are treated the same way.
	QueryFailed bool
	// CanaryNotReady: the canary revision is not Ready: the kill switch
	// rolls back. (Named for its zero value: a Tick is Ready by default.)
	CanaryNotReady bool
	// CanaryReadyFor is how long the canary revision had been Ready when
	// the tick ended (now - the Ready condition's lastTransitionTime).
	// A tick that began within Config.ColdStart of Ready is dropped.
	// 0 means not reported: the canary is taken to be past its cold start,
	// as fixtures (recorded after warm-up) are.
	CanaryReadyFor time.Duration
	// CanaryPercent is canaryTrafficPercent during the tick; 0 keeps the
	// previous value (the one given to NewJudge at first).
	CanaryPercent int
}
