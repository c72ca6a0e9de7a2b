package kube

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// InClusterContext is the context name shown when mltop runs in a pod and
// uses its service account.
const InClusterContext = "in-cluster"

// ConnectOptions choose what to watch once connected.
type ConnectOptions struct {
	// Namespaces to watch; empty: the namespace of -n, else the context's
	// namespace, else "default", as kubectl does.
	Namespaces []string
	// AllNamespaces watches every namespace (needs cluster-wide list rights).
	AllNamespaces bool
}

// Clients are the connection to one cluster, built without any request to it.
type Clients struct {
	Config  *rest.Config
	Dynamic dynamic.Interface
	Typed   kubernetes.Interface
	// Context is the kubeconfig context in use, or InClusterContext.
	Context string
	// Namespaces are the namespaces to watch; nil with AllNamespaces.
	Namespaces    []string
	AllNamespaces bool
}

// Connect builds the clients from kubectl's flags (genericclioptions
// ConfigFlags is a RESTClientGetter): --kubeconfig or KUBECONFIG, --context,
// -n, and the credentials and impersonation flags. The context must already
// be set on the getter; Connect only checks that it exists.
func Connect(getter genericclioptions.RESTClientGetter, o ConnectOptions) (*Clients, error) {
	if getter == nil {
		return nil, errors.New("kube: no kubeconfig flags given")
	}
	loader := getter.ToRawKubeConfigLoader()
	raw, err := loader.RawConfig()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("kubeconfig: %w: check --kubeconfig and KUBECONFIG", err)
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	contextName := requestedContext(getter)
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	emptyKubeconfig := len(raw.Contexts) == 0 && len(raw.Clusters) == 0
	if !emptyKubeconfig && contextName != "" && raw.Contexts[contextName] == nil {
		return nil, unknownContext(contextName, raw)
	}
	if !emptyKubeconfig && contextName == "" && !givesServer(getter) {
		// client-go would fall back to http://localhost:8080 and fail later
		// with a refused connection that explains nothing.
		return nil, fmt.Errorf("the kubeconfig has no current context: choose one with --context (%s)", contextNames(raw))
	}
	if emptyKubeconfig {
		if !givesServer(getter) && !inCluster() {
			return nil, errors.New("no kubeconfig found: set --kubeconfig or KUBECONFIG, or run inside a cluster")
		}
		if contextName == "" {
			contextName = InClusterContext
		}
	}

	cfg, err := getter.ToRESTConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errors.New("no kubeconfig found: set --kubeconfig or KUBECONFIG, or run inside a cluster")
		}
		return nil, fmt.Errorf("kubeconfig context %q: %w", contextName, err)
	}
	c := &Clients{Config: cfg, Context: contextName, AllNamespaces: o.AllNamespaces}
	switch {
	case o.AllNamespaces:
		if len(o.Namespaces) > 0 {
			return nil, fmt.Errorf("kube: watch either all namespaces or %s, not both", strings.Join(o.Namespaces, ", "))
		}
	case len(o.Namespaces) > 0:
		c.Namespaces = append([]string(nil), o.Namespaces...)
	default:
		ns, _, err := loader.Namespace()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig context %q: namespace: %w", contextName, err)
		}
		if ns == "" {
			ns = "default"
		}
		c.Namespaces = []string{ns}
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("kube: dynamic client for context %q: %w", contextName, err)
	}
	if c.Typed, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("kube: client for context %q: %w", contextName, err)
	}
	return c, nil
}

// SourceOptions are the options of a Source watching what c was connected for.
func (c *Clients) SourceOptions() Options {
	return Options{
		Dynamic:       c.Dynamic,
		Typed:         c.Typed,
		Context:       c.Context,
		Namespaces:    append([]string(nil), c.Namespaces...),
		AllNamespaces: c.AllNamespaces,
	}
}

// requestedContext is the --context flag's value, when the getter is
// kubectl's flags; other getters resolve the context themselves.
func requestedContext(getter genericclioptions.RESTClientGetter) string {
	if f, ok := getter.(*genericclioptions.ConfigFlags); ok && f.Context != nil {
		return *f.Context
	}
	return ""
}

// givesServer reports whether --server names the API server, which works
// without a kubeconfig file.
func givesServer(getter genericclioptions.RESTClientGetter) bool {
	f, ok := getter.(*genericclioptions.ConfigFlags)
	return ok && f.APIServer != nil && *f.APIServer != ""
}

// inCluster reports whether a service account is mounted and the API
// server's address is in the environment, as in a pod.
func inCluster() bool {
	_, err := rest.InClusterConfig()
	return err == nil
}

func unknownContext(name string, raw clientcmdapi.Config) error {
	return fmt.Errorf("context %q is not in the kubeconfig; available contexts: %s", name, contextNames(raw))
}

// contextNames lists the kubeconfig's contexts, sorted.
func contextNames(raw clientcmdapi.Config) string {
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "it defines none"
	}
	return strings.Join(names, ", ")
}
