package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
)

const testKubeconfig = `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://dev.example.com:6443
- name: prod-cluster
  cluster:
    server: https://prod.example.com/k8s/clusters/c-1
contexts:
- name: dev
  context: {cluster: dev-cluster, user: alice, namespace: ml-dev}
- name: prod-eu
  context: {cluster: prod-cluster, user: alice, namespace: ml-prod}
- name: bare
  context: {cluster: dev-cluster, user: alice}
users:
- name: alice
  user: {token: alice-token}
`

// kubectlFlags are kubectl's flags as a command line would set them.
func kubectlFlags(t *testing.T, kubeconfig, context, namespace string) *genericclioptions.ConfigFlags {
	t.Helper()
	f := genericclioptions.NewConfigFlags(false)
	*f.KubeConfig = kubeconfig
	*f.Context = context
	*f.Namespace = namespace
	return f
}

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConnect(t *testing.T) {
	path := writeKubeconfig(t)
	cases := []struct {
		name, context, namespace string
		o                        ConnectOptions
		wantContext, wantHost    string
		wantNamespaces           []string
	}{
		{"current context", "", "", ConnectOptions{}, "dev", "https://dev.example.com:6443", []string{"ml-dev"}},
		{"--context", "prod-eu", "", ConnectOptions{}, "prod-eu", "https://prod.example.com/k8s/clusters/c-1", []string{"ml-prod"}},
		{"-n wins over the context", "prod-eu", "ml-canary", ConnectOptions{}, "prod-eu", "https://prod.example.com/k8s/clusters/c-1", []string{"ml-canary"}},
		{"configured namespaces", "", "", ConnectOptions{Namespaces: []string{"a", "b"}}, "dev", "https://dev.example.com:6443", []string{"a", "b"}},
		{"context without namespace", "bare", "", ConnectOptions{}, "bare", "https://dev.example.com:6443", []string{"default"}},
		{"all namespaces", "", "", ConnectOptions{AllNamespaces: true}, "dev", "https://dev.example.com:6443", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Connect(kubectlFlags(t, path, tc.context, tc.namespace), tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if c.Context != tc.wantContext || c.Config.Host != tc.wantHost || !reflect.DeepEqual(c.Namespaces, tc.wantNamespaces) {
				t.Errorf("context %q host %q namespaces %v", c.Context, c.Config.Host, c.Namespaces)
			}
			if c.Config.BearerToken != "alice-token" || c.Dynamic == nil || c.Typed == nil {
				t.Error("credentials or clients missing")
			}
			o := c.SourceOptions()
			if o.Context != tc.wantContext || o.AllNamespaces != tc.o.AllNamespaces || !reflect.DeepEqual(o.Namespaces, tc.wantNamespaces) {
				t.Errorf("source options %+v", o)
			}
			if _, err := New(o); err != nil {
				t.Errorf("the options do not make a source: %v", err)
			}
		})
	}
}

func TestConnectErrors(t *testing.T) {
	path := writeKubeconfig(t)
	_, err := Connect(kubectlFlags(t, path, "prod-us", ""), ConnectOptions{})
	if err == nil || err.Error() != `context "prod-us" is not in the kubeconfig; available contexts: bare, dev, prod-eu` {
		t.Errorf("unknown context: %v", err)
	}

	noCurrent := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(noCurrent, []byte(strings.Replace(testKubeconfig, "current-context: dev\n", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Connect(kubectlFlags(t, noCurrent, "", ""), ConnectOptions{})
	if err == nil || err.Error() != "the kubeconfig has no current context: choose one with --context (bare, dev, prod-eu)" {
		t.Errorf("no current context: %v", err)
	}

	_, err = Connect(kubectlFlags(t, path, "", ""), ConnectOptions{Namespaces: []string{"x"}, AllNamespaces: true})
	if err == nil || !strings.Contains(err.Error(), "either all namespaces or x") {
		t.Errorf("both -A and namespaces: %v", err)
	}

	// No kubeconfig anywhere and not in a pod.
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "absent"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	_, err = Connect(kubectlFlags(t, "", "", ""), ConnectOptions{})
	if err == nil || err.Error() != "no kubeconfig found: set --kubeconfig or KUBECONFIG, or run inside a cluster" {
		t.Errorf("no kubeconfig: %v", err)
	}

	// --server alone is enough to reach a cluster.
	flags := kubectlFlags(t, "", "", "ml-prod")
	*flags.APIServer = "https://10.0.0.1:6443"
	c, err := Connect(flags, ConnectOptions{})
	if err != nil || c.Config.Host != "https://10.0.0.1:6443" || c.Namespaces[0] != "ml-prod" {
		t.Errorf("--server without kubeconfig: %v %+v", err, c)
	}

	// An explicit --kubeconfig that does not exist is named.
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	_, err = Connect(kubectlFlags(t, missing, "", ""), ConnectOptions{})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing --kubeconfig: %v", err)
	}
}
