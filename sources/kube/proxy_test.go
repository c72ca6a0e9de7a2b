package kube

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/mltop/mltop/config"
)

// fakeAPIServer stands in for the API server's service proxy: it answers
// only requests that carry the kubeconfig's bearer token, and echoes the
// path and query it received.
func fakeAPIServer(t *testing.T, token string) (*httptest.Server, *rest.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"kind":"Status","status":"Failure","reason":"Unauthorized","code":401}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return srv, &rest.Config{Host: srv.URL, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func get(t *testing.T, client *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServiceProxy(t *testing.T) {
	const token = "s3cr3t-token"
	srv, cfg := fakeAPIServer(t, token)
	host := strings.TrimPrefix(srv.URL, "https://")
	cases := []struct {
		name     string
		host     string // rest.Config.Host
		target   ProxyTarget
		wantBase string
	}{
		{"prometheus", srv.URL,
			ProxyTarget{K8sService: config.K8sService{Namespace: "monitoring", Service: "prometheus-operated", Port: "9090"}},
			srv.URL + "/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy"},
		{"named port and path", srv.URL,
			ProxyTarget{K8sService: config.K8sService{Namespace: "kubeflow", Service: "ml-pipeline", Port: "http", Path: "/pipeline"}},
			srv.URL + "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy/pipeline"},
		{"TLS to the service", srv.URL,
			ProxyTarget{K8sService: config.K8sService{Namespace: "mlflow", Service: "mlflow", Port: "5000"}, HTTPS: true},
			srv.URL + "/api/v1/namespaces/mlflow/services/https:mlflow:5000/proxy"},
		// Rancher and other front proxies relocate the API under a prefix.
		{"server path prefix", srv.URL + "/k8s/clusters/c-m-4x2/",
			ProxyTarget{K8sService: config.K8sService{Namespace: "monitoring", Service: "prometheus", Port: "9090"}},
			srv.URL + "/k8s/clusters/c-m-4x2/api/v1/namespaces/monitoring/services/prometheus:9090/proxy"},
		// A kubeconfig server without a scheme is HTTPS once TLS is configured.
		{"host:port only", host,
			ProxyTarget{K8sService: config.K8sService{Namespace: "monitoring", Service: "prometheus", Port: "9090"}},
			srv.URL + "/api/v1/namespaces/monitoring/services/prometheus:9090/proxy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := rest.CopyConfig(cfg)
			c.Host = tc.host
			base, client, err := ServiceProxy(c, tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if base != tc.wantBase {
				t.Errorf("base\n got %s\nwant %s", base, tc.wantBase)
			}
			if strings.Contains(base, token) {
				t.Error("the token is in the URL")
			}
			// An adapter appends its API path and query to the base.
			status, body := get(t, client, base+"/api/v1/query?query=up%7Bjob%3D%22x%22%7D")
			wantPath := strings.TrimPrefix(tc.wantBase, srv.URL) + "/api/v1/query?query=up%7Bjob%3D%22x%22%7D"
			if status != http.StatusOK || body != wantPath {
				t.Errorf("the API server saw %d %q, want %q", status, body, wantPath)
			}
		})
	}
}

// Without the kubeconfig's credentials the proxy refuses: the client
// really carries them.
func TestServiceProxyNeedsTheCredentials(t *testing.T) {
	_, cfg := fakeAPIServer(t, "right")
	wrong := rest.CopyConfig(cfg)
	wrong.BearerToken = "wrong"
	base, client, err := ServiceProxy(wrong, ProxyTarget{K8sService: config.K8sService{Namespace: "monitoring", Service: "prometheus", Port: "9090"}})
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, client, base+"/api/v1/query"); status != http.StatusUnauthorized {
		t.Errorf("status %d with a wrong token", status)
	}
}

func TestServiceProxyErrors(t *testing.T) {
	if _, _, err := ServiceProxy(nil, ProxyTarget{}); err == nil {
		t.Error("no config accepted")
	}
	_, _, err := ServiceProxy(&rest.Config{Host: "https://10.0.0.1:6443"}, ProxyTarget{K8sService: config.K8sService{Service: "prometheus", Port: "9090"}})
	if err == nil || !strings.Contains(err.Error(), "needs a namespace and a service") {
		t.Errorf("no namespace: %v", err)
	}
}
