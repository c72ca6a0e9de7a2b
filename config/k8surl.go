package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// K8sScheme starts a URL that names an in-cluster service reached through
// the Kubernetes API server's service proxy, so Prometheus, MLflow and KFP
// are reachable from a laptop or bastion that only has a kubeconfig.
const K8sScheme = "k8s://"

// K8sService is a parsed k8s://NAMESPACE/SERVICE:PORT[/PATH] URL.
type K8sService struct {
	Namespace string
	Service   string
	Port      string // a number (9090) or a named port (http-web)
	Path      string // "" or a path starting with "/", e.g. /prometheus
}

// IsK8sURL reports whether raw uses the k8s:// form.
func IsK8sURL(raw string) bool { return strings.HasPrefix(raw, K8sScheme) }

// ParseK8sURL parses k8s://NAMESPACE/SERVICE:PORT[/PATH]. Its errors are
// complete sentences that show the expected form.
func ParseK8sURL(raw string) (K8sService, error) {
	const form = "write k8s://NAMESPACE/SERVICE:PORT, e.g. k8s://monitoring/prometheus-operated:9090"
	rest, ok := strings.CutPrefix(raw, K8sScheme)
	if !ok {
		return K8sService{}, fmt.Errorf("%q does not start with %s; %s", raw, K8sScheme, form)
	}
	namespace, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return K8sService{}, fmt.Errorf("%q has no service after the namespace; %s", raw, form)
	}
	servicePort, path, hasPath := strings.Cut(rest, "/")
	service, port, ok := strings.Cut(servicePort, ":")
	if !ok || port == "" {
		return K8sService{}, fmt.Errorf("%q has no port after the service name; %s", raw, form)
	}
	var problems []string
	if !isDNSLabel(namespace) {
		problems = append(problems, fmt.Sprintf("namespace %q is not a valid namespace name", namespace))
	}
	if !isDNS1035Label(service) {
		problems = append(problems, fmt.Sprintf("service %q is not a valid service name", service))
	}
	if !isPort(port) {
		problems = append(problems, fmt.Sprintf("port %q is neither a number from 1 to 65535 nor a port name", port))
	}
	if len(problems) > 0 {
		return K8sService{}, errors.New(strings.Join(problems, "; ") + " in " + strconv.Quote(raw) + "; " + form)
	}
	s := K8sService{Namespace: namespace, Service: service, Port: port}
	if hasPath {
		s.Path = "/" + path
	}
	return s, nil
}

// ProxyPath is the API server path that forwards to the service:
// /api/v1/namespaces/NS/services/SVC:PORT/proxy followed by Path.
func (s K8sService) ProxyPath() string {
	return "/api/v1/namespaces/" + s.Namespace + "/services/" + s.Service + ":" + s.Port + "/proxy" + s.Path
}

// String gives back the k8s:// form.
func (s K8sService) String() string {
	return K8sScheme + s.Namespace + "/" + s.Service + ":" + s.Port + s.Path
}

// isDNSLabel checks an RFC 1123 label, the rule for namespace names: at most
// 63 lowercase letters, digits and '-', starting and ending with a letter or
// digit.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// isDNS1035Label checks an RFC 1035 label, the rule for service names: an
// RFC 1123 label that starts with a letter.
func isDNS1035Label(s string) bool {
	return isDNSLabel(s) && s[0] >= 'a' && s[0] <= 'z'
}

// isPort accepts a port number or a Kubernetes port name (IANA_SVC_NAME: at
// most 15 characters, at least one letter, no leading, trailing or double '-').
func isPort(s string) bool {
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 1 && n <= 65535
	}
	if len(s) > 15 || !isDNSLabel(s) || strings.Contains(s, "--") {
		return false
	}
	return strings.ContainsFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' })
}
