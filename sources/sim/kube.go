package sim

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mltop/mltop/sources/kube"
)

// DemoUser is who the demo cluster says you are (SelfSubjectReview).
const DemoUser = "demo-user"

// KubeOptions tune the demo cluster.
type KubeOptions struct {
	// User is the name SelfSubjectReview answers; empty: DemoUser.
	User string
	// DenyAccess makes every SelfSubjectAccessReview answer "not allowed",
	// to show how an action without RBAC rights is refused. SetAccess
	// changes it later.
	DenyAccess bool
	// AdvanceOnWrite is how far an applied change moves a stopped
	// simulated clock (Speed 0). On a stopped clock nothing happens after
	// a patch until someone advances time; a one-shot command has no one
	// to do that, so the cluster lets the change take effect the way a
	// controller and a few seconds of traffic would. A running clock is
	// never moved.
	AdvanceOnWrite time.Duration
}

// KubeCluster is the simulated platform seen through client-go: a fake
// dynamic client holding its InferenceServices and a fake clientset holding
// their pods, answering access reviews and taking events. Objects are
// generated from the platform's state before every read, and merge or JSON
// patches of an InferenceService change the platform (canaryTrafficPercent,
// minReplicas, storageUri), so actions run through the same client code as
// against a real cluster and the demo's panes show their effect.
//
// Build one per platform: annotations written by clients (pin's record of
// the previous minReplicas) and generation counts live here, not in the
// platform.
type KubeCluster struct {
	p     *Platform
	opts  KubeOptions
	dyn   *dynfake.FakeDynamicClient
	typed *k8sfake.Clientset
	allow atomic.Bool
	// events counts the events created, to name them; eventKey is the
	// noise stream of their names.
	events   atomic.Int64
	eventKey uint64

	// mu guards the per-object records below and serialises syncs and
	// writes, so a write is checked and applied against one state.
	mu sync.Mutex
	// annotations are the annotations clients wrote, per service; absent:
	// the ones the service was created with.
	annotations map[string]map[string]string
	// generations count spec changes per service, as metadata.generation does.
	generations map[string]generation
}

// generation is a service's metadata.generation and the spec it counts.
type generation struct {
	n    int64
	spec map[string]any
}

// KubeClients returns the clients of a new demo cluster over the platform
// with the default options.
func (p *Platform) KubeClients() (dynamic.Interface, kubernetes.Interface) {
	c := p.KubeCluster(KubeOptions{})
	return c.Dynamic(), c.Typed()
}

// KubeCluster builds a demo cluster over the platform. It makes no change
// to the platform until a client patches something.
func (p *Platform) KubeCluster(o KubeOptions) *KubeCluster {
	if o.User == "" {
		o.User = DemoUser
	}
	c := &KubeCluster{
		p:           p,
		opts:        o,
		annotations: map[string]map[string]string{},
		generations: map[string]generation{},
		// The hasher never changes after New.
		eventKey: p.w.h.key("event"),
	}
	c.allow.Store(!o.DenyAccess)

	c.dyn = dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{
			kube.InferenceServices(): "InferenceServiceList",
			knativeRevisions():       "RevisionList",
		})
	services := kube.InferenceServices().Resource
	c.dyn.PrependReactor("*", services, c.serviceReaction)
	c.dyn.PrependReactor("*", knativeRevisions().Resource, c.readOnly("the demo's Knative revisions belong to its controller"))
	for _, r := range []string{services, knativeRevisions().Resource} {
		c.dyn.PrependWatchReactor(r, func(k8stesting.Action) (bool, watch.Interface, error) {
			return false, nil, c.Sync()
		})
	}

	w, _ := p.view()
	var namespaces []runtime.Object
	for _, ns := range w.namespaceObjects() {
		namespaces = append(namespaces, ns)
	}
	c.typed = k8sfake.NewClientset(namespaces...)
	c.typed.PrependReactor("*", "pods", c.readOnly("the demo's pods belong to its controllers"))
	c.typed.PrependReactor("*", "namespaces", c.readOnly("the demo's namespaces are fixed by its scenario"))
	c.typed.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		return false, nil, c.Sync()
	})
	c.typed.PrependReactor("create", "selfsubjectaccessreviews", c.accessReview)
	c.typed.PrependReactor("create", "selfsubjectreviews", c.selfReview)
	c.typed.PrependReactor("create", "events", c.nameGenerated)
	return c
}

// Dynamic is the client of InferenceServices.
func (c *KubeCluster) Dynamic() dynamic.Interface { return c.dyn }

// Typed is the client of pods, access reviews and events.
func (c *KubeCluster) Typed() kubernetes.Interface { return c.typed }

// SetAccess makes later access reviews answer allowed or not.
func (c *KubeCluster) SetAccess(allowed bool) { c.allow.Store(allowed) }

// Actions are every request both clients received so far, oldest first,
// for tests that count what a command sent.
func (c *KubeCluster) Actions() []k8stesting.Action {
	return append(c.dyn.Actions(), c.typed.Actions()...)
}

// Sync brings the clients' objects up to the platform's current state:
// changed objects are updated (watchers see the change), new ones added,
// vanished ones deleted. Reads sync by themselves; a demo whose clock runs
// calls Sync now and then so that informers, which only watch, see pods
// come and go with the load.
func (c *KubeCluster) Sync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncLocked()
}

func (c *KubeCluster) syncLocked() error {
	w, now := c.p.view()
	var services, revisions, pods []runtime.Object
	for _, s := range w.services {
		services = append(services, w.inferenceService(s, now, c.metaLocked(s)))
		for _, r := range w.knativeRevisionObjects(s, now) {
			revisions = append(revisions, r)
		}
		for _, pod := range w.pods(s, now) {
			pods = append(pods, pod)
		}
	}
	if err := syncTracker(c.dyn.Tracker(), kube.InferenceServices(), "InferenceService", services); err != nil {
		return err
	}
	if err := syncTracker(c.dyn.Tracker(), knativeRevisions(), "Revision", revisions); err != nil {
		return err
	}
	return syncTracker(c.typed.Tracker(), corev1.SchemeGroupVersion.WithResource("pods"), "Pod", pods)
}

// readOnly answers reads of a resource the demo's controllers own from
// freshly synced objects, and refuses writes.
func (c *KubeCluster) readOnly(why string) k8stesting.ReactionFunc {
	return func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetVerb() != "get" && a.GetVerb() != "list" {
			return true, nil, apierrors.NewForbidden(a.GetResource().GroupResource(), "", fmt.Errorf("%s: %s is not allowed", why, a.GetVerb()))
		}
		return false, nil, c.Sync()
	}
}

// metaLocked is what the cluster records about a service beyond the
// platform's state: the annotations clients wrote and the generation, which
// counts every change of the spec, whoever made it.
func (c *KubeCluster) metaLocked(s *service) objectMeta {
	key := s.key().String()
	annotations := annotationsOrDefault(s, c.annotations[key])
	spec := s.spec()
	g, ok := c.generations[key]
	switch {
	case !ok:
		// Every revision came from a spec change; the service was created
		// with the first.
		g = generation{n: int64(len(s.revisions)), spec: spec}
	case !reflect.DeepEqual(g.spec, spec):
		g = generation{n: g.n + 1, spec: spec}
	}
	c.generations[key] = g
	return objectMeta{annotations: annotations, generation: g.n}
}

// syncTracker makes the tracker hold exactly objs of one resource.
func syncTracker(t k8stesting.ObjectTracker, gvr schema.GroupVersionResource, kind string, objs []runtime.Object) error {
	listed, err := t.List(gvr, gvr.GroupVersion().WithKind(kind), metav1.NamespaceAll)
	if err != nil {
		return err
	}
	items, err := listItems(listed)
	if err != nil {
		return err
	}
	held := map[string]runtime.Object{}
	for _, o := range items {
		m, err := metaOf(o)
		if err != nil {
			return err
		}
		held[m.GetNamespace()+"/"+m.GetName()] = o
	}
	for _, o := range objs {
		m, err := metaOf(o)
		if err != nil {
			return err
		}
		key := m.GetNamespace() + "/" + m.GetName()
		old, ok := held[key]
		delete(held, key)
		switch {
		case !ok:
			err = t.Create(gvr, o, m.GetNamespace())
		case !equalObjects(old, o):
			err = t.Update(gvr, o, m.GetNamespace())
		}
		if err != nil {
			return err
		}
	}
	for key, o := range held {
		m, _ := metaOf(o)
		if err := t.Delete(gvr, m.GetNamespace(), m.GetName()); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("removing %s: %w", key, err)
		}
	}
	return nil
}

func listItems(list runtime.Object) ([]runtime.Object, error) {
	switch l := list.(type) {
	case *unstructured.UnstructuredList:
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	case *corev1.PodList:
		out := make([]runtime.Object, len(l.Items))
		for i := range l.Items {
			out[i] = &l.Items[i]
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected list %T", list)
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	switch x := o.(type) {
	case *unstructured.Unstructured:
		return x, nil
	case *corev1.Pod:
		return x, nil
	}
	return nil, fmt.Errorf("unexpected object %T", o)
}

// equalObjects compares what the cluster generated with what a tracker
// holds, ignoring the type metadata the tracker may drop or add.
func equalObjects(held, generated runtime.Object) bool {
	switch h := held.(type) {
	case *unstructured.Unstructured:
		g, ok := generated.(*unstructured.Unstructured)
		return ok && reflect.DeepEqual(h.Object, g.Object)
	case *corev1.Pod:
		g, ok := generated.(*corev1.Pod)
		if !ok {
			return false
		}
		a, b := h.DeepCopy(), g.DeepCopy()
		a.TypeMeta, b.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
		a.ResourceVersion, b.ResourceVersion = "", ""
		a.ManagedFields, b.ManagedFields = nil, nil
		return reflect.DeepEqual(a, b)
	}
	return false
}

// serviceReaction answers every InferenceService request but watches:
// reads from freshly synced objects, patches and updates by changing the
// platform, and creates and deletes with a refusal, since the demo's
// services are fixed by its scenario.
func (c *KubeCluster) serviceReaction(a k8stesting.Action) (bool, runtime.Object, error) {
	gr := a.GetResource().GroupResource()
	switch a.GetVerb() {
	case "get", "list":
		return false, nil, c.Sync()
	case "patch":
		pa, ok := a.(k8stesting.PatchActionImpl)
		if !ok {
			return true, nil, apierrors.NewInternalError(fmt.Errorf("unexpected patch action %T", a))
		}
		obj, err := c.patch(pa)
		return true, obj, err
	case "update":
		ua, ok := a.(k8stesting.UpdateActionImpl)
		if !ok {
			return true, nil, apierrors.NewInternalError(fmt.Errorf("unexpected update action %T", a))
		}
		obj, err := c.update(ua)
		return true, obj, err
	}
	return true, nil, apierrors.NewMethodNotSupported(gr, a.GetVerb()+" (the demo's InferenceServices are fixed by its scenario)")
}

// accessReview answers a SelfSubjectAccessReview: everything is allowed
// unless access was denied.
func (c *KubeCluster) accessReview(a k8stesting.Action) (bool, runtime.Object, error) {
	ca, ok := a.(k8stesting.CreateAction)
	if !ok {
		return true, nil, apierrors.NewInternalError(fmt.Errorf("unexpected action %T", a))
	}
	in, ok := ca.GetObject().(*authorizationv1.SelfSubjectAccessReview)
	if !ok {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectAccessReview: %T", ca.GetObject()))
	}
	out := in.DeepCopy()
	out.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: "the demo cluster allows everything"}
	if !c.allow.Load() {
		out.Status = authorizationv1.SubjectAccessReviewStatus{
			Reason: fmt.Sprintf("demo: access was denied: %s may not %s", c.opts.User, describeAttributes(in.Spec.ResourceAttributes)),
		}
	}
	return true, out, nil
}

func describeAttributes(ra *authorizationv1.ResourceAttributes) string {
	if ra == nil {
		return "do that"
	}
	what := ra.Resource
	if ra.Group != "" {
		what += "." + ra.Group
	}
	return fmt.Sprintf("%s %s in %s", ra.Verb, what, ra.Namespace)
}

// selfReview answers a SelfSubjectReview with the demo user.
func (c *KubeCluster) selfReview(a k8stesting.Action) (bool, runtime.Object, error) {
	out := &authenticationv1.SelfSubjectReview{
		Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: authenticationv1.UserInfo{
			Username: c.opts.User, Groups: []string{"system:authenticated"}}},
	}
	if ca, ok := a.(k8stesting.CreateAction); ok {
		if in, ok := ca.GetObject().(*authenticationv1.SelfSubjectReview); ok {
			out.ObjectMeta = in.ObjectMeta
		}
	}
	return true, out, nil
}

// nameGenerated gives an event created with generateName its name, as the
// API server does, so that several events for one object do not collide;
// the tracker then stores it.
func (c *KubeCluster) nameGenerated(a k8stesting.Action) (bool, runtime.Object, error) {
	ca, ok := a.(k8stesting.CreateAction)
	if !ok {
		return false, nil, nil
	}
	m, ok := ca.GetObject().(metav1.Object)
	if !ok || m.GetName() != "" || m.GetGenerateName() == "" {
		return false, nil, nil
	}
	m.SetName(m.GetGenerateName() + kubeSuffix(c.eventKey, c.events.Add(1), 5))
	return false, nil, nil
}

// KeepSynced syncs every interval until ctx ends, so that informers, which
// only watch, follow a running demo: pods that come and go with the load,
// and changes made to the platform other than through the clients. A sync
// that fails is tried again at the next tick; the last error is returned
// when ctx ends.
func (c *KubeCluster) KeepSynced(ctx context.Context, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			return last
		case <-tick.C:
			last = c.Sync()
		}
	}
}
