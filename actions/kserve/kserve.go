// Package kserve carries out mltop's actions on KServe InferenceServices
// with client-go: it implements actions.Executor.
//
// Every write is a JSON merge patch (custom resources accept no strategic
// merge patch) that carries the observed metadata.resourceVersion, so a
// service that changed after the plan is never overwritten: the API server
// answers 409 and the executor plans again from the fresh object for the
// user to decide. Before the write, preflight asks the API server whether
// the user may patch the service (SelfSubjectAccessReview) and runs the
// exact patch as a server-side dry run. After the write, the executor
// watches the service until it reaches the plan's intent, then records the
// attempt in the audit log and, best effort, as a Kubernetes Event.
package kserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
)

// Defaults of Options.
const (
	DefaultVerifyTimeout = 2 * time.Minute
	DefaultFieldManager  = "mltop"
)

// PinnedFromAnnotation records, on a service mltop pinned, the minReplicas
// it had before, so that unpinning restores it. Its value is the number, or
// PinnedFromAbsent when minReplicas was not set (KServe then defaults it).
const (
	PinnedFromAnnotation = "mltop.io/pinned-from-min-replicas"
	PinnedFromAbsent     = "absent"
)

// Options configure an Executor.
type Options struct {
	Dynamic dynamic.Interface    // InferenceServices (and Knative Revisions, read only)
	Typed   kubernetes.Interface // access reviews, the user's name, pods, namespaces, events
	// Context is the kubeconfig context, for plans and audit lines.
	Context string
	// ReadOnly refuses every action before any mutating request: preflight
	// and execute send nothing at all, not even an access review (a create),
	// and the audit line names no user (asking is a create too). Plan still
	// reads the service, so a dialog can show what would happen.
	ReadOnly bool
	// Protected namespaces need the typed service name to confirm.
	Protected []string
	// Audit receives one entry per attempt; nil writes none (tests).
	Audit *audit.Log
	// Verdict gives the canary's current verdict line; nil: "no verdict available".
	Verdict func(namespace, name string) string
	// PreviousModel finds the previous stable model's storage URI for a
	// rollback --to-previous-model; nil: that rollback's check fails with a
	// clear reason.
	PreviousModel func(ctx context.Context, svc sources.Service) (storageURI string, err error)
	// Now is the clock for plan IDs, audit times and durations; nil: time.Now.
	Now func() time.Time
	// VerifyTimeout bounds the wait for the service to reach the intent;
	// zero: DefaultVerifyTimeout.
	VerifyTimeout time.Duration
	// FieldManager names mltop in managedFields; empty: DefaultFieldManager.
	FieldManager string
	// Logger receives what the user does not need to see: a failed Event,
	// an unknown user name, a watch that fell back to polling. nil: discard.
	Logger *slog.Logger
}

// Executor is the client-go implementation of actions.Executor. It is safe
// for concurrent use; it runs at most one action per service at a time.
type Executor struct {
	o   Options
	log *slog.Logger

	// pollInterval paces the GETs that replace a watch the API server
	// refuses; eventTimeout bounds the best-effort Event and the user
	// lookup, which must never hold up the outcome.
	pollInterval time.Duration
	eventTimeout time.Duration

	mu       sync.Mutex
	seq      uint64                        // plan IDs: unique within this executor
	inFlight map[sources.ServiceKey]string // service -> ID of the plan being executed
	user     string                        // the Kubernetes user, once known
}

var _ actions.Executor = (*Executor)(nil)

// New checks o, fills its defaults and returns an executor.
func New(o Options) (*Executor, error) {
	if o.Dynamic == nil {
		return nil, errors.New("kserve executor: no dynamic client")
	}
	if o.Typed == nil {
		return nil, errors.New("kserve executor: no typed client")
	}
	if o.VerifyTimeout < 0 {
		return nil, fmt.Errorf("kserve executor: negative verify timeout %s", o.VerifyTimeout)
	}
	if o.VerifyTimeout == 0 {
		o.VerifyTimeout = DefaultVerifyTimeout
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Protected = slices.Clone(o.Protected)
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Executor{
		o:            o,
		log:          log,
		pollInterval: 2 * time.Second,
		eventTimeout: 5 * time.Second,
		inFlight:     map[sources.ServiceKey]string{},
	}, nil
}

// ReadOnly reports whether mutating actions are refused.
func (e *Executor) ReadOnly() bool { return e.o.ReadOnly }

func inferenceServices() schema.GroupVersionResource { return kube.InferenceServices() }

// knativeRevisions is read to tell whether the revision a rollback returns
// traffic to is Ready.
func knativeRevisions() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
}

// newID returns a plan ID unique within this executor and readable in the
// audit log: kind, UTC time, sequence number.
func (e *Executor) newID(kind actions.Kind) string {
	e.mu.Lock()
	e.seq++
	n := e.seq
	e.mu.Unlock()
	return fmt.Sprintf("%s-%s-%d", kind, e.o.Now().UTC().Format("20060102T150405Z"), n)
}

// acquire marks a service busy with plan id; release undoes it. ok is false
// when another plan holds the service.
func (e *Executor) acquire(key sources.ServiceKey, id string) (release func(), holder string, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if h, busy := e.inFlight[key]; busy {
		return nil, h, false
	}
	e.inFlight[key] = id
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.inFlight[key] == id {
			delete(e.inFlight, key)
		}
	}, "", true
}

// running returns the ID of the plan executing on key, if any.
func (e *Executor) running(key sources.ServiceKey) (string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, ok := e.inFlight[key]
	return id, ok
}

func (e *Executor) protected(namespace string) bool {
	return slices.Contains(e.o.Protected, namespace)
}

func (e *Executor) since(start time.Time) time.Duration {
	if d := e.o.Now().Sub(start); d > 0 {
		return d
	}
	return 0
}
