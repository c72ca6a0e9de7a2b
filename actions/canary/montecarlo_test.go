package canary

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Seeded Monte Carlo checks of the properties the specification promises.
// Every test is deterministic (fixed PCG seeds) and sized to run in well
// under a second or two, so none hides behind -short.

// badDraw samples one tick of one revision without allocating: 5xx, and
// nested latency buckets (slower than L90, of those slower than L99).
func badDraw(r *rand.Rand, n int, v versionRates) (errors, slower90, slower99 float64) {
	s90 := binomial(r, n, v.slowerL90)
	return float64(binomial(r, n, v.errors)), float64(s90), float64(binomial(r, s90, v.slowerL99GivenL90))
}

// TestMonteCarloValidityUnderPeeking: at the worst-case null (rho = 1.2 on
// every metric, p_S = 1 % errors, 10 %/1 % slower than L90/L99), peeking
// after every tick for 30 minutes, the harm test rejects at most 1 % of
// runs, with 60 s ticks (300/2700 requests) and with 5 s ticks (the same
// traffic in 12 ticks a minute: 25/225). A naive z-test re-run on the
// cumulative counts at every tick, at the same nominal 1 %, does not.
func TestMonteCarloValidityUnderPeeking(t *testing.T) {
	cfg := DefaultConfig()
	stable := versionRates{errors: 0.01, slowerL90: 0.10, slowerL99GivenL90: 0.1}
	canary := versionRates{errors: 0.012, slowerL90: 0.12, slowerL99GivenL90: 0.1} // 1.2x on all three
	const runs = 4000
	logThreshold := math.Log(cfg.HarmThreshold)
	const zOnePercent = 2.3263 // one-sided 1 % normal quantile
	for _, cadence := range []struct {
		name           string
		ticksPerMinute int
		seed           uint64
	}{{"60s ticks", 1, 11}, {"5s ticks", 12, 12}} {
		r := rand.New(rand.NewPCG(cadence.seed, 0x5eed))
		nC, nS := 300/cadence.ticksPerMinute, 2700/cadence.ticksPerMinute
		ticks := 30 * cadence.ticksPerMinute
		var errorsRejected, anyRejected, naiveRejected int
		for range runs {
			var harm [3]ratioEvidence
			for i := range harm {
				harm[i] = newRatioEvidence(cfg.HarmNull, cfg.HarmGrid)
			}
			var eC, eS, sumC, sumS float64
			errorsHit, anyHit, naiveHit := false, false, false
			for range ticks {
				xe, x90, x99 := badDraw(r, nC, canary)
				ye, y90, y99 := badDraw(r, nS, stable)
				harm[0].add(xe, ye, float64(nC), float64(nS))
				harm[1].add(x90, y90, float64(nC), float64(nS))
				harm[2].add(x99, y99, float64(nC), float64(nS))
				for i := range harm {
					if harm[i].logValue() >= logThreshold {
						anyHit = true
						errorsHit = errorsHit || i == 0
					}
				}
				// The naive test: Wald z of ln(p_C/p_S) against ln 1.2.
				eC, eS, sumC, sumS = eC+xe, eS+ye, sumC+float64(nC), sumS+float64(nS)
				if eC > 0 && eS > 0 {
					z := (math.Log((eC/sumC)/(eS/sumS)) - math.Log(cfg.HarmNull)) / math.Sqrt(1/eC-1/sumC+1/eS-1/sumS)
					naiveHit = naiveHit || z > zOnePercent
				}
			}
			errorsRejected += b2i(errorsHit)
			anyRejected += b2i(anyHit)
			naiveRejected += b2i(naiveHit)
		}
		errRate, anyRate, naiveRate := rate(errorsRejected, runs), rate(anyRejected, runs), rate(naiveRejected, runs)
		t.Logf("%s, %d runs of %d ticks: harm rejects %.2f%% on errors alone, %.2f%% on any of 3 metrics (bound 1%%); naive z-test each tick %.1f%%",
			cadence.name, runs, ticks, 100*errRate, 100*anyRate, 100*naiveRate)
		if anyRate > 0.01 || errRate > 0.01 {
			t.Errorf("%s: harm test rejected %.2f%% (errors) / %.2f%% (any metric) of null runs, above 1%%", cadence.name, 100*errRate, 100*anyRate)
		}
		if naiveRate < 3*anyRate || naiveRate < 0.03 {
			t.Errorf("%s: the naive test rejected only %.2f%%; peeking should inflate it well above its nominal 1%%", cadence.name, 100*naiveRate)
		}
	}

	// The same through the whole judge (promotion disabled so every run
	// peeks for all 30 ticks): the decision path adds no false rollbacks.
	noPromote := DefaultConfig()
	noPromote.MinCanaryRequests = math.Inf(1)
	r := rand.New(rand.NewPCG(13, 0x5eed))
	bounds := fixtureBounds()
	rollbacks := 0
	const judgeRuns = 2000
	for range judgeRuns {
		j, err := NewJudge(noPromote, bounds, 10)
		if err != nil {
			t.Fatal(err)
		}
		for range 30 {
			v := j.Observe(Tick{Stable: stable.draw(r, 2700, true, bounds), Canary: canary.draw(r, 300, true, bounds)})
			if v.Decision == Rollback {
				rollbacks++
			}
			if v.Decision.Terminal() {
				break
			}
		}
	}
	t.Logf("whole judge at the null, 60s ticks, %d runs: ROLLBACK in %.2f%%", judgeRuns, 100*rate(rollbacks, judgeRuns))
	if rate(rollbacks, judgeRuns) > 0.01 {
		t.Errorf("the judge rolled back %.2f%% of null runs", 100*rate(rollbacks, judgeRuns))
	}
}

// simulate runs a fresh judge over up to 30 sampled 60 s ticks and returns
// its final verdict.
func simulate(t *testing.T, r *rand.Rand, stable, canary versionRates, nS, nC int) Verdict {
	t.Helper()
	bounds := fixtureBounds()
	j, err := NewJudge(DefaultConfig(), bounds, 10)
	if err != nil {
		t.Fatal(err)
	}
	var v Verdict
	for range 30 {
		v = j.Observe(Tick{Stable: stable.draw(r, nS, true, bounds), Canary: canary.draw(r, nC, true, bounds)})
		if v.Decision.Terminal() {
			break
		}
	}
	return v
}

// healthyRates: the given 5xx rate; 10 % slower than L90, 1 % than L99,
// 0.1 % than the SLO.
func healthyRates(errors float64) versionRates {
	return versionRates{errors: errors, slowerL90: 0.10, slowerL99GivenL90: 0.1, slowerSLOGivenL99: 0.1}
}

// TestMonteCarloIdenticalVersions: two identical revisions (1 % errors,
// the same latency) at 300/2700 requests per tick never roll back and
// promote in at least 95 % of runs within 30 minutes.
func TestMonteCarloIdenticalVersions(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 0x5eed))
	const runs = 2000
	tally := map[Decision]int{}
	var promoteTicks []int
	for range runs {
		v := simulate(t, r, healthyRates(0.01), healthyRates(0.01), 2700, 300)
		tally[v.Decision]++
		if v.Decision == Promote {
			promoteTicks = append(promoteTicks, v.Tick)
		}
	}
	t.Logf("identical versions, %d runs: PROMOTE %.1f%% (median tick %d), ROLLBACK %d, other %v",
		runs, 100*rate(tally[Promote], runs), median(promoteTicks), tally[Rollback], tally)
	if tally[Rollback] != 0 {
		t.Errorf("identical versions rolled back in %d runs", tally[Rollback])
	}
	if rate(tally[Promote], runs) < 0.95 {
		t.Errorf("identical versions promoted in only %.1f%% of runs, want >= 95%%", 100*rate(tally[Promote], runs))
	}
}

// TestMonteCarloPower: a 4x error regression at p_S = 0.5 % rolls back in
// every run, typically at tick 3.
func TestMonteCarloPower(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 0x5eed))
	const runs = 2000
	var rollbackTicks []int
	for range runs {
		v := simulate(t, r, healthyRates(0.005), healthyRates(0.02), 2700, 300)
		if v.Decision != Rollback {
			t.Fatalf("a 4x regression ended %s: %s", v.Decision, v.Explanation)
		}
		rollbackTicks = append(rollbackTicks, v.Tick)
	}
	m := median(rollbackTicks)
	t.Logf("rho = 4 at p_S = 0.5%%, %d runs: ROLLBACK in 100%%, median tick %d, slowest %d", runs, m, slices.Max(rollbackTicks))
	if m != 3 {
		t.Errorf("median rollback tick %d, want 3", m)
	}
}

// TestMonteCarloSeedFalseRollbacks: identical revisions at 1 % errors with
// 60 canary requests/min (540 stable). The seed policy's 15 uncorrected,
// overlapping looks roll back about 43 % of healthy canaries; the judge,
// fed the very same ticks for 30 minutes, essentially never does. Errors
// only: no latency buckets, which the seed reads as a passing p99 and the
// judge as no latency evidence (so it keeps looking for all 30 ticks).
func TestMonteCarloSeedFalseRollbacks(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 0x5eed))
	const runs = 2000
	seedRollbacks, judgeRollbacks := 0, 0
	for range runs {
		seed, err := NewSeed(DefaultSeedConfig(), fixtureBounds(), 10)
		if err != nil {
			t.Fatal(err)
		}
		judge := newTestJudge(t, 10)
		var seedVerdict, judgeVerdict Verdict
		for k := 1; k <= 30; k++ {
			tick := Tick{
				Stable: Counts{Requests: 540, Errors: float64(binomial(r, 540, 0.01))},
				Canary: Counts{Requests: 60, Errors: float64(binomial(r, 60, 0.01))},
			}
			if k <= 15 { // the seed always decides by its 15th check
				seedVerdict = seed.Observe(tick)
			}
			judgeVerdict = judge.Observe(tick)
		}
		seedRollbacks += b2i(seedVerdict.Decision == Rollback)
		judgeRollbacks += b2i(judgeVerdict.Decision == Rollback)
	}
	seedRate, judgeRate := rate(seedRollbacks, runs), rate(judgeRollbacks, runs)
	t.Logf("rho = 1, p = 1%%, 60 canary req/min, %d runs: seed policy false rollbacks %.1f%% (spec: about 43%%), judge %.2f%%", runs, 100*seedRate, 100*judgeRate)
	if seedRate < 0.30 || seedRate > 0.55 {
		t.Errorf("seed policy false-rollback rate %.1f%%, want about 43%%", 100*seedRate)
	}
	if judgeRate > 0.01 {
		t.Errorf("judge false-rollback rate %.2f%%, want <= 1%%", 100*judgeRate)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func rate(hits, runs int) float64 { return float64(hits) / float64(runs) }

func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
