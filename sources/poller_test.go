package sources_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mltop/mltop/sources"
)

// t0 is where every manual clock starts.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// waitLimit bounds every wait so a broken poller fails a test instead of hanging it.
const waitLimit = 5 * time.Second

// constSource makes a *rand.Rand whose Float64 is fixed: Float64 uses the
// low 53 bits of Uint64 over 2^53, so 1<<52 gives 0.5 and 0 gives 0.
type constSource uint64

func (s constSource) Uint64() uint64 { return uint64(s) }

func fixedRand(bits uint64) *rand.Rand { return rand.New(constSource(bits)) }

const (
	jitterZero = 0
	jitterHalf = 1 << 52
)

// pipelinesPart is a recognisable value: Window carries a marker.
func pipelinesPart(marker int) sources.Part {
	return sources.Part{Pipelines: &sources.Pipelines{Window: time.Duration(marker)}}
}

func marker(p sources.Part) int {
	if p.Pipelines == nil {
		return -1
	}
	return int(p.Pipelines.Window)
}

// startPoller runs p until the test ends (or stop is called) and returns a
// function that stops it and returns Run's result.
func startPoller(t *testing.T, p *sources.Poller) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(waitLimit):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func recv(t *testing.T, ch <-chan sources.Update) sources.Update {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatal("updates channel closed unexpectedly")
		}
		return u
	case <-time.After(waitLimit):
		t.Fatal("no update arrived")
	}
	return sources.Update{}
}

// waitTimers waits until n loops are parked on their timers.
func waitTimers(t *testing.T, clk *sources.ManualClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := clk.WaitTimers(ctx, n); err != nil {
		t.Fatalf("waiting for %d pending timers: %v (pending: %v)", n, err, clk.Pending())
	}
}

// step is one scripted fetch result.
type step struct {
	part sources.Part
	err  error
}

// scripted returns its steps in order, repeating the last one.
func scripted(steps ...step) sources.Fetcher {
	var calls atomic.Int64
	return sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		i := int(calls.Add(1)) - 1
		i = min(i, len(steps)-1)
		return steps[i].part, steps[i].err
	})
}

func TestInitialReportsOffAndPending(t *testing.T) {
	p := sources.NewPoller([]sources.SourceConfig{
		{ID: sources.SourceProm, Fetcher: scripted(step{}), Interval: 7 * time.Second},
		{ID: sources.SourceMLflow, Hint: "set mlflow.url"},
		{ID: sources.SourceKube, Fetcher: scripted(step{}), Live: true},
		{ID: sources.SourceKFP, Fetcher: sources.FetcherFunc(nil), Hint: "set kfp.url"},
	})
	got := p.Initial()
	want := []sources.SourceStatus{
		{ID: sources.SourceProm, Health: sources.HealthPending, Configured: true, Interval: 7 * time.Second},
		{ID: sources.SourceMLflow, Health: sources.HealthOff, Hint: "set mlflow.url", Interval: sources.DefaultInterval},
		{ID: sources.SourceKube, Health: sources.HealthPending, Configured: true, Live: true, Interval: sources.DefaultInterval},
		{ID: sources.SourceKFP, Health: sources.HealthOff, Hint: "set kfp.url", Interval: sources.DefaultInterval},
	}
	if len(got) != len(want) {
		t.Fatalf("Initial() = %d statuses, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Initial()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestSuccessStampsEndOfFetchAndCountsSeq(t *testing.T) {
	clk := sources.NewManualClock(t0)
	var calls atomic.Int64
	fetch := sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		n := int(calls.Add(1))
		clk.Advance(3 * time.Second) // the fetch itself takes 3 s
		return pipelinesPart(n), nil
	})
	p := sources.NewPoller([]sources.SourceConfig{
		{ID: sources.SourceKFP, Fetcher: fetch, Interval: 30 * time.Second, Live: true},
	}, sources.WithClock(clk))
	startPoller(t, p)

	u := recv(t, p.Updates())
	st := u.Status
	if st.Health != sources.HealthOK || !st.Configured || !st.Live || st.Interval != 30*time.Second {
		t.Errorf("status = %+v, want ok, configured, live, 30s", st)
	}
	if !st.FetchedAt.Equal(t0.Add(3*time.Second)) || !st.AttemptedAt.Equal(st.FetchedAt) {
		t.Errorf("FetchedAt = %v, AttemptedAt = %v, want both at the end of the fetch %v", st.FetchedAt, st.AttemptedAt, t0.Add(3*time.Second))
	}
	if st.Seq != 1 || marker(u.Part) != 1 {
		t.Errorf("Seq = %d, part = %d, want 1 and 1", st.Seq, marker(u.Part))
	}

	waitTimers(t, clk, 1)
	if got := clk.Pending(); len(got) != 1 || got[0] != 30*time.Second {
		t.Fatalf("after a success the next fetch waits %v, want [30s]", got)
	}
	clk.Advance(30 * time.Second)
	u = recv(t, p.Updates())
	if u.Status.Seq != 2 || marker(u.Part) != 2 || !u.Status.FetchedAt.Equal(t0.Add(36*time.Second)) {
		t.Errorf("second update = seq %d part %d at %v, want seq 2 part 2 at t0+36s", u.Status.Seq, marker(u.Part), u.Status.FetchedAt)
	}
}

func TestFailureKeepsLastGoodValueUntilRecovery(t *testing.T) {
	clk := sources.NewManualClock(t0)
	boom := errors.New("connection refused")
	p := sources.NewPoller([]sources.SourceConfig{{
		ID:       sources.SourceMLflow,
		Interval: 10 * time.Second,
		Fetcher:  scripted(step{part: pipelinesPart(1)}, step{err: boom}, step{err: boom}, step{part: pipelinesPart(4)}),
	}}, sources.WithClock(clk), sources.WithRand(fixedRand(jitterZero)), sources.WithBackoff(time.Second, time.Minute))
	startPoller(t, p)

	ok := recv(t, p.Updates())
	if ok.Status.Health != sources.HealthOK {
		t.Fatalf("first status = %+v, want ok", ok.Status)
	}
	goodAt := ok.Status.FetchedAt

	var firstFailure time.Time
	for n := 1; n <= 2; n++ {
		waitTimers(t, clk, 1)
		clk.Advance(clk.Pending()[0])
		u := recv(t, p.Updates())
		st := u.Status
		if n == 1 {
			firstFailure = clk.Now()
		}
		if st.Health != sources.HealthStale || st.Failures != n || st.Err != "connection refused" || st.Seq != uint64(n+1) {
			t.Errorf("failure %d: status = %+v, want STALE, %d failures, the error, seq %d", n, st, n, n+1)
		}
		if marker(u.Part) != 1 || !st.FetchedAt.Equal(goodAt) {
			t.Errorf("failure %d: part %d fetched at %v, want the last good value 1 fetched at %v", n, marker(u.Part), st.FetchedAt, goodAt)
		}
		if !st.StaleSince.Equal(firstFailure) || !st.AttemptedAt.Equal(clk.Now()) {
			t.Errorf("failure %d: StaleSince = %v, AttemptedAt = %v, want %v and %v", n, st.StaleSince, st.AttemptedAt, firstFailure, clk.Now())
		}
	}

	waitTimers(t, clk, 1)
	clk.Advance(clk.Pending()[0])
	u := recv(t, p.Updates())
	st := u.Status
	if st.Health != sources.HealthOK || st.Failures != 0 || st.Err != "" || !st.StaleSince.IsZero() || st.Seq != 4 || marker(u.Part) != 4 {
		t.Errorf("after recovery: status = %+v part %d, want ok, no failure, no error, seq 4, part 4", st, marker(u.Part))
	}
	waitTimers(t, clk, 1)
	if got := clk.Pending(); got[0] != 10*time.Second {
		t.Errorf("after recovery the next fetch waits %v, want the interval 10s", got[0])
	}
}

func TestRetryDelaysBackOffWithJitter(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		name     string
		interval time.Duration
		opts     []sources.Option
		want     []time.Duration
	}{
		{
			// Bases 1,2,4,8,16,30,30 s; equal jitter at 0.5 gives three quarters of each.
			name:     "custom backoff, half jitter",
			interval: 10 * time.Second,
			opts:     []sources.Option{sources.WithBackoff(time.Second, 30*time.Second), sources.WithRand(fixedRand(jitterHalf))},
			want: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second,
				12 * time.Second, 22500 * time.Millisecond, 22500 * time.Millisecond},
		},
		{
			// Default backoff (1 s .. 2 min), but the interval (5 min) is the
			// larger cap; zero jitter gives half of each base.
			name:     "interval above the default cap, zero jitter",
			interval: 5 * time.Minute,
			opts:     []sources.Option{sources.WithRand(fixedRand(jitterZero))},
			want: []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
				16 * time.Second, 32 * time.Second, 64 * time.Second, 128 * time.Second, 150 * time.Second, 150 * time.Second},
		},
		{
			// A source polled faster than the backoff minimum starts retrying at its interval.
			name:     "interval below the backoff minimum",
			interval: 200 * time.Millisecond,
			opts:     []sources.Option{sources.WithBackoff(time.Second, 2*time.Second), sources.WithRand(fixedRand(jitterZero))},
			want:     []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := sources.NewManualClock(t0)
			opts := append([]sources.Option{sources.WithClock(clk)}, tc.opts...)
			p := sources.NewPoller([]sources.SourceConfig{
				{ID: sources.SourceProm, Interval: tc.interval, Fetcher: scripted(step{err: boom})},
			}, opts...)
			startPoller(t, p)

			var got []time.Duration
			for i := range tc.want {
				u := recv(t, p.Updates())
				if u.Status.Health != sources.HealthDown || u.Status.Failures != i+1 || u.Part != (sources.Part{}) {
					t.Fatalf("update %d = %+v, want DOWN with %d failures and no value", i, u.Status, i+1)
				}
				waitTimers(t, clk, 1)
				d := clk.Pending()[0]
				got = append(got, d)
				clk.Advance(d)
			}
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Fatalf("retry delays = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestPanickingFetcherDegradesTheSource(t *testing.T) {
	clk := sources.NewManualClock(t0)
	var calls atomic.Int64
	fetch := sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		if calls.Add(1) == 1 {
			panic("nil map\n\x1b[2Jwrite")
		}
		return pipelinesPart(2), nil
	})
	p := sources.NewPoller([]sources.SourceConfig{{ID: sources.SourceKFP, Fetcher: fetch}}, sources.WithClock(clk))
	startPoller(t, p)

	u := recv(t, p.Updates())
	if u.Status.Health != sources.HealthDown || u.Status.Err != "internal error in kfp fetcher: nil map write" {
		t.Errorf("after a panic: status = %+v, want DOWN with %q", u.Status, "internal error in kfp fetcher: nil map write")
	}
	waitTimers(t, clk, 1)
	clk.Advance(clk.Pending()[0])
	if u := recv(t, p.Updates()); u.Status.Health != sources.HealthOK || marker(u.Part) != 2 {
		t.Errorf("the loop did not survive the panic: %+v", u.Status)
	}
}

func TestErrorTextIsOneCleanShortLine(t *testing.T) {
	long := "upstream said:\n\t<html>\x1b]0;pwned\x07" + strings.Repeat("x", 500) + "</html>"
	got := sources.FetchOnce(context.Background(), []sources.SourceConfig{
		{ID: sources.SourceProm, Fetcher: scripted(step{err: errors.New(long)})},
		{ID: sources.SourceKFP, Fetcher: scripted(step{err: errors.New("\x1b[31m\n")})},
	}, func() time.Time { return t0 })
	msg := got[0].Status.Err
	if strings.ContainsAny(msg, "\x1b\x07\n\t") || strings.Contains(msg, "pwned") || strings.Contains(msg, "  ") {
		t.Errorf("error text not cleaned: %q", msg)
	}
	if n := utf8.RuneCountInString(msg); n != 200 || !strings.HasPrefix(msg, "upstream said: <html>xxx") || !strings.HasSuffix(msg, "…") {
		t.Errorf("error text = %q (%d runes), want the start of the message cut to 200 runes with an ellipsis", msg, n)
	}
	if got[1].Status.Err == "" {
		t.Error("an error that cleans to nothing must still show as an error, not as an empty Err")
	}
}

func TestTimedOutFetchIsAFailure(t *testing.T) {
	clk := sources.NewManualClock(t0)
	hang := sources.FetcherFunc(func(ctx context.Context) (sources.Part, error) {
		<-ctx.Done()
		return sources.Part{}, ctx.Err()
	})
	p := sources.NewPoller([]sources.SourceConfig{{ID: sources.SourceProm, Fetcher: hang, Timeout: 2 * time.Millisecond}}, sources.WithClock(clk))
	startPoller(t, p)
	u := recv(t, p.Updates())
	if u.Status.Health != sources.HealthDown || !strings.HasPrefix(u.Status.Err, "no answer within 2ms") {
		t.Errorf("status = %+v, want DOWN with a timeout error", u.Status)
	}
}

func TestHangingSourceDoesNotDelayOthers(t *testing.T) {
	clk := sources.NewManualClock(t0)
	hanging := make(chan struct{})
	var hangReturned atomic.Bool
	hang := sources.FetcherFunc(func(ctx context.Context) (sources.Part, error) {
		close(hanging)
		<-ctx.Done() // its timeout (an hour) never comes during the test
		hangReturned.Store(true)
		return sources.Part{}, ctx.Err()
	})
	var quickCalls atomic.Int64
	quick := sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		return pipelinesPart(int(quickCalls.Add(1))), nil
	})
	p := sources.NewPoller([]sources.SourceConfig{
		{ID: sources.SourceMLflow, Fetcher: hang, Timeout: time.Hour},
		{ID: sources.SourceKFP, Fetcher: quick, Interval: time.Second},
	}, sources.WithClock(clk))
	stop := startPoller(t, p)

	<-hanging
	for want := 1; want <= 5; want++ {
		u := recv(t, p.Updates())
		if u.Status.ID != sources.SourceKFP || u.Status.Seq != uint64(want) || marker(u.Part) != want {
			t.Fatalf("update %d = %s seq %d part %d, want kfp seq %d", want, u.Status.ID, u.Status.Seq, marker(u.Part), want)
		}
		// Only the quick source's timer exists: the hanging one is still fetching.
		waitTimers(t, clk, 1)
		if got := clk.Pending(); len(got) != 1 || got[0] != time.Second {
			t.Fatalf("pending timers = %v, want only kfp's 1s", got)
		}
		clk.Advance(time.Second)
	}

	// Stopping cancels the hanging fetch; its context.Canceled is not news.
	if err := stop(); err != nil {
		t.Fatalf("Run returned %v, want nil on stop", err)
	}
	if !hangReturned.Load() {
		t.Fatal("Run returned before the hanging fetch did")
	}
	for u := range p.Updates() {
		if u.Status.ID == sources.SourceMLflow {
			t.Errorf("the fetch cancelled by stopping was published: %+v", u.Status)
		}
	}
}

func TestRefreshDuringFetchCoalescesIntoOneFollowUp(t *testing.T) {
	clk := sources.NewManualClock(t0)
	var inFlight, maxInFlight, calls atomic.Int64
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	fetch := sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		c := calls.Add(1)
		started <- struct{}{}
		if c == 1 {
			<-release
		}
		return pipelinesPart(int(c)), nil
	})
	p := sources.NewPoller([]sources.SourceConfig{{ID: sources.SourceProm, Fetcher: fetch, Interval: time.Minute}}, sources.WithClock(clk))
	startPoller(t, p)

	<-started
	for range 10 {
		p.Refresh(sources.SourceProm)
	}
	p.Refresh(sources.SourceMLflow) // unknown to this poller: ignored
	close(release)

	// The first result may be replaced by the follow-up's before it is read.
	for u := recv(t, p.Updates()); marker(u.Part) != 2; u = recv(t, p.Updates()) {
		if marker(u.Part) != 1 {
			t.Fatalf("got part %d, want the first fetch (1) or its follow-up (2)", marker(u.Part))
		}
	}
	// Once the loop waits on its interval again, no further fetch is due.
	waitTimers(t, clk, 1)
	if got := calls.Load(); got != 2 {
		t.Errorf("fetches = %d, want 2: ten refreshes during a fetch make one follow-up", got)
	}
	if got := maxInFlight.Load(); got != 1 {
		t.Errorf("at most %d fetches ran at once, want 1", got)
	}
	if got := clk.Now(); !got.Equal(t0) {
		t.Errorf("clock moved to %v; the follow-up must not wait for the interval", got)
	}
}

func TestRefreshWhileWaitingFetchesAtOnce(t *testing.T) {
	clk := sources.NewManualClock(t0)
	var calls atomic.Int64
	fetch := sources.FetcherFunc(func(context.Context) (sources.Part, error) {
		return pipelinesPart(int(calls.Add(1))), nil
	})
	p := sources.NewPoller([]sources.SourceConfig{{ID: sources.SourceKube, Fetcher: fetch, Interval: time.Hour}}, sources.WithClock(clk))
	startPoller(t, p)

	recv(t, p.Updates())
	waitTimers(t, clk, 1)
	p.Refresh(sources.SourceKube)
	if u := recv(t, p.Updates()); marker(u.Part) != 2 {
		t.Fatalf("refresh fetched part %d, want 2", marker(u.Part))
	}
	// The interrupted interval timer is gone; one fresh one is armed.
	waitTimers(t, clk, 1)
	if got := clk.Pending(); len(got) != 1 || got[0] != time.Hour {
		t.Errorf("pending timers = %v, want one full interval", got)
	}
}

func TestSlowConsumerGetsNewestValueAndLoopsKeepRunning(t *testing.T) {
	clk := sources.NewManualClock(t0)
	counter := func() sources.Fetcher {
		var calls atomic.Int64
		return sources.FetcherFunc(func(context.Context) (sources.Part, error) {
			return pipelinesPart(int(calls.Add(1))), nil
		})
	}
	const buffer = 1
	p := sources.NewPoller([]sources.SourceConfig{
		{ID: sources.SourceProm, Fetcher: counter(), Interval: time.Second},
		{ID: sources.SourceKFP, Fetcher: counter(), Interval: time.Second},
	}, sources.WithClock(clk), sources.WithBuffer(buffer))
	startPoller(t, p)

	// Nobody reads while both sources fetch 20 more times; each round ends
	// with both loops parked on their timers, so none is stuck publishing.
	const rounds = 20
	for range rounds {
		waitTimers(t, clk, 2)
		clk.Advance(time.Second)
	}
	waitTimers(t, clk, 2)

	newest := map[sources.SourceID]int{}
	received := 0
	for newest[sources.SourceProm] != rounds+1 || newest[sources.SourceKFP] != rounds+1 {
		u := recv(t, p.Updates())
		received++
		if int(u.Status.Seq) != marker(u.Part) {
			t.Fatalf("update of %s has seq %d but part %d", u.Status.ID, u.Status.Seq, marker(u.Part))
		}
		newest[u.Status.ID] = marker(u.Part)
	}
	// At most: what the channel buffers, one in the forwarder's hand, one slot per source.
	if limit := buffer + 1 + 2; received > limit {
		t.Errorf("received %d updates to reach the newest, want at most %d (older ones replaced)", received, limit)
	}
}

func TestRunClosesChannelAndRunsOnce(t *testing.T) {
	p := sources.NewPoller([]sources.SourceConfig{{ID: sources.SourceProm}}, sources.WithClock(sources.NewManualClock(t0)))
	stop := startPoller(t, p)
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	select {
	case _, ok := <-p.Updates():
		if ok {
			t.Fatal("an unconfigured source published an update")
		}
	case <-time.After(waitLimit):
		t.Fatal("Updates was not closed after Run returned")
	}
	if err := p.Run(context.Background()); err == nil {
		t.Error("a second Run succeeded, want an error")
	}
}

func TestFetchOnceFetchesConcurrentlyWithOwnTimeouts(t *testing.T) {
	// Each of the two waits until both have started: run one after the
	// other, the first would time out instead.
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	meet := func(marker int) sources.Fetcher {
		return sources.FetcherFunc(func(ctx context.Context) (sources.Part, error) {
			arrived.Done()
			select {
			case <-both:
				return pipelinesPart(marker), nil
			case <-ctx.Done():
				return sources.Part{}, ctx.Err()
			}
		})
	}
	hang := sources.FetcherFunc(func(ctx context.Context) (sources.Part, error) {
		<-ctx.Done()
		return sources.Part{}, ctx.Err()
	})
	at := t0.Add(time.Minute)
	got := sources.FetchOnce(context.Background(), []sources.SourceConfig{
		{ID: sources.SourceProm, Fetcher: meet(1), Timeout: waitLimit},
		{ID: sources.SourceKube, Fetcher: hang, Timeout: time.Millisecond, Live: true},
		{ID: sources.SourceMLflow, Hint: "set mlflow.url"},
		{ID: sources.SourceKFP, Fetcher: meet(4), Timeout: waitLimit},
	}, func() time.Time { return at })

	if len(got) != 4 {
		t.Fatalf("FetchOnce returned %d updates, want 4", len(got))
	}
	for _, i := range []int{0, 3} {
		st := got[i].Status
		if st.Health != sources.HealthOK || st.Seq != 1 || !st.FetchedAt.Equal(at) || marker(got[i].Part) != i+1 {
			t.Errorf("update %d = %+v part %d, want ok at %v with part %d", i, st, marker(got[i].Part), at, i+1)
		}
	}
	if st := got[1].Status; st.ID != sources.SourceKube || st.Health != sources.HealthDown || !st.Live || !strings.HasPrefix(st.Err, "no answer within 1ms") {
		t.Errorf("timed-out source = %+v, want kube DOWN, live, with a timeout error", st)
	}
	if st := got[2].Status; st.ID != sources.SourceMLflow || st.Health != sources.HealthOff || st.Hint != "set mlflow.url" || st.Configured {
		t.Errorf("unconfigured source = %+v, want mlflow off with its hint", st)
	}
}

func TestFetchOnceRecoversFromPanic(t *testing.T) {
	got := sources.FetchOnce(context.Background(), []sources.SourceConfig{{
		ID:      sources.SourceProm,
		Fetcher: sources.FetcherFunc(func(context.Context) (sources.Part, error) { panic(errors.New("bad index")) }),
	}}, nil)
	if st := got[0].Status; st.Health != sources.HealthDown || st.Err != "internal error in prom fetcher: bad index" {
		t.Errorf("status = %+v, want DOWN with the panic as an internal error", st)
	}
}

func TestManualClockFiresDueTimersInOrder(t *testing.T) {
	clk := sources.NewManualClock(t0)
	late, early, stopped := clk.NewTimer(3*time.Second), clk.NewTimer(time.Second), clk.NewTimer(2*time.Second)
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop should report true once, then false")
	}
	clk.Advance(2 * time.Second)
	select {
	case at := <-early.C():
		if !at.Equal(t0.Add(2 * time.Second)) {
			t.Errorf("timer fired with %v, want the clock's time %v", at, t0.Add(2*time.Second))
		}
	default:
		t.Error("the 1s timer did not fire after 2s")
	}
	select {
	case <-late.C():
		t.Error("the 3s timer fired after 2s")
	case <-stopped.C():
		t.Error("a stopped timer fired")
	default:
	}
	if got := clk.Pending(); len(got) != 1 || got[0] != time.Second {
		t.Errorf("Pending() = %v, want [1s]", got)
	}
	if now := clk.NewTimer(0); len(now.C()) != 1 {
		t.Error("a zero-duration timer should fire at once")
	}
}
