package sim

import (
	"math"
	"time"
)

// Latency is modelled per revision as a log-normal distribution fixed by its
// median and 99th percentile. A service's latency is the mixture of its
// revisions' distributions weighted by their traffic, so a 20 % canary with a
// slow tail lifts the service's p99 the way a real histogram_quantile over
// both revisions' buckets would, rather than by a weighted average of p99s.

// z99 is the standard normal 99th percentile.
const z99 = 2.3263478740408408

// latency is one revision's log-normal latency in seconds.
type latency struct {
	weight    float64 // share of the requests
	mu, sigma float64 // of ln(seconds)
}

func newLatency(weight float64, p50, p99 time.Duration) latency {
	if p99 <= p50 {
		p99 = p50 + time.Millisecond
	}
	mu := math.Log(p50.Seconds())
	return latency{weight: weight, mu: mu, sigma: (math.Log(p99.Seconds()) - mu) / z99}
}

// tail is the share of this revision's requests slower than ln(x) = lx.
func (l latency) tail(lx float64) float64 {
	return 0.5 * math.Erfc((lx-l.mu)/(l.sigma*math.Sqrt2))
}

// mixtureQuantile returns the q-quantile of the weighted mixture, by
// bisection on the log of the latency (the tail is monotone in it).
func mixtureQuantile(parts []latency, q float64) time.Duration {
	var total float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range parts {
		if p.weight <= 0 {
			continue
		}
		total += p.weight
		lo = math.Min(lo, p.mu-6*p.sigma)
		hi = math.Max(hi, p.mu+6*p.sigma)
	}
	if total <= 0 {
		return 0
	}
	want := 1 - q
	for range 60 {
		mid := (lo + hi) / 2
		var slower float64
		for _, p := range parts {
			if p.weight > 0 {
				slower += p.weight / total * p.tail(mid)
			}
		}
		if slower > want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return time.Duration(math.Exp((lo+hi)/2) * float64(time.Second))
}
