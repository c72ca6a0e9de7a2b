package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// The fake cluster: a Kubernetes API server as far as mltop's informers and
// service proxy use it, on 127.0.0.1. It speaks the real
// wire format over TLS: List objects with metadata.resourceVersion, chunked watch
// streams of {"type","object"} events that stay open, the streaming list
// (sendInitialEvents ending with the initial-events-end bookmark) that
// client-go >= 1.35 asks for first, Status bodies for errors, and the
// service proxy path forwarding to in-cluster services.

const (
	e2eNamespace = "ml-prod"
	e2eContext   = "e2e"
	// e2eToken is the kubeconfig's bearer token; the fake refuses any other.
	e2eToken = "e2e-token-5f0c"
	// initialEventsEnd marks the bookmark that ends a streaming list.
	initialEventsEnd = "k8s.io/initial-events-end"
)

// inferenceServiceFixtures are the CRD-valid InferenceServices of
// sources/kube/testdata (validated against the published CRD there),
// renamed where the scenario needs it: the canary is fraud-detector's.
func inferenceServiceFixtures(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, f := range []struct{ file, from, to string }{
		{"knative-canary.yaml", "fraud-model", "fraud-detector"},
		{"knative-healthy.yaml", "", ""},
		{"raw-deployment.yaml", "", ""},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "sources", "kube", "testdata", f.file))
		if err != nil {
			t.Fatal(err)
		}
		text := string(raw)
		if f.from != "" {
			text = strings.ReplaceAll(text, f.from, f.to)
		}
		js, err := yaml.YAMLToJSON([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		out = append(out, obj)
	}
	return out
}

// podFixtures are the pods of the three services (two predictor pods each
// for the Knative ones, one for the raw one), one of whose containers was
// OOM-killed at oomAt and restarted, plus a pipeline pod that the informers'
// label selector must leave out.
func podFixtures(t testing.TB, oomAt time.Time) []map[string]any {
	t.Helper()
	pod := func(name, service string) *corev1.Pod {
		p := &corev1.Pod{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: e2eNamespace, UID: types.UID("uid-" + name), ResourceVersion: "100",
				Labels: map[string]string{"app": name},
			},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container", Image: "kserve/sklearnserver:v0.15.0"}}},
			Status: corev1.PodStatus{
				Phase:             corev1.PodRunning,
				Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "kserve-container", Ready: true, RestartCount: 0}},
			},
		}
		if service != "" {
			p.Labels["serving.kserve.io/inferenceservice"] = service
			p.Labels["component"] = "predictor"
		}
		return p
	}
	oom := pod("recommender-predictor-00003-deployment-7c9d-abcde", "recommender")
	oom.Status.ContainerStatuses[0].RestartCount = 1
	oom.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: "OOMKilled", ExitCode: 137,
		StartedAt: metav1.NewTime(oomAt.Add(-3 * time.Hour)), FinishedAt: metav1.NewTime(oomAt),
	}}
	// A pipeline step killed the same way belongs to no InferenceService:
	// the selector keeps it away from the informers.
	step := pod("train-recommender-x7k2p-step-3", "")
	step.Status.Phase = corev1.PodFailed
	step.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(oomAt),
	}}
	pods := []*corev1.Pod{
		pod("fraud-detector-predictor-00001-deployment-5d8f-a1b2c", "fraud-detector"),
		pod("fraud-detector-predictor-00002-deployment-6e9a-d3e4f", "fraud-detector"),
		oom,
		pod("recommender-predictor-00003-deployment-7c9d-fghij", "recommender"),
		pod("churn-xgb-predictor-84b6f-klmno", "churn-xgb"),
		step,
	}
	out := make([]map[string]any, 0, len(pods))
	for _, p := range pods {
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(js, &obj); err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}

// fakeCluster is the API server.
type fakeCluster struct {
	t      testing.TB
	server *faultyServer

	mu       sync.Mutex
	services []map[string]any
	pods     []map[string]any
	rv       int
	// proxies maps "NS/SVC:PORT" to the base URL of the service behind it.
	proxies map[string]string
	// proxied counts requests that came through the service proxy with
	// the kubeconfig's token; unexpected lists paths nothing serves.
	proxied    int
	unexpected []string
}

func startFakeCluster(t testing.TB, services, pods []map[string]any) *fakeCluster {
	t.Helper()
	c := &fakeCluster{t: t, services: services, pods: pods, rv: 1000, proxies: map[string]string{}}
	c.server = startFaultyTLS(t, http.HandlerFunc(c.serve), writeStatus)
	return c
}

// URL is the API server's address.
func (c *fakeCluster) URL() string { return c.server.URL() }

// proxyTo routes the service proxy path of NS/SVC:PORT to base.
func (c *fakeCluster) proxyTo(nsSvcPort, base string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.proxies[nsSvcPort] = base
}

func (c *fakeCluster) proxiedRequests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proxied
}

// kubeconfig writes a kubeconfig whose context e2e points at the fake with
// the bearer token and namespace ml-prod, and returns its path. The API
// server speaks TLS because client-go sends credentials over TLS only.
func (c *fakeCluster) kubeconfig(t testing.TB) string {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e-cluster
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: %s
  context:
    cluster: e2e-cluster
    user: e2e-user
    namespace: %s
- name: elsewhere
  context:
    cluster: e2e-cluster
    user: e2e-user
    namespace: default
current-context: %s
users:
- name: e2e-user
  user:
    token: %s
`, c.URL(), base64.StdEncoding.EncodeToString(c.server.CertificatePEM()), e2eContext, e2eNamespace, e2eContext, e2eToken)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (c *fakeCluster) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+e2eToken {
		writeStatus(w, http.StatusUnauthorized)
		return
	}
	path := r.URL.Path
	const servicesPath = "/apis/serving.kserve.io/v1beta1/namespaces/" + e2eNamespace + "/inferenceservices"
	const podsPath = "/api/v1/namespaces/" + e2eNamespace + "/pods"
	switch {
	case path == servicesPath && r.Method == http.MethodGet:
		c.listOrWatch(w, r, "serving.kserve.io/v1beta1", "InferenceService", func() []map[string]any { return c.services })
	case path == podsPath && r.Method == http.MethodGet:
		c.listOrWatch(w, r, "v1", "Pod", func() []map[string]any { return c.pods })
	case strings.HasPrefix(path, "/api/v1/namespaces/") && strings.Contains(path, "/services/") && strings.Contains(path, "/proxy"):
		c.proxy(w, r)
	default:
		c.mu.Lock()
		c.unexpected = append(c.unexpected, r.Method+" "+r.URL.RequestURI())
		c.mu.Unlock()
		c.t.Logf("fake API server: unexpected request %s %s", r.Method, r.URL.RequestURI())
		writeStatusMessage(w, http.StatusNotFound, "NotFound", "the server could not find the requested resource")
	}
}

// listOrWatch answers a list (a List with the current resourceVersion) or
// a watch (a stream kept open until the request or the server ends).
func (c *fakeCluster) listOrWatch(w http.ResponseWriter, r *http.Request, apiVersion, kind string, objects func() []map[string]any) {
	q := r.URL.Query()
	selector, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		writeStatusMessage(w, http.StatusBadRequest, "BadRequest", "unable to parse requirement: "+err.Error())
		return
	}
	c.mu.Lock()
	var items []map[string]any
	for _, o := range objects() {
		if selector.Matches(labels.Set(labelsOf(o))) {
			items = append(items, withKind(o, apiVersion, kind))
		}
	}
	rv := strconv.Itoa(c.rv)
	c.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if q.Get("watch") != "true" && q.Get("watch") != "1" {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"apiVersion": apiVersion, "kind": kind + "List",
			"metadata": map[string]any{"resourceVersion": rv},
			"items":    nonNilItems(items),
		})
		return
	}

	flusher, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	send := func(typ string, obj map[string]any) bool {
		if err := enc.Encode(map[string]any{"type": typ, "object": obj}); err != nil {
			return false
		}
		flusher.Flush()
		return true
	}
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	if q.Get("sendInitialEvents") == "true" {
		for _, it := range items {
			if !send("ADDED", it) {
				return
			}
		}
		bookmark := map[string]any{
			"apiVersion": apiVersion, "kind": kind,
			"metadata": map[string]any{"resourceVersion": rv, "annotations": map[string]any{initialEventsEnd: "true"}},
		}
		if !send("BOOKMARK", bookmark) {
			return
		}
	}
	// Nothing changes in this cluster: the stream stays open and quiet, as
	// a real watch does, until the client leaves or a fault breaks it.
	c.server.block(r)
}

// proxy forwards /api/v1/namespaces/NS/services/SVC:PORT/proxy/REST to the
// service, as the API server does once it has authenticated the caller
// (whose Authorization header it drops, as kube-apiserver does).
func (c *fakeCluster) proxy(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/")
	ns, rest, _ := strings.Cut(rest, "/services/")
	svc, rest, _ := strings.Cut(rest, "/proxy")
	c.mu.Lock()
	base, ok := c.proxies[ns+"/"+svc]
	if ok {
		c.proxied++
	}
	c.mu.Unlock()
	if !ok {
		writeStatusMessage(w, http.StatusServiceUnavailable, "ServiceUnavailable", fmt.Sprintf("no endpoints available for service %q", svc))
		return
	}
	target, err := url.Parse(base)
	if err != nil {
		writeStatusMessage(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.URL.Path = strings.TrimSuffix(target.Path, "/") + rest
		pr.Out.URL.RawPath = ""
		pr.Out.Header.Del("Authorization")
	}}
	rp.ServeHTTP(w, r)
}

// writeStatus answers with a metav1.Status body, as the API server does.
func writeStatus(w http.ResponseWriter, code int) {
	switch code {
	case http.StatusUnauthorized:
		writeStatusMessage(w, code, "Unauthorized", "Unauthorized")
	case http.StatusForbidden:
		writeStatusMessage(w, code, "Forbidden",
			`inferenceservices.serving.kserve.io is forbidden: User "system:serviceaccount:ml-prod:oncall" cannot watch resource "inferenceservices" in API group "serving.kserve.io" in the namespace "ml-prod"`)
	default:
		writeStatusMessage(w, code, "InternalError", "Internal error occurred: etcdserver: request timed out")
	}
}

func writeStatusMessage(w http.ResponseWriter, code int, reason, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": message, "reason": reason, "code": code,
	})
}

func labelsOf(obj map[string]any) map[string]string {
	meta, _ := obj["metadata"].(map[string]any)
	raw, _ := meta["labels"].(map[string]any)
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		out[k], _ = v.(string)
	}
	return out
}

// withKind is obj with apiVersion and kind set, as list items and watch
// objects carry them.
func withKind(obj map[string]any, apiVersion, kind string) map[string]any {
	out := make(map[string]any, len(obj)+2)
	for k, v := range obj {
		out[k] = v
	}
	out["apiVersion"], out["kind"] = apiVersion, kind
	return out
}

func nonNilItems(items []map[string]any) []map[string]any {
	if items == nil {
		return []map[string]any{}
	}
	return items
}
