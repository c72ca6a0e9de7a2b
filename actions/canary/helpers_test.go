package canary

import (
	"strings"
	"testing"
)

// fixtureBounds are the latency bounds every shared fixture uses.
func fixtureBounds() Bounds { return Bounds{L90: 100, L99: 250, SLO: 500} }

// counts builds one revision's tick with the fixtures' three bounds.
func counts(requests, errors, slower100, slower250, slower500 float64) Counts {
	return Counts{Requests: requests, Errors: errors, Slower: map[float64]float64{100: slower100, 250: slower250, 500: slower500}}
}

// steadyTick is the fixtures' healthy stable with a canary at the same rates.
func steadyTick() Tick {
	return Tick{Stable: counts(2700, 14, 270, 27, 3), Canary: counts(300, 2, 30, 3, 0)}
}

func newTestJudge(t testing.TB, percent int) *Judge {
	t.Helper()
	j, err := NewJudge(DefaultConfig(), fixtureBounds(), percent)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func hasReason(v Verdict, substr string) bool {
	for _, r := range v.Reasons {
		if strings.Contains(r, substr) {
			return true
		}
	}
	return false
}
