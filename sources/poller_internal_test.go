package sources

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkPublish measures a loop's publish path: replacing its slot in the
// mailbox and waking the forwarder, with a consumer draining the channel.
func BenchmarkPublish(b *testing.B) {
	p := NewPoller(nil, WithClock(NewManualClock(time.Time{})))
	ctx, cancel := context.WithCancel(context.Background())
	forwarded := make(chan struct{})
	go func() { p.forward(ctx); close(forwarded) }()
	drained := make(chan struct{})
	go func() {
		for range p.out {
		}
		close(drained)
	}()

	u := Update{Status: SourceStatus{ID: SourceProm}, Part: Part{Pipelines: &Pipelines{}}}
	for b.Loop() {
		u.Status.Seq++
		p.box.put(u)
	}
	b.StopTimer()
	cancel()
	<-forwarded
	close(p.out)
	<-drained
}

// Many consecutive failures must not overflow the doubling into a negative
// or zero delay: the cap holds however long a source stays down.
func TestPollerBackoffHoldsAtCapAfterManyFailures(t *testing.T) {
	p := NewPoller(nil, WithBackoff(time.Second, time.Minute), WithRand(rand.New(rand.NewPCG(1, 2))))
	for _, failures := range []int{1, 10, 63, 64, 1000, 1 << 30} {
		d := p.nextDelay(5*time.Second, failures)
		if d <= 0 || d > time.Minute {
			t.Errorf("nextDelay after %d failures = %v, want within (0, 1m]", failures, d)
		}
	}
	if d := p.nextDelay(5*time.Second, 1000); d < 30*time.Second {
		t.Errorf("nextDelay after 1000 failures = %v, want at least half the 1m cap", d)
	}
}
