package sim

import (
	"math"
	"time"

	"github.com/mltop/mltop/sources"
)

// The canary judge reads raw counters, not the rates of metrics(): this
// file gives the demo's Prometheus value what the real client queries for
// the judge (sources/prom/counters.go): per-series cumulative request, 5xx
// and latency-bucket counters of the revisions of services in canary, and
// each such service's latency bounds.

// knativeBucketsMillis are the queue-proxy's latency histogram bounds in
// ms: Knative's defaultLatencyDistribution (serving pkg/queue/stats).
func knativeBucketsMillis() []float64 {
	return []float64{5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600,
		700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000}
}

// boundsWindow is how much of the stable's history before the canary the
// latency bounds are read from, as the real client does.
const boundsWindow = time.Hour

// addJudgeCounters fills m.Counters and m.Bounds at now. origin is when the
// counters began (the platform's counterLead before its start).
//
// Like the real client, it reports every revision routed in a service that
// splits traffic between two or more revisions (a rolled-back canary stays
// in the route at 0 %, so its counters stay, frozen). Each revision is one
// series named after its first pod: the simulation integrates a revision's
// traffic as a whole. The simulation's counts are expected values; they
// are floored to whole requests, as a real counter counts them (flooring
// cumulative values keeps every increment whole and their sum exact, and
// keeps the buckets cumulative).
func (w *world) addJudgeCounters(m *sources.Metrics, origin, now time.Time) {
	les := knativeBucketsMillis()
	bounds := make([]time.Duration, len(les))
	for i, le := range les {
		bounds[i] = time.Duration(le * float64(time.Millisecond))
	}
	m.Bounds = map[sources.ServiceKey]sources.LatencyBounds{}
	for _, s := range w.services {
		if !s.knative() {
			continue
		}
		rt, _ := s.routeAt(now)
		if rt == nil || len(rt.targets) < 2 {
			continue
		}
		for _, tg := range rt.targets {
			rev := s.revision(tg.revision)
			if rev == nil {
				continue
			}
			c := s.counters(rev, origin, now, bounds)
			sc := sources.SeriesCounter{
				Namespace: s.namespace, Revision: c.Revision, Series: w.podName(s, rev.number, 0),
				Requests: math.Floor(c.Requests), Errors: math.Floor(c.Errors), Buckets: make(map[float64]float64, len(les)),
			}
			if !s.hasErrors {
				sc.Errors = math.NaN() // no status codes: 5xx unknown, not zero
			}
			for i, le := range les {
				sc.Buckets[le] = math.Floor(c.Requests - c.Slower[i])
			}
			m.Counters = append(m.Counters, sc)
		}
		if lb, ok := s.stableBounds(les, bounds); ok {
			m.Bounds[s.key()] = lb
		}
	}
}

// stableBounds are L90 and L99 of the rolled-out revision over the hour
// before the newest revision (the canary) was created: the smallest bucket
// bounds whose cumulative share reaches 0.90 and 0.99.
func (s *service) stableBounds(les []float64, bounds []time.Duration) (sources.LatencyBounds, bool) {
	stable, canary := s.revision(s.rolledOut), s.latestCreated()
	if stable == nil || canary == nil || canary.number == stable.number {
		return sources.LatencyBounds{}, false
	}
	end := canary.created
	c := s.counters(stable, end.Add(-boundsWindow), end, bounds)
	if c.Requests <= 0 {
		return sources.LatencyBounds{}, false
	}
	var lb sources.LatencyBounds
	for i, le := range les {
		share := 1 - c.Slower[i]/c.Requests
		d := time.Duration(le * float64(time.Millisecond))
		if lb.L90 == 0 && share >= 0.90 {
			lb.L90 = d
		}
		if lb.L99 == 0 && share >= 0.99 {
			lb.L99 = d
		}
	}
	lb.Known = lb.L90 > 0 && lb.L99 > 0
	return lb, lb.Known
}
