package sim

import (
	"math"
	"time"
)

// Counters are one revision's request counters as Prometheus holds them
// (queue-proxy's request count and latency histogram): totals since the
// counters started, not rates. A canary judge reads the increments between
// two looks, which are exact and never overlap, whatever its cadence.
type Counters struct {
	Revision string
	Requests float64
	Errors   float64 // 5xx answers
	// Slower[i] counts the requests slower than bounds[i], what a histogram
	// gives as count minus the bucket le=bounds[i].
	Slower []float64
}

const (
	// counterStep is the longest integration step of the counters.
	counterStep = 10 * time.Second
	// counterLead is how long before the platform's start the counters
	// began; only increments matter, so any fixed origin would do.
	counterLead = time.Hour
)

// RevisionCounters returns the counters of a Knative revision at the
// platform's current time, with the slower-than counts for the given latency
// bounds; ok is false for an unknown revision.
func (p *Platform) RevisionCounters(ns, revisionName string, bounds []time.Duration) (c Counters, ok bool) {
	p.mu.Lock()
	var svc *service
	var rev *revision
	if ns == p.w.namespace {
		for _, s := range p.w.services {
			for i := range s.revisions {
				if s.knative() && s.revisionName(s.revisions[i].number) == revisionName {
					svc = s.clone()
					rev = svc.revision(s.revisions[i].number)
				}
			}
		}
	}
	now, origin := p.nowLocked(), p.start.Add(-counterLead)
	p.mu.Unlock()
	if svc == nil {
		return Counters{}, false
	}
	return svc.counters(rev, origin, now, bounds), true
}

// counters integrates the revision's traffic from origin (or its creation)
// to now, sampling each step at its midpoint. Steps end at every change of
// the traffic split or of the revision's quality, so a rollback stops the
// count within the seconds the route takes to settle, and a count read
// before an action is the same when read after it.
func (s *service) counters(rev *revision, origin, now time.Time, bounds []time.Duration) Counters {
	c := Counters{Revision: s.revisionName(rev.number), Slower: make([]float64, len(bounds))}
	logBounds := make([]float64, len(bounds))
	for i, b := range bounds {
		logBounds[i] = math.Log(b.Seconds())
	}
	breaks := make([]time.Time, 0, 2*len(s.routes)+2)
	for _, r := range s.routes {
		breaks = append(breaks, r.at, r.at.Add(routeSettle))
	}
	if q := rev.quality; !q.regressAt.IsZero() {
		breaks = append(breaks, q.regressAt, q.regressAt.Add(regressRamp))
	}
	t := origin
	if t.Before(rev.created) {
		t = rev.created
	}
	for t.Before(now) {
		next := t.Add(counterStep)
		for _, b := range breaks {
			if b.After(t) && b.Before(next) {
				next = b
			}
		}
		if next.After(now) {
			next = now
		}
		dt := next.Sub(t)
		for _, rs := range s.revisionSamples(t.Add(dt / 2)) {
			if rs.revision != rev.number || rs.rps <= 0 {
				continue
			}
			n := rs.rps * dt.Seconds()
			c.Requests += n
			c.Errors += n * rs.errRate
			lat := newLatency(1, rs.p50, rs.p99)
			for i, lb := range logBounds {
				c.Slower[i] += n * lat.tail(lb)
			}
		}
		t = next
	}
	return c
}
