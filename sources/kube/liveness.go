package kube

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
)

// An API server that keeps its connections open but stops answering
// fails no call: the open watches go quiet, a new list or watch waits for
// its answer, and client-go gives up only when the watch's timeout (5 to
// 10 minutes) ends it. A quiet namespace is just as silent, so silence
// alone proves nothing; after a while of it, Fetch asks the server a cheap
// question and reports the cache as stale when no reply comes in time.
const (
	// DefaultQuietLimit is how long the source may hear nothing before a
	// Fetch probes the API server.
	DefaultQuietLimit = 30 * time.Second
	// stuckCallLimit is how long a list or watch request may wait for its
	// answer (a watch's answer comes at once, events later) before a Fetch
	// probes, sooner than the quiet limit: a new request left waiting is a
	// stronger sign than silence.
	stuckCallLimit = 5 * time.Second
	// defaultProbeTimeout bounds a probe when Fetch's context has no
	// deadline.
	defaultProbeTimeout = 10 * time.Second
	// probeMargin is how much sooner than Fetch's deadline the probe gives
	// up (at most a tenth of the time left), so that Fetch still returns
	// its own explanation and the poller does not replace it by a bare
	// timeout.
	probeMargin = 250 * time.Millisecond
)

// liveness keeps when the source last heard from the API server (a list, a
// watch opened, a watch event, a probe answered) and the informers' calls
// in flight, so that a recovery can drop those made while the server did
// not answer: a request sent into a hung server or a dead connection may
// never end, and its informer would stay frozen.
type liveness struct {
	now   func() time.Time
	probe func(ctx context.Context) error
	quiet time.Duration
	stuck time.Duration
	// The probe's resource and namespace, for its failures' messages.
	probeResource, probeNamespace string

	mu        sync.Mutex
	lastHeard time.Time
	calls     map[*trackedCall]struct{}
	// unanswered: the last probe got no reply; the next answer drops the
	// other calls in flight.
	unanswered bool
}

// trackedCall is one list or watch of an informer, from its request until
// the list returns or the watch stops.
type trackedCall struct {
	started time.Time
	// cleared: no sign of a hang any more. A watch whose request was
	// answered waits for events, not for an answer; a request still
	// waiting when a probe was answered may be a watch behind a proxy that
	// holds the answer until the first event (client-go's reflector knows
	// of such proxies), so it makes no further probe.
	cleared bool
	// drop ends the call so that its informer starts a new one: it cancels
	// a request still waiting, or closes an open watch's channel.
	drop   func()
	cancel context.CancelFunc
}

func newLiveness(now func() time.Time, quiet time.Duration, probe func(context.Context) error, resource, namespace string) *liveness {
	return &liveness{
		now: now, probe: probe, quiet: quiet, stuck: min(stuckCallLimit, quiet),
		probeResource: resource, probeNamespace: namespace,
		lastHeard: now(), calls: map[*trackedCall]struct{}{},
	}
}

// listOneService is the default probe: a list of at most one
// InferenceService where the source watches, which any user allowed to
// watch there may make (GET /version would be as cheap, but it says
// nothing of the resource the source reads). Without a resourceVersion the
// list is a consistent read, which the API server cannot answer from its
// cache alone while etcd is stuck.
func listOneService(client dynamic.Interface, namespace string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := client.Resource(InferenceServices()).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}
}

// heard records an answer from the API server, to the call from (nil for
// a probe). The first one after a probe went unanswered drops every other
// call in flight: each may hang on a dead connection or in a server that
// will not finish it, and its informer starts a new one (an open watch
// resumes from its last resourceVersion). Only a failed probe, evidence of
// an outage, drops calls: a request that merely waits long may be a watch
// behind a proxy that holds its answer.
func (l *liveness) heard(from *trackedCall) {
	l.mu.Lock()
	l.lastHeard = l.now()
	var drops []func()
	if l.unanswered {
		l.unanswered = false
		for c := range l.calls {
			if c != from {
				drops = append(drops, c.drop)
			}
		}
	}
	l.mu.Unlock()
	for _, drop := range drops {
		drop()
	}
}

// begin tracks a call from its request on; the call must end with finish
// (a list, a failed watch) or through followWatch.
func (l *liveness) begin(ctx context.Context) (context.Context, *trackedCall) {
	ctx, cancel := context.WithCancel(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &trackedCall{started: l.now(), drop: cancel, cancel: cancel}
	l.calls[c] = struct{}{}
	return ctx, c
}

func (l *liveness) finish(c *trackedCall) {
	l.mu.Lock()
	delete(l.calls, c)
	l.mu.Unlock()
	c.cancel()
}

// followWatch wraps an open watch: each event is news from the server, and
// a drop closes the channel as a watch that ends normally does, so the
// reflector watches again from its last resourceVersion without a relist.
func (l *liveness) followWatch(c *trackedCall, inner watch.Interface) watch.Interface {
	f := &followedWatch{inner: inner, result: make(chan watch.Event), stop: make(chan struct{})}
	l.mu.Lock()
	c.cleared, c.drop = true, f.Stop
	l.mu.Unlock()
	go f.run(l, c)
	return f
}

type followedWatch struct {
	inner  watch.Interface
	result chan watch.Event
	stop   chan struct{}
	once   sync.Once
}

func (f *followedWatch) ResultChan() <-chan watch.Event { return f.result }

func (f *followedWatch) Stop() { f.once.Do(func() { close(f.stop) }) }

func (f *followedWatch) run(l *liveness, c *trackedCall) {
	defer l.finish(c) // after Stop: it cancels the request's context
	defer close(f.result)
	defer f.inner.Stop()
	for {
		select {
		case <-f.stop:
			return
		case ev, ok := <-f.inner.ResultChan():
			if !ok {
				return
			}
			// An error event may come from the client itself (a stream
			// that does not decode), so only the others say the server
			// is there.
			if ev.Type != watch.Error {
				l.heard(c)
			}
			select {
			case f.result <- ev:
			case <-f.stop:
				// An event not passed on is not lost: the watch that
				// replaces this one starts from the last one passed on.
				return
			}
		}
	}
}

// check returns nil when the source has heard from the API server lately,
// or when a probe made now is answered. Otherwise it says since when the
// server has been silent and what the probe met. The probe ends before
// ctx does.
func (l *liveness) check(ctx context.Context) error {
	l.mu.Lock()
	since := l.lastHeard
	suspect := l.suspectLocked(l.now())
	l.mu.Unlock()
	if !suspect {
		return nil
	}
	budget := probeBudget(ctx)
	pctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	err := l.probe(pctx)
	switch {
	case err == nil:
		l.heard(nil)
		l.clearWaiting()
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("kube: %w", ctx.Err()) // the caller left; the server may be fine
	case pctx.Err() != nil:
		l.markUnanswered()
		return fmt.Errorf("API server not answering since %s: no reply to a probe within %s (showing cached state)", clock(since), roundBudget(budget))
	case isAPIStatus(err):
		// The server answers, but refuses or fails: say so, and probe
		// again next time.
		return describeFailure(l.probeResource, l.probeNamespace, healthState{failing: true, since: since, verb: "list", err: err}, true)
	default:
		// A transport error: the calls in flight may be on a dead
		// connection too.
		l.markUnanswered()
		return describeFailure(l.probeResource, l.probeNamespace, healthState{failing: true, since: since, verb: "list", err: err}, true)
	}
}

// suspectLocked reports whether the source has heard nothing for the quiet
// limit, or for the stuck-call limit while a request waits that long.
func (l *liveness) suspectLocked(now time.Time) bool {
	silent := now.Sub(l.lastHeard)
	if silent >= l.quiet {
		return true
	}
	if silent < l.stuck {
		return false
	}
	for c := range l.calls {
		if !c.cleared && now.Sub(c.started) >= l.stuck {
			return true
		}
	}
	return false
}

func (l *liveness) markUnanswered() {
	l.mu.Lock()
	l.unanswered = true
	l.mu.Unlock()
}

// clearWaiting clears the requests waiting when a probe was answered: the
// server answers, so they make no further probe before the quiet limit.
func (l *liveness) clearWaiting() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.calls {
		c.cleared = true
	}
}

// probeBudget is the probe's timeout: what is left of ctx less a margin,
// or defaultProbeTimeout when ctx has no deadline.
func probeBudget(ctx context.Context) time.Duration {
	deadline, ok := ctx.Deadline()
	if !ok {
		return defaultProbeTimeout
	}
	left := time.Until(deadline)
	return max(left-min(left/10, probeMargin), 0)
}

// roundBudget shows a timeout as a person set it: the margin taken off a
// 10 s timeout still reads "10s".
func roundBudget(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
