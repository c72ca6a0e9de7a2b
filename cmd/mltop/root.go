package main

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/mltop/mltop/config"
)

// globals are the flags every command accepts.
type globals struct {
	configPath    string
	readOnly      bool
	noColor       bool
	ascii         bool
	refresh       time.Duration
	logFile       string
	prometheusURL string
	mlflowURL     string
	kfpURL        string
	allNamespaces bool
	// kube holds the kubectl flags (--kubeconfig, --context, -n, --as, ...),
	// spelled as kubectl spells them because cli-runtime defines them.
	kube *genericclioptions.ConfigFlags
	// flags is the parsed flag set, to tell a flag that was given from one
	// left at its default (only given flags override the config file).
	flags *pflag.FlagSet
}

// app is what the commands share: streams, environment and global flags.
type app struct {
	streams
	env func(string) string
	g   globals
}

func newRootCommand(s streams, env func(string) string) *cobra.Command {
	a := &app{streams: s, env: env}
	root := &cobra.Command{
		Use:   "mltop",
		Short: "A terminal dashboard for on-call engineers of a Kubeflow Pipelines, MLflow and KServe platform",
		Long: `mltop shows one screen with six panes: Pipelines (Kubeflow Pipelines runs), Training (the MLflow
metric trend), Registry (model versions waiting for promotion), Serving (KServe InferenceServices
with their error rate, p99 and RPS from Prometheus), Canary (canary against stable) and Infra (GPU
utilisation and OOM kills), with an alert strip of every threshold breach.

Run 'mltop demo' to see it on the embedded simulated platform.`,
		Example: `  mltop demo                              # the dashboard on a simulated platform
  mltop -n ml-prod --prometheus-url http://prometheus:9090
  mltop snapshot --demo -o json           # one JSON object, for scripts and tickets
  mltop config init                       # write a commented config file`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runLive(cmd)
		},
	}
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetIn(s.in)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	a.addGlobalFlags(root.PersistentFlags())

	root.AddCommand(
		newDemoCommand(a),
		newSnapshotCommand(a),
		newDoctorCommand(a),
		newConfigCommand(a),
		newVersionCommand(a),
		newPromoteCommand(a),
		newRollbackCommand(a),
		newPinCommand(a),
		newAuditCommand(a),
		newJudgeCommand(a),
	)
	root.SetHelpCommand(&cobra.Command{Hidden: true})
	return root
}

// addGlobalFlags defines the flags every command accepts on pf and records
// pf, so overrides can tell given flags from defaults. Tests build an app on
// a flag set of their own with it.
func (a *app) addGlobalFlags(pf *pflag.FlagSet) {
	pf.StringVar(&a.g.configPath, config.FlagConfig, "", "config file (default $XDG_CONFIG_HOME/mltop/config.yaml; env MLTOP_CONFIG)")
	pf.BoolVar(&a.g.readOnly, config.FlagReadOnly, false, "never change anything: mutating actions are refused before any request")
	pf.BoolVar(&a.g.noColor, config.FlagNoColor, false, "draw without colour (NO_COLOR is honoured too)")
	pf.BoolVar(&a.g.ascii, config.FlagASCII, false, "avoid braille and box-drawing characters, for old terminals")
	pf.DurationVar(&a.g.refresh, config.FlagRefresh, 0, "refresh interval of every source, e.g. 5s (default from config: 5s)")
	pf.StringVar(&a.g.logFile, config.FlagLogFile, "", "log file (default $XDG_STATE_HOME/mltop/mltop.log); the terminal is never logged to")
	pf.StringVar(&a.g.prometheusURL, config.FlagPrometheusURL, "", "Prometheus base URL, or k8s://NAMESPACE/SERVICE:PORT (env PROMETHEUS_URL)")
	pf.StringVar(&a.g.mlflowURL, config.FlagMLflowURL, "", "MLflow tracking URL, or k8s://NAMESPACE/SERVICE:PORT (env MLFLOW_TRACKING_URI)")
	pf.StringVar(&a.g.kfpURL, config.FlagKFPURL, "", "Kubeflow Pipelines API URL, or k8s://NAMESPACE/SERVICE:PORT (env KF_PIPELINES_ENDPOINT)")
	pf.BoolVarP(&a.g.allNamespaces, config.FlagAllNamespaces, "A", false, "watch InferenceServices in every namespace")
	a.g.kube = genericclioptions.NewConfigFlags(true)
	a.g.kube.AddFlags(pf)
	a.g.flags = pf
}

// overrides turns the flags that were given into config overrides; flags
// left at their defaults do not override the file or the environment.
func (a *app) overrides() config.Overrides {
	var o config.Overrides
	f := a.g.flags
	str := func(name string, v string) *string {
		if f.Changed(name) {
			return &v
		}
		return nil
	}
	boolean := func(name string, v bool) *bool {
		if f.Changed(name) {
			return &v
		}
		return nil
	}
	o.ReadOnly = boolean(config.FlagReadOnly, a.g.readOnly)
	o.NoColor = boolean(config.FlagNoColor, a.g.noColor)
	o.ASCII = boolean(config.FlagASCII, a.g.ascii)
	if f.Changed(config.FlagRefresh) {
		r := a.g.refresh
		o.Refresh = &r
	}
	o.LogFile = str(config.FlagLogFile, a.g.logFile)
	o.PrometheusURL = str(config.FlagPrometheusURL, a.g.prometheusURL)
	o.MLflowURL = str(config.FlagMLflowURL, a.g.mlflowURL)
	o.KFPURL = str(config.FlagKFPURL, a.g.kfpURL)
	o.AllNamespaces = boolean(config.FlagAllNamespaces, a.g.allNamespaces)
	if a.g.kube.KubeConfig != nil {
		o.Kubeconfig = str(config.FlagKubeconfig, *a.g.kube.KubeConfig)
	}
	if a.g.kube.Context != nil {
		o.Context = str(config.FlagContext, *a.g.kube.Context)
	}
	if a.g.kube.Namespace != nil {
		o.Namespace = str(config.FlagNamespace, *a.g.kube.Namespace)
	}
	return o
}

// loadConfig applies defaults, file, environment and flags, in that order of
// increasing precedence, and validates the result.
func (a *app) loadConfig() (config.Config, error) {
	return config.Load(config.LoadOptions{Path: a.g.configPath, Env: a.env, Flags: a.overrides()})
}
