package kube

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/watchlist"

	"github.com/mltop/mltop/sources/clean"
)

// callHealth records the outcome of the list and watch calls of one
// informer. The informer's watch error handler alone cannot tell the
// state: client-go retries a refused watch without calling it, and never
// reports a recovery. Seeing every call does both: a failed call marks the
// stream failing (from the first failure on), a successful one clears it.
type callHealth struct {
	now func() time.Time
	// live tracks the calls in flight and hears of each that succeeds
	// (liveness.go).
	live *liveness

	mu      sync.Mutex
	failing bool
	since   time.Time // first failure after the last success
	verb    string    // list or watch; empty when the informer reported it
	err     error
}

// healthState is a copy of callHealth's fields.
type healthState struct {
	failing bool
	since   time.Time
	verb    string
	err     error
}

func (h *callHealth) observe(verb string, err error) {
	if err != nil && errors.Is(err, context.Canceled) {
		return // the source is stopping; that is no failure of the cluster
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil {
		h.failing, h.since, h.verb, h.err = false, time.Time{}, "", nil
		return
	}
	if !h.failing {
		h.failing, h.since = true, h.now()
	}
	h.verb, h.err = verb, err
}

// informerError records what the informer's watch error handler reports. A
// failing call already recorded is kept: it names the verb. What remains is
// the rare failure after a good call (a list that does not decode).
func (h *callHealth) informerError(err error) {
	h.mu.Lock()
	failing := h.failing
	h.mu.Unlock()
	if !failing {
		h.observe("", err)
	}
}

func (h *callHealth) state() healthState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return healthState{failing: h.failing, since: h.since, verb: h.verb, err: h.err}
}

// describeFailure turns a failing stream into the one line the status bar
// shows. cached says whether the cache already holds a first list, so the
// poller keeps showing it.
func describeFailure(resource, namespace string, st healthState, cached bool) error {
	where := "in " + namespace
	if namespace == "" {
		where = "in any namespace"
	}
	verb := st.verb
	if verb == "" {
		verb = "list"
	}
	var err error
	switch {
	case apierrors.IsForbidden(st.err):
		hint := ""
		if namespace == "" {
			hint = "; watch the namespaces you may read with -n NAMESPACE instead of -A"
		}
		err = fmt.Errorf("forbidden: you may not %s %s %s (RBAC)%s", verb, resource, where, hint)
	case apierrors.IsNotFound(st.err) && resource == resourceInferenceServices:
		err = errors.New("the InferenceService CRD (serving.kserve.io/v1beta1) is not installed: is KServe installed in this cluster?")
	case apierrors.IsUnauthorized(st.err):
		err = errors.New("unauthorized: the API server rejected the kubeconfig's credentials; log in again (expired token?)")
	case isAPIStatus(st.err):
		err = fmt.Errorf("API server error since %s while %sing %s %s: %s", clock(st.since), verb, resource, where, cause(st.err))
	default:
		err = fmt.Errorf("API server unreachable since %s: %s", clock(st.since), cause(st.err))
	}
	if cached {
		return fmt.Errorf("%w (showing cached state)", err)
	}
	return err
}

func isAPIStatus(err error) bool {
	var status apierrors.APIStatus
	return errors.As(err, &status)
}

// cause is the error without the request URL client-go puts in front of a
// transport error: the URL carries the whole query of a watch and says less
// than "dial tcp 10.0.0.1:6443: connect: connection refused".
func cause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return clean.Text(err.Error())
}

func clock(t time.Time) string { return t.Format("15:04:05") }

// observeList makes one list call of an informer, tracked and observed.
func observeList[L any](ctx context.Context, h *callHealth, call func(context.Context) (L, error)) (L, error) {
	ctx, c := h.live.begin(ctx)
	defer h.live.finish(c)
	l, err := call(ctx)
	if err == nil {
		h.live.heard(c)
	}
	h.observe("list", err)
	return l, err
}

// watch opens one watch of the informer, tracked and observed; the watch
// returned hears of each event.
func (h *callHealth) watch(ctx context.Context, call func(context.Context) (watch.Interface, error)) (watch.Interface, error) {
	ctx, c := h.live.begin(ctx)
	w, err := call(ctx)
	if err == nil {
		h.live.heard(c) // a recovery drops the other calls, not this answered one
	}
	h.observe("watch", err)
	if err != nil {
		h.live.finish(c)
		return nil, err
	}
	return h.live.followWatch(c, w), nil
}

// ---------------------------------------------------------------- observed clients
//
// The informer factories receive these wrappers, which report every list and
// watch call of one informer to its callHealth. Each wrapper forwards
// IsWatchListSemanticsUnSupported, so client-go still knows a fake client in
// tests cannot stream initial events.

type observedDynamic struct {
	dynamic.Interface
	health *callHealth
}

func (c observedDynamic) Resource(gvr schema.GroupVersionResource) dynamic.NamespaceableResourceInterface {
	return observedNamespaceable{c.Interface.Resource(gvr), c.health}
}

func (c observedDynamic) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(c.Interface)
}

type observedNamespaceable struct {
	dynamic.NamespaceableResourceInterface
	health *callHealth
}

func (r observedNamespaceable) Namespace(ns string) dynamic.ResourceInterface {
	return observedResource{r.NamespaceableResourceInterface.Namespace(ns), r.health}
}

func (r observedNamespaceable) List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return observeList(ctx, r.health, func(ctx context.Context) (*unstructured.UnstructuredList, error) {
		return r.NamespaceableResourceInterface.List(ctx, opts)
	})
}

func (r observedNamespaceable) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return r.health.watch(ctx, func(ctx context.Context) (watch.Interface, error) {
		return r.NamespaceableResourceInterface.Watch(ctx, opts)
	})
}

type observedResource struct {
	dynamic.ResourceInterface
	health *callHealth
}

func (r observedResource) List(ctx context.Context, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return observeList(ctx, r.health, func(ctx context.Context) (*unstructured.UnstructuredList, error) {
		return r.ResourceInterface.List(ctx, opts)
	})
}

func (r observedResource) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return r.health.watch(ctx, func(ctx context.Context) (watch.Interface, error) {
		return r.ResourceInterface.Watch(ctx, opts)
	})
}

type observedTyped struct {
	kubernetes.Interface
	health *callHealth
}

func (c observedTyped) CoreV1() corev1client.CoreV1Interface {
	return observedCoreV1{c.Interface.CoreV1(), c.health}
}

func (c observedTyped) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(c.Interface)
}

type observedCoreV1 struct {
	corev1client.CoreV1Interface
	health *callHealth
}

func (c observedCoreV1) Pods(ns string) corev1client.PodInterface {
	return observedPods{c.CoreV1Interface.Pods(ns), c.health}
}

type observedPods struct {
	corev1client.PodInterface
	health *callHealth
}

func (p observedPods) List(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	return observeList(ctx, p.health, func(ctx context.Context) (*corev1.PodList, error) {
		return p.PodInterface.List(ctx, opts)
	})
}

func (p observedPods) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	return p.health.watch(ctx, func(ctx context.Context) (watch.Interface, error) {
		return p.PodInterface.Watch(ctx, opts)
	})
}
