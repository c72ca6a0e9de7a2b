// Package kube reads KServe InferenceServices and their pods through
// informers (a list, then a watch, per namespace) and answers the poller
// from the informer caches, so a Fetch does not wait on the API server
// (but for the doctor's version probe every few minutes, versions.go,
// bounded to seconds). It
// also connects to a cluster from kubectl's flags and builds HTTP clients
// that reach in-cluster services through the API server's service proxy.
//
// Only namespace-scoped calls are made unless every namespace is asked for:
// an on-call engineer allowed to read one namespace must be able to watch
// it (k9s #42, #2201). A lost API server never ends anything: the
// reflectors retry with backoff, Fetch says since when the cluster is
// unreachable, and the poller keeps the last good inventory on screen. A
// server that stops answering without failing a call is found by a probe
// after a silence (liveness.go).
package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

const resourceInferenceServices = "inferenceservices"

// InferenceServices is the resource the source watches.
func InferenceServices() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: resourceInferenceServices}
}

// DefaultSyncWait is how long a Fetch waits for the first lists before it
// reports that it is still waiting.
const DefaultSyncWait = 2 * time.Second

// syncPoll is how often a waiting Fetch looks at the informers again.
const syncPoll = 20 * time.Millisecond

// Options configure a Source.
type Options struct {
	// Dynamic reads InferenceServices; Typed reads pods. Connect builds both.
	Dynamic dynamic.Interface
	Typed   kubernetes.Interface
	// Context is the kubeconfig context's name, shown in the status bar.
	Context string
	// Namespaces to watch, each with its own namespace-scoped informers.
	Namespaces []string
	// AllNamespaces watches every namespace with cluster-scope calls;
	// Namespaces must then be empty.
	AllNamespaces bool
	// Now is the clock of the OOM window and of failure times; nil: time.Now.
	Now func() time.Time
	// SyncWait bounds how long a Fetch waits for the first lists; zero:
	// DefaultSyncWait, negative: do not wait.
	SyncWait time.Duration
	// Logger receives client-go's own log lines; nil discards them (the
	// terminal belongs to the dashboard, and every failure reaches the
	// status bar through Fetch anyway).
	Logger *slog.Logger
	// KServeNamespace is where KServe's controller runs, whose image tag
	// is the KServe version; empty: DefaultKServeNamespace.
	KServeNamespace string
	// QuietLimit is how long the source may hear nothing from the API
	// server (no list, no watch event) before a Fetch probes it, since a
	// quiet namespace is as silent as a hung server; zero:
	// DefaultQuietLimit. A request that waits for its answer makes Fetch
	// probe sooner (5 s, or QuietLimit if shorter).
	QuietLimit time.Duration
	// Probe asks the API server something cheap and returns its error; it
	// must end when ctx does. nil: a list of at most one InferenceService
	// in the first namespace watched (or in all with AllNamespaces).
	Probe func(ctx context.Context) error
}

// Source is the Kubernetes source: start it once, then Fetch as often as
// the poller likes; a Fetch reads the informer caches only.
type Source struct {
	opts     Options
	streams  []*stream
	versions *versionProbe
	live     *liveness

	startOnce sync.Once
	mu        sync.Mutex
	started   bool
	cancel    context.CancelFunc
	running   sync.WaitGroup
}

// stream is one informer: one resource in one namespace ("" for all).
type stream struct {
	resource  string
	namespace string
	informer  cache.SharedIndexInformer
	health    *callHealth
}

// New checks the options and builds the informers; it makes no call to
// the API server (Start does).
func New(o Options) (*Source, error) {
	if o.Dynamic == nil || o.Typed == nil {
		return nil, errors.New("kube: both the dynamic and the typed client are needed")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SyncWait == 0 {
		o.SyncWait = DefaultSyncWait
	}
	namespaces, err := watchedNamespaces(o.Namespaces, o.AllNamespaces)
	if err != nil {
		return nil, err
	}
	o.Namespaces = namespaces
	if o.QuietLimit <= 0 {
		o.QuietLimit = DefaultQuietLimit
	}
	// One namespace answers for the server: a hung server or a dead
	// connection stops every stream alike.
	probeNamespace := metav1.NamespaceAll
	if len(namespaces) > 0 {
		probeNamespace = namespaces[0]
	}
	if o.Probe == nil {
		o.Probe = listOneService(o.Dynamic, probeNamespace)
	}
	s := &Source{
		opts:     o,
		versions: newVersionProbe(o.Typed, o.KServeNamespace, o.Now),
		live:     newLiveness(o.Now, o.QuietLimit, o.Probe, resourceInferenceServices, probeNamespace),
	}
	for _, ns := range namespaces {
		s.streams = append(s.streams, s.serviceStream(ns), s.podStream(ns))
	}
	if o.AllNamespaces {
		s.streams = append(s.streams, s.serviceStream(metav1.NamespaceAll), s.podStream(metav1.NamespaceAll))
	}
	return s, nil
}

// watchedNamespaces checks and de-duplicates the namespaces, keeping order.
func watchedNamespaces(in []string, all bool) ([]string, error) {
	if all {
		if len(in) > 0 {
			return nil, fmt.Errorf("kube: watch either all namespaces or %s, not both", strings.Join(in, ", "))
		}
		return nil, nil
	}
	if len(in) == 0 {
		return nil, errors.New("kube: no namespace to watch: give one (-n) or ask for all (-A)")
	}
	seen := make(map[string]bool, len(in))
	var out []string
	for _, ns := range in {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			return nil, errors.New("kube: an empty namespace name was given")
		}
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	return out, nil
}

func (s *Source) serviceStream(ns string) *stream {
	h := &callHealth{now: s.opts.Now, live: s.live}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(observedDynamic{s.opts.Dynamic, h}, 0, ns, nil)
	inf := factory.ForResource(InferenceServices()).Informer()
	st := &stream{resource: resourceInferenceServices, namespace: ns, informer: inf, health: h}
	// Both only fail once the informer has started, which it has not.
	_ = inf.SetTransform(trimService)
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { h.informerError(err) })
	return st
}

func (s *Source) podStream(ns string) *stream {
	h := &callHealth{now: s.opts.Now, live: s.live}
	// The selector is "the label exists": every component's pods (their OOM
	// kills and restarts count), and no other pod of the namespace.
	factory := informers.NewSharedInformerFactoryWithOptions(observedTyped{s.opts.Typed, h}, 0,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ServiceLabel }))
	inf := factory.Core().V1().Pods().Informer()
	_ = inf.SetTransform(trimPod)
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { h.informerError(err) })
	return &stream{resource: "pods", namespace: ns, informer: inf, health: h}
}

// trimService drops what no pane reads and what makes objects big: the
// managed fields and kubectl's copy of the last applied object.
func trimService(obj any) (any, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
		if a := u.GetAnnotations(); a != nil {
			if _, ok := a[corev1.LastAppliedConfigAnnotation]; ok {
				delete(a, corev1.LastAppliedConfigAnnotation)
				u.SetAnnotations(a)
			}
		}
	}
	return obj, nil
}

// Start runs the informers until ctx is done or Stop is called. It returns
// at once: the first lists arrive in the background, and a failing list or
// watch is retried with backoff for as long as the source runs.
func (s *Source) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		logger := logr.Discard()
		if s.opts.Logger != nil {
			logger = logr.FromSlogHandler(s.opts.Logger.Handler())
		}
		// The informers are run here rather than by the factories' Start,
		// which takes a stop channel and would log through klog's global
		// logger, onto the terminal the dashboard draws on.
		ctx, cancel := context.WithCancel(klog.NewContext(ctx, logger))
		s.mu.Lock()
		s.started, s.cancel = true, cancel
		s.mu.Unlock()
		for _, st := range s.streams {
			s.running.Add(1)
			go func() {
				defer s.running.Done()
				st.informer.RunWithContext(ctx)
			}()
		}
	})
}

// Stop ends the informers and waits for them.
func (s *Source) Stop() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	s.running.Wait()
}

// Fetch returns the inventory from the informer caches. It fails while the
// first lists have not arrived (after waiting up to SyncWait), while a
// list or watch fails, and while the API server does not answer a probe
// made after a silence (QuietLimit), saying since when, so the status bar
// shows the data as stale; it succeeds again by itself once the informers
// recover or the server answers.
func (s *Source) Fetch(ctx context.Context) (sources.Part, error) {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return sources.Part{}, errors.New("kube: the source was not started")
	}
	if err := s.awaitFirstLists(ctx); err != nil {
		return sources.Part{}, err
	}
	if err := s.failure(); err != nil {
		return sources.Part{}, err
	}
	if err := s.live.check(ctx); err != nil {
		return sources.Part{}, err
	}
	inv := s.inventory()
	inv.KubernetesVersion, inv.KServeVersion = s.versions.current(ctx)
	return sources.Part{Inventory: &inv}, nil
}

// awaitFirstLists waits until every informer holds its first list, one of
// them fails, SyncWait passes or ctx ends, whichever comes first.
func (s *Source) awaitFirstLists(ctx context.Context) error {
	var deadline <-chan time.Time
	if s.opts.SyncWait > 0 {
		t := time.NewTimer(s.opts.SyncWait)
		defer t.Stop()
		deadline = t.C
	}
	tick := time.NewTicker(syncPoll)
	defer tick.Stop()
	for {
		waiting := s.unsynced()
		if waiting == nil {
			return nil
		}
		if err := s.failure(); err != nil {
			return err
		}
		if deadline == nil {
			return waitingError(waiting)
		}
		select {
		case <-tick.C:
		case <-deadline:
			return waitingError(waiting)
		case <-ctx.Done():
			return waitingError(waiting)
		}
	}
}

// unsynced returns the first stream whose informer has no first list yet.
func (s *Source) unsynced() *stream {
	for _, st := range s.streams {
		if !st.informer.HasSynced() {
			return st
		}
	}
	return nil
}

func waitingError(st *stream) error {
	where := "in " + st.namespace
	if st.namespace == "" {
		where = "in all namespaces"
	}
	return fmt.Errorf("waiting for the first list of %s %s from the API server", st.resource, where)
}

// failure describes the first failing stream, naming how many more fail.
func (s *Source) failure() error {
	var first error
	more := 0
	for _, st := range s.streams {
		h := st.health.state()
		if !h.failing {
			continue
		}
		if first != nil {
			more++
			continue
		}
		first = describeFailure(st.resource, st.namespace, h, st.informer.HasSynced())
	}
	if first != nil && more > 0 {
		return fmt.Errorf("%w; %d more list or watch failing", first, more)
	}
	return first
}

// inventory maps the cached services and pods.
func (s *Source) inventory() sources.Inventory {
	inv := sources.Inventory{
		Context:    clean.Text(s.opts.Context),
		Namespaces: append([]string(nil), s.opts.Namespaces...),
	}
	var pods []*corev1.Pod
	for _, st := range s.streams {
		for _, obj := range st.informer.GetStore().List() {
			switch o := obj.(type) {
			case *unstructured.Unstructured:
				inv.Services = append(inv.Services, ServiceFrom(o))
			case *corev1.Pod:
				pods = append(pods, o)
			}
		}
	}
	figures, kills := summarisePods(pods, s.opts.Now())
	for i := range inv.Services {
		svc := &inv.Services[i]
		f := figures[svc.Key()]
		svc.PodsReady, svc.PodsTotal, svc.Restarts = f.ready, f.total, f.restarts
	}
	sort.Slice(inv.Services, func(i, j int) bool {
		a, b := inv.Services[i], inv.Services[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	inv.OOMKills = kills
	return inv
}
