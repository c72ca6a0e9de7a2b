package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kfp"
	"github.com/mltop/mltop/sources/kube"
	"github.com/mltop/mltop/sources/mlflow"
	"github.com/mltop/mltop/sources/prom"
)

// liveOptions tune the live platform for the command that uses it.
type liveOptions struct {
	logger *slog.Logger
	// kubeSyncWait is how long one Fetch waits for the first lists: short in
	// the dashboard (the next refresh comes soon), long in a snapshot (there
	// is no next refresh).
	kubeSyncWait time.Duration
}

// newLivePlatform builds the real sources from the configuration. A source
// without a URL is off and says how to configure it; a source whose
// connection cannot be built (no kubeconfig for a k8s:// URL, say) is down
// with that reason, and the other sources still run. Settings that are
// wrong in themselves (an unreadable CA file) stop the command with one
// clear message instead.
func (a *app) newLivePlatform(cfg config.Config, o liveOptions) (platform, error) {
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	p := platform{clock: sources.RealClock{}, now: time.Now, context: cfg.Kubernetes.Context, namespace: namespaceLabel(cfg)}

	clients, kubeErr := a.connectKube(cfg)
	p.clients = clients
	if clients != nil {
		p.context = clients.Context
		p.namespace = strings.Join(clients.Namespaces, ",")
		if clients.AllNamespaces {
			p.namespace = "all"
		}
	}

	// Kubernetes: informers, started with the platform.
	kubeSrc := sources.SourceConfig{ID: sources.SourceKube, Live: true, Interval: cfg.Refresh, Timeout: cfg.Kubernetes.Timeout}
	switch {
	case cfg.Kubernetes.Disabled:
		kubeSrc.Hint = "disabled in the config (kubernetes.disabled)"
	case kubeErr != nil:
		kubeSrc.Fetcher = failing(kubeErr)
	default:
		so := clients.SourceOptions()
		so.Logger = o.logger
		so.SyncWait = o.kubeSyncWait
		src, err := kube.New(so)
		if err != nil {
			return platform{}, err
		}
		kubeSrc.Fetcher = src
		p.start = append(p.start, func(ctx context.Context) { src.Start(ctx) })
		p.stop = append(p.stop, src.Stop)
	}
	p.sources = append(p.sources, kubeSrc)

	// The namespaces Prometheus filters on: the ones the cluster resolved
	// (the context's namespace when none is set), else the configured ones.
	namespaces := cfg.Kubernetes.Namespaces
	if clients != nil {
		namespaces = clients.Namespaces
	}
	if cfg.Kubernetes.AllNamespaces {
		namespaces = nil
	}

	endpoint := func(id sources.SourceID, s config.Source, flag, env string) (base string, client *http.Client, hint string, err error) {
		switch {
		case s.Disabled:
			return "", nil, fmt.Sprintf("disabled in the config (%s.disabled)", id), nil
		case s.URL == "":
			return "", nil, fmt.Sprintf("not configured: set --%s or %s", flag, env), nil
		case !config.IsK8sURL(s.URL):
			return s.URL, nil, "", nil
		}
		if clients == nil {
			return "", nil, "", fmt.Errorf("%s reaches %s through the Kubernetes API server, which needs a working kubeconfig: %v", id, s.URL, kubeErr)
		}
		svc, err := config.ParseK8sURL(s.URL)
		if err != nil {
			return "", nil, "", err
		}
		base, client, err = kube.ServiceProxy(clients.Config, kube.ProxyTarget{K8sService: svc})
		return base, client, "", err
	}

	// Prometheus.
	promSrc := sources.SourceConfig{ID: sources.SourceProm, Interval: cfg.SourceRefresh(cfg.Prometheus.Source), Timeout: cfg.Prometheus.Timeout}
	if base, client, hint, err := endpoint(sources.SourceProm, cfg.Prometheus.Source, config.FlagPrometheusURL, config.EnvPrometheusURL); err != nil {
		promSrc.Fetcher = failing(err)
	} else if hint != "" {
		promSrc.Hint = hint
	} else {
		po := prom.Options{
			BaseURL: base, HTTPClient: client, Profile: cfg.Prometheus.Profile, Window: cfg.Prometheus.Window,
			Namespaces: namespaces, Logger: o.logger,
		}
		if client == nil {
			po.BearerTokenFile, po.Username, po.PasswordFile, po.CAFile =
				cfg.Prometheus.BearerToken, cfg.Prometheus.Username, cfg.Prometheus.Password, cfg.Prometheus.CAFile
		} else if cfg.Prometheus.BearerToken != "" || cfg.Prometheus.Username != "" {
			o.logger.Warn("prometheus credentials are not sent through the Kubernetes API proxy: the proxy authenticates with the kubeconfig")
		}
		c, err := prom.New(po)
		if err != nil {
			return platform{}, fmt.Errorf("prometheus: %w", err)
		}
		promSrc.Fetcher = c
	}
	p.sources = append(p.sources, promSrc)

	// MLflow.
	mlSrc := sources.SourceConfig{ID: sources.SourceMLflow, Interval: cfg.SourceRefresh(cfg.MLflow.Source), Timeout: cfg.MLflow.Timeout}
	if base, client, hint, err := endpoint(sources.SourceMLflow, cfg.MLflow.Source, config.FlagMLflowURL, config.EnvMLflowURL); err != nil {
		mlSrc.Fetcher = failing(err)
	} else if hint != "" {
		mlSrc.Hint = hint
	} else {
		mo, err := mlflow.OptionsFromEnv(a.env)
		if err != nil {
			return platform{}, fmt.Errorf("mlflow: %w", err)
		}
		mo.BaseURL, mo.HTTPClient = base, client
		if client != nil {
			// Through the API proxy the Authorization header belongs to the
			// kubeconfig's credentials; MLflow's would replace them.
			if mo.Username != "" || mo.Token != "" {
				o.logger.Warn("MLflow credentials are not sent through the Kubernetes API proxy")
			}
			mo.Username, mo.Password, mo.Token, mo.InsecureTLS, mo.CAFile = "", "", "", false, ""
		}
		mo.Experiment, mo.Metric, mo.PromotedAlias = cfg.MLflow.Experiment, cfg.MLflow.Metric, cfg.MLflow.PromotedAlias
		mo.RunsLimit, mo.Models, mo.KFPRunTag = cfg.MLflow.RunsLimit, cfg.MLflow.Models, cfg.MLflow.KFPRunTag
		c, err := mlflow.New(mo)
		if err != nil {
			return platform{}, fmt.Errorf("mlflow: %w", err)
		}
		mlSrc.Fetcher = c
	}
	p.sources = append(p.sources, mlSrc)

	// Kubeflow Pipelines.
	kfpSrc := sources.SourceConfig{ID: sources.SourceKFP, Interval: cfg.SourceRefresh(cfg.KFP.Source), Timeout: cfg.KFP.Timeout}
	if base, client, hint, err := endpoint(sources.SourceKFP, cfg.KFP.Source, config.FlagKFPURL, config.EnvKFPURL); err != nil {
		kfpSrc.Fetcher = failing(err)
	} else if hint != "" {
		kfpSrc.Hint = hint
	} else {
		ko := kfp.OptionsFromEnv(a.env)
		if cfg.KFP.TokenFile != "" {
			ko.TokenFile = cfg.KFP.TokenFile
		}
		if client == nil && cfg.KFP.CAFile != "" {
			if client, err = clientWithCA(cfg.KFP.CAFile, cfg.KFP.Timeout); err != nil {
				return platform{}, fmt.Errorf("kfp.ca_file: %w", err)
			}
		}
		ko.BaseURL, ko.HTTPClient = base, client
		ko.Namespace, ko.Window, ko.Pipeline = cfg.KFP.Namespace, cfg.KFP.Window, cfg.KFP.Pipeline
		ko.ExperimentID, ko.MaxRuns = cfg.KFP.ExperimentID, cfg.KFP.MaxRuns
		c, err := kfp.New(ko)
		if err != nil {
			return platform{}, fmt.Errorf("kfp: %w", err)
		}
		kfpSrc.Fetcher = c
	}
	p.sources = append(p.sources, kfpSrc)
	return p, nil
}

// connectKube builds the cluster clients unless Kubernetes is disabled. The
// config file's kubeconfig and context apply when no flag gave them.
func (a *app) connectKube(cfg config.Config) (*kube.Clients, error) {
	if cfg.Kubernetes.Disabled {
		return nil, errors.New("kubernetes is disabled in the config")
	}
	flags := a.g.kube
	if !a.g.flags.Changed(config.FlagKubeconfig) && cfg.Kubernetes.Kubeconfig != "" {
		v := cfg.Kubernetes.Kubeconfig
		flags.KubeConfig = &v
	}
	if !a.g.flags.Changed(config.FlagContext) && cfg.Kubernetes.Context != "" {
		v := cfg.Kubernetes.Context
		flags.Context = &v
	}
	return kube.Connect(flags, kube.ConnectOptions{Namespaces: cfg.Kubernetes.Namespaces, AllNamespaces: cfg.Kubernetes.AllNamespaces})
}

// failing is a fetcher for a source that cannot be reached at all: every
// refresh reports why, so the status bar says so and the rest runs.
func failing(err error) sources.Fetcher {
	return sources.FetcherFunc(func(context.Context) (sources.Part, error) { return sources.Part{}, err })
}

// clientWithCA is an HTTP client that trusts the system roots plus caFile.
func clientWithCA(caFile string, timeout time.Duration) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// namespaceLabel is the status bar's namespace before the cluster answers.
func namespaceLabel(cfg config.Config) string {
	if cfg.Kubernetes.AllNamespaces {
		return "all"
	}
	return strings.Join(cfg.Kubernetes.Namespaces, ",")
}
