package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Environment variables Load reads. KUBECONFIG is deliberately absent: client-go
// reads it itself, with its own merge rules.
const (
	EnvConfig        = "MLTOP_CONFIG"          // config file, when --config is not given
	EnvPrometheusURL = "PROMETHEUS_URL"        // prometheus.url
	EnvMLflowURL     = "MLFLOW_TRACKING_URI"   // mlflow.url; the MLflow client's own variable
	EnvKFPURL        = "KF_PIPELINES_ENDPOINT" // kfp.url; the KFP SDK's own variable
	EnvNoColor       = "NO_COLOR"              // any non-empty value turns colour off (no-color.org)
)

// Global flag names, without dashes. cmd/mltop defines its flags with these
// names so that `mltop config check` names the flag a person actually typed.
const (
	FlagConfig        = "config"
	FlagRefresh       = "refresh"
	FlagReadOnly      = "read-only"
	FlagNoColor       = "no-color"
	FlagASCII         = "ascii"
	FlagLogFile       = "log-file"
	FlagPrometheusURL = "prometheus-url"
	FlagMLflowURL     = "mlflow-url"
	FlagKFPURL        = "kfp-url"
	FlagKubeconfig    = "kubeconfig"
	FlagContext       = "context"
	FlagNamespace     = "namespace"      // shorthand -n
	FlagAllNamespaces = "all-namespaces" // shorthand -A
)

// Overrides are the global command-line flags. A nil field was not given on
// the command line; a non-nil one wins over the environment and the file,
// even when it holds the zero value (--read-only=false beats read_only: true).
type Overrides struct {
	Refresh       *time.Duration // --refresh
	ReadOnly      *bool          // --read-only
	NoColor       *bool          // --no-color
	ASCII         *bool          // --ascii
	LogFile       *string        // --log-file
	PrometheusURL *string        // --prometheus-url
	MLflowURL     *string        // --mlflow-url
	KFPURL        *string        // --kfp-url
	Kubeconfig    *string        // --kubeconfig
	Context       *string        // --context
	Namespace     *string        // -n/--namespace: watch this one namespace
	AllNamespaces *bool          // -A/--all-namespaces: watch every namespace (wins over -n, as in kubectl)
}

// LoadOptions says where settings come from.
type LoadOptions struct {
	// Path is the file given with --config; "" means MLTOP_CONFIG, then the
	// default Path(Env). A file named explicitly must exist; the default one
	// may be missing.
	Path string
	// Env reads environment variables: os.Getenv in production, a map lookup
	// in tests. nil reads as an empty environment.
	Env func(string) string
	// Flags are the command-line settings.
	Flags Overrides
}

// Load builds the effective configuration: defaults, then the config file,
// then the environment, then flags, each layer overriding the one before.
// It then validates the result.
//
// The error, when not nil, is Problems: every problem found, each located at
// its file:line or named by its flag or variable. The returned Config is
// filled in as far as possible even then, so `mltop config check` can show
// the settings next to the problems; callers that start work must not use it
// when the error is not nil.
func Load(opts LoadOptions) (Config, error) {
	env := orEmpty(opts.Env)
	cfg := Default()
	prov := &provenance{origins: map[string]origin{}}
	cfg.prov = prov

	var problems Problems
	path, explicitBy := FilePath(opts.Path, env)
	prov.file = path
	if path != "" {
		data, problem, found := readConfigFile(path, explicitBy)
		if problem != nil {
			problems = append(problems, *problem)
		}
		if found {
			prov.found = true
			dec := newFileDecoder(path, env("HOME"), prov.origins)
			dec.decode(data, &cfg)
			problems = append(problems, dec.problems...)
		}
	}

	applyEnv(&cfg, env, prov.origins)
	applyFlags(&cfg, opts.Flags, prov.origins)

	problems = append(problems, cfg.problems()...)
	return cfg, problems.sorted().err()
}

// FilePath is the config file the commands read: the --config flag's
// value, then MLTOP_CONFIG, then the XDG default. explicitBy names the flag
// or variable that chose it, or is empty for the default (which may be
// missing without error).
func FilePath(flag string, env func(string) string) (path, explicitBy string) {
	env = orEmpty(env)
	if flag != "" {
		return flag, "--" + FlagConfig
	}
	if p := strings.TrimSpace(env(EnvConfig)); p != "" {
		return p, EnvConfig
	}
	return Path(env), ""
}

// readConfigFile reads the file at path. A missing file is only a problem
// when someone named it (explicitBy says how: --config or MLTOP_CONFIG).
func readConfigFile(path, explicitBy string) (data []byte, problem *Problem, found bool) {
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		return data, nil, true
	case errors.Is(err, fs.ErrNotExist) && explicitBy == "":
		return nil, nil, false
	case errors.Is(err, fs.ErrNotExist):
		return nil, &Problem{File: path, Msg: "no such file (named by " + explicitBy + "); check the path, or create one with `mltop config init`"}, false
	case errors.Is(err, fs.ErrPermission):
		return nil, &Problem{File: path, Msg: "cannot read the config file: permission denied"}, false
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the path is already at the start of the line
	}
	return nil, &Problem{File: path, Msg: "cannot read the config file: " + err.Error()}, false
}

// applyEnv overrides file settings with environment variables. An empty
// variable counts as unset, which is how shells commonly "unset" in scripts.
func applyEnv(cfg *Config, env func(string) string, origins map[string]origin) {
	set := func(variable, key string, target *string) {
		if v := strings.TrimSpace(env(variable)); v != "" {
			*target = v
			origins[key] = origin{kind: fromEnv, name: variable}
		}
	}
	set(EnvPrometheusURL, "prometheus.url", &cfg.Prometheus.URL)
	set(EnvMLflowURL, "mlflow.url", &cfg.MLflow.URL)
	set(EnvKFPURL, "kfp.url", &cfg.KFP.URL)
	// no-color.org: "when present and not an empty string", regardless of value,
	// so NO_COLOR=0 and NO_COLOR=false also turn colour off.
	if env(EnvNoColor) != "" {
		cfg.UI.NoColor = true
		origins["ui.no_color"] = origin{kind: fromEnv, name: EnvNoColor}
	}
}

// applyFlags overrides everything else with the flags that were given.
func applyFlags(cfg *Config, f Overrides, origins map[string]origin) {
	mark := func(key, flag string) { origins[key] = origin{kind: fromFlag, name: "--" + flag} }
	if f.Refresh != nil {
		cfg.Refresh = *f.Refresh
		mark("refresh", FlagRefresh)
	}
	if f.ReadOnly != nil {
		cfg.ReadOnly = *f.ReadOnly
		mark("read_only", FlagReadOnly)
	}
	if f.NoColor != nil {
		cfg.UI.NoColor = *f.NoColor
		mark("ui.no_color", FlagNoColor)
	}
	if f.ASCII != nil {
		cfg.UI.ASCII = *f.ASCII
		mark("ui.ascii", FlagASCII)
	}
	if f.LogFile != nil {
		cfg.LogFile = *f.LogFile
		mark("log_file", FlagLogFile)
	}
	if f.PrometheusURL != nil {
		cfg.Prometheus.URL = *f.PrometheusURL
		mark("prometheus.url", FlagPrometheusURL)
	}
	if f.MLflowURL != nil {
		cfg.MLflow.URL = *f.MLflowURL
		mark("mlflow.url", FlagMLflowURL)
	}
	if f.KFPURL != nil {
		cfg.KFP.URL = *f.KFPURL
		mark("kfp.url", FlagKFPURL)
	}
	if f.Kubeconfig != nil {
		cfg.Kubernetes.Kubeconfig = *f.Kubeconfig
		mark("kubernetes.kubeconfig", FlagKubeconfig)
	}
	if f.Context != nil {
		cfg.Kubernetes.Context = *f.Context
		mark("kubernetes.context", FlagContext)
	}
	// -n narrows to one namespace, which also undoes all_namespaces from the
	// file; -A then wins over -n, as it does in kubectl.
	if f.Namespace != nil {
		cfg.Kubernetes.Namespaces = []string{*f.Namespace}
		cfg.Kubernetes.AllNamespaces = false
		mark("kubernetes.namespaces", FlagNamespace)
		mark("kubernetes.all_namespaces", FlagNamespace)
	}
	if f.AllNamespaces != nil {
		cfg.Kubernetes.AllNamespaces = *f.AllNamespaces
		mark("kubernetes.all_namespaces", FlagAllNamespaces)
		if *f.AllNamespaces {
			cfg.Kubernetes.Namespaces = nil
			mark("kubernetes.namespaces", FlagAllNamespaces)
		}
	}
}

// SourceRefresh is how often the poller refreshes a source: its own refresh
// when set, otherwise the global one.
func (c Config) SourceRefresh(s Source) time.Duration {
	if s.Refresh > 0 {
		return s.Refresh
	}
	return c.Refresh
}
