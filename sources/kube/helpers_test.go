package kube

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynfake "k8s.io/client-go/dynamic/fake"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/mltop/mltop/sources"
)

// fixtureNames are the valid InferenceService fixtures in testdata.
func fixtureNames() []string {
	return []string{"knative-healthy", "raw-deployment", "knative-canary", "failed-load", "legacy-sklearn"}
}

// loadFixture reads testdata/NAME.yaml into an object decoded the way
// client-go decodes API answers (integers as int64).
func loadFixture(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	return loadYAML(t, filepath.Join("testdata", name+".yaml"))
}

func loadYAML(t testing.TB, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return u
}

// newFakes returns a fake dynamic client that knows the InferenceService
// list kind, holding services, and a fake clientset holding pods.
func newFakes(services []*unstructured.Unstructured, pods ...*corev1.Pod) (*dynfake.FakeDynamicClient, *k8sfake.Clientset) {
	objs := make([]runtime.Object, len(services))
	for i, s := range services {
		objs[i] = s
	}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{InferenceServices(): "InferenceServiceList"}, objs...)
	podObjs := make([]runtime.Object, len(pods))
	for i, p := range pods {
		podObjs[i] = p
	}
	return dyn, k8sfake.NewClientset(podObjs...)
}

// startSource builds and starts a source; the test stops it.
func startSource(t testing.TB, o Options) *Source {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.Start(context.Background())
	t.Cleanup(s.Stop)
	return s
}

// eventually polls cond until it holds, failing the test after a bounded
// wait. Informers deliver in the background, so tests wait for an outcome
// instead of sleeping a guessed time.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last seen: %s", what, last)
}

// fetchOK fetches and fails the test on an error.
func fetchOK(t testing.TB, s *Source) sources.Inventory {
	t.Helper()
	part, err := s.Fetch(context.Background())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if part.Inventory == nil {
		t.Fatal("Fetch returned no inventory")
	}
	return *part.Inventory
}

func findService(inv sources.Inventory, name string) (sources.Service, bool) {
	for _, s := range inv.Services {
		if s.Name == name {
			return s, true
		}
	}
	return sources.Service{}, false
}

// fixedClock is 2026-08-21 12:01:03 UTC.
func fixedClock() time.Time { return time.Date(2026, 8, 21, 12, 1, 3, 0, time.UTC) }

// connectionRefused is the error a Get to a stopped API server gives,
// wrapped in the url.Error client-go returns.
func connectionRefused() error {
	return &url.Error{
		Op:  "Get",
		URL: "https://10.0.0.1:6443/apis/serving.kserve.io/v1beta1/namespaces/ml-prod/inferenceservices?watch=true",
		Err: &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.ParseIP("10.0.0.1"), Port: 6443},
			Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}},
	}
}

// breakableWatch forwards a watch until the test breaks it, as a dropped
// connection to the API server ends a watch.
type breakableWatch struct {
	inner watch.Interface
	out   chan watch.Event
	stop  chan struct{}
	once  sync.Once
}

func newBreakableWatch(inner watch.Interface) *breakableWatch {
	w := &breakableWatch{inner: inner, out: make(chan watch.Event), stop: make(chan struct{})}
	go func() {
		defer close(w.out)
		defer inner.Stop()
		for {
			select {
			case ev, ok := <-inner.ResultChan():
				if !ok {
					return
				}
				select {
				case w.out <- ev:
				case <-w.stop:
					return
				}
			case <-w.stop:
				return
			}
		}
	}()
	return w
}

func (w *breakableWatch) ResultChan() <-chan watch.Event { return w.out }
func (w *breakableWatch) Stop()                          { w.once.Do(func() { close(w.stop) }) }

// predictorPod is a running predictor pod of service in namespace.
func predictorPod(namespace, name, service string, ready bool, restarts int32) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{ServiceLabel: service, ComponentLabel: "predictor", "app": "isvc." + service + "-predictor"},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container", Image: "kserve/sklearnserver:v0.15.0"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "kserve-container", RestartCount: restarts}},
		},
	}
}

// oomKilledAt marks the pod's first container as OOM-killed at t and restarted.
func oomKilledAt(p *corev1.Pod, t time.Time) *corev1.Pod {
	p.Status.ContainerStatuses[0].LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(t), StartedAt: metav1.NewTime(t.Add(-time.Hour)),
	}}
	return p
}
