package prom

import (
	"context"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// The canary judge's data: raw counters, not rates. Every refresh asks, in
// three instant queries whatever the number of services, for the
// cumulative requests, 5xx and latency buckets of every pod of every
// revision of the services that split their traffic between two or more
// revisions (a service with one revision cannot be in canary, so a fleet
// without canaries costs next to nothing), summed `by (namespace,
// service, revision, pod)`. The judge takes exact per-tick increments from
// successive values itself (actions/canary's tracker).
//
// Latency bounds (L90, L99) per such service come from a fourth query,
// `sum by (namespace, service, revision, le) (increase(bucket[1h]))`, run
// only when a service's set of revisions is new: the bounds of a service
// are kept until its revisions change, so they are read once per canary,
// from the hour before mltop first saw it (the hour before the canary when
// mltop was running as it started; when mltop starts mid-canary, that hour
// overlaps the canary, but it is the stable revision's own histogram, so
// the canary's latency never enters it). The stable revision is the one
// with the most requests in that hour: a canary starts with a minority of
// the traffic. Prometheus does not know when the canary started or which
// revision KServe rolled out last, so this is the best it can say; the
// tracker takes the bounds once, when its analysis starts.
//
// Profiles and what they can give:
//   - knative: revision_request_count and revision_request_latencies by
//     revision_name and pod_name; 5xx by response_code_class.
//   - knative-otel: kn_serving_invocation_duration_seconds joined to
//     target_info for the revision; one series per scrape target (instance).
//   - kserve, seed: no revision label; the revision is read from the pod
//     name Knative gives it (<revision>-deployment-<hash>-<hash>), so a
//     scrape that does not add the pod label gives no counters. The kserve
//     profile has no status code: its 5xx counts are NaN (unknown, not 0).
//   - a profile configured under another name has no counter queries: its
//     metric names are unknown here, so CountersErr says so.
// The built-in profiles' metric names are used even when the configuration
// overrides their rate templates.

// revisionFromPod is the label the kserve and seed profiles' queries
// derive from the pod name.
const revisionFromPod = "mltop_rev"

// boundsRange is the stable's history the latency bounds are read from.
const boundsRange = "1h"

// counterProfile renders a profile's raw-counter queries.
type counterProfile struct {
	ns, svc, rev, series string
	suffix               string
	unit                 time.Duration
	count, bucket        string // metric names
	errMatcher           string // "" when there are no status codes
	// selector returns the metric's selector with extra matchers; attach
	// adds the labels the selector's series lack (a join, a label_replace).
	selector func(metric, extra string) string
	attach   func(vec string) string
}

// counterProfiles returns the raw-counter form of the built-in profiles.
func counterProfiles(namespaces []string) map[string]counterProfile {
	withExtra := func(base, extra string) string {
		if extra == "" {
			return base
		}
		return base + ", " + extra
	}
	none := func(vec string) string { return vec }
	fromPod := func(podLabel string) func(string) string {
		return func(vec string) string {
			return `label_replace(` + vec + `, "` + revisionFromPod + `", "$1", "` + podLabel + `", "(.+)-deployment-[a-z0-9]+-[a-z0-9]+")`
		}
	}
	knNS := namespaceMatcher("namespace_name", namespaces)
	otelNS := namespaceMatcher("k8s_namespace_name", namespaces)
	plainNS := namespaceMatcher("namespace", namespaces)
	return map[string]counterProfile{
		ProfileKnative: {
			ns: "namespace_name", svc: "service_name", rev: "revision_name", series: "pod_name", suffix: "-predictor",
			unit: time.Millisecond, count: "revision_request_count", bucket: "revision_request_latencies_bucket",
			errMatcher: `response_code_class="5xx"`,
			selector: func(metric, extra string) string {
				return metric + "{" + withExtra(knNS+`, service_name=~".+-predictor"`, extra) + "}"
			},
			attach: none,
		},
		ProfileKnativeOTel: {
			ns: "k8s_namespace_name", svc: "kn_service_name", rev: "kn_revision_name", series: "instance", suffix: "-predictor",
			unit: time.Second, count: "kn_serving_invocation_duration_seconds_count", bucket: "kn_serving_invocation_duration_seconds_bucket",
			errMatcher: `http_response_status_code=~"5.."`,
			selector: func(metric, extra string) string {
				return metric + "{" + extra + "}"
			},
			attach: func(vec string) string {
				return vec + ` * on (job, instance) group_left (k8s_namespace_name, kn_service_name, kn_revision_name) target_info{` + otelNS + `, kn_service_name=~".+-predictor"}`
			},
		},
		ProfileKServe: {
			ns: "namespace", svc: "model_name", rev: revisionFromPod, series: "pod",
			unit: time.Second, count: "request_predict_seconds_count", bucket: "request_predict_seconds_bucket",
			selector: func(metric, extra string) string { return metric + "{" + withExtra(plainNS, extra) + "}" },
			attach:   fromPod("pod"),
		},
		ProfileSeed: {
			ns: "namespace", svc: "service_name", rev: revisionFromPod, series: "pod",
			unit: time.Second, count: "kserve_request_total", bucket: "kserve_request_duration_seconds_bucket",
			errMatcher: `response_code=~"5.."`,
			selector:   func(metric, extra string) string { return metric + "{" + withExtra(plainNS, extra) + "}" },
			attach:     fromPod("pod"),
		},
	}
}

func (p counterProfile) by(extra ...string) string {
	return strings.Join(append([]string{p.ns, p.svc, p.rev, p.series}, extra...), ", ")
}

// splitOnly keeps the series of services with at least two revisions.
func (p counterProfile) splitOnly() string {
	revs := "count by (" + p.ns + ", " + p.svc + ", " + p.rev + ") (" + p.attach(p.selector(p.count, "")) + ")"
	return " and on (" + p.ns + ", " + p.svc + ") (count by (" + p.ns + ", " + p.svc + ") (" + revs + ") > 1)"
}

// counterQueries are a refresh's raw-counter queries: requests, 5xx (when
// the profile has status codes) and buckets.
func (p counterProfile) counterQueries() []query {
	qs := []query{
		{name: "raw request counters", expr: "sum by (" + p.by() + ") (" + p.attach(p.selector(p.count, "")) + ")" + p.splitOnly()},
		{name: "raw latency buckets", expr: "sum by (" + p.by("le") + ") (" + p.attach(p.selector(p.bucket, "")) + ")" + p.splitOnly()},
	}
	if p.errMatcher != "" {
		qs = append(qs, query{name: "raw 5xx counters", expr: "sum by (" + p.by() + ") (" + p.attach(p.selector(p.count, p.errMatcher)) + ")" + p.splitOnly()})
	}
	return qs
}

// boundsQuery is every split service's revisions' latency histograms over
// the last hour.
func (p counterProfile) boundsQuery() query {
	by := strings.Join([]string{p.ns, p.svc, p.rev, "le"}, ", ")
	hour := p.attach("increase(" + p.selector(p.bucket, "") + "[" + boundsRange + "])")
	return query{name: "latency bounds", expr: "sum by (" + by + ") (" + hour + ")" + p.splitOnly()}
}

// boundsCache keeps each split service's bounds while its set of revisions
// stays the same. Its zero value is ready to use.
type boundsCache struct {
	mu      sync.Mutex
	entries map[sources.ServiceKey]boundsEntry
}

type boundsEntry struct {
	revisions string // the sorted revision names, joined
	bounds    sources.LatencyBounds
}

// counterKey identifies one series.
type counterKey struct{ ns, svc, rev, series string }

// fillCounters adds the judge's raw counters and latency bounds to m. A
// failed counters query leaves Counters nil and sets CountersErr; a failed
// bounds query only leaves the bounds out until the next refresh.
func (c *Client) fillCounters(ctx context.Context, profileName string, now time.Time, m *sources.Metrics) {
	if profileName == ProfileNone || profileName == "" {
		return // no serving series at all: nothing to judge
	}
	p, ok := counterProfiles(c.opts.Namespaces)[profileName]
	if !ok {
		m.CountersErr = "prometheus: profile " + strconv.Quote(profileName) + " has no raw-counter queries for the canary judge (built-in profiles: knative, knative-otel, kserve, seed)"
		return
	}
	queries := p.counterQueries()
	results := c.run(ctx, queries, now)
	for _, r := range results {
		if r.err != nil {
			m.CountersErr = clean.Text(r.err.Error())
			c.log.Warn("prometheus counters query failed; the canary judge skips this refresh", "err", r.err.Error())
			return
		}
	}
	requests, _ := vectorOf(results[0])
	buckets, _ := vectorOf(results[1])
	var errs model.Vector
	if len(results) > 2 {
		errs, _ = vectorOf(results[2])
	}
	counters, revisions := p.assembleCounters(requests, errs, buckets, len(results) > 2)
	m.Counters = counters
	m.Bounds = c.bounds.lookup(revisions, func() (map[sources.ServiceKey]sources.LatencyBounds, bool) {
		res := c.run(ctx, []query{p.boundsQuery()}, now)[0]
		if res.err != nil {
			c.log.Warn("prometheus latency bounds query failed; retrying on the next refresh", "err", res.err.Error())
			return nil, false
		}
		vec, _ := vectorOf(res)
		return p.bounds(vec, revisions), true
	})
}

// assembleCounters joins the three answers into one SeriesCounter per
// series of the requests answer, and lists each service's revisions.
func (p counterProfile) assembleCounters(requests, errs, buckets model.Vector, hasErrors bool) ([]sources.SeriesCounter, map[sources.ServiceKey][]string) {
	keyOf := func(m model.Metric) (counterKey, bool) {
		k := counterKey{
			ns:     clean.Text(string(m[model.LabelName(p.ns)])),
			svc:    strings.TrimSuffix(clean.Text(string(m[model.LabelName(p.svc)])), p.suffix),
			rev:    clean.Text(string(m[model.LabelName(p.rev)])),
			series: clean.Text(string(m[model.LabelName(p.series)])),
		}
		return k, k.ns != "" && k.svc != "" && k.rev != ""
	}
	byKey := map[counterKey]*sources.SeriesCounter{}
	var order []counterKey
	for _, s := range requests {
		k, ok := keyOf(s.Metric)
		v := float64(s.Value)
		if !ok || !finite(v) || v < 0 {
			continue
		}
		sc := &sources.SeriesCounter{Namespace: k.ns, Revision: k.rev, Series: k.series, Requests: v}
		if !hasErrors {
			sc.Errors = math.NaN()
		}
		byKey[k] = sc
		order = append(order, k)
	}
	for _, s := range errs {
		if k, ok := keyOf(s.Metric); ok {
			if sc := byKey[k]; sc != nil && finite(float64(s.Value)) {
				sc.Errors = float64(s.Value)
			}
		}
	}
	for _, s := range buckets {
		k, ok := keyOf(s.Metric)
		sc := byKey[k]
		le, leOK := parseLe(s.Metric, p.unit)
		if !ok || sc == nil || !leOK || !finite(float64(s.Value)) {
			continue
		}
		if sc.Buckets == nil {
			sc.Buckets = map[float64]float64{}
		}
		sc.Buckets[le] = float64(s.Value)
	}
	sort.Slice(order, func(i, j int) bool {
		a, b := order[i], order[j]
		return a.ns+"\x00"+a.rev+"\x00"+a.series < b.ns+"\x00"+b.rev+"\x00"+b.series
	})
	out := make([]sources.SeriesCounter, len(order))
	revisions := map[sources.ServiceKey][]string{}
	for i, k := range order {
		out[i] = *byKey[k]
		svc := sources.ServiceKey{Namespace: k.ns, Name: k.svc}
		if !slices.Contains(revisions[svc], k.rev) {
			revisions[svc] = append(revisions[svc], k.rev)
		}
	}
	return out, revisions
}

// parseLe reads a finite bucket bound in milliseconds; +Inf is not one.
func parseLe(m model.Metric, unit time.Duration) (float64, bool) {
	le, err := strconv.ParseFloat(string(m[model.BucketLabel]), 64)
	if err != nil || math.IsInf(le, 0) || math.IsNaN(le) || le < 0 {
		return 0, false
	}
	ms := le * float64(unit) / float64(time.Millisecond)
	// 0.1 s reads 100.00000000000001 ms: round to a nanosecond so the same
	// bound always has the same key.
	return math.Round(ms*1e6) / 1e6, true
}

// bounds reads each wanted service's bounds off the hour's histograms: the
// stable is the revision with the most requests (+Inf) in the hour; L90
// and L99 are the smallest bounds whose cumulative share reaches 0.90 and
// 0.99. A service without a usable histogram gets an unknown entry, so it
// is not asked again until its revisions change.
func (p counterProfile) bounds(vec model.Vector, want map[sources.ServiceKey][]string) map[sources.ServiceKey]sources.LatencyBounds {
	type hist struct {
		total   float64
		buckets map[float64]float64
	}
	byRev := map[[2]string]*hist{} // namespace, revision
	for _, s := range vec {
		m := s.Metric
		ns, rev := clean.Text(string(m[model.LabelName(p.ns)])), clean.Text(string(m[model.LabelName(p.rev)]))
		v := float64(s.Value)
		if ns == "" || rev == "" || !finite(v) {
			continue
		}
		h := byRev[[2]string{ns, rev}]
		if h == nil {
			h = &hist{buckets: map[float64]float64{}}
			byRev[[2]string{ns, rev}] = h
		}
		if string(m[model.BucketLabel]) == "+Inf" {
			h.total = v
			continue
		}
		if le, ok := parseLe(m, p.unit); ok {
			h.buckets[le] = v
		}
	}
	out := make(map[sources.ServiceKey]sources.LatencyBounds, len(want))
	for svc, revs := range want {
		var stable *hist
		for _, rev := range revs {
			if h := byRev[[2]string{svc.Namespace, rev}]; h != nil && h.total > 0 && (stable == nil || h.total > stable.total) {
				stable = h
			}
		}
		var lb sources.LatencyBounds
		if stable != nil {
			les := slices.Sorted(func(yield func(float64) bool) {
				for le := range stable.buckets {
					if !yield(le) {
						return
					}
				}
			})
			for _, le := range les {
				share := stable.buckets[le] / stable.total
				d := time.Duration(math.Round(le * float64(time.Millisecond)))
				if lb.L90 == 0 && share >= 0.90 {
					lb.L90 = d
				}
				if lb.L99 == 0 && share >= 0.99 {
					lb.L99 = d
				}
			}
			lb.Known = lb.L90 > 0 && lb.L99 > 0
		}
		out[svc] = lb
	}
	return out
}

// lookup returns the known bounds of the services in revisions. It runs
// query, once, when a service is new or its revisions changed, and keeps
// the answers for those services only: a service's bounds do not move
// while its revisions stay. A failed query stores nothing, so the next
// refresh asks again. Services that left are forgotten.
func (b *boundsCache) lookup(revisions map[sources.ServiceKey][]string, query func() (map[sources.ServiceKey]sources.LatencyBounds, bool)) map[sources.ServiceKey]sources.LatencyBounds {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.entries == nil {
		b.entries = map[sources.ServiceKey]boundsEntry{}
	}
	for svc := range b.entries {
		if _, ok := revisions[svc]; !ok {
			delete(b.entries, svc)
		}
	}
	sets := make(map[sources.ServiceKey]string, len(revisions))
	var stale bool
	for svc, revs := range revisions {
		sets[svc] = strings.Join(slices.Sorted(slices.Values(revs)), "\x00")
		if e, ok := b.entries[svc]; !ok || e.revisions != sets[svc] {
			stale = true
		}
	}
	if stale {
		if fresh, ok := query(); ok {
			for svc, set := range sets {
				if e, ok := b.entries[svc]; !ok || e.revisions != set {
					b.entries[svc] = boundsEntry{revisions: set, bounds: fresh[svc]}
				}
			}
		}
	}
	out := map[sources.ServiceKey]sources.LatencyBounds{}
	for svc := range revisions {
		if e, ok := b.entries[svc]; ok && e.bounds.Known {
			out[svc] = e.bounds
		}
	}
	return out
}
