package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mltop/mltop/sources"
)

func TestNewValidatesOptions(t *testing.T) {
	dyn, typed := newFakes(nil)
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"no clients", Options{Namespaces: []string{"ml-prod"}}, "dynamic and the typed client"},
		{"no namespace", Options{Dynamic: dyn, Typed: typed}, "no namespace to watch"},
		{"empty namespace", Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod", " "}}, "empty namespace"},
		{"both", Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, AllNamespaces: true}, "either all namespaces or ml-prod"},
	}
	for _, tc := range cases {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	s, err := New(Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod", "ml-prod", "ml-staging"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.streams) != 4 {
		t.Errorf("a repeated namespace is watched twice: %d informers", len(s.streams))
	}
	if _, err := s.Fetch(context.Background()); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Fetch before Start: %v", err)
	}
	if len(dyn.Actions())+len(typed.Actions()) != 0 {
		t.Error("New or an unstarted Fetch called the API server")
	}
}

// Create, update and delete reach Fetch through the watch, with pods.
func TestSourceFollowsTheCluster(t *testing.T) {
	now := fixedClock()
	pods := []*corev1.Pod{
		predictorPod("ml-prod", "fraud-model-predictor-00001-deployment-1", "fraud-model", true, 0),
		oomKilledAt(predictorPod("ml-prod", "fraud-model-predictor-00002-deployment-1", "fraud-model", true, 1), now.Add(-10*time.Minute)),
		predictorPod("ml-prod", "churn-xgb-predictor-1", "churn-xgb", false, 3),
	}
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "raw-deployment")}, pods...)
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Context: "prod-eu", Namespaces: []string{"ml-prod"},
		Now: func() time.Time { return now }, SyncWait: 10 * time.Second})

	inv := fetchOK(t, s)
	if inv.Context != "prod-eu" || len(inv.Namespaces) != 1 || inv.Namespaces[0] != "ml-prod" {
		t.Errorf("context %q namespaces %v", inv.Context, inv.Namespaces)
	}
	if len(inv.Services) != 2 || inv.Services[0].Name != "churn-xgb" || inv.Services[1].Name != "fraud-model" {
		t.Fatalf("services not sorted or missing: %+v", inv.Services)
	}
	fraud, churn := inv.Services[1], inv.Services[0]
	if fraud.PodsReady != 2 || fraud.PodsTotal != 2 || fraud.Restarts != 1 || fraud.CanaryPercent != 20 || !fraud.InCanary() {
		t.Errorf("fraud-model: %+v", fraud)
	}
	if churn.PodsReady != 0 || churn.PodsTotal != 1 || churn.Restarts != 3 {
		t.Errorf("churn-xgb pods %d/%d restarts %d", churn.PodsReady, churn.PodsTotal, churn.Restarts)
	}
	wantKill := sources.OOMKill{Namespace: "ml-prod", Pod: "fraud-model-predictor-00002-deployment-1",
		Container: "kserve-container", Service: "fraud-model", At: now.Add(-10 * time.Minute)}
	if len(inv.OOMKills) != 1 || inv.OOMKills[0] != wantKill {
		t.Errorf("OOM kills %+v", inv.OOMKills)
	}
	waitWatching(t, 1, &dyn.Fake, &typed.Fake)

	isvcs := dyn.Resource(InferenceServices()).Namespace("ml-prod")
	ctx := context.Background()

	// The operator moves the canary to 50 %.
	obj, err := isvcs.Get(ctx, "fraud-model", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedField(obj.Object, int64(50), "spec", "predictor", "canaryTrafficPercent")
	obj.SetResourceVersion("884300")
	if _, err := isvcs.Update(ctx, obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the canary at 50 %", func() (bool, string) {
		svc, _ := findService(fetchOK(t, s), "fraud-model")
		return svc.CanaryPercent == 50 && svc.ResourceVersion == "884300", fmt.Sprintf("%d%% rv %s", svc.CanaryPercent, svc.ResourceVersion)
	})

	// A new service appears, an old one is deleted.
	if _, err := isvcs.Create(ctx, loadFixture(t, "failed-load"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := isvcs.Delete(ctx, "churn-xgb", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "sentiment in and churn-xgb out", func() (bool, string) {
		inv := fetchOK(t, s)
		_, hasNew := findService(inv, "sentiment")
		_, hasOld := findService(inv, "churn-xgb")
		return hasNew && !hasOld, fmt.Sprintf("%d services", len(inv.Services))
	})

	// A pod of the new service reports its readiness.
	if _, err := typed.CoreV1().Pods("ml-prod").Create(ctx, predictorPod("ml-prod", "sentiment-predictor-00001-deployment-1", "sentiment", false, 6), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the sentiment pod", func() (bool, string) {
		svc, _ := findService(fetchOK(t, s), "sentiment")
		return svc.PodsTotal == 1 && svc.Restarts == 6, fmt.Sprintf("%d pods %d restarts", svc.PodsTotal, svc.Restarts)
	})
}

// waitWatching waits until both fakes have opened a watch per namespace, so
// a change made by the test after it cannot fall between list and watch.
// The fakes record a watch under the same lock that registers it.
func waitWatching(t *testing.T, namespaces int, fakes ...*k8stesting.Fake) {
	t.Helper()
	eventually(t, "every watch to open", func() (bool, string) {
		for _, f := range fakes {
			n := 0
			for _, a := range f.Actions() {
				if a.GetVerb() == "watch" {
					n++
				}
			}
			if n < namespaces {
				return false, fmt.Sprintf("%d watches", n)
			}
		}
		return true, ""
	})
}

// Watching one namespace makes only calls scoped to it: a user allowed to
// list there, and nowhere else, must be served (k9s #42, #2201).
func TestOnlyNamespacedCallsForOneNamespace(t *testing.T) {
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "legacy-sklearn")},
		predictorPod("ml-prod", "fraud-model-predictor-1", "fraud-model", true, 0))
	var clusterCalls atomic.Int32
	// The doctor's version probe is the exception, best effort and never an
	// error: GET /version, which every user may read, and the KServe
	// controller's Deployment, which a refusal leaves unknown.
	doctorProbe := func(a k8stesting.Action) bool {
		return a.GetVerb() == "get" && (a.GetResource().Resource == "version" ||
			a.GetResource().Resource == "deployments" && a.GetNamespace() == DefaultKServeNamespace)
	}
	denyClusterScope := func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetNamespace() == "" && !doctorProbe(action) {
			clusterCalls.Add(1)
			gr := action.GetResource().GroupResource()
			return true, nil, apierrors.NewForbidden(gr, "", errors.New("cluster-scope list is not allowed"))
		}
		return false, nil, nil
	}
	denyClusterWatch := func(action k8stesting.Action) (bool, watch.Interface, error) {
		if action.GetNamespace() == "" {
			clusterCalls.Add(1)
			return true, nil, apierrors.NewForbidden(action.GetResource().GroupResource(), "", errors.New("no"))
		}
		return false, nil, nil
	}
	for _, f := range []*k8stesting.Fake{&dyn.Fake, &typed.Fake} {
		f.PrependReactor("*", "*", denyClusterScope)
		f.PrependWatchReactor("*", denyClusterWatch)
	}
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, SyncWait: 10 * time.Second})
	inv := fetchOK(t, s)
	if len(inv.Services) != 1 || inv.Services[0].Name != "fraud-model" || inv.Services[0].PodsTotal != 1 {
		t.Errorf("services %+v", inv.Services)
	}
	waitWatching(t, 1, &dyn.Fake, &typed.Fake)
	if n := clusterCalls.Load(); n != 0 {
		t.Errorf("%d cluster-scope calls", n)
	}
	for _, a := range append(dyn.Actions(), typed.Actions()...) {
		if a.GetNamespace() != "ml-prod" && !doctorProbe(a) {
			t.Errorf("%s %s in namespace %q", a.GetVerb(), a.GetResource().Resource, a.GetNamespace())
		}
	}

	// The same reactors do catch cluster-scope calls: with -A the user
	// above is refused, and told how to get served.
	dynAll, typedAll := newFakes(nil)
	dynAll.PrependReactor("*", "*", denyClusterScope)
	typedAll.PrependReactor("*", "*", denyClusterScope)
	all := startSource(t, Options{Dynamic: dynAll, Typed: typedAll, AllNamespaces: true, SyncWait: 10 * time.Second})
	_, err := all.Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "forbidden: you may not list inferenceservices in any namespace (RBAC); watch the namespaces you may read with -n") {
		t.Errorf("all namespaces, forbidden: %v", err)
	}
}

func TestAllNamespaces(t *testing.T) {
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "legacy-sklearn")})
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, AllNamespaces: true, SyncWait: 10 * time.Second})
	inv := fetchOK(t, s)
	if len(inv.Services) != 2 || inv.Services[0].Namespace != "ml-prod" || inv.Services[1].Namespace != "ml-staging" {
		t.Errorf("services %+v", inv.Services)
	}
	if inv.Namespaces != nil {
		t.Errorf("namespaces %v, want none (all)", inv.Namespaces)
	}
}

func TestSeveralNamespaces(t *testing.T) {
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "legacy-sklearn")},
		predictorPod("ml-staging", "sklearn-iris-predictor-default-00001-deployment-1", "sklearn-iris", true, 0))
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-staging", "ml-prod"}, SyncWait: 10 * time.Second})
	inv := fetchOK(t, s)
	if len(inv.Services) != 2 || inv.Services[0].Name != "fraud-model" || inv.Services[1].PodsTotal != 1 {
		t.Errorf("services %+v", inv.Services)
	}
}

// failSwitch makes list and watch of InferenceServices fail with a refused
// connection while it is on, and lets the test break the open watch, as
// when the API server goes away.
type failSwitch struct {
	on      atomic.Bool
	mu      sync.Mutex
	watches []*breakableWatch
}

func (f *failSwitch) install(dyn interface {
	PrependReactor(verb, resource string, fn k8stesting.ReactionFunc)
	PrependWatchReactor(resource string, fn k8stesting.WatchReactionFunc)
}, tracker k8stesting.ObjectTracker) {
	dyn.PrependReactor("list", resourceInferenceServices, func(k8stesting.Action) (bool, runtime.Object, error) {
		if f.on.Load() {
			return true, nil, connectionRefused()
		}
		return false, nil, nil
	})
	dyn.PrependWatchReactor(resourceInferenceServices, func(a k8stesting.Action) (bool, watch.Interface, error) {
		if f.on.Load() {
			return true, nil, connectionRefused()
		}
		inner, err := tracker.Watch(a.GetResource(), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		w := newBreakableWatch(inner)
		f.mu.Lock()
		f.watches = append(f.watches, w)
		f.mu.Unlock()
		return true, w, nil
	})
}

// cut turns failures on and drops every open watch.
func (f *failSwitch) cut() {
	f.on.Store(true)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.watches {
		w.Stop()
	}
	f.watches = nil
}

// A lost API server turns Fetch into an error that says since when and
// that the screen shows the cache; once the server is back, Fetch succeeds
// again by itself and shows what changed meanwhile.
func TestWatchFailureAndRecovery(t *testing.T) {
	t.Parallel() // waits on the informers' backoff, not the CPU
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	var sw failSwitch
	sw.install(dyn, dyn.Tracker())
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, Now: fixedClock, SyncWait: 10 * time.Second})
	fetchOK(t, s)
	waitWatching(t, 1, &dyn.Fake, &typed.Fake)

	sw.cut()
	const want = "API server unreachable since 12:01:03: dial tcp 10.0.0.1:6443: connect: connection refused (showing cached state)"
	eventually(t, "Fetch to report the lost API server", func() (bool, string) {
		_, err := s.Fetch(context.Background())
		return err != nil && err.Error() == want, fmt.Sprint(err)
	})

	// While the server is away, a change happens that the cache cannot see.
	if err := dyn.Tracker().Add(loadFixture(t, "failed-load")); err != nil {
		t.Fatal(err)
	}
	sw.on.Store(false)
	eventually(t, "Fetch to recover and relist", func() (bool, string) {
		part, err := s.Fetch(context.Background())
		if err != nil {
			return false, err.Error()
		}
		_, ok := findService(*part.Inventory, "sentiment")
		return ok, fmt.Sprintf("%d services", len(part.Inventory.Services))
	})
}

func TestListErrorsAreExplained(t *testing.T) {
	cases := []struct {
		name     string
		resource string
		err      error
		want     string
	}{
		{"forbidden", resourceInferenceServices,
			apierrors.NewForbidden(schema.GroupResource{Group: "serving.kserve.io", Resource: "inferenceservices"}, "",
				errors.New(`User "oncall" cannot list resource "inferenceservices" in API group "serving.kserve.io" in the namespace "ml-prod"`)),
			"forbidden: you may not list inferenceservices in ml-prod (RBAC)"},
		{"no CRD", resourceInferenceServices,
			apierrors.NewNotFound(schema.GroupResource{Group: "serving.kserve.io", Resource: "inferenceservices"}, ""),
			"the InferenceService CRD (serving.kserve.io/v1beta1) is not installed: is KServe installed in this cluster?"},
		{"pods forbidden", "pods",
			apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no")),
			"forbidden: you may not list pods in ml-prod (RBAC)"},
		{"expired credentials", resourceInferenceServices,
			apierrors.NewUnauthorized("Unauthorized"),
			"unauthorized: the API server rejected the kubeconfig's credentials; log in again (expired token?)"},
		{"server error", resourceInferenceServices,
			apierrors.NewInternalError(errors.New("etcdserver: request timed out")),
			"API server error since 12:01:03 while listing inferenceservices in ml-prod: Internal error occurred: etcdserver: request timed out"},
		{"unreachable", "pods", connectionRefused(),
			"API server unreachable since 12:01:03: dial tcp 10.0.0.1:6443: connect: connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
			var fake *k8stesting.Fake = &dyn.Fake
			if tc.resource == "pods" {
				fake = &typed.Fake
			}
			fake.PrependReactor("list", tc.resource, func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, Now: fixedClock, SyncWait: 10 * time.Second})
			_, err := s.Fetch(context.Background())
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// Until the first list arrives, Fetch says what it waits for, after a
// bounded wait; then it succeeds.
func TestWaitingForTheFirstList(t *testing.T) {
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	dyn.PrependReactor("list", resourceInferenceServices, func(k8stesting.Action) (bool, runtime.Object, error) {
		<-release
		return false, nil, nil
	})
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, SyncWait: 30 * time.Millisecond})
	t.Cleanup(unblock) // runs before Stop: a blocked list would keep its informer running

	_, err := s.Fetch(context.Background())
	if err == nil || err.Error() != "waiting for the first list of inferenceservices in ml-prod from the API server" {
		t.Errorf("before the first list: %v", err)
	}
	unblock()
	eventually(t, "the first list", func() (bool, string) {
		part, err := s.Fetch(context.Background())
		return err == nil && len(part.Inventory.Services) == 1, fmt.Sprint(err)
	})
}

// BenchmarkFetch500 is a Fetch over 500 InferenceServices and 1,000 pods
// held by the informer caches.
func BenchmarkFetch500(b *testing.B) {
	base := loadFixture(b, "knative-canary")
	var services []*unstructured.Unstructured
	var pods []*corev1.Pod
	for i := range 500 {
		u := base.DeepCopy()
		name := fmt.Sprintf("model-%03d", i)
		u.SetName(name)
		services = append(services, u)
		for j := range 2 {
			pods = append(pods, predictorPod("ml-prod", fmt.Sprintf("%s-predictor-%d", name, j), name, j == 0, int32(j)))
		}
	}
	dyn, typed := newFakes(services, pods...)
	s := startSource(b, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, SyncWait: 30 * time.Second})
	if inv := fetchOK(b, s); len(inv.Services) != 500 {
		b.Fatalf("%d services", len(inv.Services))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Fetch(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
