package sim

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

const (
	// routeSettle is how long a traffic change takes to show in the figures:
	// Knative reprograms the ingress in a second or two and in-flight
	// requests drain, so a rollback ends the regression within seconds.
	routeSettle = 3 * time.Second
	// regressRamp is how long a bad revision takes to go from healthy to its
	// bad figures (caches cool, a queue builds up).
	regressRamp = time.Minute
	// metricWindow is the rate window of the Prometheus figures; Requests and
	// Errors are counts over it.
	metricWindow = 5 * time.Minute
	// Trends cover the last trendPoints minutes at one-minute steps.
	trendPoints = 60
	trendStep   = time.Minute
)

// figures is how a revision answers requests.
type figures struct {
	errRate  float64 // share of 5xx answers
	p50, p99 time.Duration
}

// quality is a revision's behaviour over time: healthy figures and, for a
// bad model, the figures it degrades to from regressAt on.
type quality struct {
	good      figures
	bad       figures
	regressAt time.Time // zero: never regresses
}

// at returns the figures at t, moving from good to bad over regressRamp.
func (q quality) at(t time.Time) figures {
	if q.regressAt.IsZero() || t.Before(q.regressAt) {
		return q.good
	}
	f := clamp(float64(t.Sub(q.regressAt))/float64(regressRamp), 0, 1)
	f = f * f * (3 - 2*f)
	return figures{
		errRate: lerp(q.good.errRate, q.bad.errRate, f),
		p50:     time.Duration(lerp(float64(q.good.p50), float64(q.bad.p50), f)),
		p99:     time.Duration(lerp(float64(q.good.p99), float64(q.bad.p99), f)),
	}
}

// revision is one Knative revision, or in Standard mode one generation of
// the Deployment's pod template.
type revision struct {
	number     int
	created    time.Time
	storageURI string
	quality    quality
	// failure says why the revision never became ready; empty when it did.
	failure string
	key     uint64 // noise stream of its figures
}

// target is one entry of the traffic split.
type target struct {
	revision int
	percent  int
	latest   bool // the entry that follows the latest ready revision
	prev     bool // the rolled-out revision while a canary runs (tag prev)
}

// route is the traffic split from a moment on.
type route struct {
	at      time.Time
	targets []target
}

// profile is what a service is and the load it takes; it does not change.
type profile struct {
	name        string
	mode        string
	modelFormat string
	runtime     string
	gpu         bool
	maxReplicas int
	rps         float64 // mean requests per second
	podRPS      float64 // requests per second one pod takes before the autoscaler adds one
	// hasErrors is false where the metric profile has no status codes: the
	// demo's profile reads Knative's queue-proxy, which Standard-mode
	// services do not have, so only the model server's histograms remain.
	hasErrors bool
	// healthy is how a new, good revision of this service behaves.
	healthy figures
}

// service is one InferenceService: its fixed profile, its mutable spec and
// the status the spec has led to.
type service struct {
	profile
	namespace       string
	minReplicas     int
	canary          *int   // spec.predictor.canaryTrafficPercent
	storageURI      string // spec.predictor.model.storageUri
	restarts        int
	resourceVersion int64
	// revisions are oldest first; Standard mode keeps one per pod-template
	// generation only to know which pods serve.
	revisions []revision
	rolledOut int     // latestRolledoutRevision (revision number)
	previous  int     // previousRolledoutRevision, 0 when unknown
	routes    []route // routing history, oldest first
	loadKey   uint64
}

// clone copies the service deeply enough that the copy can be read while
// the original changes.
func (s *service) clone() *service {
	c := *s
	if s.canary != nil {
		v := *s.canary
		c.canary = &v
	}
	c.revisions = append([]revision(nil), s.revisions...)
	c.routes = make([]route, len(s.routes))
	for i, r := range s.routes {
		c.routes[i] = route{at: r.at, targets: append([]target(nil), r.targets...)}
	}
	return &c
}

func (s *service) key() sources.ServiceKey {
	return sources.ServiceKey{Namespace: s.namespace, Name: s.name}
}

func (s *service) knative() bool { return s.mode == sources.ModeKnative }

// revisionName is Knative's name for revision n of the predictor.
func (s *service) revisionName(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%s-predictor-%05d", s.name, n)
}

func (s *service) revision(n int) *revision {
	for i := range s.revisions {
		if s.revisions[i].number == n {
			return &s.revisions[i]
		}
	}
	return nil
}

// latestCreated is the newest revision; latestReady the newest that did not fail.
func (s *service) latestCreated() *revision {
	if len(s.revisions) == 0 {
		return nil
	}
	return &s.revisions[len(s.revisions)-1]
}

func (s *service) latestReady() int {
	for i := len(s.revisions) - 1; i >= 0; i-- {
		if s.revisions[i].failure == "" {
			return s.revisions[i].number
		}
	}
	return 0
}

// routeAt is the split in force at t (the last one set at or before t).
func (s *service) routeAt(t time.Time) (cur, before *route) {
	for i := len(s.routes) - 1; i >= 0; i-- {
		if !s.routes[i].at.After(t) {
			cur = &s.routes[i]
			if i > 0 {
				before = &s.routes[i-1]
			}
			return cur, before
		}
	}
	return nil, nil
}

// share is the fraction of requests one revision receives.
type share struct {
	revision int
	share    float64
}

// sharesAt is the effective split at t. A split set less than routeSettle
// ago is blended with the one before, so figures move within seconds.
func (s *service) sharesAt(t time.Time) []share {
	cur, before := s.routeAt(t)
	if cur == nil {
		return nil
	}
	out := make([]share, 0, 3)
	add := func(rev int, v float64) {
		for i := range out {
			if out[i].revision == rev {
				out[i].share += v
				return
			}
		}
		out = append(out, share{rev, v})
	}
	f := 1.0
	if before != nil {
		if d := t.Sub(cur.at); d < routeSettle {
			f = float64(d) / float64(routeSettle)
			for _, tg := range before.targets {
				add(tg.revision, (1-f)*float64(tg.percent)/100)
			}
		}
	}
	for _, tg := range cur.targets {
		add(tg.revision, f*float64(tg.percent)/100)
	}
	return out
}

// setRoute records a new split from t on.
func (s *service) setRoute(t time.Time, targets ...target) {
	s.routes = append(s.routes, route{at: t, targets: targets})
}

// revisionSample is one revision's figures at one moment.
type revisionSample struct {
	revision int
	rps      float64
	errRate  float64
	p50, p99 time.Duration
}

// serviceSample is a service's figures at one moment: the revisions'
// figures and their traffic-weighted blend.
type serviceSample struct {
	rps      float64
	errRate  float64
	p50, p99 time.Duration
	revs     []revisionSample
}

// revisionSamples computes each routed revision's figures at t. Load and
// quality wander smoothly and independently, each from its own noise stream.
func (s *service) revisionSamples(t time.Time) []revisionSample {
	load := s.rps * (1 + 0.06*wander(s.loadKey, t))
	shares := s.sharesAt(t)
	out := make([]revisionSample, 0, len(shares))
	for _, sh := range shares {
		rev := s.revision(sh.revision)
		if rev == nil {
			continue
		}
		f := rev.quality.at(t)
		out = append(out, revisionSample{
			revision: rev.number,
			rps:      load * sh.share,
			errRate:  f.errRate * (1 + 0.12*wander(rev.key^1, t)),
			p50:      time.Duration(float64(f.p50) * (1 + 0.04*wander(rev.key^2, t))),
			p99:      time.Duration(float64(f.p99) * (1 + 0.07*wander(rev.key^3, t))),
		})
	}
	return out
}

// sample computes the service's figures at t: its revisions' figures and
// their traffic-weighted blend.
func (s *service) sample(t time.Time) serviceSample {
	out := serviceSample{revs: s.revisionSamples(t)}
	lat := make([]latency, 0, len(out.revs))
	var errSum float64
	for _, rs := range out.revs {
		if rs.rps > 0 {
			out.rps += rs.rps
			errSum += rs.rps * rs.errRate
			lat = append(lat, newLatency(rs.rps, rs.p50, rs.p99))
		}
	}
	if out.rps > 0 {
		out.errRate = errSum / out.rps
		out.p50 = mixtureQuantile(lat, 0.5)
		out.p99 = mixtureQuantile(lat, 0.99)
	}
	return out
}

func (rs revisionSample) traffic(hasErrors bool) sources.Traffic {
	return trafficOf(rs.rps, rs.errRate, rs.p50, rs.p99, hasErrors)
}

func trafficOf(rps, errRate float64, p50, p99 time.Duration, hasErrors bool) sources.Traffic {
	tr := sources.Traffic{RPS: rps, Requests: rps * metricWindow.Seconds()}
	if rps <= 0 {
		// Prometheus has no ratio or quantile over zero requests.
		return tr
	}
	tr.P50, tr.P99, tr.HasP99 = p50, p99, true
	if hasErrors {
		tr.ErrorRate, tr.HasErrors = errRate, true
		tr.Errors = tr.Requests * errRate
	}
	return tr
}

// metrics computes what Prometheus would answer for the service at now:
// the service's figures and trends, and each routed revision's figures.
func (s *service) metrics(now time.Time) (sources.ServiceMetrics, []sources.RevisionMetrics) {
	samples := make([]serviceSample, trendPoints)
	for i := range samples {
		samples[i] = s.sample(now.Add(-time.Duration(trendPoints-1-i) * trendStep))
	}
	cur := samples[len(samples)-1]
	sm := sources.ServiceMetrics{Traffic: trafficOf(cur.rps, cur.errRate, cur.p50, cur.p99, s.hasErrors)}
	for i, smp := range samples {
		t := now.Add(-time.Duration(trendPoints-1-i) * trendStep)
		sm.RPSTrend = append(sm.RPSTrend, sources.Point{T: t, V: smp.rps})
		if smp.rps <= 0 {
			continue
		}
		if s.hasErrors {
			sm.ErrTrend = append(sm.ErrTrend, sources.Point{T: t, V: smp.errRate})
		}
		sm.P99Trend = append(sm.P99Trend, sources.Point{T: t, V: smp.p99.Seconds()})
	}
	if !s.knative() {
		return sm, nil
	}
	var revs []sources.RevisionMetrics
	rt, _ := s.routeAt(now)
	if rt == nil {
		return sm, nil
	}
	for _, tg := range rt.targets {
		rm := sources.RevisionMetrics{Revision: s.revisionName(tg.revision)}
		for _, rs := range cur.revs {
			if rs.revision == tg.revision {
				rm.Traffic = rs.traffic(s.hasErrors)
			}
		}
		for i, smp := range samples {
			for _, rs := range smp.revs {
				if rs.revision == tg.revision && rs.rps > 0 && s.hasErrors {
					rm.ErrTrend = append(rm.ErrTrend, sources.Point{T: now.Add(-time.Duration(trendPoints-1-i) * trendStep), V: rs.errRate})
				}
			}
		}
		revs = append(revs, rm)
	}
	return sm, revs
}

// pods is how many pods serve the service at t and how many are ready: each
// routed revision runs what its load needs, at least minReplicas (Knative
// keeps a revision that is still in the route at its min-scale), and a
// revision that failed has one pod crash-looping.
func (s *service) pods(t time.Time) (ready, total int) {
	revs := s.revisionSamples(t)
	rt, _ := s.routeAt(t)
	if rt != nil {
		for _, tg := range rt.targets {
			var rps float64
			for _, rs := range revs {
				if rs.revision == tg.revision {
					rps = rs.rps
				}
			}
			n := int(math.Ceil(rps / s.podRPS))
			n = max(n, s.minReplicas)
			n = min(n, s.maxReplicas)
			ready += n
		}
	}
	total = ready
	if lc := s.latestCreated(); lc != nil && lc.failure != "" {
		total++
	}
	return ready, total
}

// status is the InferenceService as the cluster reports it at t.
func (s *service) status(t time.Time) sources.Service {
	out := sources.Service{
		Namespace:       s.namespace,
		Name:            s.name,
		Mode:            s.mode,
		Ready:           true,
		MinReplicas:     s.minReplicas,
		MaxReplicas:     s.maxReplicas,
		StorageURI:      s.storageURI,
		ModelFormat:     s.modelFormat,
		Runtime:         s.runtime,
		GPU:             s.gpu,
		Restarts:        s.restarts,
		ResourceVersion: strconv.FormatInt(s.resourceVersion, 10),
	}
	if s.canary != nil {
		out.CanaryPercent, out.HasCanaryPercent = *s.canary, true
	}
	out.PodsReady, out.PodsTotal = s.pods(t)

	failure := ""
	if lc := s.latestCreated(); lc != nil {
		failure = lc.failure
	}
	if s.knative() {
		out.Conditions = knativeConditions(s.revisionName(s.latestCreated().number), failure)
		ready := s.latestReady()
		out.StableRevision = s.revisionName(s.rolledOut)
		if ready != s.rolledOut {
			out.CanaryRevision = s.revisionName(ready)
		}
		out.PreviousRevision = s.revisionName(s.previous)
		if rt, _ := s.routeAt(t); rt != nil {
			for _, tg := range rt.targets {
				tt := sources.TrafficTarget{Revision: s.revisionName(tg.revision), Percent: tg.percent, Latest: tg.latest}
				if tg.prev {
					tt.Tag = "prev"
				}
				out.Traffic = append(out.Traffic, tt)
			}
		}
	} else {
		out.Conditions = standardConditions(failure)
	}
	for _, c := range out.Conditions {
		if c.Status != "True" {
			out.Ready = false
			out.Reason = c.Message
			break
		}
	}
	return out
}

// knativeConditions are the conditions of a Knative-mode service, in the
// order Knative sorts them. A failed latest revision fails the
// configuration and with it the predictor, while the route keeps serving
// the revisions that work.
func knativeConditions(latestRevision, failure string) []sources.Condition {
	ok := func(t string) sources.Condition { return sources.Condition{Type: t, Status: "True"} }
	if failure == "" {
		return []sources.Condition{ok("IngressReady"), ok("LatestDeploymentReady"), ok("PredictorConfigurationReady"),
			ok("PredictorReady"), ok("PredictorRouteReady"), ok("Ready"), ok("RoutesReady")}
	}
	msg := fmt.Sprintf("Revision %q failed with message: Container failed with: %s", latestRevision, failure)
	bad := func(t string) sources.Condition {
		return sources.Condition{Type: t, Status: "False", Reason: "RevisionFailed", Message: msg}
	}
	return []sources.Condition{ok("IngressReady"), bad("LatestDeploymentReady"), bad("PredictorConfigurationReady"),
		bad("PredictorReady"), ok("PredictorRouteReady"), bad("Ready"), ok("RoutesReady")}
}

// standardConditions are the conditions KServe sets in Standard mode.
func standardConditions(failure string) []sources.Condition {
	ok := func(t string) sources.Condition { return sources.Condition{Type: t, Status: "True"} }
	if failure == "" {
		return []sources.Condition{ok("IngressReady"), ok("PredictorReady"), ok("Ready")}
	}
	bad := func(t string) sources.Condition {
		return sources.Condition{Type: t, Status: "False", Reason: "ProgressDeadlineExceeded", Message: failure}
	}
	return []sources.Condition{ok("IngressReady"), bad("PredictorReady"), bad("Ready")}
}

// ---------------------------------------------------------------- changes

// setCanary applies a new spec.predictor.canaryTrafficPercent the way
// KServe's reconciler turns it into a split (see apis.md 1.4).
func (s *service) setCanary(percent *int, now time.Time) {
	if percent == nil {
		s.canary = nil
	} else {
		v := *percent
		s.canary = &v
	}
	ready := s.latestReady()
	full := percent == nil || *percent >= 100
	switch {
	case ready != s.rolledOut && full:
		// Promotion: the latest revision takes all traffic and becomes the
		// rolled-out one.
		s.previous, s.rolledOut = s.rolledOut, ready
		s.setRoute(now, target{revision: ready, percent: 100, latest: true})
	case ready != s.rolledOut:
		s.setRoute(now, target{revision: ready, percent: *percent, latest: true},
			target{revision: s.rolledOut, percent: 100 - *percent, prev: true})
	case !full && s.previous != 0:
		// Rolling back a completed rollout: KServe points
		// latestRolledoutRevision back at the previous one, and the split
		// then sends the rest of the traffic there.
		s.rolledOut, s.previous = s.previous, 0
		s.setRoute(now, target{revision: ready, percent: *percent, latest: true},
			target{revision: s.rolledOut, percent: 100 - *percent, prev: true})
	default:
		// Nothing to split against: the field waits for the next revision.
	}
}

// setStorageURI changes the model. In Knative mode that creates a revision,
// which takes the canary share when canaryTrafficPercent is set and all
// traffic otherwise; in Standard mode the Deployment rolls. A revision whose
// model cannot be loaded never becomes ready and the old one keeps serving.
func (s *service) setStorageURI(uri string, now time.Time, h hasher) {
	s.storageURI = uri
	q := quality{good: s.healthy}
	// The same artifact behaves the same: redeploying a bad model brings its
	// regression back.
	for _, r := range s.revisions {
		if r.storageURI == uri && r.failure == "" {
			q = r.quality
		}
	}
	n := 1
	if lc := s.latestCreated(); lc != nil {
		n = lc.number + 1
	}
	rev := revision{number: n, created: now, storageURI: uri, quality: q,
		failure: s.loadFailure(uri), key: h.key(fmt.Sprintf("rev/%s/%d", s.name, n))}
	s.revisions = append(s.revisions, rev)
	if rev.failure != "" {
		return
	}
	if s.knative() && s.canary != nil && *s.canary < 100 {
		s.setRoute(now, target{revision: n, percent: *s.canary, latest: true},
			target{revision: s.rolledOut, percent: 100 - *s.canary, prev: true})
		return
	}
	s.previous, s.rolledOut = s.rolledOut, n
	s.setRoute(now, target{revision: n, percent: 100, latest: true})
}

// loadFailure is the model server's error for an artifact it cannot load.
// The platform's artifacts follow MLflow's layout, <run>/artifacts/model;
// the commonest mistake (the seed's scenario 2) drops the /model suffix.
func (s *service) loadFailure(uri string) string {
	if strings.HasSuffix(uri, "/artifacts/model") {
		return ""
	}
	for _, r := range s.revisions {
		if r.storageURI == uri && r.failure == "" {
			return ""
		}
	}
	if s.modelFormat == "mlflow" {
		return fmt.Sprintf("mlflow.exceptions.MlflowException: Could not find an \"MLmodel\" configuration file at %q", uri)
	}
	return fmt.Sprintf("kserve.errors.ModelMissingError: Model missing at %q", uri)
}

// supportedStorageURIPrefixes are the schemes KServe's webhook accepts.
func supportedStorageURIPrefixes() []string {
	return []string{"gs://", "s3://", "pvc://", "file://", "https://", "http://",
		"hdfs://", "webhdfs://", "oci://", "oci+native://", "oci+fetch://", "hf://"}
}

// checkStorageURI rejects a URI the way KServe's admission webhook does.
func checkStorageURI(uri string) error {
	prefixes := supportedStorageURIPrefixes()
	for _, p := range prefixes {
		if strings.HasPrefix(uri, p) && len(uri) > len(p) {
			return nil
		}
	}
	return fmt.Errorf("admission webhook \"inferenceservice.kserve-webhook-server.validator\" denied the request: "+
		"storageUri must start with one of %s; StorageUri [%s] is not supported", strings.Join(prefixes, ", "), uri)
}
