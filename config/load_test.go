package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	const file = `refresh: 10s
prometheus:
  url: http://file-prom:9090
mlflow:
  url: http://file-mlflow:5000
kfp:
  url: http://file-kfp:8888
`
	fileOrigin := func(line int) string { return fmt.Sprintf("config.yaml:%d", line) }
	allEnv := map[string]string{
		"PROMETHEUS_URL":        "http://env-prom:9090",
		"MLFLOW_TRACKING_URI":   "http://env-mlflow:5000",
		"KF_PIPELINES_ENDPOINT": "http://env-kfp:8888",
	}
	allFlags := Overrides{
		Refresh:       ptr(20 * time.Second),
		PrometheusURL: ptr("http://flag-prom:9090"),
		MLflowURL:     ptr("http://flag-mlflow:5000"),
		KFPURL:        ptr("http://flag-kfp:8888"),
	}
	type want struct {
		refresh               time.Duration
		prom, mlflow, kfp     string
		refreshOrigin         string
		promOrigin, kfpOrigin string
	}
	tests := []struct {
		name  string
		file  string // "" writes no file
		env   map[string]string
		flags Overrides
		want  want
	}{
		{"defaults only", "", nil, Overrides{},
			want{5 * time.Second, "", "", "", "default", "default", "default"}},
		{"file over defaults", file, nil, Overrides{},
			want{10 * time.Second, "http://file-prom:9090", "http://file-mlflow:5000", "http://file-kfp:8888", fileOrigin(1), fileOrigin(3), fileOrigin(7)}},
		{"env over file", file, allEnv, Overrides{},
			want{10 * time.Second, "http://env-prom:9090", "http://env-mlflow:5000", "http://env-kfp:8888", fileOrigin(1), "env PROMETHEUS_URL", "env KF_PIPELINES_ENDPOINT"}},
		{"env over defaults", "", allEnv, Overrides{},
			want{5 * time.Second, "http://env-prom:9090", "http://env-mlflow:5000", "http://env-kfp:8888", "default", "env PROMETHEUS_URL", "env KF_PIPELINES_ENDPOINT"}},
		{"flags over env and file", file, allEnv, allFlags,
			want{20 * time.Second, "http://flag-prom:9090", "http://flag-mlflow:5000", "http://flag-kfp:8888", "flag --refresh", "flag --prometheus-url", "flag --kfp-url"}},
		{"flags over defaults", "", nil, allFlags,
			want{20 * time.Second, "http://flag-prom:9090", "http://flag-mlflow:5000", "http://flag-kfp:8888", "flag --refresh", "flag --prometheus-url", "flag --kfp-url"}},
		{"each layer wins where set", file, map[string]string{"MLFLOW_TRACKING_URI": "http://env-mlflow:5000"}, Overrides{PrometheusURL: ptr("http://flag-prom:9090")},
			want{10 * time.Second, "http://flag-prom:9090", "http://env-mlflow:5000", "http://file-kfp:8888", fileOrigin(1), "flag --prometheus-url", fileOrigin(7)}},
		{"empty env var counts as unset", file, map[string]string{"PROMETHEUS_URL": ""}, Overrides{},
			want{10 * time.Second, "http://file-prom:9090", "http://file-mlflow:5000", "http://file-kfp:8888", fileOrigin(1), fileOrigin(3), fileOrigin(7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{"HOME": home}
			for k, v := range tt.env {
				env[k] = v
			}
			if tt.file != "" {
				dir := filepath.Join(home, ".config", "mltop")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				writeConfig(t, dir, tt.file)
			}
			cfg, err := Load(LoadOptions{Env: envOf(env), Flags: tt.flags})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := want{cfg.Refresh, cfg.Prometheus.URL, cfg.MLflow.URL, cfg.KFP.URL,
				cfg.Origin("refresh"), cfg.Origin("prometheus.url"), cfg.Origin("kfp.url")}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if tt.env["MLFLOW_TRACKING_URI"] != "" && tt.flags.MLflowURL == nil && cfg.Origin("mlflow.url") != "env MLFLOW_TRACKING_URI" {
				t.Errorf("mlflow.url origin = %q", cfg.Origin("mlflow.url"))
			}
		})
	}
}

func TestEveryFlagOverrides(t *testing.T) {
	flags := Overrides{
		Refresh: ptr(3 * time.Second), ReadOnly: ptr(true), NoColor: ptr(true), ASCII: ptr(true),
		LogFile: ptr("/tmp/m.log"), PrometheusURL: ptr("http://p:9090"), MLflowURL: ptr("http://m:5000"),
		KFPURL: ptr("http://k:8888"), Kubeconfig: ptr("/k/config"), Context: ptr("prod"),
		Namespace: ptr("ml-prod"), AllNamespaces: ptr(false),
	}
	// A new Overrides field left out above would pass silently; count them.
	if n := reflect.TypeFor[Overrides]().NumField(); n != 12 {
		t.Fatalf("Overrides has %d fields; add the new flag to this test", n)
	}
	cfg, err := Load(LoadOptions{Env: envOf(nil), Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Refresh, want.ReadOnly, want.UI.NoColor, want.UI.ASCII, want.LogFile = 3*time.Second, true, true, true, "/tmp/m.log"
	want.Prometheus.URL, want.MLflow.URL, want.KFP.URL = "http://p:9090", "http://m:5000", "http://k:8888"
	want.Kubernetes.Kubeconfig, want.Kubernetes.Context, want.Kubernetes.Namespaces = "/k/config", "prod", []string{"ml-prod"}
	if got := withoutProvenance(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for key, origin := range map[string]string{
		"refresh": "flag --refresh", "read_only": "flag --read-only", "ui.no_color": "flag --no-color",
		"ui.ascii": "flag --ascii", "log_file": "flag --log-file", "kubernetes.kubeconfig": "flag --kubeconfig",
		"kubernetes.context": "flag --context", "kubernetes.namespaces": "flag --namespace",
		"kubernetes.all_namespaces": "flag --all-namespaces", "mlflow.url": "flag --mlflow-url",
	} {
		if got := cfg.Origin(key); got != origin {
			t.Errorf("Origin(%s) = %q, want %q", key, got, origin)
		}
	}
}

func TestNoColor(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		noColorEnv string
		flag       *bool
		want       bool
		wantOrigin string
	}{
		{"unset", "", "", nil, false, "default"},
		{"any value turns colour off", "", "1", nil, true, "env NO_COLOR"},
		{"even 0 and false, per no-color.org", "", "0", nil, true, "env NO_COLOR"},
		{"false too", "", "false", nil, true, "env NO_COLOR"},
		{"file setting", "ui:\n  no_color: true\n", "", nil, true, "config.yaml:2"},
		{"env over file", "ui:\n  no_color: false\n", "yes", nil, true, "env NO_COLOR"},
		{"flag over env", "", "1", ptr(false), false, "flag --no-color"},
		{"flag on", "", "", ptr(true), true, "flag --no-color"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, t.TempDir(), tt.file)
			cfg, err := Load(LoadOptions{Path: path, Env: envOf(map[string]string{"NO_COLOR": tt.noColorEnv}), Flags: Overrides{NoColor: tt.flag}})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.UI.NoColor != tt.want || cfg.Origin("ui.no_color") != tt.wantOrigin {
				t.Errorf("NoColor = %v from %q, want %v from %q", cfg.UI.NoColor, cfg.Origin("ui.no_color"), tt.want, tt.wantOrigin)
			}
		})
	}
}

func TestNamespaceFlags(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		flags     Overrides
		wantNS    []string
		wantAll   bool
		wantError string
	}{
		{"-n picks one namespace", "", Overrides{Namespace: ptr("ml-prod")}, []string{"ml-prod"}, false, ""},
		{"-n replaces the file's list", "kubernetes:\n  namespaces: [a, b]\n", Overrides{Namespace: ptr("c")}, []string{"c"}, false, ""},
		{"-n undoes all_namespaces from the file", "kubernetes:\n  all_namespaces: true\n", Overrides{Namespace: ptr("c")}, []string{"c"}, false, ""},
		{"-A watches everything", "", Overrides{AllNamespaces: ptr(true)}, nil, true, ""},
		{"-A clears the file's list", "kubernetes:\n  namespaces: [a, b]\n", Overrides{AllNamespaces: ptr(true)}, nil, true, ""},
		{"-A wins over -n, as in kubectl", "", Overrides{Namespace: ptr("a"), AllNamespaces: ptr(true)}, nil, true, ""},
		{"-A=false keeps the file's list", "kubernetes:\n  namespaces: [a]\n  all_namespaces: false\n", Overrides{AllNamespaces: ptr(false)}, []string{"a"}, false, ""},
		{"-n with a bad name is reported against the flag", "", Overrides{Namespace: ptr("ML_Prod")}, []string{"ML_Prod"}, false,
			`flag --namespace: kubernetes.namespaces: "ML_Prod" is not a valid namespace name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, t.TempDir(), tt.file)
			cfg, err := Load(LoadOptions{Path: path, Env: envOf(nil), Flags: tt.flags})
			if tt.wantError == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantError)
			}
			if !reflect.DeepEqual(cfg.Kubernetes.Namespaces, tt.wantNS) || cfg.Kubernetes.AllNamespaces != tt.wantAll {
				t.Errorf("namespaces %q all=%v, want %q all=%v", cfg.Kubernetes.Namespaces, cfg.Kubernetes.AllNamespaces, tt.wantNS, tt.wantAll)
			}
		})
	}
}

func TestConfigFileLocation(t *testing.T) {
	t.Run("missing default file is fine", func(t *testing.T) {
		home := t.TempDir()
		cfg, err := Load(LoadOptions{Env: envOf(map[string]string{"HOME": home})})
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if !reflect.DeepEqual(withoutProvenance(cfg), Default()) {
			t.Errorf("got %+v, want defaults", cfg)
		}
		path, found := cfg.File()
		if path != filepath.Join(home, ".config", "mltop", "config.yaml") || found {
			t.Errorf("File() = %q, %v", path, found)
		}
	})
	t.Run("no HOME at all is fine", func(t *testing.T) {
		if _, err := Load(LoadOptions{}); err != nil {
			t.Fatalf("Load: %v", err)
		}
	})
	t.Run("explicit --config that is missing is an error naming it", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(LoadOptions{Path: path, Env: envOf(nil)})
		ps := problemsOf(t, err)
		if len(ps) != 1 || ps[0].File != path || !strings.Contains(ps[0].Msg, "--config") {
			t.Fatalf("problems = %#v", ps)
		}
		if !strings.HasPrefix(err.Error(), path+": no such file") {
			t.Errorf("error = %q", err)
		}
	})
	t.Run("MLTOP_CONFIG that is missing is an error naming the variable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.yaml")
		_, err := Load(LoadOptions{Env: envOf(map[string]string{"MLTOP_CONFIG": path})})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "MLTOP_CONFIG") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("MLTOP_CONFIG is read, --config wins over it", func(t *testing.T) {
		byEnv := writeConfig(t, t.TempDir(), "refresh: 11s\n")
		byFlag := writeConfig(t, t.TempDir(), "refresh: 12s\n")
		env := envOf(map[string]string{"MLTOP_CONFIG": byEnv})
		cfg, err := Load(LoadOptions{Env: env})
		if err != nil || cfg.Refresh != 11*time.Second {
			t.Fatalf("MLTOP_CONFIG: refresh %v, err %v", cfg.Refresh, err)
		}
		cfg, err = Load(LoadOptions{Path: byFlag, Env: env})
		if err != nil || cfg.Refresh != 12*time.Second {
			t.Fatalf("--config: refresh %v, err %v", cfg.Refresh, err)
		}
	})
	t.Run("XDG_CONFIG_HOME is used", func(t *testing.T) {
		xdg := t.TempDir()
		if err := os.MkdirAll(filepath.Join(xdg, "mltop"), 0o700); err != nil {
			t.Fatal(err)
		}
		path := writeConfig(t, filepath.Join(xdg, "mltop"), "refresh: 9s\n")
		cfg, err := Load(LoadOptions{Env: envOf(map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": t.TempDir()})})
		if err != nil || cfg.Refresh != 9*time.Second {
			t.Fatalf("refresh %v, err %v", cfg.Refresh, err)
		}
		if got, found := cfg.File(); got != path || !found {
			t.Errorf("File() = %q, %v", got, found)
		}
	})
	t.Run("a directory instead of a file", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Load(LoadOptions{Path: dir, Env: envOf(nil)})
		if err == nil || !strings.HasPrefix(err.Error(), dir+": cannot read the config file") {
			t.Fatalf("error = %v", err)
		}
	})
}

func TestEmptyFiles(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         "",
		"comments only": "# nothing here yet\n\n# still nothing\n",
		"null document": "~\n",
		"empty section": "thresholds:\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, ps, _ := loadFile(t, content)
			if ps != nil {
				t.Fatalf("problems: %v", ps)
			}
			if !reflect.DeepEqual(withoutProvenance(cfg), Default()) {
				t.Errorf("got %+v, want defaults", cfg)
			}
			if _, found := cfg.File(); !found {
				t.Error("File() says not found")
			}
		})
	}
}

func TestHomeExpansionInPaths(t *testing.T) {
	path := writeConfig(t, t.TempDir(), "kubernetes:\n  kubeconfig: ~/.kube/prod\nmlflow:\n  experiment: ~/not-a-path\n")
	cfg, err := Load(LoadOptions{Path: path, Env: envOf(map[string]string{"HOME": "/home/u"})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kubernetes.Kubeconfig != "/home/u/.kube/prod" {
		t.Errorf("kubeconfig = %q", cfg.Kubernetes.Kubeconfig)
	}
	if cfg.MLflow.Experiment != "~/not-a-path" {
		t.Errorf("experiment (not a path) = %q", cfg.MLflow.Experiment)
	}
}

func TestSettingsAndOrigins(t *testing.T) {
	cfg, ps, _ := loadFile(t, "thresholds:\n  p99_max: 1s\nkubernetes:\n  namespaces: [a, b]\n")
	if ps != nil {
		t.Fatal(ps)
	}
	got := map[string]Setting{}
	for _, s := range cfg.Settings() {
		got[s.Key] = s
	}
	if len(got) != len(settingsOf(configType())) {
		t.Errorf("Settings has %d entries, want one per setting (%d)", len(got), len(settingsOf(configType())))
	}
	for key, want := range map[string]Setting{
		"thresholds.p99_max":    {"thresholds.p99_max", "1s", "config.yaml:2"},
		"kubernetes.namespaces": {"kubernetes.namespaces", "[a, b]", "config.yaml:4"},
		"registry_wait_max":     {},
		"prometheus.url":        {"prometheus.url", `""`, "default"},
		"mlflow.runs_limit":     {"mlflow.runs_limit", "50", "default"},
	} {
		if got[key] != want {
			t.Errorf("%s: got %+v, want %+v", key, got[key], want)
		}
	}
	if o := cfg.Origin("no.such.key"); o != "" {
		t.Errorf("Origin of an unknown key = %q, want empty", o)
	}
	if o := Default().Origin("refresh"); o != "default" {
		t.Errorf("Origin on Default() = %q", o)
	}
}
