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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: fixedClock()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testProbe answers, or hangs until its context ends, as the test says,
// and counts its calls.
type testProbe struct {
	hang  atomic.Bool
	calls atomic.Int32
}

func (p *testProbe) probe(ctx context.Context) error {
	p.calls.Add(1)
	if p.hang.Load() {
		<-ctx.Done()
		return fmt.Errorf("Get \"https://10.0.0.1:6443/apis/serving.kserve.io/v1beta1/namespaces/ml-prod/inferenceservices?limit=1\": %w", ctx.Err())
	}
	return nil
}

// A quiet namespace is probed once per quiet limit and raises no alarm;
// watch events spare the probe; a server that stops answering turns Fetch
// into an error within the Fetch's own timeout, and the next answer clears
// it.
func TestSilenceIsProbed(t *testing.T) {
	t.Parallel() // waits on the informers' backoff, not the CPU
	clk := newTestClock()
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	var p testProbe
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"},
		Now: clk.Now, SyncWait: 10 * time.Second, QuietLimit: 30 * time.Second, Probe: p.probe})
	fetchOK(t, s)
	waitWatching(t, 1, &dyn.Fake, &typed.Fake)
	fetchWithin := func(timeout time.Duration) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		_, err := s.Fetch(ctx)
		if took := time.Since(start); took > timeout+time.Second {
			t.Errorf("Fetch took %s with a %s context", took, timeout)
		}
		return err
	}
	probes := func(want int32, when string) {
		t.Helper()
		if n := p.calls.Load(); n != want {
			t.Errorf("%s: %d probes, want %d", when, n, want)
		}
	}

	clk.Advance(29 * time.Second)
	fetchOK(t, s)
	probes(0, "29 s of quiet")

	// Quiet but alive: the probe is answered, and counts as news.
	clk.Advance(2 * time.Second)
	fetchOK(t, s)
	fetchOK(t, s)
	probes(1, "31 s of quiet, two fetches")
	clk.Advance(29 * time.Second)
	fetchOK(t, s)
	probes(1, "29 s after an answered probe")

	// A watch event is news too: no probe while they come.
	isvcs := dyn.Resource(InferenceServices()).Namespace("ml-prod")
	if _, err := isvcs.Create(context.Background(), loadFixture(t, "failed-load"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new service", func() (bool, string) {
		_, ok := findService(fetchOK(t, s), "sentiment")
		return ok, "not yet"
	})
	lastEvent := clk.Now()
	clk.Advance(20 * time.Second) // 49 s after the probe, 20 s after the event
	fetchOK(t, s)
	probes(1, "20 s after a watch event")

	// The server stops answering: the probe gets no reply.
	p.hang.Store(true)
	clk.Advance(11 * time.Second)
	err := fetchWithin(300 * time.Millisecond)
	wantLead := "API server not answering since " + clock(lastEvent) + ": no reply to a probe within "
	if err == nil || !strings.HasPrefix(err.Error(), wantLead) || !strings.HasSuffix(err.Error(), " (showing cached state)") {
		t.Fatalf("hung server: %v\nwant %s…(showing cached state)", err, wantLead)
	}
	probes(2, "a hung server")
	if err := fetchWithin(300 * time.Millisecond); err == nil || !strings.HasPrefix(err.Error(), wantLead) {
		t.Errorf("still hung: %v", err)
	}
	probes(3, "a hung server, fetched again")

	// It answers again: the next Fetch says so.
	p.hang.Store(false)
	clk.Advance(time.Second)
	if err := fetchWithin(300 * time.Millisecond); err != nil {
		t.Errorf("after recovery: %v", err)
	}
	probes(4, "recovery")
	clk.Advance(10 * time.Second)
	fetchOK(t, s)
	probes(4, "10 s after recovery")
}

// The default probe lists at most one InferenceService in the namespace
// watched: a user allowed to read only there is served.
func TestDefaultProbeIsNamespaced(t *testing.T) {
	clk := newTestClock()
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"},
		Now: clk.Now, SyncWait: 10 * time.Second, QuietLimit: 30 * time.Second})
	fetchOK(t, s)
	waitWatching(t, 1, &dyn.Fake, &typed.Fake)
	lists := func() []k8stesting.ListActionImpl {
		var out []k8stesting.ListActionImpl
		for _, a := range dyn.Actions() {
			if l, ok := a.(k8stesting.ListActionImpl); ok {
				out = append(out, l)
			}
		}
		return out
	}
	before := len(lists())
	clk.Advance(31 * time.Second)
	fetchOK(t, s)
	all := lists()
	if len(all) != before+1 {
		t.Fatalf("%d lists after 31 s of quiet, want %d", len(all), before+1)
	}
	probe := all[len(all)-1]
	if probe.GetNamespace() != "ml-prod" || probe.GetResource() != InferenceServices() || probe.ListOptions.Limit != 1 {
		t.Errorf("probe: list %s in %q, limit %d", probe.GetResource(), probe.GetNamespace(), probe.ListOptions.Limit)
	}
}

// A probe that fails fast says why, as a failing list would.
func TestProbeFailuresAreExplained(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"refused", connectionRefused(),
			"API server unreachable since 12:01:03: dial tcp 10.0.0.1:6443: connect: connection refused (showing cached state)"},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{Group: "serving.kserve.io", Resource: "inferenceservices"}, "", errors.New("no")),
			"forbidden: you may not list inferenceservices in ml-prod (RBAC) (showing cached state)"},
		{"server error", apierrors.NewInternalError(errors.New("etcdserver: request timed out")),
			"API server error since 12:01:03 while listing inferenceservices in ml-prod: Internal error occurred: etcdserver: request timed out (showing cached state)"},
	}
	for _, tc := range cases {
		clk := newTestClock()
		l := newLiveness(clk.Now, 30*time.Second, func(context.Context) error { return tc.err }, resourceInferenceServices, "ml-prod")
		clk.Advance(31 * time.Second)
		if err := l.check(context.Background()); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got  %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

// A request that waits for its answer makes Fetch probe before the quiet
// limit; an open watch waiting for events does not. Once a probe was
// answered, a request still waiting is no sign of trouble (a proxy may hold
// a watch's answer until its first event): it is neither dropped nor
// probed about again before the quiet limit.
func TestWaitingRequestIsProbedEarly(t *testing.T) {
	clk := newTestClock()
	var p testProbe
	l := newLiveness(clk.Now, 30*time.Second, p.probe, resourceInferenceServices, "ml-prod")
	probes := func(want int32, when string) {
		t.Helper()
		if err := l.check(context.Background()); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if n := p.calls.Load(); n != want {
			t.Fatalf("%s: %d probes, want %d", when, n, want)
		}
	}
	_, watching := l.begin(context.Background())
	fw := l.followWatch(watching, watch.NewFake())
	defer fw.Stop()
	clk.Advance(6 * time.Second)
	probes(0, "an open watch, 6 s")

	waitingCtx, waiting := l.begin(context.Background())
	defer l.finish(waiting)
	clk.Advance(4 * time.Second)
	probes(0, "a request waiting 4 s")
	clk.Advance(2 * time.Second)
	probes(1, "a request waiting 6 s")
	clk.Advance(25 * time.Second)
	probes(1, "the same request 25 s after an answered probe")
	clk.Advance(6 * time.Second)
	probes(2, "31 s after the answered probe")
	if waitingCtx.Err() != nil {
		t.Error("a waiting request was dropped while the server answered")
	}
	select {
	case <-fw.(*followedWatch).stop:
		t.Error("an open watch was dropped while the server answered")
	default:
	}

	_, later := l.begin(context.Background())
	defer l.finish(later)
	clk.Advance(6 * time.Second)
	probes(3, "a new request waiting 6 s")
}

// Once a probe went unanswered, the next answer drops every other call in
// flight: the requests waiting and the open watches, whose connections
// may be dead. A dropped watch ends as a watch closed by the server does.
func TestRecoveryDropsTheCallsOfTheSilence(t *testing.T) {
	clk := newTestClock()
	var p testProbe
	l := newLiveness(clk.Now, 30*time.Second, p.probe, resourceInferenceServices, "ml-prod")
	// The calls begin late in the silence: none has waited long enough to
	// be dropped as lost.
	clk.Advance(29 * time.Second)
	waitingCtx, waiting := l.begin(context.Background())
	defer l.finish(waiting)
	_, watching := l.begin(context.Background())
	inner := watch.NewFake()
	fw := l.followWatch(watching, inner)
	defer fw.Stop()

	p.hang.Store(true)
	clk.Advance(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := l.check(ctx); err == nil || !strings.Contains(err.Error(), "no reply to a probe") {
		t.Fatalf("hung: %v", err)
	}
	if waitingCtx.Err() != nil {
		t.Fatal("a call was dropped before the server answered")
	}

	// The server answers a new call: the others are dropped, not it.
	answeredCtx, answered := l.begin(context.Background())
	defer l.finish(answered)
	l.heard(answered)
	if waitingCtx.Err() == nil {
		t.Error("the request sent during the silence was not dropped")
	}
	if answeredCtx.Err() != nil {
		t.Error("the call that was answered was dropped")
	}
	select {
	case ev, open := <-fw.ResultChan():
		if open {
			t.Errorf("the open watch passed %v instead of closing", ev.Type)
		}
	case <-time.After(5 * time.Second):
		t.Error("the open watch was not closed")
	}
	if !inner.IsStopped() {
		t.Error("the dropped watch's stream was not stopped")
	}
}

// Events pass through the followed watch unchanged and count as news.
func TestFollowedWatchPassesEvents(t *testing.T) {
	clk := newTestClock()
	l := newLiveness(clk.Now, 30*time.Second, (&testProbe{}).probe, resourceInferenceServices, "ml-prod")
	_, c := l.begin(context.Background())
	inner := watch.NewFake()
	fw := l.followWatch(c, inner)
	clk.Advance(time.Minute)
	obj := loadFixture(t, "knative-canary")
	go inner.Add(obj)
	select {
	case ev := <-fw.ResultChan():
		if ev.Type != watch.Added || ev.Object != obj {
			t.Errorf("event %v %v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	l.mu.Lock()
	heard := l.lastHeard
	l.mu.Unlock()
	if !heard.Equal(clk.Now()) {
		t.Errorf("last heard %s, want the event's time %s", heard, clk.Now())
	}
	fw.Stop()
	for range fw.ResultChan() {
	}
	if !inner.IsStopped() {
		t.Error("Stop did not stop the stream")
	}
	eventually(t, "the stopped watch to be forgotten", func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.calls) == 0, fmt.Sprintf("%d calls tracked", len(l.calls))
	})
}

// stallSwitch makes the API server's watches of InferenceServices go
// silent while it is on: a watch is answered but never sends an event, as
// over a connection that died without closing. Turning it on breaks the
// open watches, so the informer meets the silence on its next one.
type stallSwitch struct {
	on     atomic.Bool
	opened atomic.Int32 // watches served by the tracker, counted once registered
	silent atomic.Int32
	mu     sync.Mutex
	open   []*breakableWatch
}

func (sw *stallSwitch) install(dyn interface {
	PrependWatchReactor(resource string, fn k8stesting.WatchReactionFunc)
}, tracker k8stesting.ObjectTracker) {
	dyn.PrependWatchReactor(resourceInferenceServices, func(a k8stesting.Action) (bool, watch.Interface, error) {
		if sw.on.Load() {
			sw.silent.Add(1)
			return true, watch.NewFake(), nil
		}
		inner, err := tracker.Watch(a.GetResource(), a.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		w := newBreakableWatch(inner)
		sw.mu.Lock()
		sw.open = append(sw.open, w)
		sw.mu.Unlock()
		sw.opened.Add(1)
		return true, w, nil
	})
}

func (sw *stallSwitch) stall() {
	sw.on.Store(true)
	sw.mu.Lock()
	defer sw.mu.Unlock()
	for _, w := range sw.open {
		w.Stop()
	}
	sw.open = nil
}

// A watch that went silent with the server is replaced once the server
// answers again: changes made after the recovery reach Fetch, instead of
// waiting minutes for client-go's watch timeout.
func TestSilentWatchIsReplacedOnRecovery(t *testing.T) {
	t.Parallel() // waits on the informers' backoff, not the CPU
	clk := newTestClock()
	dyn, typed := newFakes([]*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	var sw stallSwitch
	sw.install(dyn, dyn.Tracker())
	var p testProbe
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"},
		Now: clk.Now, SyncWait: 10 * time.Second, QuietLimit: 30 * time.Second, Probe: p.probe})
	fetchOK(t, s)
	count := func(what string, n *atomic.Int32, want int32) {
		t.Helper()
		eventually(t, what, func() (bool, string) { return n.Load() >= want, fmt.Sprint(n.Load()) })
	}
	count("the first watch", &sw.opened, 1)

	sw.stall()
	count("a silent watch", &sw.silent, 1)
	p.hang.Store(true)
	clk.Advance(31 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.Fetch(ctx); err == nil || !strings.Contains(err.Error(), "no reply to a probe") {
		t.Fatalf("silent server: %v", err)
	}

	sw.on.Store(false)
	p.hang.Store(false)
	fetchOK(t, s)
	count("a new watch after the recovery", &sw.opened, 2)
	if err := dyn.Tracker().Add(loadFixture(t, "failed-load")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the service created after the recovery", func() (bool, string) {
		_, ok := findService(fetchOK(t, s), "sentiment")
		return ok, "not yet"
	})
}
