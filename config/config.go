// Package config holds every mltop setting, its default and its validation.
// The defaults are the alert thresholds of the platform's operations
// dashboard (pipeline success < 95 %, metric drop > 0.02, registry wait > 24 h,
// errors > 1 %, p99 > 500 ms, canary errors > 2 x stable, any OOM kill in a day).
package config

import "time"

// Config is the whole configuration. Its YAML keys are the snake_case names in
// the struct tags; unknown keys are errors.
type Config struct {
	Refresh    time.Duration `yaml:"refresh"` // default refresh interval of every source
	ReadOnly   bool          `yaml:"read_only"`
	Thresholds Thresholds    `yaml:"thresholds"`
	Kubernetes Kubernetes    `yaml:"kubernetes"`
	Prometheus Prometheus    `yaml:"prometheus"`
	MLflow     MLflow        `yaml:"mlflow"`
	KFP        KFP           `yaml:"kfp"`
	UI         UI            `yaml:"ui"`
	Doctor     Doctor        `yaml:"doctor"`
	LogFile    string        `yaml:"log_file"`

	// prov records where each setting came from (Load fills it; nil for
	// Default()), so Validate can point at file:line and `mltop config check`
	// can print origins.
	prov *provenance
}

// Thresholds are the alert rules' limits.
type Thresholds struct {
	PipelineSuccessMin float64       `yaml:"pipeline_success_min"` // fraction, 0.95
	MetricDropMax      float64       `yaml:"metric_drop_max"`      // absolute drop against the previous run, 0.02
	RegistryWaitMax    time.Duration `yaml:"registry_wait_max"`    // 24h
	ErrorRateMax       float64       `yaml:"error_rate_max"`       // fraction, 0.01
	P99Max             time.Duration `yaml:"p99_max"`              // 500ms
	CanaryErrorRatio   float64       `yaml:"canary_error_ratio"`   // canary errors over stable errors, 2
	OOMKillsPerDayMax  int           `yaml:"oom_kills_per_day_max"`
}

// Source is what every polled source shares.
type Source struct {
	URL      string        `yaml:"url"`
	Refresh  time.Duration `yaml:"refresh"` // 0: use the global refresh
	Timeout  time.Duration `yaml:"timeout"`
	Disabled bool          `yaml:"disabled"`
}

// Kubernetes selects the cluster and the namespaces to watch.
type Kubernetes struct {
	Kubeconfig          string        `yaml:"kubeconfig"`
	Context             string        `yaml:"context"`
	Namespaces          []string      `yaml:"namespaces"`           // empty: the context's namespace
	AllNamespaces       bool          `yaml:"all_namespaces"`       // -A
	ProtectedNamespaces []string      `yaml:"protected_namespaces"` // actions ask for the service name to be typed
	Timeout             time.Duration `yaml:"timeout"`
	Disabled            bool          `yaml:"disabled"`
}

// Prometheus is the metrics source.
type Prometheus struct {
	Source      `yaml:",inline"`
	Profile     string `yaml:"profile"` // auto, knative, knative-otel, kserve, seed
	Window      string `yaml:"window"`  // PromQL range for rates, e.g. 5m
	BearerToken string `yaml:"bearer_token_file"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password_file"`
	CAFile      string `yaml:"ca_file"`
}

// MLflow is the tracking and registry source.
type MLflow struct {
	Source        `yaml:",inline"`
	Experiment    string   `yaml:"experiment"`
	Metric        string   `yaml:"metric"`
	PromotedAlias string   `yaml:"promoted_alias"`
	RunsLimit     int      `yaml:"runs_limit"`
	Models        []string `yaml:"models"`      // registered models in the registry pane; empty: all
	KFPRunTag     string   `yaml:"kfp_run_tag"` // run tag holding the Kubeflow Pipelines run id
}

// KFP is the Kubeflow Pipelines source.
type KFP struct {
	Source       `yaml:",inline"`
	Namespace    string        `yaml:"namespace"` // multi-user namespace
	Window       time.Duration `yaml:"window"`    // runs created within this window
	Pipeline     string        `yaml:"pipeline"`  // only runs whose display name contains this, empty: all
	TokenFile    string        `yaml:"token_file"`
	ExperimentID string        `yaml:"experiment_id"` // only runs of this KFP experiment; empty: all
	MaxRuns      int           `yaml:"max_runs"`      // newest runs read per refresh, to bound the cost
	CAFile       string        `yaml:"ca_file"`       // CA bundle of a gateway with a private certificate
}

// Doctor tunes `mltop doctor`'s checks of the seams between the tools.
type Doctor struct {
	// Compatibility lists the verified component combinations, one row per
	// combination, e.g. "kfp=2.3.0 mlflow=2.17.x kserve=0.14.x
	// kubernetes=1.28-1.30" (ParseCompatRow reads them).
	Compatibility []string `yaml:"compatibility"`
	// TrackedPipelines are the KFP pipelines every successful run of which
	// must log an MLflow run to mlflow.experiment; empty: the pipelines whose
	// runs the fetched MLflow runs name.
	TrackedPipelines []string `yaml:"tracked_pipelines"`
}

// UI holds presentation settings.
type UI struct {
	NoColor bool `yaml:"no_color"`
	ASCII   bool `yaml:"ascii"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Refresh: 5 * time.Second,
		Thresholds: Thresholds{
			PipelineSuccessMin: 0.95,
			MetricDropMax:      0.02,
			RegistryWaitMax:    24 * time.Hour,
			ErrorRateMax:       0.01,
			P99Max:             500 * time.Millisecond,
			CanaryErrorRatio:   2,
			OOMKillsPerDayMax:  0,
		},
		Kubernetes: Kubernetes{
			ProtectedNamespaces: []string{"ml-prod"},
			Timeout:             10 * time.Second,
		},
		Prometheus: Prometheus{
			Source:  Source{Timeout: 5 * time.Second},
			Profile: "auto",
			Window:  "5m",
		},
		MLflow: MLflow{
			Source:        Source{Refresh: 30 * time.Second, Timeout: 10 * time.Second},
			Experiment:    "recommendation-v3",
			Metric:        "cv_f1_mean",
			PromotedAlias: "champion",
			RunsLimit:     50,
			KFPRunTag:     "kfp_run_id",
		},
		KFP: KFP{
			Source:  Source{Refresh: 30 * time.Second, Timeout: 10 * time.Second},
			Window:  24 * time.Hour,
			MaxRuns: 2000,
		},
		Doctor: Doctor{
			// The seed article's version matrix (March 2026).
			Compatibility: []string{
				"kfp=2.3.0 mlflow=2.17.x kserve=0.14.x kubernetes=1.28-1.30",
				"kfp=2.2.0 mlflow=2.15.x kserve=0.13.x kubernetes=1.27-1.29",
				"kfp=2.1.0 mlflow=2.12.x kserve=0.12.x kubernetes=1.26-1.28",
			},
		},
	}
}
