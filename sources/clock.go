package sources

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is the poller's view of time. It is injected so tests can step
// through intervals and backoff delays without sleeping.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer: C receives once when it fires.
type Timer interface {
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was still pending.
	Stop() bool
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer starts a time.Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// ManualClock is a Clock that moves only when Advance is called. Besides
// the poller's tests it suits anything (demo scenarios, UI tests) that must
// be deterministic about time. It is safe for concurrent use.
type ManualClock struct {
	mu      sync.Mutex
	now     time.Time
	pending []*manualTimer
	// armed is closed and replaced each time a timer starts, so WaitTimers
	// can sleep until the set of pending timers grows.
	armed chan struct{}
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, armed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer starts a timer that fires when the clock has advanced by d; a
// timer of zero or negative duration fires at once, as time.NewTimer does.
func (c *ManualClock) NewTimer(d time.Duration) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &manualTimer{clock: c, deadline: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
		return t
	}
	c.pending = append(c.pending, t)
	close(c.armed)
	c.armed = make(chan struct{})
	return t
}

// Advance moves the clock forward by d (a negative d counts as zero) and
// fires, in deadline order, every timer that is due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	var due, later []*manualTimer
	for _, t := range c.pending {
		if t.deadline.After(c.now) {
			later = append(later, t)
		} else {
			due = append(due, t)
		}
	}
	c.pending = later
	slices.SortStableFunc(due, func(a, b *manualTimer) int { return a.deadline.Compare(b.deadline) })
	for _, t := range due {
		// The channel has room for one value and each timer fires once, so
		// this never blocks while the lock is held.
		t.c <- c.now
	}
}

// Pending returns how long until each pending timer fires, shortest first.
func (c *ManualClock) Pending() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]time.Duration, 0, len(c.pending))
	for _, t := range c.pending {
		out = append(out, t.deadline.Sub(c.now))
	}
	slices.Sort(out)
	return out
}

// WaitTimers blocks until at least n timers are pending or ctx is done. Tests
// use it to know that every loop has finished its work and is waiting.
func (c *ManualClock) WaitTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		count, armed := len(c.pending), c.armed
		c.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-armed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type manualTimer struct {
	clock    *ManualClock
	deadline time.Time
	c        chan time.Time
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.pending {
		if p == t {
			c.pending = slices.Delete(c.pending, i, i+1)
			return true
		}
	}
	return false
}
