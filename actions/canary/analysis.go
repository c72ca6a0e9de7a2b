package canary

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mltop/mltop/sources"
)

// Where an analysis' latency bounds came from, in order of preference.
const (
	BoundsFromPrometheus = "prometheus: the stable's histogram over the hour before the canary"
	BoundsFromCounters   = "the stable's counters since its pods started (Prometheus gave none)"
	BoundsFromSLO        = "no histogram: every bound is the SLO bound"
)

// analysis is one canary's judgement: its revisions, the last value of
// each of their series, and the policy the increments feed.
type analysis struct {
	key            sources.ServiceKey
	stable, canary string
	policy         string
	cfg            Config
	slo            float64 // ms

	started time.Time
	// tickEnd is where the next tick begins: the end of the last tick, or
	// the analysis' first reading.
	tickEnd     time.Time
	seenReading bool
	baselined   bool
	baselineAt  time.Time
	// baselineCanary is the canary's request counter summed at the
	// baseline, to estimate how long it had been serving.
	baselineCanary float64
	// baselineBounds are L90/L99 from the stable's cumulative buckets at
	// the baseline (ok false without a histogram), the fallback when
	// Prometheus gives no bounds.
	baselineBounds   Bounds
	baselineBoundsOK bool
	prev             map[seriesID]sources.SeriesCounter

	// readySince is when the canary revision became Ready, as far as the
	// tracker can tell (see readyFor).
	readySince     time.Time
	readyEstimated bool

	judge      Policy // built at the first tick, with the bounds known then
	bounds     Bounds
	boundsFrom string
	// errorsUnknown: the counters carry no 5xx (Errors is NaN): the metric
	// profile has no status codes.
	errorsUnknown bool

	verdict    Verdict
	hasVerdict bool
}

// observe folds one reading into the analysis.
func (a *analysis) observe(at time.Time, svc sources.Service, m sources.Metrics, r reading) {
	if !a.seenReading {
		a.seenReading = true
		a.readySince = at
		if r.failed == "" {
			a.baseline(at, r, m)
		}
		return
	}
	if !at.After(a.tickEnd) {
		// No time passed (the same fetch handed over twice, or a clock
		// step back): the next reading carries these increments.
		return
	}
	t := Tick{
		Length:         at.Sub(a.tickEnd),
		CanaryPercent:  svc.CanaryPercent,
		CanaryNotReady: canaryNotReady(svc),
	}
	switch {
	case r.failed != "":
		t.QueryFailed = true
	case !a.baselined:
		// The first good reading after failures: a baseline, not a tick.
		// The failed ticks already covered the time up to the last one.
		a.baseline(at, r, m)
		return
	default:
		var stableUnknown, canaryUnknown bool
		t.Stable, stableUnknown = a.increments(r.of(a.key.Namespace, a.stable))
		t.Canary, canaryUnknown = a.increments(r.of(a.key.Namespace, a.canary))
		if stableUnknown || canaryUnknown {
			a.errorsUnknown = true
		}
		t.CanaryReadyFor = a.readyFor(at, t.Canary, t.Length)
	}
	if t.CanaryReadyFor == 0 {
		// Even a failed query knows how long the canary has been up; 0
		// would tell the judge the canary is past its cold start.
		t.CanaryReadyFor = at.Sub(a.readySince)
	}
	a.tickEnd = at
	a.ensurePolicy(m, svc.CanaryPercent)
	a.present(a.judge.Observe(t))
}

// baseline records every series' value as the zero of the increments.
func (a *analysis) baseline(at time.Time, r reading, m sources.Metrics) {
	a.baselined = true
	a.baselineAt = at
	stable := r.of(a.key.Namespace, a.stable)
	canary := r.of(a.key.Namespace, a.canary)
	for _, s := range slices.Concat(stable, canary) {
		a.prev[seriesID{s.Namespace, s.Revision, s.Series}] = s
	}
	for _, s := range canary {
		if !math.IsNaN(s.Requests) {
			a.baselineCanary += s.Requests
		}
	}
	a.baselineBounds, a.baselineBoundsOK = boundsFromCumulative(stable, a.slo)
}

// increments sums one revision's per-series deltas since the last reading.
// unknownErrors reports that a series carries no 5xx count (NaN).
func (a *analysis) increments(series []sources.SeriesCounter) (c Counts, unknownErrors bool) {
	type bucketSum struct {
		sum    float64
		series int // how many series had the bucket
	}
	var buckets map[float64]bucketSum
	for _, s := range series {
		id := seriesID{s.Namespace, s.Revision, s.Series}
		prev, known := a.prev[id]
		a.prev[id] = s
		if math.IsNaN(s.Errors) {
			unknownErrors = true
		}
		// A new series, or one that was reset, contributes its full value.
		full := !known || reset(prev, s)
		requests, errs := s.Requests, s.Errors
		if !full {
			requests -= prev.Requests
			errs -= prev.Errors
		}
		c.Requests += requests
		if !math.IsNaN(errs) {
			c.Errors += errs
		}
		if buckets == nil && len(s.Buckets) > 0 {
			buckets = make(map[float64]bucketSum, len(s.Buckets))
		}
		for le, v := range s.Buckets {
			if !full {
				p, ok := prev.Buckets[le]
				if !ok {
					continue // a bucket the series did not have: its increment is unknown
				}
				v -= p
			}
			b := buckets[le]
			b.sum += v
			b.series++
			buckets[le] = b
		}
	}
	if len(buckets) == 0 {
		return c, unknownErrors
	}
	c.Slower = make(map[float64]float64, len(buckets))
	for le, b := range buckets {
		if b.series != len(series) {
			continue // a series without this bucket: the bound is unknown
		}
		c.Slower[le] = min(max(c.Requests-b.sum, 0), c.Requests)
	}
	return c, unknownErrors
}

// reset reports whether any counter of the series dropped: its pod
// restarted (or the series was recreated), so all of it starts over.
func reset(prev, cur sources.SeriesCounter) bool {
	if cur.Requests < prev.Requests || cur.Errors < prev.Errors {
		return true
	}
	for le, v := range cur.Buckets {
		if p, ok := prev.Buckets[le]; ok && v < p {
			return true
		}
	}
	return false
}

// readyFor is how long the canary revision had been Ready at `at`. The
// Service carries no condition transition time, so the tracker takes the
// earlier of two times: when it first saw the canary, and when the canary
// would have started serving at the pace of its first tick with requests
// (its requests at the baseline divided by its rate). The second covers a
// tracker started in the middle of a canary (a dashboard opened, a
// `mltop judge` run): a canary that has served for minutes is past its
// cold start, one that has just appeared has few requests to count.
func (a *analysis) readyFor(at time.Time, canary Counts, length time.Duration) time.Duration {
	if !a.readyEstimated && canary.Requests > 0 && length > 0 && a.baselineCanary > 0 {
		a.readyEstimated = true
		rate := canary.Requests / length.Seconds()
		served := time.Duration(a.baselineCanary / rate * float64(time.Second))
		if since := a.baselineAt.Add(-served); since.Before(a.readySince) {
			a.readySince = since
		}
	}
	return at.Sub(a.readySince)
}

// ensurePolicy builds the policy at the first tick, with the best latency
// bounds known by then: Prometheus's (the stable's histogram over the hour
// before the canary), else the stable's cumulative buckets at the baseline
// (a histogram over its pods' lives), else the SLO bound for all three.
func (a *analysis) ensurePolicy(m sources.Metrics, percent int) {
	if a.judge != nil {
		return
	}
	a.bounds, a.boundsFrom = Bounds{L90: a.slo, L99: a.slo, SLO: a.slo}, BoundsFromSLO
	lb := m.Bounds[a.key]
	fromProm := Bounds{L90: millis(lb.L90), L99: millis(lb.L99), SLO: a.slo}
	switch {
	case lb.Known && fromProm.Validate() == nil:
		a.bounds, a.boundsFrom = fromProm, BoundsFromPrometheus
	case a.baselineBoundsOK:
		a.bounds, a.boundsFrom = a.baselineBounds, BoundsFromCounters
	}
	// The options were validated, the bounds are valid and the percent of
	// a service in canary lies in 1..99, so NewPolicy cannot fail here;
	// should it, the analysis says so on every tick rather than guessing.
	p, err := NewPolicy(a.policy, a.cfg, a.bounds, percent)
	if err != nil {
		a.judge = failedPolicy{err: err}
		return
	}
	a.judge = p
}

// present records the policy's verdict as the tracker shows it. Without
// 5xx counts the errors metric is not evidence (its zeros would "clear"
// it), so it is left out and a PROMOTE is not passed on.
func (a *analysis) present(v Verdict) {
	if a.errorsUnknown {
		metrics := v.Metrics[:0:0]
		for _, m := range v.Metrics {
			if m.Name != MetricErrors {
				metrics = append(metrics, m)
			}
		}
		v.Metrics = metrics
		if v.Decision == Promote {
			v.Decision = Hold
			v.Reasons = append([]string{"5xx are not counted (the metric profile has no status codes)"}, v.Reasons...)
			v.Explanation = fmt.Sprintf("HOLD at tick %d: 5xx are not counted (the metric profile has no status codes), so a promotion on latency alone is not recommended; a human decides", v.Tick)
		}
	}
	a.verdict, a.hasVerdict = v, true
}

// failedPolicy answers every tick with the reason no policy could be built.
type failedPolicy struct{ err error }

func (f failedPolicy) Observe(Tick) Verdict {
	return Verdict{Decision: Hold, Reasons: []string{f.err.Error()},
		Explanation: "HOLD: the canary cannot be judged: " + f.err.Error()}
}

// boundsFromCumulative reads L90 and L99 off cumulative histogram series:
// the smallest bucket bounds at which the share of requests reaches 0.90
// and 0.99. Only buckets every series has are used.
func boundsFromCumulative(series []sources.SeriesCounter, slo float64) (Bounds, bool) {
	var requests float64
	buckets := map[float64]float64{}
	seen := map[float64]int{}
	for _, s := range series {
		requests += s.Requests
		for le, v := range s.Buckets {
			buckets[le] += v
			seen[le]++
		}
	}
	if !(requests > 0) {
		return Bounds{}, false
	}
	var les []float64
	for le, n := range seen {
		if n == len(series) {
			les = append(les, le)
		}
	}
	slices.Sort(les)
	b := Bounds{SLO: slo}
	for _, le := range les {
		share := buckets[le] / requests
		if b.L90 == 0 && share >= 0.90 {
			b.L90 = le
		}
		if b.L99 == 0 && share >= 0.99 {
			b.L99 = le
		}
	}
	if b.Validate() != nil {
		return Bounds{}, false
	}
	return b, true
}
