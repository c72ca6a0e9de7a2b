package canary

import (
	"math"
	"math/rand/v2"
	"testing"
)

// binomial draws from Binomial(n, p) by inversion. The draw is split into
// chunks whose probability of zero successes stays far from underflow, so
// it is exact for any n; each chunk costs about its mean in steps, which is
// cheap at the rates the tests use.
func binomial(r *rand.Rand, n int, p float64) int {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	chunk := max(1, int(500/-math.Log1p(-p)))
	total := 0
	for n > 0 {
		m := min(n, chunk)
		total += binomialInversion(r, m, p)
		n -= m
	}
	return total
}

func binomialInversion(r *rand.Rand, n int, p float64) int {
	ratio := p / (1 - p)
	f := math.Exp(float64(n) * math.Log1p(-p)) // P(X = 0)
	u := r.Float64()
	k := 0
	for u > f && k < n {
		u -= f
		f *= ratio * float64(n-k) / float64(k+1)
		k++
	}
	return k
}

// versionRates are the true per-request probabilities of one revision:
// 5xx, slower than L90, and, of those, slower than L99 and then than the SLO.
type versionRates struct {
	errors, slowerL90, slowerL99GivenL90, slowerSLOGivenL99 float64
}

// draw simulates one tick of n requests; latency buckets are nested, as a
// histogram's are.
func (v versionRates) draw(r *rand.Rand, n int, withLatency bool, b Bounds) Counts {
	c := Counts{Requests: float64(n), Errors: float64(binomial(r, n, v.errors))}
	if withLatency {
		s90 := binomial(r, n, v.slowerL90)
		s99 := binomial(r, s90, v.slowerL99GivenL90)
		sSLO := binomial(r, s99, v.slowerSLOGivenL99)
		c.Slower = map[float64]float64{b.L90: float64(s90), b.L99: float64(s99), b.SLO: float64(sSLO)}
	}
	return c
}

// TestBinomialSampler: the Monte Carlo tests are only as good as their
// sampler, so check its mean and variance at the rates they use.
func TestBinomialSampler(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct {
		n int
		p float64
	}{{2700, 0.1}, {300, 0.012}, {25, 0.01}, {20000, 0.05}} {
		const draws = 20000
		var sum, sumSq float64
		for range draws {
			x := float64(binomial(r, c.n, c.p))
			sum += x
			sumSq += x * x
		}
		mean := sum / draws
		variance := sumSq/draws - mean*mean
		wantMean, wantVar := float64(c.n)*c.p, float64(c.n)*c.p*(1-c.p)
		if math.Abs(mean-wantMean) > 4*math.Sqrt(wantVar/draws) || math.Abs(variance/wantVar-1) > 0.05 {
			t.Errorf("Binomial(%d, %v): mean %.3f (want %.3f), variance %.3f (want %.3f)", c.n, c.p, mean, wantMean, variance, wantVar)
		}
	}
}
