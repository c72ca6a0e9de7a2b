package sources

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mltop/mltop/sources/clean"
)

// Fetcher fetches one source's full value. It must return soon after ctx is
// done: the poller waits for a fetch to return before starting the next one
// of the same source, and Run waits for every fetch before it returns.
type Fetcher interface {
	Fetch(ctx context.Context) (Part, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context) (Part, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context) (Part, error) { return f(ctx) }

// SourceConfig is how one source is polled.
type SourceConfig struct {
	ID SourceID
	// Fetcher is nil when the source is not configured.
	Fetcher Fetcher
	// Interval is the wait between the end of one fetch and the start of the
	// next; zero or less means DefaultInterval.
	Interval time.Duration
	// Timeout bounds each fetch; zero or less means DefaultTimeout.
	Timeout time.Duration
	// Hint says how to configure the source; shown when Fetcher is nil.
	Hint string
	// Live marks a watch-driven source (Kubernetes informers). For now it is
	// polled like any other and only its status says Live.
	Live bool
}

// Defaults for a SourceConfig and the poller's options.
const (
	DefaultInterval   = 5 * time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultBackoffMin = 1 * time.Second
	DefaultBackoffMax = 2 * time.Minute
	DefaultBuffer     = 16
)

// maxErrRunes bounds the error text of a status: it is one line of the
// status bar or of a pane, and an HTML error page must not flood it.
const maxErrRunes = 200

func (c SourceConfig) configured() bool {
	if c.Fetcher == nil {
		return false
	}
	// A nil function in a non-nil interface is still "nothing to call".
	if f, ok := c.Fetcher.(FetcherFunc); ok && f == nil {
		return false
	}
	return true
}

// withDefaults fills the zero durations, so statuses report what is used.
func (c SourceConfig) withDefaults() SourceConfig {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// initialStatus is what is known about a source before any fetch.
func (c SourceConfig) initialStatus() SourceStatus {
	st := SourceStatus{ID: c.ID, Live: c.Live, Interval: c.Interval}
	if !c.configured() {
		st.Health = HealthOff
		st.Hint = c.Hint
		return st
	}
	st.Health = HealthPending
	st.Configured = true
	return st
}

// Option changes a Poller's settings.
type Option func(*settings)

type settings struct {
	clock      Clock
	rand       *rand.Rand
	backoffMin time.Duration
	backoffMax time.Duration
	buffer     int
	logger     *slog.Logger
}

// WithClock sets the clock that drives intervals, backoff and timestamps.
func WithClock(c Clock) Option {
	return func(s *settings) {
		if c != nil {
			s.clock = c
		}
	}
}

// WithRand sets the source of backoff jitter. The poller owns it from then
// on (it locks around every use), so the caller must not use it any more.
func WithRand(r *rand.Rand) Option {
	return func(s *settings) {
		if r != nil {
			s.rand = r
		}
	}
}

// WithBackoff sets the retry delays after failures: the first is
// min(first, interval), each next one doubles, up to max(longest, interval)
// so a slow-polled source never retries less often than it polls.
// Non-positive values keep the defaults (1 s and 2 min).
func WithBackoff(first, longest time.Duration) Option {
	return func(s *settings) {
		if first > 0 {
			s.backoffMin = first
		}
		if longest > 0 {
			s.backoffMax = longest
		}
		if s.backoffMax < s.backoffMin {
			s.backoffMax = s.backoffMin
		}
	}
}

// WithBuffer sets the capacity of the Updates channel (negative counts as 0).
func WithBuffer(n int) Option {
	return func(s *settings) { s.buffer = max(n, 0) }
}

// WithLogger receives the stack of a fetcher that panicked (the status only
// carries the panic value). Without it the stack is dropped.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.logger = l
		}
	}
}

// Poller keeps every configured source fresh: one goroutine per source
// fetches on its interval, retries failures with jittered exponential
// backoff, and publishes each result as a full Update on one channel.
// Updates, Initial and Refresh may be called from any goroutine.
type Poller struct {
	clock      Clock
	jitter     *lockedRand
	backoffMin time.Duration
	backoffMax time.Duration
	logger     *slog.Logger

	configs []SourceConfig           // every source, in the order given
	loops   map[SourceID]*sourceLoop // configured sources only; fixed after NewPoller
	order   []*sourceLoop            // loops in the order given

	box     *mailbox
	out     chan Update
	started atomic.Bool
}

// sourceLoop is one source's goroutine state.
type sourceLoop struct {
	cfg SourceConfig
	// refresh holds at most one pending request for an immediate fetch, so
	// any number of Refresh calls during a fetch make one follow-up fetch.
	refresh chan struct{}
	state   sourceState // touched only by the loop's goroutine
}

// NewPoller prepares a poller for cfgs. Source IDs must be unique; a later
// config with an ID already seen is ignored.
func NewPoller(cfgs []SourceConfig, opts ...Option) *Poller {
	s := settings{
		clock:      RealClock{},
		backoffMin: DefaultBackoffMin,
		backoffMax: DefaultBackoffMax,
		buffer:     DefaultBuffer,
	}
	for _, o := range opts {
		o(&s)
	}
	if s.rand == nil {
		s.rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	p := &Poller{
		clock:      s.clock,
		jitter:     &lockedRand{r: s.rand},
		backoffMin: s.backoffMin,
		backoffMax: s.backoffMax,
		logger:     s.logger,
		loops:      map[SourceID]*sourceLoop{},
		box:        newMailbox(),
		out:        make(chan Update, s.buffer),
	}
	seen := map[SourceID]bool{}
	for _, c := range cfgs {
		if seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		c = c.withDefaults()
		p.configs = append(p.configs, c)
		if !c.configured() {
			continue
		}
		l := &sourceLoop{cfg: c, refresh: make(chan struct{}, 1), state: sourceState{status: c.initialStatus()}}
		p.loops[c.ID] = l
		p.order = append(p.order, l)
	}
	return p
}

// Updates is the channel every update is published on. It is closed when
// Run returns. Parts are shared, not copied: consumers must not modify them.
func (p *Poller) Updates() <-chan Update { return p.out }

// Initial returns every source's status before any fetch: Off (with its
// hint) for an unconfigured source, Pending for a configured one.
func (p *Poller) Initial() []SourceStatus {
	out := make([]SourceStatus, 0, len(p.configs))
	for _, c := range p.configs {
		out = append(out, c.initialStatus())
	}
	return out
}

// Refresh asks for an immediate fetch of one source (the UI's "r" key). A
// fetch already running is never doubled: requests made during it result in
// one follow-up fetch once it ends. Unknown or unconfigured IDs are ignored.
func (p *Poller) Refresh(id SourceID) {
	l, ok := p.loops[id]
	if !ok {
		return
	}
	select {
	case l.refresh <- struct{}{}:
	default: // a request is already pending; this one is coalesced into it
	}
}

// Run polls every configured source until ctx is done, then waits for
// every loop to stop and closes the Updates channel. Stopping is not a
// failure: Run returns nil then. It returns an error if called twice.
func (p *Poller) Run(ctx context.Context) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("poller is already running or has run")
	}
	// The forwarder is the channel's only sender; it stops (with the loops)
	// before this close runs, so nothing can send on a closed channel.
	defer close(p.out)
	var wg sync.WaitGroup
	for _, l := range p.order {
		wg.Go(func() { p.poll(ctx, l) })
	}
	wg.Go(func() { p.forward(ctx) })
	wg.Wait()
	return nil
}

// poll is one source's loop. The interval is counted from the end of a fetch,
// so a slow source is not fetched back to back.
//
// Live (informer-based) sources will push their values through the same
// publish path (p.box.put) from their event handlers; until then they are
// polled here like the others.
func (p *Poller) poll(ctx context.Context, l *sourceLoop) {
	for {
		// A request made before this fetch starts is answered by it; only a
		// request made while it runs needs a follow-up.
		select {
		case <-l.refresh:
		default:
		}
		res := fetchOne(ctx, l.cfg)
		if res.stack != nil && p.logger != nil {
			p.logger.Error("fetcher panicked", "source", string(l.cfg.ID), "err", res.err, "stack", string(res.stack))
		}
		if ctx.Err() != nil && errors.Is(res.err, context.Canceled) {
			return // the poller is stopping; this is not the source's fault
		}
		p.box.put(l.state.record(res.part, res.err, p.clock.Now()))

		timer := p.clock.NewTimer(p.nextDelay(l.cfg.Interval, l.state.status.Failures))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C():
		case <-l.refresh:
			timer.Stop()
		}
	}
}

// nextDelay is the interval after a success; after failures it is an
// exponential backoff from min(interval, backoff min) doubling up to
// max(backoff max, interval), with equal jitter: the delay is drawn from
// [base/2, base), so retries stay at least half the backoff apart (a down
// source is not hammered) yet sources that failed together spread out.
func (p *Poller) nextDelay(interval time.Duration, failures int) time.Duration {
	if failures == 0 {
		return interval
	}
	base := min(interval, p.backoffMin)
	ceiling := max(p.backoffMax, interval)
	for i := 1; i < failures && base < ceiling; i++ {
		base *= 2
	}
	base = min(base, ceiling)
	half := base / 2
	return half + time.Duration(p.jitter.Float64()*float64(base-half))
}

// forward moves updates from the mailbox to the channel. It is the only
// sender on p.out.
func (p *Poller) forward(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.box.wake:
		}
		for {
			u, ok := p.box.take()
			if !ok {
				break
			}
			select {
			case p.out <- u:
			case <-ctx.Done():
				return
			}
		}
	}
}

// mailbox decouples the loops from the consumer. Publishing never blocks a
// loop: each source has one slot holding its newest undelivered update, and
// a newer update replaces an older one still waiting (updates are full
// values, so only the newest matters). A single forwarder goroutine empties
// the slots into the buffered channel in the order sources published, so a
// chatty source cannot starve a quiet one. We chose this over a non-blocking
// send that drops: a drop would lose the newest value until the next tick,
// which for a backed-off source may be minutes away.
type mailbox struct {
	mu     sync.Mutex
	latest map[SourceID]Update
	queue  []SourceID // sources with an update in latest, oldest first
	wake   chan struct{}
}

func newMailbox() *mailbox {
	return &mailbox{latest: map[SourceID]Update{}, wake: make(chan struct{}, 1)}
}

func (b *mailbox) put(u Update) {
	b.mu.Lock()
	if _, waiting := b.latest[u.Status.ID]; !waiting {
		b.queue = append(b.queue, u.Status.ID)
	}
	b.latest[u.Status.ID] = u
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default: // the forwarder is already due to look
	}
}

func (b *mailbox) take() (Update, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		return Update{}, false
	}
	id := b.queue[0]
	b.queue = b.queue[1:]
	u := b.latest[id]
	delete(b.latest, id)
	return u, true
}

// sourceState is a source's freshness record and its last good value.
type sourceState struct {
	status   SourceStatus
	lastGood Part
}

// record folds one fetch result, finished at `at`, into the state and
// returns the update to publish.
func (s *sourceState) record(part Part, err error, at time.Time) Update {
	st := &s.status
	st.Seq++
	st.AttemptedAt = at
	if err == nil {
		s.lastGood = part
		st.Health = HealthOK
		st.FetchedAt = at
		st.StaleSince = time.Time{}
		st.Err = ""
		st.Failures = 0
	} else {
		if st.Failures == 0 {
			st.StaleSince = at
		}
		st.Failures++
		st.Err = errorText(err)
		st.Health = HealthDown
		if st.HasData() {
			st.Health = HealthStale
		}
	}
	return Update{Status: *st, Part: s.lastGood}
}

// fetchResult is one fetch's outcome; stack is set when the fetcher panicked.
type fetchResult struct {
	part  Part
	err   error
	stack []byte
}

// fetchOne runs one fetch under the source's timeout. A panic becomes an
// error, so a broken adapter degrades its source instead of the program.
func fetchOne(ctx context.Context, cfg SourceConfig) (res fetchResult) {
	fctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			res = fetchResult{
				err:   fmt.Errorf("internal error in %s fetcher: %v", cfg.ID, v),
				stack: debug.Stack(),
			}
		}
	}()
	part, err := cfg.Fetcher.Fetch(fctx)
	if err != nil && ctx.Err() == nil && errors.Is(fctx.Err(), context.DeadlineExceeded) {
		// "context deadline exceeded" alone does not tell the on-call
		// engineer that the source is slow rather than broken.
		err = fmt.Errorf("no answer within %s: %w", cfg.Timeout, err)
	}
	return fetchResult{part: part, err: err}
}

// errorText makes an error fit for the status line: no escape sequences or
// control characters, one line with single spaces, at most maxErrRunes runes.
func errorText(err error) string {
	s := strings.Join(strings.Fields(clean.Text(err.Error())), " ")
	if s == "" {
		return "error without a message"
	}
	if utf8.RuneCountInString(s) <= maxErrRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxErrRunes-1]) + "…"
}

// lockedRand serialises the loops' use of one seeded rand.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// FetchOnce fetches every configured source once, concurrently, each under
// its own timeout, for headless commands. It returns one update per config,
// in order; unconfigured sources come back as HealthOff with their hint.
// now stamps the results (nil means time.Now).
func FetchOnce(ctx context.Context, cfgs []SourceConfig, now func() time.Time) []Update {
	if now == nil {
		now = time.Now
	}
	out := make([]Update, len(cfgs))
	var wg sync.WaitGroup
	for i, c := range cfgs {
		c = c.withDefaults()
		state := sourceState{status: c.initialStatus()}
		if !c.configured() {
			out[i] = Update{Status: state.status}
			continue
		}
		wg.Go(func() {
			res := fetchOne(ctx, c)
			out[i] = state.record(res.part, res.err, now())
		})
	}
	wg.Wait()
	return out
}
