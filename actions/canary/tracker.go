package canary

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

// The tracker is the judge's data path: it turns the Prometheus source's
// raw per-series counters (sources.Metrics.Counters) into one Tick per
// refresh for every service in canary, and keeps one Policy per canary.
//
// How it reads the counters (the specification's Data section):
//   - Per series (one pod of one revision), delta = v_k - v_(k-1), or v_k
//     when a counter dropped (the pod restarted). A series is reset as a
//     whole when any of its counters dropped, so its requests, 5xx and
//     buckets stay consistent with each other.
//   - The first reading of an analysis is its baseline: every series in it
//     contributes nothing. A series that appears later (a new pod)
//     contributes its full value. A series that vanishes and comes back
//     continues from its last value, so a missed scrape loses nothing.
//   - Slower than a bound L is delta(requests) - delta(bucket le=L); a
//     bound is reported for a revision only when every one of its series in
//     the reading has that bucket ("unknown", never zero, otherwise).
//   - A failed counters query (Metrics.CountersErr, or a failed fetch) is a
//     Tick with QueryFailed; the next good reading's increments then cover
//     the whole gap, exactly.
//
// An analysis starts when a service's canary appears and starts over when
// its canary or stable revision changes; a service that leaves canary
// (promoted, rolled back, deleted) is dropped with its verdict.

// DefaultSLO is the SLO latency bound the tracker judges the stable
// against (and explains with) when none is configured.
const DefaultSLO = DefaultSLOMillis * time.Millisecond

// TrackerOptions configure a Tracker. The zero value is the judge with the
// specification's defaults.
type TrackerOptions struct {
	// Policy is PolicyJudge (default) or PolicySeed.
	Policy string
	// Config configures the judge; the zero Config means DefaultConfig().
	Config Config
	// SLO is the latency bound of the stable's SLO hold; 0 means DefaultSLO.
	// It should be a bucket bound of the histogram, or the hold cannot see it.
	SLO time.Duration
}

// Tracker keeps one analysis per service in canary. It has one owner (the
// dashboard's model or a headless command) and is not safe for concurrent
// use.
type Tracker struct {
	opts     TrackerOptions
	analyses map[sources.ServiceKey]*analysis
	// lastSeq is the Prometheus update last observed, so a repeated update
	// (the board may be handed the same value twice) is not a tick.
	lastSeq uint64
	// services is the latest inventory Apply saw.
	services []sources.Service
}

// NewTracker validates the options and returns an empty tracker.
func NewTracker(o TrackerOptions) (*Tracker, error) {
	if o.Policy == "" {
		o.Policy = PolicyJudge
	}
	if o.Policy != PolicyJudge && o.Policy != PolicySeed {
		return nil, fmt.Errorf("unknown canary policy %q (want %q or %q)", o.Policy, PolicyJudge, PolicySeed)
	}
	if o.Config.HarmThreshold == 0 && len(o.Config.HarmGrid) == 0 {
		o.Config = DefaultConfig()
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("canary judge config: %w", err)
	}
	if o.SLO == 0 {
		o.SLO = DefaultSLO
	}
	if o.SLO < 0 {
		return nil, fmt.Errorf("SLO latency bound %v must be positive", o.SLO)
	}
	return &Tracker{opts: o, analyses: map[sources.ServiceKey]*analysis{}}, nil
}

// Policy is the name of the policy the tracker runs.
func (t *Tracker) Policy() string { return t.opts.Policy }

// Apply feeds the tracker the poller's updates, in the order they came:
// a Kubernetes update replaces the inventory it judges against; a new
// Prometheus update is a reading (a failed fetch, which republishes the
// last good value, is a failed query). It reports whether a reading was
// taken, i.e. whether the verdicts may have changed.
func (t *Tracker) Apply(u sources.Update) bool {
	switch u.Status.ID {
	case sources.SourceKube:
		if u.Part.Inventory != nil {
			t.services = slices.Clone(u.Part.Inventory.Services)
			t.dropEnded()
		}
	case sources.SourceProm:
		switch {
		case u.Status.Err != "":
			at := u.Status.AttemptedAt
			return t.Observe(at, t.services, sources.Metrics{CountersErr: "prometheus: " + u.Status.Err}, u.Status.Seq)
		case u.Part.Metrics != nil:
			return t.Observe(u.Status.FetchedAt, t.services, *u.Part.Metrics, u.Status.Seq)
		}
	}
	return false
}

// Observe takes one Prometheus reading made at `at`: for every service in
// canary among services it folds the counters' increments since the last
// reading into that canary's analysis. seq is the reading's sequence
// number: a seq not above the last one observed is ignored (0 is never
// ignored, for callers without one). It reports whether it took the reading.
func (t *Tracker) Observe(at time.Time, services []sources.Service, m sources.Metrics, seq uint64) bool {
	if seq != 0 {
		if seq <= t.lastSeq {
			return false
		}
		t.lastSeq = seq
	}
	reading := newReading(m)
	inCanary := make(map[sources.ServiceKey]bool, len(services))
	for _, svc := range services {
		if !svc.InCanary() {
			continue
		}
		key := svc.Key()
		inCanary[key] = true
		a := t.analyses[key]
		if a == nil || a.stable != svc.StableRevision || a.canary != svc.CanaryRevision {
			a = t.newAnalysis(svc, at)
			t.analyses[key] = a
		}
		a.observe(at, svc, m, reading)
	}
	t.dropEndedExcept(inCanary)
	return true
}

// dropEnded forgets the analyses of services the cluster no longer shows in
// canary. The watch learns that a canary ended (a rollback, a promotion)
// before the next Prometheus reading does, and an ended canary's verdict
// must not stay on screen until then.
func (t *Tracker) dropEnded() {
	inCanary := make(map[sources.ServiceKey]bool, len(t.services))
	for _, svc := range t.services {
		if svc.InCanary() {
			inCanary[svc.Key()] = true
		}
	}
	t.dropEndedExcept(inCanary)
}

func (t *Tracker) dropEndedExcept(inCanary map[sources.ServiceKey]bool) {
	for key := range t.analyses {
		if !inCanary[key] {
			delete(t.analyses, key)
		}
	}
}

// Verdicts returns the current verdict of every canary that has had at
// least one tick. The map and the verdicts are copies.
func (t *Tracker) Verdicts() map[sources.ServiceKey]Verdict {
	out := make(map[sources.ServiceKey]Verdict, len(t.analyses))
	for key, a := range t.analyses {
		if a.hasVerdict {
			out[key] = a.verdict.clone()
		}
	}
	return out
}

// Verdict returns one canary's current verdict.
func (t *Tracker) Verdict(key sources.ServiceKey) (Verdict, bool) {
	a, ok := t.analyses[key]
	if !ok || !a.hasVerdict {
		return Verdict{}, false
	}
	return a.verdict.clone(), true
}

// Analysis describes one canary's analysis, for commands that print what
// the judge is looking at.
type Analysis struct {
	Key                    sources.ServiceKey
	StableRevision, Canary string
	Started                time.Time
	// Bounds are the latency bounds in use (zero before the first tick) and
	// BoundsFrom says where they came from.
	Bounds     Bounds
	BoundsFrom string
	// ErrorsUnknown: the metric profile has no status codes, so 5xx are
	// not counted and the tracker never passes on a PROMOTE.
	ErrorsUnknown bool
}

// Analysis returns the state of one canary's analysis.
func (t *Tracker) Analysis(key sources.ServiceKey) (Analysis, bool) {
	a, ok := t.analyses[key]
	if !ok {
		return Analysis{}, false
	}
	return Analysis{Key: key, StableRevision: a.stable, Canary: a.canary, Started: a.started,
		Bounds: a.bounds, BoundsFrom: a.boundsFrom, ErrorsUnknown: a.errorsUnknown}, true
}

func (t *Tracker) newAnalysis(svc sources.Service, at time.Time) *analysis {
	return &analysis{
		key:     svc.Key(),
		stable:  svc.StableRevision,
		canary:  svc.CanaryRevision,
		policy:  t.opts.Policy,
		cfg:     t.opts.Config,
		slo:     millis(t.opts.SLO),
		started: at,
		tickEnd: at,
		prev:    map[seriesID]sources.SeriesCounter{},
	}
}

// seriesID identifies one series across readings.
type seriesID struct{ namespace, revision, series string }

// reading indexes one Metrics' counters by namespace and revision, once per
// Observe, so each analysis finds its two revisions without a scan.
type reading struct {
	failed   string
	counters map[[2]string][]sources.SeriesCounter
}

func newReading(m sources.Metrics) reading {
	r := reading{failed: m.CountersErr}
	if r.failed != "" {
		return r
	}
	r.counters = make(map[[2]string][]sources.SeriesCounter)
	for _, c := range m.Counters {
		k := [2]string{c.Namespace, c.Revision}
		r.counters[k] = append(r.counters[k], c)
	}
	return r
}

func (r reading) of(namespace, revision string) []sources.SeriesCounter {
	return r.counters[[2]string{namespace, revision}]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// notReady reports whether the canary revision itself is failing: the
// service is not Ready and a failing condition names the canary revision.
// A failure that names another revision (a newer one that never became
// Ready) says nothing about the canary and must not roll it back.
func canaryNotReady(svc sources.Service) bool {
	if svc.Ready || svc.CanaryRevision == "" {
		return false
	}
	quoted := `"` + svc.CanaryRevision + `"`
	for _, c := range svc.Conditions {
		if c.Status == "False" && (strings.Contains(c.Message, quoted) || strings.Contains(c.Message, svc.CanaryRevision+" ")) {
			return true
		}
	}
	return false
}
