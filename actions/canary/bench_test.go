package canary

import (
	"testing"
)

// benchConfig never reaches a terminal decision, so every Observe runs the
// whole path (evidence, holds, gates, ETA, explanation) instead of
// returning a frozen verdict.
func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.MinDuration = 1 << 62
	cfg.MaxDuration = 1 << 62
	return cfg
}

func benchTick(i int) Tick {
	return Tick{
		Stable: Counts{Requests: 2700, Errors: 14, Slower: map[float64]float64{100: 270, 250: 27, 500: 3}},
		Canary: Counts{Requests: 300, Errors: float64(1 + i%2), Slower: map[float64]float64{100: 30, 250: 3, 500: float64(i % 2)}},
	}
}

// BenchmarkJudgeObserve is the cost of one judge tick.
func BenchmarkJudgeObserve(b *testing.B) {
	j, err := NewJudge(benchConfig(), fixtureBounds(), 10)
	if err != nil {
		b.Fatal(err)
	}
	ticks := [2]Tick{benchTick(0), benchTick(1)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v := j.Observe(ticks[i%2]); v.Decision.Terminal() {
			b.Fatalf("benchmark judge decided %s; it must keep observing", v.Decision)
		}
	}
}

// BenchmarkFleet500 is one refresh of 500 canaries (one judge per
// service): ns/op is the judge's share of a refresh.
func BenchmarkFleet500(b *testing.B) {
	const services = 500
	judges := make([]*Judge, services)
	for s := range judges {
		j, err := NewJudge(benchConfig(), fixtureBounds(), 10)
		if err != nil {
			b.Fatal(err)
		}
		judges[s] = j
	}
	ticks := [2]Tick{benchTick(0), benchTick(1)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for s, j := range judges {
			j.Observe(ticks[(i+s)%2])
		}
	}
}
