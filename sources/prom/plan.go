package prom

import (
	"strings"

	"github.com/prometheus/common/model"
)

// slot names what a query's answer is used for.
type slot int

const (
	slotRequests      slot = iota // request rate, finest grouping (revision when known)
	slotErrors                    // 5xx rate, finest grouping
	slotP50Service                // histogram_quantile(0.5) by service
	slotP99Service                // histogram_quantile(0.99) by service
	slotP50Revision               // by revision
	slotP99Revision               // by revision
	slotRequestsTrend             // range of slotRequests
	slotErrorsTrend               // range of slotErrors
	slotP99Trend                  // range of slotP99Service
	slotGPU                       // dcgm-exporter gauges
	slotGPUTrend                  // range: mean utilisation
	slotOOM                       // kube-state-metrics last terminated reason
	slotOOMTime                   // its timestamp
)

// query is one PromQL expression of a refresh.
type query struct {
	slot  slot
	name  string // for errors and logs
	expr  string
	trend bool // a range query over the trend range
	// core queries carry the service figures: when all of them fail the
	// refresh fails.
	core bool
}

type result struct {
	value model.Value
	err   error
}

// plan is one profile with its queries rendered for the options.
type plan struct {
	profile Profile
	queries []query
}

// Infrastructure queries do not depend on the profile. The GPU query takes
// every dcgm-exporter gauge the Infra pane needs in one answer; the trend
// first folds the duplicates that Kubernetes mapping makes of a GPU shared
// by several pods. The OOM timestamp is matched on both label styles
// (honor_labels true: namespace/pod/container; false: exported_*); labels
// absent on both sides match as empty.
const (
	gpuQuery      = `{__name__=~"DCGM_FI_DEV_GPU_UTIL|DCGM_FI_DEV_FB_USED|DCGM_FI_DEV_FB_FREE|DCGM_FI_DEV_FB_RESERVED"}`
	gpuTrendQuery = `avg(max by (UUID, GPU_I_ID, gpu, Hostname, hostname, instance) (DCGM_FI_DEV_GPU_UTIL))`
	oomQuery      = `kube_pod_container_status_last_terminated_reason{reason="OOMKilled"} == 1`
	oomTimeQuery  = `kube_pod_container_status_last_terminated_timestamp and on (namespace, pod, container, exported_namespace, exported_pod, exported_container) (` + oomQuery + `)`
)

func infraQueries() []query {
	return []query{
		{slot: slotGPU, name: "GPU utilisation", expr: gpuQuery},
		{slot: slotGPUTrend, name: "GPU trend", expr: gpuTrendQuery, trend: true},
		{slot: slotOOM, name: "OOM kills", expr: oomQuery},
		{slot: slotOOMTime, name: "OOM kill times", expr: oomTimeQuery},
	}
}

// newPlan renders the profile's templates. Counters are asked at the finest
// grouping (per revision when the profile knows revisions) and summed per
// service here, which is exact and saves two queries; quantiles cannot be
// summed, so they are asked at both levels.
func newPlan(p Profile, window string, namespaces []string) plan {
	ns := namespaceMatcher(p.NamespaceLabel, namespaces)
	byService := queryVars{Window: window, Namespaces: ns, By: strings.Join(p.serviceBy(), ", ")}
	byRevision := queryVars{Window: window, Namespaces: ns, By: strings.Join(p.revisionBy(), ", ")}
	// validate has rendered every template already, so render cannot fail here.
	render := func(v queryVars, tmpl string) string {
		out, _ := v.render(tmpl)
		return out
	}
	quantile := func(q string, v queryVars) string {
		return "histogram_quantile(" + q + ", " + render(v, p.Buckets) + ")"
	}

	requests := render(byRevision, p.Requests)
	qs := []query{
		{slot: slotRequests, name: "request rate", expr: requests, core: true},
		{slot: slotP50Service, name: "p50 latency", expr: quantile("0.5", byService), core: true},
		{slot: slotP99Service, name: "p99 latency", expr: quantile("0.99", byService), core: true},
		{slot: slotRequestsTrend, name: "request rate trend", expr: requests, trend: true},
		{slot: slotP99Trend, name: "p99 latency trend", expr: quantile("0.99", byService), trend: true},
	}
	if p.HasErrors() {
		errs := render(byRevision, p.Errors)
		qs = append(qs,
			query{slot: slotErrors, name: "error rate", expr: errs, core: true},
			query{slot: slotErrorsTrend, name: "error rate trend", expr: errs, trend: true},
		)
	}
	if p.RevisionLabel != "" {
		qs = append(qs,
			query{slot: slotP50Revision, name: "p50 latency by revision", expr: quantile("0.5", byRevision)},
			query{slot: slotP99Revision, name: "p99 latency by revision", expr: quantile("0.99", byRevision)},
		)
	}
	return plan{profile: p, queries: append(qs, infraQueries()...)}
}

// queries returns the queries of a refresh with the named profile; with no
// profile (auto found none) only the infrastructure is asked.
func (c *Client) queries(profile string) []query {
	if pl, ok := c.plans[profile]; ok {
		return pl.queries
	}
	return infraQueries()
}
