package prom

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Profile names. ProfileAuto is not a profile: it asks the client to probe
// which family of series the server has.
const (
	ProfileAuto        = "auto"
	ProfileKnative     = "knative"
	ProfileKnativeOTel = "knative-otel"
	ProfileKServe      = "kserve"
	ProfileSeed        = "seed"
)

// The placeholders a profile's query templates may use. They are plain text
// substituted verbatim (not text/template), so a template may put them next
// to PromQL's own braces: `metric{{{.Namespaces}}}` is valid.
const (
	// PlaceholderWindow is the rate window, e.g. 5m.
	PlaceholderWindow = "{{.Window}}"
	// PlaceholderNamespaces is one label matcher on the profile's namespace
	// label that keeps the watched namespaces, e.g. namespace_name=~"a|b", or
	// namespace_name!="" when every namespace is watched.
	PlaceholderNamespaces = "{{.Namespaces}}"
	// PlaceholderBy is the comma-separated grouping labels: namespace and
	// service label, plus the revision label for per-revision queries.
	PlaceholderBy = "{{.By}}"
)

// Profile says where one family of serving metrics lives and how to read it.
// Every template returns an instant vector aggregated with `sum by
// ({{.By}})` (the buckets with `sum by ({{.By}}, le)`), so one query serves
// every watched service at once.
type Profile struct {
	Name string
	// NamespaceLabel, ServiceLabel and RevisionLabel are the labels the
	// queries group by. RevisionLabel is empty when the series carry no
	// revision (then there are no per-revision figures).
	NamespaceLabel string
	ServiceLabel   string
	RevisionLabel  string
	// ServiceSuffix is cut from the service label's value to get the
	// InferenceService name: Knative names its service <isvc>-predictor.
	ServiceSuffix string
	// LatencyUnit is what one unit of the histogram's le means
	// (time.Millisecond for Knative's OpenCensus histogram).
	LatencyUnit time.Duration

	// Requests is the per-second rate of all requests.
	Requests string
	// Errors is the per-second rate of 5xx answers; empty when the series
	// carry no status code (error rates are then unknown, not zero).
	Errors string
	// Buckets is the per-second rate of each latency bucket, grouped by
	// {{.By}} and le; the client wraps it in histogram_quantile.
	Buckets string
	// Probe is an instant vector that is not empty when the profile's
	// series exist in the watched namespaces; auto wraps it in count().
	Probe string
}

// HasErrors reports whether the profile can tell failed requests apart.
func (p Profile) HasErrors() bool { return p.Errors != "" }

// knativeOTelJoin attaches the resource attributes of Knative >= 1.19, which
// the OpenTelemetry exporter puts on target_info rather than on each series,
// to the queue-proxy's series of the same scrape target.
const knativeOTelJoin = ` * on (job, instance) group_left ({{.By}}) target_info{{{.Namespaces}}, kn_service_name=~".+-predictor"}`

// DefaultProfiles returns the built-in profiles by name. The map is new on
// every call, so a caller may change it (to override a template) freely.
//
// knative: queue-proxy of Knative <= 1.18 (OpenCensus names, latency in ms).
// knative-otel: queue-proxy of Knative >= 1.19; the revision, service and
// namespace come from target_info's kn_revision_name, kn_service_name and
// k8s_namespace_name, joined on job and instance, so it needs Prometheus to
// scrape the queue-proxy's /metrics (not an OTLP push).
// kserve: the KServe Python model server's request_predict_seconds; it has
// no status code and no revision, and its namespace label comes from the
// scrape configuration.
// seed: the names of the seed article (kserve_request_total and
// kserve_request_duration_seconds), which only clusters that defined them have.
func DefaultProfiles() map[string]Profile {
	return map[string]Profile{
		ProfileKnative: {
			Name:           ProfileKnative,
			NamespaceLabel: "namespace_name",
			ServiceLabel:   "service_name",
			RevisionLabel:  "revision_name",
			ServiceSuffix:  "-predictor",
			LatencyUnit:    time.Millisecond,
			Requests:       `sum by ({{.By}}) (rate(revision_request_count{{{.Namespaces}}, service_name=~".+-predictor"}[{{.Window}}]))`,
			Errors:         `sum by ({{.By}}) (rate(revision_request_count{{{.Namespaces}}, service_name=~".+-predictor", response_code_class="5xx"}[{{.Window}}]))`,
			Buckets:        `sum by ({{.By}}, le) (rate(revision_request_latencies_bucket{{{.Namespaces}}, service_name=~".+-predictor"}[{{.Window}}]))`,
			Probe:          `revision_request_count{{{.Namespaces}}, service_name=~".+-predictor"}`,
		},
		ProfileKnativeOTel: {
			Name:           ProfileKnativeOTel,
			NamespaceLabel: "k8s_namespace_name",
			ServiceLabel:   "kn_service_name",
			RevisionLabel:  "kn_revision_name",
			ServiceSuffix:  "-predictor",
			LatencyUnit:    time.Second,
			Requests:       `sum by ({{.By}}) (rate(kn_serving_invocation_duration_seconds_count[{{.Window}}])` + knativeOTelJoin + `)`,
			Errors:         `sum by ({{.By}}) (rate(kn_serving_invocation_duration_seconds_count{http_response_status_code=~"5.."}[{{.Window}}])` + knativeOTelJoin + `)`,
			Buckets:        `sum by ({{.By}}, le) (rate(kn_serving_invocation_duration_seconds_bucket[{{.Window}}])` + knativeOTelJoin + `)`,
			Probe:          `kn_serving_invocation_duration_seconds_count * on (job, instance) group_left () target_info{{{.Namespaces}}, kn_service_name=~".+-predictor"}`,
		},
		ProfileKServe: {
			Name:           ProfileKServe,
			NamespaceLabel: "namespace",
			ServiceLabel:   "model_name",
			LatencyUnit:    time.Second,
			Requests:       `sum by ({{.By}}) (rate(request_predict_seconds_count{{{.Namespaces}}}[{{.Window}}]))`,
			Buckets:        `sum by ({{.By}}, le) (rate(request_predict_seconds_bucket{{{.Namespaces}}}[{{.Window}}]))`,
			Probe:          `request_predict_seconds_count{{{.Namespaces}}}`,
		},
		ProfileSeed: {
			Name:           ProfileSeed,
			NamespaceLabel: "namespace",
			ServiceLabel:   "service_name",
			LatencyUnit:    time.Second,
			Requests:       `sum by ({{.By}}) (rate(kserve_request_total{{{.Namespaces}}}[{{.Window}}]))`,
			Errors:         `sum by ({{.By}}) (rate(kserve_request_total{{{.Namespaces}}, response_code=~"5.."}[{{.Window}}]))`,
			Buckets:        `sum by ({{.By}}, le) (rate(kserve_request_duration_seconds_bucket{{{.Namespaces}}}[{{.Window}}]))`,
			Probe:          `kserve_request_total{{{.Namespaces}}}`,
		},
	}
}

// autoOrder is the order auto prefers the built-in profiles in when several
// have the same number of series: newest Knative first, the model server's
// metrics (no status codes, no revisions) last. Other profiles follow by name.
func autoOrder() []string {
	return []string{ProfileKnativeOTel, ProfileKnative, ProfileSeed, ProfileKServe}
}

// validate checks that the profile can produce queries.
func (p Profile) validate() error {
	switch {
	case p.NamespaceLabel == "" || p.ServiceLabel == "":
		return fmt.Errorf("profile %q: namespace and service labels are required", p.Name)
	case p.LatencyUnit <= 0:
		return fmt.Errorf("profile %q: latency unit must be positive", p.Name)
	case p.Requests == "" || p.Buckets == "":
		return fmt.Errorf("profile %q: the requests and buckets queries are required", p.Name)
	}
	for _, label := range []string{p.NamespaceLabel, p.ServiceLabel, p.RevisionLabel} {
		if label != "" && !labelName.MatchString(label) {
			return fmt.Errorf("profile %q: %q is not a label name", p.Name, label)
		}
	}
	fill := queryVars{Window: "5m", Namespaces: `ns="x"`, By: "a, b"}
	for name, tmpl := range map[string]string{"requests": p.Requests, "errors": p.Errors, "buckets": p.Buckets, "probe": p.Probe} {
		if _, err := fill.render(tmpl); err != nil {
			return fmt.Errorf("profile %q, %s query: %w", p.Name, name, err)
		}
	}
	return nil
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// serviceBy and revisionBy are the grouping labels of the service-level and
// revision-level queries.
func (p Profile) serviceBy() []string { return []string{p.NamespaceLabel, p.ServiceLabel} }

func (p Profile) revisionBy() []string {
	if p.RevisionLabel == "" {
		return p.serviceBy()
	}
	return []string{p.NamespaceLabel, p.ServiceLabel, p.RevisionLabel}
}

// queryVars are the values of the placeholders.
type queryVars struct {
	Window     string
	Namespaces string
	By         string
}

// render substitutes the placeholders; a template that still holds "{{"
// afterwards names a placeholder that does not exist.
func (v queryVars) render(tmpl string) (string, error) {
	out := strings.NewReplacer(
		PlaceholderWindow, v.Window,
		PlaceholderNamespaces, v.Namespaces,
		PlaceholderBy, v.By,
	).Replace(tmpl)
	i := strings.Index(out, "{{.")
	if i < 0 {
		i = strings.Index(out, "{{")
	}
	if i >= 0 {
		token := out[i:min(len(out), i+24)]
		if j := strings.Index(out[i:], "}}"); j >= 0 {
			token = out[i : i+j+2]
		}
		return "", fmt.Errorf("unknown placeholder %s (use %s, %s or %s)", token, PlaceholderWindow, PlaceholderNamespaces, PlaceholderBy)
	}
	return out, nil
}

// namespaceMatcher is the label matcher that keeps the watched namespaces.
// Every namespace: label!="" (series without a namespace cannot be shown).
func namespaceMatcher(label string, namespaces []string) string {
	switch len(namespaces) {
	case 0:
		return label + `!=""`
	case 1:
		return label + "=" + strconv.Quote(namespaces[0])
	}
	quoted := make([]string, len(namespaces))
	for i, ns := range namespaces {
		quoted[i] = regexp.QuoteMeta(ns)
	}
	slices.Sort(quoted)
	return label + "=~" + strconv.Quote(strings.Join(quoted, "|"))
}
