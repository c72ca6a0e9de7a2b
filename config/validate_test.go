package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default() is invalid:\n%v", err)
	}
}

func TestValidateEachRule(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		key    string
		msg    string // substring of the message
	}{
		{"refresh under a second", func(c *Config) { c.Refresh = 500 * time.Millisecond }, "refresh",
			"500ms is below the 1s minimum: refreshing faster hammers Prometheus, MLflow and KFP"},
		{"refresh zero", func(c *Config) { c.Refresh = 0 }, "refresh", "0s is below the 1s minimum"},
		{"success rate as a percentage", func(c *Config) { c.Thresholds.PipelineSuccessMin = 95 }, "thresholds.pipeline_success_min",
			"95 is not a fraction between 0 and 1; for 95 % write 0.95"},
		{"negative error rate", func(c *Config) { c.Thresholds.ErrorRateMax = -0.1 }, "thresholds.error_rate_max", "-0.1 is not a fraction between 0 and 1"},
		{"negative metric drop", func(c *Config) { c.Thresholds.MetricDropMax = -1 }, "thresholds.metric_drop_max", "must be 0 or more"},
		{"zero registry wait", func(c *Config) { c.Thresholds.RegistryWaitMax = 0 }, "thresholds.registry_wait_max", "must be greater than 0"},
		{"zero p99", func(c *Config) { c.Thresholds.P99Max = 0 }, "thresholds.p99_max", "must be greater than 0"},
		{"canary ratio below 1", func(c *Config) { c.Thresholds.CanaryErrorRatio = 0.5 }, "thresholds.canary_error_ratio", "0.5 must be at least 1"},
		{"negative OOM count", func(c *Config) { c.Thresholds.OOMKillsPerDayMax = -1 }, "thresholds.oom_kills_per_day_max", "-1 must be 0 or more"},
		{"bad namespace", func(c *Config) { c.Kubernetes.Namespaces = []string{"ok", "Bad_NS"} }, "kubernetes.namespaces", `"Bad_NS" is not a valid namespace name`},
		{"too long namespace", func(c *Config) { c.Kubernetes.Namespaces = []string{strings.Repeat("a", 64)} }, "kubernetes.namespaces", "is not a valid namespace name"},
		{"bad protected namespace", func(c *Config) { c.Kubernetes.ProtectedNamespaces = []string{"-prod"} }, "kubernetes.protected_namespaces", `"-prod" is not a valid namespace name`},
		{"namespaces and all namespaces", func(c *Config) { c.Kubernetes.Namespaces, c.Kubernetes.AllNamespaces = []string{"a"}, true },
			"kubernetes.all_namespaces", "keep one of the two"},
		{"zero kube timeout", func(c *Config) { c.Kubernetes.Timeout = 0 }, "kubernetes.timeout", "must be greater than 0"},
		{"zero prometheus timeout", func(c *Config) { c.Prometheus.Timeout = 0 }, "prometheus.timeout", "must be greater than 0"},
		{"negative mlflow timeout", func(c *Config) { c.MLflow.Timeout = -time.Second }, "mlflow.timeout", "must be greater than 0"},
		{"source refresh too fast", func(c *Config) { c.KFP.Refresh = 100 * time.Millisecond }, "kfp.refresh", "100ms is below the 1s minimum; use 0 to follow the global refresh"},
		{"url without scheme", func(c *Config) { c.Prometheus.URL = "prometheus:9090" }, "prometheus.url", `"prometheus:9090" has no scheme; write http://prometheus:9090`},
		{"url with another scheme", func(c *Config) { c.MLflow.URL = "ftp://mlflow" }, "mlflow.url", `"ftp://mlflow" uses ftp://`},
		{"url without host", func(c *Config) { c.KFP.URL = "http:///api" }, "kfp.url", "has no host"},
		{"url that does not parse", func(c *Config) { c.KFP.URL = "http://a b" }, "kfp.url", `"http://a b" is not a valid URL: invalid character " " in host name`},
		{"k8s url without port", func(c *Config) { c.Prometheus.URL = "k8s://monitoring/prometheus" }, "prometheus.url", "has no port after the service name"},
		{"unknown profile", func(c *Config) { c.Prometheus.Profile = "kserv" }, "prometheus.profile",
			`"kserv" is not a metric profile; choose one of auto, knative, knative-otel, kserve, seed (did you mean "kserve"?)`},
		{"bad window", func(c *Config) { c.Prometheus.Window = "5 min" }, "prometheus.window", `"5 min" is not a PromQL duration (examples: 5m, 1h30m)`},
		{"zero window", func(c *Config) { c.Prometheus.Window = "0m" }, "prometheus.window", "must be longer than 0"},
		{"password without user", func(c *Config) { c.Prometheus.Password = "/p" }, "prometheus.password_file", "basic auth needs both"},
		{"user without password", func(c *Config) { c.Prometheus.Username = "u" }, "prometheus.username", "basic auth needs both"},
		{"bearer and basic", func(c *Config) {
			c.Prometheus.BearerToken, c.Prometheus.Username, c.Prometheus.Password = "/t", "u", "/p"
		},
			"prometheus.bearer_token_file", "not both"},
		{"empty experiment", func(c *Config) { c.MLflow.Experiment = " " }, "mlflow.experiment", "is empty"},
		{"empty metric", func(c *Config) { c.MLflow.Metric = "" }, "mlflow.metric", "is empty"},
		{"empty alias", func(c *Config) { c.MLflow.PromotedAlias = "" }, "mlflow.promoted_alias", "is empty"},
		{"runs limit zero", func(c *Config) { c.MLflow.RunsLimit = 0 }, "mlflow.runs_limit", "0 must be from 1 to 10000"},
		{"runs limit too big", func(c *Config) { c.MLflow.RunsLimit = 10001 }, "mlflow.runs_limit", "10001 must be from 1 to 10000"},
		{"empty kfp run tag", func(c *Config) { c.MLflow.KFPRunTag = " " }, "mlflow.kfp_run_tag", "is empty"},
		{"quoted model name", func(c *Config) { c.MLflow.Models = []string{"it's"} }, "mlflow.models", "contains a quote"},
		{"kfp max runs zero", func(c *Config) { c.KFP.MaxRuns = 0 }, "kfp.max_runs", "0 must be from 1 to 100000"},
		{"bad kfp namespace", func(c *Config) { c.KFP.Namespace = "Team A" }, "kfp.namespace", `"Team A" is not a valid namespace name`},
		{"zero kfp window", func(c *Config) { c.KFP.Window = 0 }, "kfp.window", "must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			err := c.Validate()
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("want exactly one problem, got %v", err)
			}
			if ps[0].Key != tt.key || !strings.Contains(ps[0].Msg, tt.msg) {
				t.Errorf("got  %s: %s\nwant %s: ...%s...", ps[0].Key, ps[0].Msg, tt.key, tt.msg)
			}
			// Not from a file, flag or variable: the line starts with the key.
			if !strings.HasPrefix(err.Error(), tt.key+": ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestValidBoundaries(t *testing.T) {
	c := Default()
	c.Refresh = time.Second
	c.Thresholds = Thresholds{PipelineSuccessMin: 1, MetricDropMax: 0, RegistryWaitMax: time.Nanosecond, ErrorRateMax: 0,
		P99Max: time.Millisecond, CanaryErrorRatio: 1, OOMKillsPerDayMax: 0}
	c.Kubernetes.Namespaces = []string{"a", "0", strings.Repeat("a", 63), "ml-prod-2"}
	c.Prometheus.URL = "k8s://monitoring/prometheus-operated:web/prom"
	c.Prometheus.Window = "1h30m"
	c.Prometheus.Username, c.Prometheus.Password = "u", "/p"
	c.MLflow.URL = "HTTPS://mlflow.example.com/prefix"
	c.MLflow.RunsLimit = 10000
	c.KFP.URL = "http://127.0.0.1:8888"
	c.KFP.Refresh = time.Second
	if err := c.Validate(); err != nil {
		t.Fatalf("boundary values rejected:\n%v", err)
	}
	c.MLflow.RunsLimit = 1
	c.Prometheus.URL = "not a url"
	c.Prometheus.Disabled = true // a disabled source's URL is not used, so not checked
	if err := c.Validate(); err != nil {
		t.Fatalf("%v", err)
	}
}

// TestValidationLocatesProblems loads a file with several mistakes and
// checks that all of them are reported at once, each at its own line.
func TestValidationLocatesProblems(t *testing.T) {
	_, ps, path := loadFile(t, `refresh: 500ms
thresholds:
  error_rate_max: 5
  p99_max: 0s
kubernetes:
  namespaces:
    - ml-prod
    - ML_Staging
prometheus:
  url: ftp://prom
  profile: kserv
mlflow:
  runs_limit: 0
  experiment: ""
`)
	want := []wantProblem{
		{1, "refresh", "500ms is below the 1s minimum: refreshing faster hammers Prometheus, MLflow and KFP and makes the screen flicker"},
		{3, "thresholds.error_rate_max", "5 is not a fraction between 0 and 1; for 5 % write 0.05"},
		{4, "thresholds.p99_max", "must be greater than 0 (it is 0s)"},
		{8, "kubernetes.namespaces", `"ML_Staging" is not a valid namespace name: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`},
		{10, "prometheus.url", `"ftp://prom" uses ftp://; mltop speaks http://HOST:PORT, https://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT`},
		{11, "prometheus.profile", `"kserv" is not a metric profile; choose one of auto, knative, knative-otel, kserve, seed (did you mean "kserve"?)`},
		{13, "mlflow.runs_limit", "0 must be from 1 to 10000"},
		{14, "mlflow.experiment", "is empty; name the MLflow experiment whose runs the training pane shows"},
	}
	checkProblems(t, path, ps, want)
	lines := strings.Split(ps.Error(), "\n")
	if len(lines) != len(want) || lines[2] != path+":4: thresholds.p99_max: must be greater than 0 (it is 0s)" {
		t.Errorf("Error() lines:\n%s", ps.Error())
	}
}

func TestDecodeAndValidationProblemsTogether(t *testing.T) {
	_, ps, path := loadFile(t, "refresh: 100ms\nthresholds:\n  p99_mx: 1s\nui:\n  ascii: maybe\n")
	checkProblems(t, path, ps, []wantProblem{
		{1, "refresh", "100ms is below the 1s minimum: refreshing faster hammers Prometheus, MLflow and KFP and makes the screen flicker"},
		{3, "", `unknown key "p99_mx" in thresholds (did you mean "p99_max"?)`},
		{5, "ui.ascii", `"maybe" is not true or false`},
	})
}

func TestValidationNamesFlagsAndVariables(t *testing.T) {
	path := writeConfig(t, t.TempDir(), "kfp:\n  url: http://kfp:8888\n")
	_, err := Load(LoadOptions{
		Path:  path,
		Env:   envOf(map[string]string{"MLFLOW_TRACKING_URI": "databricks", "KF_PIPELINES_ENDPOINT": "kfp.example.com"}),
		Flags: Overrides{Refresh: ptr(200 * time.Millisecond)},
	})
	got := strings.Split(err.Error(), "\n")
	// Problems not in the file come in the order of the settings.
	want := []string{
		"flag --refresh: refresh: 200ms is below the 1s minimum: refreshing faster hammers Prometheus, MLflow and KFP and makes the screen flicker",
		`env MLFLOW_TRACKING_URI: mlflow.url: "databricks" has no scheme; write http://databricks, or use one of http://HOST:PORT, https://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT; ` +
			`mltop needs the server's address, so pass --mlflow-url (or set mlflow.url in the config file and unset MLFLOW_TRACKING_URI)`,
		`env KF_PIPELINES_ENDPOINT: kfp.url: "kfp.example.com" has no scheme; write http://kfp.example.com, or use one of http://HOST:PORT, https://HOST:PORT or k8s://NAMESPACE/SERVICE:PORT; ` +
			`mltop needs the server's address, so pass --kfp-url (or set kfp.url in the config file and unset KF_PIPELINES_ENDPOINT)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPromDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"2d", 48 * time.Hour, true},
		{"1w", 7 * 24 * time.Hour, true},
		{"1y", 365 * 24 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1m30s500ms", 90*time.Second + 500*time.Millisecond, true},
		{"0s", 0, true},
		{"", 0, false},
		{"5", 0, false},
		{"m", 0, false},
		{"30m1h", 0, false}, // units must go from largest to smallest
		{"5m5m", 0, false},
		{"1.5h", 0, false},
		{"5 m", 0, false},
		{"-5m", 0, false},
		{"99999999999999y", 0, false},
	}
	for _, tt := range tests {
		got, ok := promDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("promDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseK8sURL(t *testing.T) {
	s, err := ParseK8sURL("k8s://monitoring/prometheus-operated:9090")
	if err != nil {
		t.Fatal(err)
	}
	if s != (K8sService{Namespace: "monitoring", Service: "prometheus-operated", Port: "9090"}) {
		t.Errorf("parsed %+v", s)
	}
	if got := s.ProxyPath(); got != "/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy" {
		t.Errorf("ProxyPath = %q", got)
	}
	s, err = ParseK8sURL("k8s://kubeflow/ml-pipeline-ui:http/pipeline")
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != "http" || s.Path != "/pipeline" || s.String() != "k8s://kubeflow/ml-pipeline-ui:http/pipeline" {
		t.Errorf("parsed %+v, String %q", s, s.String())
	}
	if got := s.ProxyPath(); got != "/api/v1/namespaces/kubeflow/services/ml-pipeline-ui:http/proxy/pipeline" {
		t.Errorf("ProxyPath = %q", got)
	}
	for raw, want := range map[string]string{
		"http://x":                                    "does not start with k8s://",
		"k8s://monitoring":                            "has no service after the namespace",
		"k8s://monitoring/prom":                       "has no port after the service name",
		"k8s://monitoring/prom:":                      "has no port after the service name",
		"k8s://Monitoring/prom:9090":                  `namespace "Monitoring" is not a valid namespace name`,
		"k8s://monitoring/9prom:80":                   `service "9prom" is not a valid service name`,
		"k8s://monitoring/prom:0":                     `port "0" is neither a number from 1 to 65535 nor a port name`,
		"k8s://monitoring/prom:70000":                 `port "70000" is neither`,
		"k8s://monitoring/prom:a--b":                  `port "a--b" is neither`,
		"k8s://monitoring/prom:123-":                  `port "123-" is neither`,
		"k8s://monitoring/prom:this-name-is-too-long": `port "this-name-is-too-long" is neither`,
	} {
		_, err := ParseK8sURL(raw)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "k8s://NAMESPACE/SERVICE:PORT") {
			t.Errorf("ParseK8sURL(%q) error = %v, want it to contain %q and the expected form", raw, err, want)
		}
	}
}

func TestProblemsFormat(t *testing.T) {
	ps := Problems{
		{File: "/home/u/.config/mltop/config.yaml", Line: 12, Key: "thresholds.p99_max", Msg: "must be greater than 0"},
		{File: "/home/u/.config/mltop/config.yaml", Msg: "cannot read the config file: permission denied"},
		{Origin: "flag --refresh", Key: "refresh", Msg: "too fast"},
		{Key: "mlflow.metric", Msg: "is empty"},
	}
	want := "/home/u/.config/mltop/config.yaml:12: thresholds.p99_max: must be greater than 0\n" +
		"/home/u/.config/mltop/config.yaml: cannot read the config file: permission denied\n" +
		"flag --refresh: refresh: too fast\n" +
		"mlflow.metric: is empty"
	if ps.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", ps.Error(), want)
	}
	sorted := ps.sorted()
	if sorted[0].Line != 0 || sorted[0].File == "" || sorted[1].Line != 12 {
		t.Errorf("sorted = %v", sorted)
	}
	if Problems(nil).err() != nil {
		t.Error("no problems must be a nil error")
	}
}
