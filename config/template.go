package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

const templateHeader = `# mltop configuration, written by ` + "`mltop config init`" + `.
# Every key is shown with its default. Delete a line, or leave its value
# empty, to keep the default. Unknown keys are errors, so typos are caught.
# Durations: 500ms, 5s, 1m, 1h30m, 24h. Fractions: 0.01 = 1 %.
# Precedence: command-line flags > environment variables > this file > defaults.
# Show the effective settings and where each came from: mltop config check
`

// templateDocs holds the one-line comment of every key in the template,
// saying what it does and in which unit. A test fails when a Config field
// has none, so a new setting cannot ship undocumented.
func templateDocs() map[string]string {
	return map[string]string{
		"refresh":   "How often every source is polled unless its section sets its own refresh (duration; at least 1s; flag --refresh).",
		"read_only": "Refuse every action that changes the cluster: promote, roll back, pin (true/false; flag --read-only).",

		"thresholds":                       "Alert thresholds: each one drives one alert of a pane.",
		"thresholds.pipeline_success_min":  "Pipelines pane: alert when the share of successful runs in kfp.window falls below this (fraction; 0.95 = 95 %).",
		"thresholds.metric_drop_max":       "Training pane: alert when mlflow.metric falls by more than this against the previous run (in the metric's own units).",
		"thresholds.registry_wait_max":     "Registry pane: alert when a registered model version has waited longer than this for promotion (duration).",
		"thresholds.error_rate_max":        "Serving pane: alert when a service's 5xx share exceeds this (fraction; 0.01 = 1 %).",
		"thresholds.p99_max":               "Serving pane: alert when a service's p99 latency exceeds this (duration).",
		"thresholds.canary_error_ratio":    "Canary pane: alert and suggest a rollback when the canary's 5xx share exceeds this many times the stable's (ratio; at least 1).",
		"thresholds.oom_kills_per_day_max": "Infra pane: alert when more OOM kills than this happened in the last 24 h (count; 0 = alert on any).",

		"kubernetes":                      "Kubernetes: the cluster and namespaces whose InferenceServices and pods are watched.",
		"kubernetes.kubeconfig":           "Kubeconfig file; empty: $KUBECONFIG, then ~/.kube/config (path; flag --kubeconfig).",
		"kubernetes.context":              "Kubeconfig context; empty: the current context (flag --context).",
		"kubernetes.namespaces":           "Namespaces to watch; empty: the context's namespace (list; flag -n for one).",
		"kubernetes.all_namespaces":       "Watch every namespace; needs cluster-wide list rights (true/false; flag -A).",
		"kubernetes.protected_namespaces": "Actions on services in these namespaces ask you to type the service name to confirm (list).",
		"kubernetes.timeout":              "Longest wait for one Kubernetes API request (duration).",
		"kubernetes.disabled":             "Do not contact Kubernetes at all; the serving, canary and infra panes stay empty (true/false).",

		"prometheus":                   "Prometheus: request rates, 5xx share, latency and OOM kills of the served models.",
		"prometheus.url":               "Prometheus address: http(s)://HOST:PORT, or k8s://NAMESPACE/SERVICE:PORT via the API server; empty: metrics off (env PROMETHEUS_URL, flag --prometheus-url).",
		"prometheus.refresh":           "How often to query Prometheus (duration; 0s = the global refresh).",
		"prometheus.timeout":           "Longest wait for one Prometheus query (duration).",
		"prometheus.disabled":          "Do not query Prometheus even when a URL is set (true/false).",
		"prometheus.profile":           "Metric names to query: auto (detect), knative, knative-otel, kserve or seed.",
		"prometheus.window":            "PromQL range for rates and percentiles, e.g. 5m or 1h30m; keep it at least 4 scrape intervals.",
		"prometheus.bearer_token_file": "File holding a bearer token sent to Prometheus; empty: none (path).",
		"prometheus.username":          "Basic-auth user for Prometheus; needs password_file; empty: none.",
		"prometheus.password_file":     "File holding the basic-auth password (path).",
		"prometheus.ca_file":           "PEM file of the CA that signed Prometheus's certificate; empty: the system's CAs (path).",

		"mlflow":                "MLflow: training runs and the model registry.",
		"mlflow.url":            "MLflow tracking server: http(s)://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT; empty: training and registry panes off (env MLFLOW_TRACKING_URI, flag --mlflow-url).",
		"mlflow.refresh":        "How often to poll MLflow (duration; 0s = the global refresh).",
		"mlflow.timeout":        "Longest wait for one MLflow request (duration).",
		"mlflow.disabled":       "Do not poll MLflow even when a URL is set (true/false).",
		"mlflow.experiment":     "Experiment whose runs the training pane shows.",
		"mlflow.metric":         "Run metric the training pane tracks and the metric-drop alert compares.",
		"mlflow.promoted_alias": "Registry alias that marks the promoted (serving) model version.",
		"mlflow.runs_limit":     "Most recent runs fetched per refresh (count; 1 to 10000).",
		"mlflow.models":         "Registered models the registry pane watches; empty: every model (list of names).",
		"mlflow.kfp_run_tag":    "Run tag that holds the Kubeflow Pipelines run id of the run that trained it.",

		"kfp":               "Kubeflow Pipelines: recent pipeline runs.",
		"kfp.url":           "KFP API server: http(s)://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT; empty: pipelines pane off (env KF_PIPELINES_ENDPOINT, flag --kfp-url).",
		"kfp.refresh":       "How often to poll KFP (duration; 0s = the global refresh).",
		"kfp.timeout":       "Longest wait for one KFP request (duration).",
		"kfp.disabled":      "Do not poll KFP even when a URL is set (true/false).",
		"kfp.namespace":     "Profile namespace whose runs to list in multi-user Kubeflow; empty: single-user KFP.",
		"kfp.window":        "Runs created within this window count toward the success rate (duration).",
		"kfp.pipeline":      "Only runs whose name contains this text; empty: all runs.",
		"kfp.token_file":    "File holding a bearer token for the KFP API; empty: $KF_PIPELINES_SA_TOKEN_PATH, else none (path).",
		"kfp.experiment_id": "Only runs of this KFP experiment (its id); empty: every experiment.",
		"kfp.max_runs":      "Newest runs read per refresh, bounding the cost on busy servers (count; 1 to 100000).",
		"kfp.ca_file":       "CA bundle for a KFP endpoint with a private certificate, e.g. the Kubeflow gateway (path).",

		"ui":          "Drawing.",
		"ui.no_color": "Draw without colour; severity is always spelled out too (true/false; env NO_COLOR, flag --no-color).",
		"ui.ascii":    "Draw borders and charts with ASCII only, for terminals without Unicode (true/false; flag --ascii).",

		"doctor":                   "Doctor: the checks of the seams between Kubeflow Pipelines, MLflow and KServe (mltop doctor, the d view).",
		"doctor.compatibility":     "Verified version combinations, one row each: kfp=A mlflow=B kserve=C kubernetes=D; a version is 2.3.0, 2.17.x (any patch) or a range 1.28-1.30; [] turns the check off (list).",
		"doctor.tracked_pipelines": "KFP pipelines whose every successful run must log an MLflow run tagged with its id to mlflow.experiment; empty: the pipelines seen doing so (list of names).",

		"log_file": "Where mltop writes its log; empty: $XDG_STATE_HOME/mltop/mltop.log (path; flag --log-file).",
	}
}

// Template is the commented YAML that `mltop config init` writes: every key
// with its default value and a comment saying what it does and its unit.
// Loading it gives exactly Default().
func Template() []byte {
	var b strings.Builder
	b.WriteString(templateHeader)
	writeTemplateSection(&b, templateDocs(), reflect.ValueOf(Default()), "", 0)
	return []byte(b.String())
}

func writeTemplateSection(b *strings.Builder, docs map[string]string, v reflect.Value, prefix string, depth int) {
	indent := strings.Repeat("  ", depth)
	afterSection := depth == 0 // a blank line after the header, too
	for _, f := range fieldsOf(v.Type()) {
		key := joinKey(prefix, f.name)
		value := v.FieldByIndex(f.index)
		if isSection(f.typ) || afterSection {
			b.WriteString("\n")
		}
		afterSection = isSection(f.typ)
		if doc := docs[key]; doc != "" {
			b.WriteString(indent + "# " + doc + "\n")
		}
		if isSection(f.typ) {
			b.WriteString(indent + f.name + ":\n")
			writeTemplateSection(b, docs, value, key, depth+1)
			continue
		}
		b.WriteString(indent + f.name + ": " + formatValue(value) + "\n")
	}
}

// WriteTemplate writes Template() to path for `mltop config init`: it
// creates missing parent directories (0700: the file may name credential
// files), writes the file 0600, and refuses to replace an existing file
// unless force is set.
func WriteTemplate(path string, force bool) error {
	if path == "" {
		return errors.New("no place for the config file: neither HOME nor XDG_CONFIG_HOME is set; pass --config PATH")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the directory %s: %s", dir, reason(err))
	}
	if force {
		return replaceFile(path, Template())
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists; it was left as it is. Run again with --force to replace it with the commented defaults", path)
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %s", path, reason(err))
	}
	_, err = f.Write(Template())
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(path) // a half-written config would fail to load later, far from the cause
		return fmt.Errorf("cannot write %s: %s", path, reason(err))
	}
	return nil
}

// replaceFile writes data beside path and renames it into place, so an
// interrupted --force leaves either the old file or the new one, never half.
func replaceFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mltop-config-*.yaml")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %s", filepath.Dir(path), reason(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(data)
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %s", path, reason(err))
	}
	return nil
}

// reason drops the operation and path from an os error ("open /x: permission
// denied" becomes "permission denied"): the message names the path already.
func reason(err error) string {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err.Error()
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return linkErr.Err.Error()
	}
	return err.Error()
}
