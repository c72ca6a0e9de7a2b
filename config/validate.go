package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MinRefresh is the fastest refresh allowed. Faster polling only adds load on
// Prometheus, MLflow and KFP (each refresh is several queries) and makes the
// screen flicker; k9s and btop set similar floors.
const MinRefresh = time.Second

// Profiles lists the Prometheus metric profiles: which metric names the
// serving queries use. auto probes the server for the ones it has.
func Profiles() []string {
	return []string{"auto", "knative", "knative-otel", "kserve", "seed"}
}

// Validate checks every setting and returns all problems at once, as
// Problems, or nil. Each problem points at the key's file:line when the value
// came from the config file, or names the flag or environment variable that
// set it.
func (c Config) Validate() error {
	return c.problems().err()
}

func (c Config) problems() Problems {
	v := validator{c: c}
	v.refresh()
	v.thresholds()
	v.kubernetes()
	v.prometheus()
	v.mlflow()
	v.kfp()
	v.doctor()
	return v.problems.sorted()
}

type validator struct {
	c        Config
	problems Problems
}

// fail records a problem with key, located where key's value came from.
func (v *validator) fail(key, msg string) { v.failAt(key, key, msg) }

// failAt records a problem with key, located at locKey when that is known
// (a list entry such as kubernetes.namespaces[2]), otherwise at key.
func (v *validator) failAt(locKey, key, msg string) {
	o := v.c.originOf(locKey)
	if o.kind == fromDefault {
		o = v.c.originOf(key)
	}
	p := Problem{Key: key, Msg: msg}
	switch o.kind {
	case fromFile:
		p.File, p.Line = o.file, o.line
	case fromEnv, fromFlag:
		p.Origin = o.String()
	}
	v.problems = append(v.problems, p)
}

func (v *validator) refresh() {
	if v.c.Refresh < MinRefresh {
		v.fail("refresh", fmt.Sprintf("%s is below the %s minimum: refreshing faster hammers Prometheus, MLflow and KFP and makes the screen flicker",
			formatDuration(v.c.Refresh), formatDuration(MinRefresh)))
	}
}

func (v *validator) thresholds() {
	th := v.c.Thresholds
	v.fraction("thresholds.pipeline_success_min", th.PipelineSuccessMin)
	if !(th.MetricDropMax >= 0) {
		v.fail("thresholds.metric_drop_max", fmt.Sprintf("%g must be 0 or more: it is how far the metric may fall below the previous run", th.MetricDropMax))
	}
	v.positive("thresholds.registry_wait_max", th.RegistryWaitMax)
	v.fraction("thresholds.error_rate_max", th.ErrorRateMax)
	v.positive("thresholds.p99_max", th.P99Max)
	if !(th.CanaryErrorRatio >= 1) {
		v.fail("thresholds.canary_error_ratio", fmt.Sprintf("%g must be at least 1: below 1 a canary with fewer errors than its stable would raise the alert", th.CanaryErrorRatio))
	}
	if th.OOMKillsPerDayMax < 0 {
		v.fail("thresholds.oom_kills_per_day_max", fmt.Sprintf("%d must be 0 or more (0: alert on any OOM kill)", th.OOMKillsPerDayMax))
	}
}

func (v *validator) fraction(key string, f float64) {
	if f >= 0 && f <= 1 {
		return
	}
	msg := fmt.Sprintf("%g is not a fraction between 0 and 1", f)
	if f > 1 && f <= 100 {
		msg += fmt.Sprintf("; for %g %% write %g", f, f/100)
	}
	v.fail(key, msg)
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.fail(key, fmt.Sprintf("must be greater than 0 (it is %s)", formatDuration(d)))
	}
}

func (v *validator) timeout(key string, d time.Duration) {
	if d <= 0 {
		v.fail(key, fmt.Sprintf("must be greater than 0, e.g. 10s: it bounds how long one request may take (it is %s)", formatDuration(d)))
	}
}

func (v *validator) namespace(key string, index int, name string) {
	if isDNSLabel(name) {
		return
	}
	locKey := key
	if index >= 0 {
		locKey = fmt.Sprintf("%s[%d]", key, index)
	}
	v.failAt(locKey, key, fmt.Sprintf("%q is not a valid namespace name: use lowercase letters, digits and '-', "+
		"starting and ending with a letter or digit, at most 63 characters", name))
}

func (v *validator) kubernetes() {
	k := v.c.Kubernetes
	for i, ns := range k.Namespaces {
		v.namespace("kubernetes.namespaces", i, ns)
	}
	for i, ns := range k.ProtectedNamespaces {
		v.namespace("kubernetes.protected_namespaces", i, ns)
	}
	if k.AllNamespaces && len(k.Namespaces) > 0 {
		v.fail("kubernetes.all_namespaces", "is true while kubernetes.namespaces lists namespaces; keep one of the two")
	}
	v.timeout("kubernetes.timeout", k.Timeout)
}

// source checks what every polled source shares.
func (v *validator) source(section string, s Source) {
	if s.URL != "" && !s.Disabled {
		if msg := urlProblem(s.URL); msg != "" {
			v.fail(section+".url", msg+v.envHint(section+".url"))
		}
	}
	if s.Refresh != 0 && s.Refresh < MinRefresh {
		v.fail(section+".refresh", fmt.Sprintf("%s is below the %s minimum; use 0 to follow the global refresh",
			formatDuration(s.Refresh), formatDuration(MinRefresh)))
	}
	v.timeout(section+".timeout", s.Timeout)
}

// envHint explains a bad URL that came from a variable another tool also
// reads: MLFLOW_TRACKING_URI may rightly hold "databricks" or a local mlruns
// folder for the mlflow client, but mltop needs the server's address.
func (v *validator) envHint(key string) string {
	o := v.c.originOf(key)
	if o.kind != fromEnv {
		return ""
	}
	flag := map[string]string{"prometheus.url": FlagPrometheusURL, "mlflow.url": FlagMLflowURL, "kfp.url": FlagKFPURL}[key]
	return fmt.Sprintf("; mltop needs the server's address, so pass --%s (or set %s in the config file and unset %s)", flag, key, o.name)
}

// urlProblem says what is wrong with a source URL, or "" when it is usable.
func urlProblem(raw string) string {
	const forms = "http://HOST:PORT, https://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT"
	if IsK8sURL(raw) {
		if _, err := ParseK8sURL(raw); err != nil {
			return err.Error()
		}
		return ""
	}
	if !strings.Contains(raw, "://") {
		return fmt.Sprintf("%q has no scheme; write http://%s, or use one of %s", raw, raw, forms)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // without the raw URL, which the message quotes already
		}
		return fmt.Sprintf("%q is not a valid URL: %v", raw, err)
	}
	if scheme := strings.ToLower(u.Scheme); scheme != "http" && scheme != "https" {
		return fmt.Sprintf("%q uses %s://; mltop speaks %s", raw, u.Scheme, forms)
	}
	if u.Host == "" {
		return fmt.Sprintf("%q has no host; write %s", raw, forms)
	}
	return ""
}

func (v *validator) prometheus() {
	p := v.c.Prometheus
	v.source("prometheus", p.Source)
	if !slices.Contains(Profiles(), p.Profile) {
		msg := fmt.Sprintf("%q is not a metric profile; choose one of %s", p.Profile, strings.Join(Profiles(), ", "))
		if near, _, ok := closest(p.Profile, Profiles()); ok {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		v.fail("prometheus.profile", msg)
	}
	switch d, ok := promDuration(p.Window); {
	case !ok:
		v.fail("prometheus.window", fmt.Sprintf("%q is not a PromQL duration (examples: 5m, 1h30m)", p.Window))
	case d <= 0:
		v.fail("prometheus.window", fmt.Sprintf("%q must be longer than 0, e.g. 5m", p.Window))
	}
	if p.Password != "" && p.Username == "" {
		v.fail("prometheus.password_file", "is set but prometheus.username is empty; basic auth needs both")
	}
	if p.Username != "" && p.Password == "" {
		v.fail("prometheus.username", "is set but prometheus.password_file is empty; basic auth needs both")
	}
	if p.BearerToken != "" && p.Username != "" {
		v.fail("prometheus.bearer_token_file", "and prometheus.username are both set; use a bearer token or basic auth, not both")
	}
}

func (v *validator) mlflow() {
	m := v.c.MLflow
	v.source("mlflow", m.Source)
	if strings.TrimSpace(m.Experiment) == "" {
		v.fail("mlflow.experiment", "is empty; name the MLflow experiment whose runs the training pane shows")
	}
	if strings.TrimSpace(m.Metric) == "" {
		v.fail("mlflow.metric", "is empty; name the run metric the training pane tracks, e.g. cv_f1_mean")
	}
	if strings.TrimSpace(m.PromotedAlias) == "" {
		v.fail("mlflow.promoted_alias", "is empty; name the registry alias that marks the promoted version, e.g. champion")
	}
	if m.RunsLimit < 1 || m.RunsLimit > 10000 {
		v.fail("mlflow.runs_limit", fmt.Sprintf("%d must be from 1 to 10000", m.RunsLimit))
	}
	if strings.TrimSpace(m.KFPRunTag) == "" {
		v.fail("mlflow.kfp_run_tag", "is empty; name the run tag that holds the pipeline run id, e.g. kfp_run_id")
	}
	for _, name := range m.Models {
		if strings.TrimSpace(name) == "" || strings.Contains(name, "'") {
			v.fail("mlflow.models", fmt.Sprintf("%q is not a usable model name (empty, or contains a quote)", name))
		}
	}
}

func (v *validator) kfp() {
	k := v.c.KFP
	v.source("kfp", k.Source)
	if k.Namespace != "" {
		v.namespace("kfp.namespace", -1, k.Namespace)
	}
	v.positive("kfp.window", k.Window)
	if k.MaxRuns < 1 || k.MaxRuns > 100000 {
		v.fail("kfp.max_runs", fmt.Sprintf("%d must be from 1 to 100000", k.MaxRuns))
	}
}

// promDuration parses a PromQL duration: units y, w, d, h, m, s, ms, each at
// most once and largest first, as in 1h30m or 2d, and no larger than a
// time.Duration holds. It is written out here
// because config must not import the Prometheus libraries (ui imports config).
func promDuration(s string) (time.Duration, bool) {
	units := []struct {
		name string
		size time.Duration
	}{
		{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour},
		{"h", time.Hour}, {"ms", time.Millisecond}, {"m", time.Minute}, {"s", time.Second},
	}
	// order ranks units from largest to smallest; ms sits before m in the
	// table above only so that "ms" is matched before "m".
	order := map[string]int{"y": 0, "w": 1, "d": 2, "h": 3, "m": 4, "s": 5, "ms": 6}
	if s == "" {
		return 0, false
	}
	var total time.Duration
	last := -1
	for s != "" {
		digits := 0
		for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
			digits++
		}
		if digits == 0 {
			return 0, false
		}
		n, err := strconv.ParseInt(s[:digits], 10, 64)
		if err != nil {
			return 0, false
		}
		s = s[digits:]
		matched := false
		for _, u := range units {
			if rest, ok := strings.CutPrefix(s, u.name); ok {
				if order[u.name] <= last || n > int64(math.MaxInt64/u.size) {
					return 0, false
				}
				last = order[u.name]
				total += time.Duration(n) * u.size
				s, matched = rest, true
				break
			}
		}
		if !matched {
			return 0, false
		}
	}
	return total, true
}

func (v *validator) doctor() {
	d := v.c.Doctor
	for i, row := range d.Compatibility {
		if _, err := ParseCompatRow(row); err != nil {
			v.failAt(fmt.Sprintf("doctor.compatibility[%d]", i), "doctor.compatibility", fmt.Sprintf("row %d: %v", i+1, err))
		}
	}
	for i, name := range d.TrackedPipelines {
		if strings.TrimSpace(name) == "" {
			v.failAt(fmt.Sprintf("doctor.tracked_pipelines[%d]", i), "doctor.tracked_pipelines", fmt.Sprintf("entry %d is empty; name a KFP pipeline", i+1))
		}
	}
}
