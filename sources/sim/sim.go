// Package sim is the demo platform: a simulated ML platform (KServe
// InferenceServices, their Prometheus figures, an MLflow experiment and
// registry, a Kubeflow Pipelines schedule, GPUs) that answers like the real
// sources do, so `mltop demo`, the screenshots and the UI golden tests show a
// platform having a real incident without a cluster.
//
// The platform is deterministic: every value is a function of the seed, the
// scenario, the simulated time and the actions applied so far. Numbers come
// from hashes of (seed, entity, time bucket) joined smoothly, never from a
// shared random sequence, so the order and frequency of fetches change
// nothing. Simulated time comes only from the platform's clock.
package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/mltop/mltop/sources"
)

// Options choose the scenario, the seed and how simulated time moves.
type Options struct {
	// Scenario is one of Scenarios(); empty means "incident".
	Scenario string
	// Seed varies names, ids and noise; the same seed and the same
	// simulated time give identical values.
	Seed int64
	// Start is the simulated time at start; zero means 2026-03-04 09:00 UTC.
	Start time.Time
	// Speed is simulated seconds per real second. Zero stops the clock:
	// simulated time then moves only by Advance, which is what tests, one-shot
	// snapshots and golden files want; the live demo passes 1 or more.
	Speed float64
	// Wall is the real clock a running simulation follows (nil: time.Now):
	// now = Start + Speed x (Wall() - Wall() at New) + everything passed to
	// Advance.
	Wall func() time.Time
}

// DefaultStart is the simulated time a platform starts at unless told otherwise.
func DefaultStart() time.Time { return time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC) }

// FetchFunc computes one source's full value at the platform's current time.
type FetchFunc func(ctx context.Context) (sources.Part, error)

// NotFoundError is returned by actions on a service the platform does not have.
type NotFoundError struct{ Key sources.ServiceKey }

func (e *NotFoundError) Error() string { return "no InferenceService " + e.Key.String() }

// Platform is a simulated platform. It is safe for concurrent use: fetchers
// run on poller goroutines while actions arrive from elsewhere.
type Platform struct {
	scenario  string
	start     time.Time
	speed     float64
	wall      func() time.Time
	wallStart time.Time

	mu       sync.Mutex
	advanced time.Duration
	w        *world
	// rv is the cluster's latest resourceVersion: every change to a
	// service takes the next one, as every write to etcd does.
	rv    int64
	rvKey uint64
}

// New builds a platform.
func New(o Options) (*Platform, error) {
	if o.Scenario == "" {
		o.Scenario = ScenarioIncident
	}
	if o.Start.IsZero() {
		o.Start = DefaultStart()
	}
	if o.Speed < 0 {
		return nil, fmt.Errorf("speed %g: simulated time cannot run backwards", o.Speed)
	}
	if o.Wall == nil {
		o.Wall = time.Now
	}
	h := hasher{seed: uint64(o.Seed)}
	w, err := build(o.Scenario, h, o.Start)
	if err != nil {
		return nil, err
	}
	p := &Platform{scenario: o.Scenario, start: o.Start, speed: o.Speed, wall: o.Wall, w: w, rvKey: h.key("rv")}
	if p.speed > 0 {
		p.wallStart = p.wall()
	}
	// Services were last written at different times before the start.
	p.rv = 880_000 + int64(at(p.rvKey, -1)%20_000)
	for i, s := range w.services {
		s.resourceVersion = p.rv - 1 - int64(at(p.rvKey, -2-int64(i))%5_000)
	}
	return p, nil
}

// Scenario is the platform's scenario name.
func (p *Platform) Scenario() string { return p.scenario }

// Start is the simulated time the platform started at.
func (p *Platform) Start() time.Time { return p.start }

// Now is the simulated time.
func (p *Platform) Now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nowLocked()
}

func (p *Platform) nowLocked() time.Time {
	t := p.start.Add(p.advanced)
	if p.speed > 0 {
		t = t.Add(time.Duration(float64(p.wall().Sub(p.wallStart)) * p.speed))
	}
	return t
}

// Advance moves simulated time forward by d; a negative d is ignored, since
// the platform's past is fixed.
func (p *Platform) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	p.mu.Lock()
	p.advanced += d
	p.mu.Unlock()
}

// view copies the state and reads the time under the lock, so the values
// are computed without holding it.
func (p *Platform) view() (*world, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.clone(), p.nowLocked()
}

// Fetchers returns one fetch function per source. Each returns the source's
// full value at the platform's current simulated time.
func (p *Platform) Fetchers() map[sources.SourceID]FetchFunc {
	fetch := func(compute func(w *world, now time.Time) sources.Part) FetchFunc {
		return func(ctx context.Context) (sources.Part, error) {
			if err := ctx.Err(); err != nil {
				return sources.Part{}, err
			}
			w, now := p.view()
			return compute(w, now), nil
		}
	}
	return map[sources.SourceID]FetchFunc{
		sources.SourceKube: fetch(func(w *world, now time.Time) sources.Part {
			inv := w.inventory(now)
			return sources.Part{Inventory: &inv}
		}),
		sources.SourceProm: fetch(func(w *world, now time.Time) sources.Part {
			m := w.metrics(now)
			w.addJudgeCounters(&m, p.start.Add(-counterLead), now)
			return sources.Part{Metrics: &m}
		}),
		sources.SourceMLflow: fetch(func(w *world, now time.Time) sources.Part {
			t := sources.Tracking{
				Training:      w.tracking.training(w.pipeline, now),
				Registry:      w.tracking.registry(w.pipeline, now),
				ServerVersion: w.tracking.serverVersion,
			}
			return sources.Part{Tracking: &t}
		}),
		sources.SourceKFP: fetch(func(w *world, now time.Time) sources.Part {
			pl := w.pipeline.pipelines(now)
			return sources.Part{Pipelines: &pl}
		}),
	}
}

// inventory is the Kubernetes source's value.
func (w *world) inventory(now time.Time) sources.Inventory {
	inv := sources.Inventory{Context: w.context, Namespaces: []string{w.namespace}, OOMKills: w.oomKills(now)}
	for _, s := range w.services {
		inv.Services = append(inv.Services, s.status(now))
	}
	return inv
}

// metrics is the Prometheus source's value.
func (w *world) metrics(now time.Time) sources.Metrics {
	m := sources.Metrics{
		Profile:   "knative",
		Services:  map[sources.ServiceKey]sources.ServiceMetrics{},
		Revisions: map[sources.ServiceKey]sources.RevisionMetrics{},
		OOMKills:  w.oomKills(now),
	}
	for _, s := range w.services {
		sm, revs := s.metrics(now)
		m.Services[s.key()] = sm
		for _, rm := range revs {
			m.Revisions[sources.ServiceKey{Namespace: s.namespace, Name: rm.Revision}] = rm
		}
	}
	m.GPUs, m.GPUTrend = w.gpus(now)
	return m
}

// Service returns the InferenceService as the cluster reports it now.
func (p *Platform) Service(ns, name string) (sources.Service, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.findLocked(ns, name)
	if s == nil {
		return sources.Service{}, false
	}
	return s.status(p.nowLocked()), true
}

func (p *Platform) findLocked(ns, name string) *service {
	if ns != p.w.namespace {
		return nil
	}
	return p.w.service(name)
}

// change runs an action on one service under the lock and gives the service
// a new resourceVersion when it succeeds.
func (p *Platform) change(ns, name string, apply func(s *service, now time.Time) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.findLocked(ns, name)
	if s == nil {
		return &NotFoundError{Key: sources.ServiceKey{Namespace: ns, Name: name}}
	}
	if err := apply(s, p.nowLocked()); err != nil {
		return err
	}
	// Other objects are written between two changes of this one.
	p.rv += 1 + int64(at(p.rvKey, p.rv)%40)
	s.resourceVersion = p.rv
	return nil
}

// SetCanaryPercent sets spec.predictor.canaryTrafficPercent: nil removes the
// field (promote: the latest revision takes all traffic), 0 rolls back (all
// traffic to the previous revision), 1-99 splits. Canary is only supported
// in Knative mode.
func (p *Platform) SetCanaryPercent(ns, name string, percent *int) error {
	return p.change(ns, name, func(s *service, now time.Time) error {
		if !s.knative() {
			return fmt.Errorf("%s/%s runs in %s mode: canaryTrafficPercent only works in Knative (Serverless) mode", ns, name, s.mode)
		}
		if percent != nil && (*percent < 0 || *percent > 100) {
			return fmt.Errorf("canaryTrafficPercent %d is outside 0-100", *percent)
		}
		s.setCanary(percent, now)
		return nil
	})
}

// SetMinReplicas sets spec.predictor.minReplicas. (A real Knative service
// also gets a new revision for it; the demo keeps the revisions as they are
// so a pin during a canary does not restart the canary.)
func (p *Platform) SetMinReplicas(ns, name string, n int) error {
	return p.change(ns, name, func(s *service, _ time.Time) error {
		if n < 0 {
			return fmt.Errorf("minReplicas %d is negative", n)
		}
		if n > s.maxReplicas {
			return fmt.Errorf("minReplicas %d is greater than maxReplicas %d", n, s.maxReplicas)
		}
		s.minReplicas = n
		return nil
	})
}

// SetStorageURI sets spec.predictor.model.storageUri. In Knative mode the new
// model becomes a new revision, the canary when canaryTrafficPercent is set;
// a model that cannot be loaded leaves the service not ready while the old
// revision keeps serving.
func (p *Platform) SetStorageURI(ns, name, uri string) error {
	return p.change(ns, name, func(s *service, now time.Time) error {
		if err := checkStorageURI(uri); err != nil {
			return err
		}
		s.setStorageURI(uri, now, p.w.h)
		return nil
	})
}
