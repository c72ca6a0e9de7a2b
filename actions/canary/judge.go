package canary

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Policy is anything that turns ticks into verdicts: the judge or the seed
// policy. A Policy belongs to one analysis of one canary and is not safe for
// concurrent use; once it returns a terminal decision it returns that same
// verdict for every later tick.
type Policy interface {
	Observe(Tick) Verdict
}

// Policy names accepted by NewPolicy.
const (
	PolicyJudge = "judge" // the default: anytime-valid, baseline-relative
	PolicySeed  = "seed"  // the seed article's threshold script
)

// NewPolicy builds the named policy ("" means PolicyJudge). The seed
// policy ignores cfg, which configures the judge only.
func NewPolicy(name string, cfg Config, bounds Bounds, percent int) (Policy, error) {
	switch name {
	case "", PolicyJudge:
		return NewJudge(cfg, bounds, percent)
	case PolicySeed:
		return NewSeed(DefaultSeedConfig(), bounds, percent)
	}
	return nil, fmt.Errorf("unknown canary policy %q (want %q or %q)", name, PolicyJudge, PolicySeed)
}

// metricState is one metric's evidence and raw totals.
type metricState struct {
	name   string
	bound  float64 // ms; 0 for errors
	harm   ratioEvidence
	safety ratioEvidence

	canaryBad, canaryTotal, stableBad, stableTotal float64
}

// badCounts returns the metric's bad events in c, and whether c reports them.
func (m *metricState) badCounts(c Counts) (float64, bool) {
	if m.bound == 0 {
		return c.Errors, true
	}
	return c.SlowerThan(m.bound)
}

// sloSample is the stable's counts in one tick, kept for the trailing SLO window.
type sloSample struct {
	end              time.Duration
	requests, errors float64
	slowRequests     float64 // requests of the ticks that reported the SLO bound
	slowerThanSLO    float64
}

// Judge is the default policy: per metric it accumulates the harm and
// safety e-values (and the errors floor) and applies the specification's
// decision order on every tick. Build it with NewJudge.
type Judge struct {
	cfg     Config
	bounds  Bounds
	percent int

	harmLogThreshold, safetyLogThreshold, floorLogThreshold float64

	metrics [3]metricState
	floor   floorEvidence
	// ln E^H, ln E^S per metric and ln F, refreshed when evidence changes:
	// a verdict reads them a dozen times.
	logHarm, logSafety [3]float64
	logFloor           float64
	canary             histogram // cumulative canary latency, for the quantiles in explanations
	stable             histogram

	tick        int
	elapsed     time.Duration
	usableTicks int // ticks whose counts entered the evidence

	totalRequests  float64
	expectedCanary float64 // sum of w_k * requests_k: the share the split should give
	noCanaryFor    time.Duration
	failedInARow   int
	window         []sloSample

	done  bool
	final Verdict
}

// NewJudge starts an analysis of a canary that receives percent
// (canaryTrafficPercent) of the traffic.
func NewJudge(cfg Config, bounds Bounds, percent int) (*Judge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("canary judge config: %w", err)
	}
	if err := bounds.Validate(); err != nil {
		return nil, err
	}
	if percent < 1 || percent > 100 {
		return nil, fmt.Errorf("canaryTrafficPercent must lie in 1..100, got %d", percent)
	}
	// The judge keeps its own grids: the caller may reuse its Config.
	cfg.HarmGrid = slices.Clone(cfg.HarmGrid)
	cfg.SafetyGrid = slices.Clone(cfg.SafetyGrid)
	cfg.FloorFractions = slices.Clone(cfg.FloorFractions)
	j := &Judge{
		cfg:                cfg,
		bounds:             bounds,
		percent:            percent,
		harmLogThreshold:   math.Log(cfg.HarmThreshold),
		safetyLogThreshold: math.Log(cfg.SafetyThreshold),
		floorLogThreshold:  math.Log(cfg.FloorThreshold),
		floor:              newFloorEvidence(cfg.FloorRate, cfg.FloorFractions),
		canary:             newHistogram(),
		stable:             newHistogram(),
	}
	for i, m := range []struct {
		name  string
		bound float64
	}{{MetricErrors, 0}, {MetricSlowerL90, bounds.L90}, {MetricSlowerL99, bounds.L99}} {
		j.metrics[i] = metricState{
			name:   m.name,
			bound:  m.bound,
			harm:   newRatioEvidence(cfg.HarmNull, cfg.HarmGrid),
			safety: newRatioEvidence(cfg.SafetyNull, cfg.SafetyGrid),
		}
	}
	j.refreshEvidence()
	return j, nil
}

// Observe folds in one tick and returns the verdict after it.
func (j *Judge) Observe(t Tick) Verdict {
	j.tick++
	length := t.Length
	if length <= 0 {
		length = j.cfg.DefaultTick
	}
	j.elapsed += length
	if j.done {
		return j.final.clone()
	}
	j.trimWindow()
	if t.CanaryPercent > 0 {
		j.percent = min(t.CanaryPercent, 100)
	}
	if t.CanaryNotReady {
		return j.conclude(Rollback, nil, killNotReady{})
	}

	if t.QueryFailed || !t.Stable.usable() || !t.Canary.usable() {
		j.failedInARow++
		return j.decide()
	}
	j.failedInARow = 0
	// A tick that began within the cold start carries model-loading
	// latency and errors that say nothing about the steady state.
	if t.CanaryReadyFor > 0 && t.CanaryReadyFor-length < j.cfg.ColdStart {
		return j.decide()
	}
	j.accumulate(t, length)
	c := t.Canary
	if c.Requests >= j.cfg.KillMinRequests && c.Requests > 0 && c.Errors >= j.cfg.KillErrorShare*c.Requests {
		return j.conclude(Rollback, nil, killErrors{errors: c.Errors, requests: c.Requests})
	}
	return j.decide()
}

// accumulate adds a usable tick to the evidence, the totals and the hold
// bookkeeping.
func (j *Judge) accumulate(t Tick, length time.Duration) {
	j.usableTicks++
	nC, nS := t.Canary.Requests, t.Stable.Requests
	for i := range j.metrics {
		m := &j.metrics[i]
		x, okC := m.badCounts(t.Canary)
		y, okS := m.badCounts(t.Stable)
		if !okC || !okS {
			continue
		}
		m.harm.add(x, y, nC, nS)
		m.safety.add(x, y, nC, nS)
		m.canaryBad += x
		m.canaryTotal += nC
		m.stableBad += y
		m.stableTotal += nS
	}
	j.floor.add(t.Canary.Errors, nC)
	j.refreshEvidence()
	j.canary.add(t.Canary)
	j.stable.add(t.Stable)

	j.totalRequests += nC + nS
	j.expectedCanary += float64(j.percent) / 100 * (nC + nS)
	switch {
	case nC > 0:
		j.noCanaryFor = 0
	case nS > 0:
		j.noCanaryFor += length
	}

	s := sloSample{end: j.elapsed, requests: nS, errors: t.Stable.Errors}
	if slower, ok := t.Stable.SlowerThan(j.bounds.SLO); ok {
		s.slowRequests, s.slowerThanSLO = nS, slower
	}
	j.window = append(j.window, s)
}

func (j *Judge) refreshEvidence() {
	for i := range j.metrics {
		j.logHarm[i] = j.metrics[i].harm.logValue()
		j.logSafety[i] = j.metrics[i].safety.logValue()
	}
	j.logFloor = j.floor.logValue()
}

// trimWindow forgets the stable samples that ended before the SLO window.
func (j *Judge) trimWindow() {
	from := j.elapsed - j.cfg.StableSLOWindow
	drop := 0
	for drop < len(j.window) && j.window[drop].end <= from {
		drop++
	}
	j.window = j.window[drop:]
}

// decide applies steps 2 to 6 of the decision order (the kill switch, step
// 1, is checked by Observe).
func (j *Judge) decide() Verdict {
	worst := -1
	for i, lh := range j.logHarm {
		if lh >= j.harmLogThreshold && (worst < 0 || lh > j.logHarm[worst]) {
			worst = i
		}
	}
	if worst >= 0 {
		return j.conclude(Rollback, nil, harmTrigger{metric: worst})
	}

	holds := j.holdReasons()
	missing := j.missingGates()
	switch {
	case len(holds) == 0 && len(missing) == 0:
		return j.conclude(Promote, nil, nil)
	case j.elapsed >= j.cfg.MaxDuration:
		return j.conclude(Inconclusive, append(holds, missing...), nil)
	case len(holds) > 0:
		return j.verdict(Hold, holds, nil)
	}
	return j.verdict(Observing, missing, nil)
}

// holdReasons lists what makes the comparison untrustworthy right now.
func (j *Judge) holdReasons() []string {
	var reasons []string
	if j.noCanaryFor > 0 && j.noCanaryFor >= j.cfg.NoCanaryTrafficHold {
		reasons = append(reasons, fmt.Sprintf("no canary requests for %s while the stable has traffic", fmtDuration(j.noCanaryFor)))
	}
	if j.totalRequests > 0 && j.totalRequests >= j.cfg.SplitCheckAfterRequests {
		share := j.metrics[0].canaryTotal / j.totalRequests
		want := j.expectedCanary / j.totalRequests
		lo, hi := want/j.cfg.SplitTolerance, want*j.cfg.SplitTolerance
		if share < lo || share > hi {
			reasons = append(reasons, fmt.Sprintf("traffic split mismatch: canary share %s of %s requests is outside [%s, %s] for canaryTrafficPercent %d",
				fmtPercent(share), fmtCount(j.totalRequests), fmtLimit(lo), fmtLimit(hi), j.percent))
		}
	}
	if r := j.stableSLOBreach(); r != "" {
		reasons = append(reasons, r)
	}
	if j.failedInARow >= j.cfg.MaxFailedQueries {
		reasons = append(reasons, fmt.Sprintf("%d consecutive failed queries", j.failedInARow))
	}
	return reasons
}

// stableSLOBreach judges the stable over the trailing window: a shared
// outage (a dependency, the network) would otherwise be blamed on, or
// excused for, the canary.
func (j *Judge) stableSLOBreach() string {
	var s sloSample
	for _, w := range j.window {
		s.requests += w.requests
		s.errors += w.errors
		s.slowRequests += w.slowRequests
		s.slowerThanSLO += w.slowerThanSLO
	}
	var breaches []string
	if s.requests > 0 && s.errors/s.requests > j.cfg.StableMaxErrorRate {
		breaches = append(breaches, fmt.Sprintf("5xx %s > %s", fmtPercent(s.errors/s.requests), fmtLimit(j.cfg.StableMaxErrorRate)))
	}
	if s.slowRequests > 0 && s.slowerThanSLO/s.slowRequests > j.cfg.StableMaxSlowShare {
		breaches = append(breaches, fmt.Sprintf("slower than %s %s > %s", fmtMillis(j.bounds.SLO),
			fmtPercent(s.slowerThanSLO/s.slowRequests), fmtLimit(j.cfg.StableMaxSlowShare)))
	}
	if len(breaches) == 0 {
		return ""
	}
	return fmt.Sprintf("stable breaches its SLO over the last %s (%s)", fmtDuration(j.cfg.StableSLOWindow), joinAnd(breaches))
}

// missingGates lists the promotion gates not yet met.
func (j *Judge) missingGates() []string {
	var missing []string
	if j.elapsed < j.cfg.MinDuration {
		missing = append(missing, fmt.Sprintf("observed %s < %s", fmtDuration(j.elapsed), fmtDuration(j.cfg.MinDuration)))
	}
	if n := j.metrics[0].canaryTotal; n < j.cfg.MinCanaryRequests {
		missing = append(missing, fmt.Sprintf("canary requests %s < %s", fmtCount(n), fmtCount(j.cfg.MinCanaryRequests)))
	}
	for i := range j.metrics {
		if !j.cleared(i) {
			missing = append(missing, j.notClearedReason(i))
		}
	}
	return missing
}

// cleared: the metric is shown not to be worse than SafetyNull times the
// stable's (or, for errors, the canary's own rate is below the floor).
func (j *Judge) cleared(i int) bool {
	if j.logSafety[i] >= j.safetyLogThreshold {
		return true
	}
	return i == 0 && j.logFloor >= j.floorLogThreshold
}

func (j *Judge) notClearedReason(i int) string {
	m := &j.metrics[i]
	name := metricLabel(m.name, m.bound)
	if i == 0 {
		return fmt.Sprintf("%s not cleared (safety %s, floor %s < %s)", name,
			fmtEvidence(math.Exp(j.logSafety[i])), fmtEvidence(math.Exp(j.logFloor)), fmtCount(j.cfg.SafetyThreshold))
	}
	return fmt.Sprintf("%s not cleared (safety %s < %s)", name, fmtEvidence(math.Exp(j.logSafety[i])), fmtCount(j.cfg.SafetyThreshold))
}

// metricEvidence snapshots every metric for a verdict.
func (j *Judge) metricEvidence() []MetricEvidence {
	out := make([]MetricEvidence, len(j.metrics))
	for i := range j.metrics {
		m := &j.metrics[i]
		out[i] = MetricEvidence{
			Name:        m.name,
			BoundMillis: m.bound,
			Harm:        math.Exp(j.logHarm[i]),
			Safety:      math.Exp(j.logSafety[i]),
			Cleared:     j.cleared(i),
			CanaryBad:   m.canaryBad,
			CanaryTotal: m.canaryTotal,
			StableBad:   m.stableBad,
			StableTotal: m.stableTotal,
		}
		if i == 0 {
			out[i].Floor = math.Exp(j.logFloor)
		}
	}
	return out
}

// eta estimates the ticks to roll back an ETARegression on the slowest
// metric at the average traffic so far. Every metric's per-tick information
// is p_S times the same function of the split, so the slowest metric is the
// one whose stable bad events are rarest, whatever the split.
func (j *Judge) eta() ETA {
	e := ETA{Rho1: j.cfg.ETARegression}
	if j.usableTicks == 0 {
		return e
	}
	ticks := float64(j.usableTicks)
	nC, nS := j.metrics[0].canaryTotal/ticks, j.metrics[0].stableTotal/ticks
	slowest, pS := -1, 0.0
	for i := range j.metrics {
		m := &j.metrics[i]
		if m.stableTotal == 0 || m.stableBad == 0 {
			continue // no baseline rate to scale; the formula says nothing
		}
		if p := m.stableBad / m.stableTotal; slowest < 0 || p < pS {
			slowest, pS = i, p
		}
	}
	if slowest < 0 {
		return e
	}
	need := func(nC, nS float64) float64 {
		return ticksToDetect(j.cfg.ETARegression, j.cfg.HarmNull, len(j.cfg.HarmGrid), j.cfg.HarmThreshold, nC, nS, pS)
	}
	e.Ticks = need(nC, nS)
	if math.IsInf(e.Ticks, 1) {
		return e
	}
	perTick := j.elapsed / time.Duration(j.tick)
	e.Known = true
	e.Metric = j.metrics[slowest].name
	e.Duration = ticksDuration(e.Ticks, perTick)
	e.Seconds = e.Duration.Seconds()
	e.ExceedsMax = e.Duration > j.cfg.MaxDuration
	if e.ExceedsMax {
		total := nC + nS
		for p := j.percent + 1; p <= 100; p++ {
			w := float64(p) / 100
			if ticksDuration(need(w*total, (1-w)*total), perTick) <= j.cfg.MaxDuration {
				e.SuggestPercent = p
				break
			}
		}
	}
	return e
}

// ticksDuration is ticks*perTick, saturating instead of overflowing (an
// infinite or astronomically long ETA must not wrap around to negative).
func ticksDuration(ticks float64, perTick time.Duration) time.Duration {
	d := ticks * float64(perTick)
	if math.IsNaN(d) || d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// verdict builds the answer for the current tick.
func (j *Judge) verdict(d Decision, reasons []string, trigger any) Verdict {
	v := Verdict{
		Decision: d,
		Tick:     j.tick,
		Elapsed:  j.elapsed,
		Reasons:  reasons,
		Metrics:  j.metricEvidence(),
		ETA:      j.eta(),
	}
	v.Explanation = j.explain(v, trigger)
	return v
}

// conclude records a terminal verdict; Observe returns it from now on.
func (j *Judge) conclude(d Decision, reasons []string, trigger any) Verdict {
	j.final = j.verdict(d, reasons, trigger)
	j.done = true
	j.window = nil
	return j.final.clone()
}
