// Package canary judges a KServe canary (the newest revision) against the
// stable revision and answers PROMOTE, ROLLBACK, HOLD, OBSERVING or
// INCONCLUSIVE, with one line that carries the raw numbers
// (../../../shared/reference/canary-judge.md).
//
// The package is pure: it sees plain per-tick increments (Tick), never
// Prometheus or Kubernetes types, so the data path, the Canary pane and the
// `mltop judge` command all drive the same Policy:
//
//	j, err := canary.NewJudge(canary.DefaultConfig(), bounds, percent)
//	for each refresh { v := j.Observe(tick); show(v.Explanation) }
//
// The article's threshold script is kept as the "seed" policy behind the
// same interface, for comparison; replay.go runs either over a fixture.
package canary

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Config holds every knob of the judge. DefaultConfig returns the
// specification's values; the zero Config is not valid.
type Config struct {
	// Harm (rollback) test: E(HarmNull; HarmGrid) >= HarmThreshold on any
	// metric rolls back. With three metrics the false-rollback risk is at
	// most 3/HarmThreshold (1 %).
	HarmNull      float64
	HarmGrid      []float64
	HarmThreshold float64
	// Safety (non-inferiority) test: a metric is cleared when
	// E(SafetyNull; SafetyGrid) >= SafetyThreshold.
	SafetyNull      float64
	SafetyGrid      []float64
	SafetyThreshold float64
	// Negligible-error floor: errors are also cleared when the canary's own
	// error rate is shown to be below FloorRate, against the alternatives
	// FloorRate*f for f in FloorFractions.
	FloorRate      float64
	FloorFractions []float64
	FloorThreshold float64

	// Kill switch: one tick with at least KillMinRequests canary requests of
	// which at least KillErrorShare are 5xx rolls back at once.
	KillMinRequests float64
	KillErrorShare  float64

	// Promotion gates and the give-up point.
	MinDuration       time.Duration // T_min
	MinCanaryRequests float64       // N_min
	MaxDuration       time.Duration // T_max: INCONCLUSIVE after it

	// ColdStart drops the ticks that begin within this long after the
	// canary revision became Ready (model loading, cache warm-up).
	ColdStart time.Duration

	// HOLD reasons.
	NoCanaryTrafficHold     time.Duration // no canary requests this long while the stable has traffic
	SplitCheckAfterRequests float64       // split check starts after this many requests in total
	SplitTolerance          float64       // canary share must lie in [w/tol, w*tol]
	StableSLOWindow         time.Duration // the stable's SLO is judged over this trailing window
	StableMaxErrorRate      float64       // stable 5xx share above this is an SLO breach
	StableMaxSlowShare      float64       // stable share slower than Bounds.SLO above this is a breach
	MaxFailedQueries        int           // this many consecutive failed queries hold

	// ETARegression is the regression (rho1) the ETA is computed for.
	ETARegression float64
	// DefaultTick is the tick length assumed when a Tick has no Length.
	DefaultTick time.Duration
}

// DefaultConfig returns the specification's defaults. Each call returns
// fresh slices, so callers may edit their copy.
func DefaultConfig() Config {
	return Config{
		HarmNull:                1.2,
		HarmGrid:                []float64{1.5, 2, 3, 5, 10},
		HarmThreshold:           300,
		SafetyNull:              2,
		SafetyGrid:              []float64{1, 0.75, 0.5},
		SafetyThreshold:         40,
		FloorRate:               0.005,
		FloorFractions:          []float64{1.0 / 2, 1.0 / 4, 1.0 / 10},
		FloorThreshold:          40,
		KillMinRequests:         20,
		KillErrorShare:          0.5,
		MinDuration:             5 * time.Minute,
		MinCanaryRequests:       500,
		MaxDuration:             30 * time.Minute,
		ColdStart:               60 * time.Second,
		NoCanaryTrafficHold:     3 * time.Minute,
		SplitCheckAfterRequests: 1000,
		SplitTolerance:          2,
		StableSLOWindow:         5 * time.Minute,
		StableMaxErrorRate:      0.02,
		StableMaxSlowShare:      0.01,
		MaxFailedQueries:        4,
		ETARegression:           2,
		DefaultTick:             60 * time.Second,
	}
}

// Validate reports every setting that would make the judge meaningless,
// joined into one error.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	positive := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			bad("%s must be a positive number, got %v", name, v)
		}
	}
	positive("HarmNull", c.HarmNull)
	positive("SafetyNull", c.SafetyNull)
	// The harm test is one-sided: every alternative must be worse than the
	// null, or an improvement could roll back. The safety test is the
	// mirror image.
	checkGrid := func(name string, grid []float64, null float64, above bool) {
		if len(grid) == 0 {
			bad("%s must not be empty", name)
		}
		for _, rho := range grid {
			if !(rho > 0) || math.IsInf(rho, 0) || (above && rho <= null) || (!above && rho >= null) {
				side := "below"
				if above {
					side = "above"
				}
				bad("%s: %v must be a positive ratio %s the null %v", name, rho, side, null)
			}
		}
	}
	checkGrid("HarmGrid", c.HarmGrid, c.HarmNull, true)
	checkGrid("SafetyGrid", c.SafetyGrid, c.SafetyNull, false)
	for _, t := range []struct {
		name  string
		value float64
	}{{"HarmThreshold", c.HarmThreshold}, {"SafetyThreshold", c.SafetyThreshold}, {"FloorThreshold", c.FloorThreshold}} {
		if !(t.value > 1) || math.IsInf(t.value, 0) {
			bad("%s must be a finite number above 1, got %v", t.name, t.value)
		}
	}
	if !(c.FloorRate > 0 && c.FloorRate < 1) {
		bad("FloorRate must lie in (0, 1), got %v", c.FloorRate)
	}
	if len(c.FloorFractions) == 0 {
		bad("FloorFractions must not be empty")
	}
	for _, f := range c.FloorFractions {
		if !(f > 0 && f < 1) {
			bad("FloorFractions: %v must lie in (0, 1)", f)
		}
	}
	if !(c.KillErrorShare > 0 && c.KillErrorShare <= 1) {
		bad("KillErrorShare must lie in (0, 1], got %v", c.KillErrorShare)
	}
	if c.KillMinRequests < 0 || c.MinCanaryRequests < 0 || c.SplitCheckAfterRequests < 0 {
		bad("request counts must not be negative")
	}
	if c.MinDuration < 0 || c.ColdStart < 0 || c.NoCanaryTrafficHold < 0 || c.StableSLOWindow < 0 {
		bad("durations must not be negative")
	}
	if c.MaxDuration < c.MinDuration {
		bad("MaxDuration %v must not be shorter than MinDuration %v", c.MaxDuration, c.MinDuration)
	}
	if !(c.SplitTolerance >= 1) {
		bad("SplitTolerance must be at least 1, got %v", c.SplitTolerance)
	}
	if !(c.StableMaxErrorRate > 0 && c.StableMaxErrorRate < 1) || !(c.StableMaxSlowShare > 0 && c.StableMaxSlowShare < 1) {
		bad("StableMaxErrorRate and StableMaxSlowShare must lie in (0, 1)")
	}
	if c.MaxFailedQueries < 1 {
		bad("MaxFailedQueries must be at least 1, got %d", c.MaxFailedQueries)
	}
	if !(c.ETARegression > c.HarmNull) || math.IsInf(c.ETARegression, 0) {
		bad("ETARegression must be a finite ratio above HarmNull %v, got %v", c.HarmNull, c.ETARegression)
	}
	if c.DefaultTick <= 0 {
		bad("DefaultTick must be positive, got %v", c.DefaultTick)
	}
	return errors.Join(errs...)
}

// DefaultSLOMillis is the SLO bound the specification assumes when none is
// configured.
const DefaultSLOMillis = 500

// Bounds are the latency bounds, in milliseconds, the judge compares: L90
// and L99 are histogram bucket bounds at which the stable's cumulative share
// reached 0.90 and 0.99 over the hour before the canary; SLO is used only
// for the stable's SLO hold and in explanations.
type Bounds struct {
	L90, L99, SLO float64
}

// Validate checks that the bounds are usable bucket bounds.
func (b Bounds) Validate() error {
	for _, v := range []struct {
		name  string
		value float64
	}{{"L90", b.L90}, {"L99", b.L99}, {"SLO", b.SLO}} {
		if !(v.value > 0) || math.IsInf(v.value, 0) {
			return fmt.Errorf("latency bound %s must be a positive number of milliseconds, got %v", v.name, v.value)
		}
	}
	if b.L99 < b.L90 {
		return fmt.Errorf("latency bound L99 %vms is below L90 %vms", b.L99, b.L90)
	}
	return nil
}
