package canary

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Decision is what a policy recommends after a tick.
type Decision string

const (
	// Promote: every metric is shown not to be worse; remove canaryTrafficPercent.
	Promote Decision = "PROMOTE"
	// Rollback: the canary is shown to be worse (or the kill switch fired); set canaryTrafficPercent to 0.
	Rollback Decision = "ROLLBACK"
	// Hold: something outside the canary makes its numbers untrustworthy; no promotion, and not a failure.
	Hold Decision = "HOLD"
	// Observing: no decision yet.
	Observing Decision = "OBSERVING"
	// Inconclusive: T_max passed without a decision; keep the split, a human decides.
	Inconclusive Decision = "INCONCLUSIVE"
)

// Terminal reports whether the decision ends the analysis. After a terminal
// decision a policy keeps returning that same verdict, tick included, for
// every later tick: a decision is not revised by data that arrives after it.
func (d Decision) Terminal() bool {
	return d == Promote || d == Rollback || d == Inconclusive
}

// Automatic reports whether auto mode may execute the decision unattended:
// only PROMOTE and ROLLBACK ever are.
func (d Decision) Automatic() bool {
	return d == Promote || d == Rollback
}

// Metric names, as they appear in Verdict.Metrics and in JSON.
const (
	MetricErrors    = "errors"
	MetricSlowerL90 = "slower_than_L90"
	MetricSlowerL99 = "slower_than_L99"
)

// MetricEvidence is one metric's state after a tick. Bad/Total are the raw
// cumulative counts over the ticks that carried this metric.
type MetricEvidence struct {
	Name string `json:"name"`
	// BoundMillis is the latency bound of a slower-than metric; 0 for errors.
	BoundMillis float64 `json:"bound_ms,omitempty"`
	// Harm is E^H, Safety is E^S; Floor is F (errors only, else 0). They
	// may be +Inf in memory when the evidence is overwhelming; JSON()
	// caps them at the largest float64 so the output stays valid JSON.
	Harm    float64 `json:"harm"`
	Safety  float64 `json:"safety"`
	Floor   float64 `json:"floor,omitempty"`
	Cleared bool    `json:"cleared"`

	CanaryBad   float64 `json:"canary_bad"`
	CanaryTotal float64 `json:"canary_total"`
	StableBad   float64 `json:"stable_bad"`
	StableTotal float64 `json:"stable_total"`
}

// CanaryRate and StableRate are the observed bad-event shares (NaN without traffic).
func (m MetricEvidence) CanaryRate() float64 { return m.CanaryBad / m.CanaryTotal }
func (m MetricEvidence) StableRate() float64 { return m.StableBad / m.StableTotal }

// ETA estimates how long the judge needs to roll back a canary that is
// truly Rho1 times worse, on the metric that would take longest (the one
// with the rarest bad events in the stable).
type ETA struct {
	// Known is false until a metric has both traffic and stable bad events.
	Known    bool          `json:"known"`
	Rho1     float64       `json:"rho1"`
	Metric   string        `json:"metric,omitempty"`
	Ticks    float64       `json:"ticks,omitempty"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds,omitempty"`
	// ExceedsMax: the ETA is longer than Config.MaxDuration, so a 2x
	// regression would end INCONCLUSIVE instead of ROLLBACK.
	ExceedsMax bool `json:"exceeds_max,omitempty"`
	// SuggestPercent is the smallest canaryTrafficPercent, above the current
	// one, whose ETA fits in MaxDuration at the same total traffic; 0 when
	// none is needed or none would do.
	SuggestPercent int `json:"suggest_percent,omitempty"`
}

// Verdict is a policy's answer after one tick. It marshals to JSON as
// VerdictJSON.
type Verdict struct {
	Decision Decision
	// Tick is the 1-based tick of this answer; for a terminal decision it is
	// the tick at which the decision was reached.
	Tick int
	// Elapsed is the analysis time at Tick.
	Elapsed time.Duration
	// Reasons lists HOLD reasons and the gates still missing for PROMOTE.
	Reasons []string
	Metrics []MetricEvidence
	// Explanation is the one line with the raw counts, e.g.
	// "ROLLBACK at tick 3: canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x; ..."
	Explanation string
	ETA         ETA
}

// clone copies the slices so a caller editing one verdict cannot change
// the one a policy keeps returning.
func (v Verdict) clone() Verdict {
	v.Reasons = slices.Clone(v.Reasons)
	v.Metrics = slices.Clone(v.Metrics)
	return v
}

// VerdictJSON is the shape `mltop judge` prints.
type VerdictJSON struct {
	Verdict Decision `json:"verdict"`
	Tick    int      `json:"tick"`
	Seconds float64  `json:"seconds"`
	Reason  string   `json:"reason"`
	Reasons []string
	Metrics []MetricEvidence
	ETA     *ETA `json:"eta,omitempty"`
}

// JSON returns the verdict in a shape encoding/json can always encode:
// infinite evidence is capped at the largest float64.
func (v Verdict) JSON() VerdictJSON {
	out := VerdictJSON{
		Verdict: v.Decision,
		Tick:    v.Tick,
		Seconds: v.Elapsed.Seconds(),
		Reason:  v.Explanation,
		Reasons: slices.Clone(v.Reasons),
		Metrics: make([]MetricEvidence, len(v.Metrics)),
	}
	for i, m := range v.Metrics {
		m.Harm, m.Safety, m.Floor = finite(m.Harm), finite(m.Safety), finite(m.Floor)
		out.Metrics[i] = m
	}
	if v.ETA.Known {
		eta := v.ETA
		out.ETA = &eta
	}
	return out
}

// MarshalJSON encodes the verdict as VerdictJSON.
func (v Verdict) MarshalJSON() ([]byte, error) {
	return json.Marshal(v.JSON())
}

func finite(x float64) float64 {
	switch {
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1), math.IsNaN(x):
		return 0
	}
	return x
}
