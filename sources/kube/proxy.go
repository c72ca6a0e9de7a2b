package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/mltop/mltop/config"
)

// ProxyTarget is an in-cluster service reached through the API server's
// service proxy (a k8s://NAMESPACE/SERVICE:PORT[/PATH] URL).
type ProxyTarget struct {
	config.K8sService
	// HTTPS makes the API server speak TLS to the service (the "https:"
	// prefix of the proxy path), for services that only serve TLS.
	HTTPS bool
}

// ServiceProxy returns the base URL of a service behind the API server's
// service proxy,
//
//	https://APISERVER[/PREFIX]/api/v1/namespaces/NS/services/[https:]SVC:PORT/proxy[/PATH]
//
// and an HTTP client that authenticates to the API server as the kubeconfig
// does (token, client certificate, exec plugin, impersonation), so a laptop
// or bastion with only a kubeconfig reaches in-cluster Prometheus, MLflow or
// Kubeflow Pipelines. The base URL has no trailing slash: callers append
// their API paths to it. A path prefix in the server URL (Rancher's
// /k8s/clusters/ID, for instance) is kept.
func ServiceProxy(cfg *rest.Config, target ProxyTarget) (baseURL string, client *http.Client, err error) {
	if cfg == nil {
		return "", nil, errors.New("kube proxy: no Kubernetes client configuration")
	}
	if target.Namespace == "" || target.Service == "" {
		return "", nil, fmt.Errorf("kube proxy: %s needs a namespace and a service", target.String())
	}
	server, _, err := rest.DefaultServerUrlFor(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("kube proxy: API server address %q: %w", cfg.Host, err)
	}
	service := url.PathEscape(target.Service)
	if target.Port != "" {
		service += ":" + url.PathEscape(target.Port)
	}
	if target.HTTPS {
		service = "https:" + service
	}
	u := url.URL{
		Scheme: server.Scheme,
		Host:   server.Host, // no user info: the URL ends up in error messages
		Path: strings.TrimSuffix(server.Path, "/") + "/api/v1/namespaces/" + url.PathEscape(target.Namespace) +
			"/services/" + service + "/proxy" + strings.TrimSuffix(target.Path, "/"),
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return "", nil, fmt.Errorf("kube proxy: HTTP client for the API server %s: %w", u.Host, err)
	}
	// A client of our own: rest may hand back http.DefaultClient, which the
	// caller must be free to change.
	return u.String(), &http.Client{Transport: hc.Transport, Timeout: hc.Timeout}, nil
}
