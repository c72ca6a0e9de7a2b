package mlflow

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Defaults for the zero values of Options.
const (
	DefaultMetric        = "cv_f1_mean"
	DefaultRunsLimit     = 50
	DefaultKFPRunTag     = "kfp_run_id"
	DefaultPromotedAlias = "champion"
)

// The environment variables MLflow's own client reads for a tracking server
// (mlflow/environment_variables.py, used by mlflow/utils/rest_utils.py).
const (
	EnvUsername       = "MLFLOW_TRACKING_USERNAME"
	EnvPassword       = "MLFLOW_TRACKING_PASSWORD"
	EnvToken          = "MLFLOW_TRACKING_TOKEN"
	EnvInsecureTLS    = "MLFLOW_TRACKING_INSECURE_TLS"
	EnvServerCertPath = "MLFLOW_TRACKING_SERVER_CERT_PATH"
)

// Options configure a Client. Only BaseURL and Experiment are required.
type Options struct {
	// BaseURL is the tracking server's root (what MLFLOW_TRACKING_URI holds),
	// e.g. http://mlflow.ml:5000, or a Kubernetes service-proxy URL ending in
	// /proxy. It may carry a path and a query; API paths are joined under it.
	BaseURL string
	// HTTPClient sends every request. Nil builds one with connect and TLS
	// handshake timeouts and the TLS settings below; a given client is used
	// as is, so InsecureTLS and CAFile are then ignored.
	HTTPClient *http.Client

	// Experiment is the name of the experiment whose runs the Training pane plots.
	Experiment string
	// Metric is the run metric to plot (default cv_f1_mean).
	Metric string
	// RunsLimit is how many of the newest runs to fetch (default 50).
	RunsLimit int
	// KFPRunTag is the run tag holding the Kubeflow Pipelines run id that
	// produced the run (default kfp_run_id).
	KFPRunTag string

	// PromotedAlias marks the serving version of a registered model
	// (default champion).
	PromotedAlias string
	// Models limits the registry to these registered models; empty means all.
	Models []string

	// Username and Password send HTTP Basic auth; Token sends a Bearer token.
	// As in MLflow's client, Basic wins when both kinds are set, and Basic
	// needs both halves: a lone username or password is ignored.
	Username string
	Password string
	Token    string
	// InsecureTLS skips certificate verification; CAFile is a PEM bundle
	// that replaces the system roots (as `requests` does with verify=path).
	// Setting both is an error, as in MLflow.
	InsecureTLS bool
	CAFile      string
}

// OptionsFromEnv reads the credentials and TLS settings from the variables
// MLflow's own client reads, so mltop authenticates exactly as `mlflow`
// does in the same shell. getenv is os.Getenv in production; an empty value
// counts as unset. Only the boolean MLFLOW_TRACKING_INSECURE_TLS can be
// wrong: like MLflow it accepts true/false/1/0 in any case and nothing else.
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	o := Options{
		Username: getenv(EnvUsername),
		Password: getenv(EnvPassword),
		Token:    getenv(EnvToken),
		CAFile:   getenv(EnvServerCertPath),
	}
	if v := getenv(EnvInsecureTLS); v != "" {
		switch strings.ToLower(v) {
		case "true", "1":
			o.InsecureTLS = true
		case "false", "0":
		default:
			return Options{}, fmt.Errorf("%s must be one of true, false, 1, 0 (any case), not %q", EnvInsecureTLS, v)
		}
	}
	return o, nil
}

// withDefaults fills the zero values.
func (o Options) withDefaults() Options {
	if o.Metric == "" {
		o.Metric = DefaultMetric
	}
	if o.RunsLimit == 0 {
		o.RunsLimit = DefaultRunsLimit
	}
	if o.KFPRunTag == "" {
		o.KFPRunTag = DefaultKFPRunTag
	}
	if o.PromotedAlias == "" {
		o.PromotedAlias = DefaultPromotedAlias
	}
	return o
}

// authKind is which Authorization header the client sends.
type authKind int

const (
	authNone authKind = iota
	authBasic
	authBearer
)

// auth is the choice mlflow/utils/rest_utils.py http_request makes:
// username and password together, else the token, else nothing.
func (o Options) auth() authKind {
	switch {
	case o.Username != "" && o.Password != "":
		return authBasic
	case o.Token != "":
		return authBearer
	}
	return authNone
}

// String describes the options without their secrets, so printing or
// logging Options by mistake cannot leak a password or a token.
func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mlflow.Options{BaseURL: %s, Experiment: %q, Metric: %q, RunsLimit: %d, KFPRunTag: %q, PromotedAlias: %q, Models: %q, Auth: %s",
		redactURL(o.BaseURL), o.Experiment, o.Metric, o.RunsLimit, o.KFPRunTag, o.PromotedAlias, o.Models, o.auth())
	if o.InsecureTLS {
		b.WriteString(", InsecureTLS: true")
	}
	if o.CAFile != "" {
		fmt.Fprintf(&b, ", CAFile: %q", o.CAFile)
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v from printing the secrets too.
func (o Options) GoString() string { return o.String() }

// LogValue keeps slog (text or JSON handler) from printing the secrets.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

func (k authKind) String() string {
	switch k {
	case authBasic:
		return "basic"
	case authBearer:
		return "bearer"
	}
	return "none"
}
