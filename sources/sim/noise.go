package sim

import (
	"fmt"
	"math"
	"time"
)

// Every random-looking number of the demo comes from a hash of (seed, what
// it is, an index), never from a shared sequential generator: a value then
// depends only on what it describes and when, not on how often or in which
// order the fetchers ran, so two platforms with the same seed agree and a
// fetch can be repeated.

// hasher derives numbers from the platform's seed.
type hasher struct{ seed uint64 }

// splitmix64 is the finaliser of the SplitMix64 generator: a cheap bijection
// that spreads every input bit over the whole output.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// key names a stream of numbers: the FNV-1a hash of the name mixed with the seed.
func (h hasher) key(name string) uint64 {
	x := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		x ^= uint64(name[i])
		x *= 1099511628211
	}
	return splitmix64(x ^ splitmix64(h.seed))
}

// at is the i-th number of the stream key.
func at(key uint64, i int64) uint64 {
	return splitmix64(key ^ splitmix64(uint64(i)+0x632be59bd9b4e019))
}

// unit is the i-th number of the stream as a float in [0, 1).
func unit(key uint64, i int64) float64 {
	return float64(at(key, i)>>11) / (1 << 53)
}

// signed is the i-th number of the stream as a float in [-1, 1).
func signed(key uint64, i int64) float64 { return 2*unit(key, i) - 1 }

// smooth is value noise in [-1, 1]: random values at every multiple of
// period, joined by a smoothstep so the curve has no corners. Charts drawn
// from it look like traffic, not like white noise.
func smooth(key uint64, t time.Time, period time.Duration) float64 {
	n, p := t.UnixNano(), int64(period)
	b := n / p
	if n%p < 0 {
		b--
	}
	f := float64(n-b*p) / float64(p)
	f = f * f * (3 - 2*f)
	k := key ^ uint64(p)
	a, c := signed(k, b), signed(k, b+1)
	return a + (c-a)*f
}

// wander is smooth noise in [-1, 1] with a fast (1 minute) and a slow
// (11 minutes) component: minute-to-minute wobble on a slower drift.
func wander(key uint64, t time.Time) float64 {
	return 0.6*smooth(key, t, time.Minute) + 0.4*smooth(key, t, 11*time.Minute)
}

// triangular is a number in [0, 1) that clusters around 0.5, from the i-th
// and the following number of the stream.
func triangular(key uint64, i int64) float64 {
	return (unit(key, 2*i) + unit(key^0x5bd1e995, 2*i+1)) / 2
}

// hex32 is a 32-digit lowercase hex id, the shape of an MLflow run id.
func hex32(key uint64, i int64) string {
	return fmt.Sprintf("%016x%016x", at(key, 2*i), at(key, 2*i+1))
}

// uuid4 is a random (version 4) UUID, the shape of a Kubeflow Pipelines run id.
func uuid4(key uint64, i int64) string {
	hi, lo := at(key, 2*i), at(key, 2*i+1)
	hi = hi&^0xf000 | 0x4000           // version 4
	lo = lo&^(0xc000<<48) | 0x8000<<48 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, (hi>>16)&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// kubeAlphabet is the alphabet Kubernetes uses for generated name suffixes
// (no vowels, no look-alike digits).
const kubeAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// kubeSuffix is an n-letter suffix (n <= 13) like the ones ReplicaSets and
// pods get.
func kubeSuffix(key uint64, i int64, n int) string {
	out := make([]byte, n)
	x := at(key, i)
	for j := range out {
		out[j] = kubeAlphabet[x%uint64(len(kubeAlphabet))]
		x /= uint64(len(kubeAlphabet))
	}
	return string(out)
}

// lerp moves from a to b as f goes from 0 to 1.
func lerp(a, b, f float64) float64 { return a + (b-a)*f }

// clamp bounds x to [lo, hi].
func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }
