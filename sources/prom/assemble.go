package prom

import (
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// seriesKey identifies a service (rev empty) or one of its revisions.
type seriesKey struct{ ns, svc, rev string }

func (k seriesKey) service() seriesKey { return seriesKey{ns: k.ns, svc: k.svc} }

// samples are one figure per series; series are one time series per key.
type (
	samples map[seriesKey]float64
	series  map[seriesKey]map[model.Time]float64
)

// assemble turns the answers into the source's value. A slot whose query
// failed or did not run leaves its figures out.
func (c *Client) assemble(profileName string, queries []query, results []result, now time.Time) sources.Metrics {
	answers := make(map[slot]result, len(queries))
	for i, q := range queries {
		answers[q.slot] = results[i]
	}
	m := sources.Metrics{
		Profile:   profileName,
		Services:  map[sources.ServiceKey]sources.ServiceMetrics{},
		Revisions: map[sources.ServiceKey]sources.RevisionMetrics{},
	}
	if pl, ok := c.plans[profileName]; ok {
		c.serving(&m, pl.profile, answers)
	}
	if vec, ok := vectorOf(answers[slotGPU]); ok {
		m.GPUs = gpus(vec)
	}
	if mat, ok := matrixOf(answers[slotGPUTrend]); ok && len(mat) > 0 {
		m.GPUTrend = points(matrixValues(mat[0].Values), 1)
	}
	if vec, ok := vectorOf(answers[slotOOM]); ok {
		times, _ := vectorOf(answers[slotOOMTime])
		m.OOMKills = oomKills(vec, times, c.opts.Namespaces, now)
	}
	return m
}

// serving fills the per-service and per-revision figures.
func (c *Client) serving(m *sources.Metrics, p Profile, answers map[slot]result) {
	keyOf := func(metric model.Metric) (seriesKey, bool) {
		k := seriesKey{
			ns:  clean.Text(string(metric[model.LabelName(p.NamespaceLabel)])),
			svc: strings.TrimSuffix(clean.Text(string(metric[model.LabelName(p.ServiceLabel)])), p.ServiceSuffix),
		}
		if p.RevisionLabel != "" {
			k.rev = clean.Text(string(metric[model.LabelName(p.RevisionLabel)]))
		}
		return k, k.ns != "" && k.svc != ""
	}
	window := c.window.Seconds()
	unit := p.LatencyUnit

	reqRev, reqOK := samplesOf(answers[slotRequests], keyOf)
	errRev, errOK := samplesOf(answers[slotErrors], keyOf)
	errOK = errOK && p.HasErrors()
	svc := figures{
		requests: reqRev.byService(), requestsOK: reqOK,
		errors: errRev.byService(), errorsOK: errOK,
	}
	svc.p50, _ = samplesOf(answers[slotP50Service], keyOf)
	svc.p99, _ = samplesOf(answers[slotP99Service], keyOf)
	reqTrend, _ := seriesOf(answers[slotRequestsTrend], keyOf)
	errTrend, errTrendOK := seriesOf(answers[slotErrorsTrend], keyOf)
	errTrendOK = errTrendOK && p.HasErrors()
	p99Trend, _ := seriesOf(answers[slotP99Trend], keyOf)
	reqTrendSvc, errTrendSvc := reqTrend.byService(), errTrend.byService()

	for k := range union(svc.requests, svc.p50, svc.p99, reqTrendSvc, p99Trend) {
		sm := sources.ServiceMetrics{
			Traffic:  svc.traffic(k, window, unit),
			RPSTrend: points(reqTrendSvc[k], 1),
			P99Trend: points(p99Trend[k], unit.Seconds()),
		}
		if errTrendOK {
			sm.ErrTrend = errorShare(reqTrendSvc[k], errTrendSvc[k])
		}
		m.Services[sources.ServiceKey{Namespace: k.ns, Name: k.svc}] = sm
	}

	if p.RevisionLabel == "" {
		return
	}
	rev := figures{requests: reqRev.revisions(), requestsOK: reqOK, errors: errRev.revisions(), errorsOK: errOK}
	rev.p50, _ = samplesOf(answers[slotP50Revision], keyOf)
	rev.p99, _ = samplesOf(answers[slotP99Revision], keyOf)
	for k := range union(rev.requests, rev.p50.revisions(), rev.p99.revisions(), reqTrend.revisions()) {
		rm := sources.RevisionMetrics{Revision: k.rev, Traffic: rev.traffic(k, window, unit)}
		if errTrendOK {
			rm.ErrTrend = errorShare(reqTrend[k], errTrend[k])
		}
		m.Revisions[sources.ServiceKey{Namespace: k.ns, Name: k.rev}] = rm
	}
}

// figures are the instant answers at one level (service or revision).
type figures struct {
	requests, errors     samples // per second
	requestsOK, errorsOK bool
	p50, p99             samples // in the profile's latency unit
}

// traffic computes one key's Traffic. An error share needs requests in the
// window: 0/0 is "no data", not "no errors".
func (f figures) traffic(k seriesKey, window float64, unit time.Duration) sources.Traffic {
	var t sources.Traffic
	if f.requestsOK {
		t.RPS = f.requests[k]
		t.Requests = t.RPS * window
	}
	if f.errorsOK && t.RPS > 0 {
		t.Errors = f.errors[k] * window
		t.ErrorRate = math.Min(1, f.errors[k]/t.RPS)
		t.HasErrors = true
	}
	if v, ok := f.p50[k]; ok {
		t.P50 = duration(v, unit)
	}
	if v, ok := f.p99[k]; ok {
		t.P99, t.HasP99 = duration(v, unit), true
	}
	return t
}

func duration(v float64, unit time.Duration) time.Duration {
	return time.Duration(math.Round(v * float64(unit)))
}

// samplesOf reads an instant vector; ok is false when the query failed.
// NaN and infinite values (no data) are left out.
func samplesOf(r result, keyOf func(model.Metric) (seriesKey, bool)) (samples, bool) {
	vec, ok := vectorOf(r)
	if !ok {
		return nil, false
	}
	out := samples{}
	for _, s := range vec {
		v := float64(s.Value)
		k, good := keyOf(s.Metric)
		if !good || !finite(v) || v < 0 {
			continue
		}
		out[k] += v
	}
	return out, true
}

// seriesOf reads a range answer the same way.
func seriesOf(r result, keyOf func(model.Metric) (seriesKey, bool)) (series, bool) {
	mat, ok := matrixOf(r)
	if !ok {
		return nil, false
	}
	out := series{}
	for _, s := range mat {
		k, good := keyOf(s.Metric)
		if !good {
			continue
		}
		add(out, k, matrixValues(s.Values))
	}
	return out, true
}

// byService sums revision figures per service: sums of rates are exact.
func (s samples) byService() samples {
	out := samples{}
	for k, v := range s {
		out[k.service()] += v
	}
	return out
}

// revisions keeps the figures that name a revision.
func (s samples) revisions() samples {
	out := samples{}
	for k, v := range s {
		if k.rev != "" {
			out[k] = v
		}
	}
	return out
}

func (s series) byService() series {
	out := series{}
	for k, vs := range s {
		add(out, k.service(), vs)
	}
	return out
}

func (s series) revisions() series {
	out := series{}
	for k, vs := range s {
		if k.rev != "" {
			out[k] = vs
		}
	}
	return out
}

func add(s series, k seriesKey, vs map[model.Time]float64) {
	dst := s[k]
	if dst == nil {
		dst = map[model.Time]float64{}
		s[k] = dst
	}
	for t, v := range vs {
		dst[t] += v
	}
}

func matrixValues(pairs []model.SamplePair) map[model.Time]float64 {
	out := make(map[model.Time]float64, len(pairs))
	for _, p := range pairs {
		if v := float64(p.Value); finite(v) {
			out[p.Timestamp] = v
		}
	}
	return out
}

// union is the set of keys of several answers.
func union(answers ...interface{ addKeys(map[seriesKey]struct{}) }) map[seriesKey]struct{} {
	out := map[seriesKey]struct{}{}
	for _, a := range answers {
		a.addKeys(out)
	}
	return out
}

func (s samples) addKeys(set map[seriesKey]struct{}) {
	for k := range s {
		set[k] = struct{}{}
	}
}

func (s series) addKeys(set map[seriesKey]struct{}) {
	for k := range s {
		set[k] = struct{}{}
	}
}

// points turns one time series into Points, oldest first, scaled.
func points(vs map[model.Time]float64, scale float64) []sources.Point {
	if len(vs) == 0 {
		return nil
	}
	out := make([]sources.Point, 0, len(vs))
	for t, v := range vs {
		out = append(out, sources.Point{T: t.Time(), V: v * scale})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T.Before(out[j].T) })
	return out
}

// errorShare is errors over requests at each step that had requests; a step
// with requests and no 5xx series has no errors.
func errorShare(requests, errs map[model.Time]float64) []sources.Point {
	share := make(map[model.Time]float64, len(requests))
	for t, n := range requests {
		if n > 0 {
			share[t] = math.Min(1, errs[t]/n)
		}
	}
	return points(share, 1)
}

func vectorOf(r result) (model.Vector, bool) {
	if r.err != nil {
		return nil, false
	}
	vec, ok := r.value.(model.Vector)
	return vec, ok
}

func matrixOf(r result) (model.Matrix, bool) {
	if r.err != nil {
		return nil, false
	}
	mat, ok := r.value.(model.Matrix)
	return mat, ok
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
