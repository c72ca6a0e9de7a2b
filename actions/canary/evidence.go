package canary

import "math"

// This file is the judge's arithmetic: the e-values of
// ../../../shared/reference/canary-judge.md, kept in log space.
//
// For a ratio rho = p_C/p_S of bad-event probabilities, the test conditions
// on the bad events of one tick, x (canary) + y (stable): under rho, the
// canary's share of them is binomial with
//
//	theta(rho) = rho*n_C / (rho*n_C + n_S)
//
// and one tick multiplies the evidence for an alternative rho1 against the
// null rho0 by the likelihood ratio, whose log is
//
//	l(rho1; rho0) = x*ln(theta1/theta0) + y*ln((1-theta1)/(1-theta0))
//	              = x*ln(rho1/rho0) + (x+y)*ln((rho0*n_C + n_S)/(rho1*n_C + n_S))
//
// The second form needs one logarithm per grid point and tick, and it is
// exact algebra, not an approximation. Averaging exp(sum of l) over a grid of
// alternatives keeps a nonnegative supermartingale under the null, so by
// Ville's inequality it may be compared with 1/alpha after every tick.

// ratioEvidence is E_t(rho0; G) for one metric: the running sum of l_k per
// grid point. Its zero value is unusable; build it with newRatioEvidence.
type ratioEvidence struct {
	null     float64
	grid     []float64
	logRatio []float64 // ln(rho1/rho0), fixed per grid point
	logSum   []float64 // sum over ticks of l_k(rho1; rho0)
}

func newRatioEvidence(null float64, grid []float64) ratioEvidence {
	e := ratioEvidence{
		null:     null,
		grid:     append([]float64(nil), grid...),
		logRatio: make([]float64, len(grid)),
		logSum:   make([]float64, len(grid)),
	}
	for i, rho1 := range grid {
		e.logRatio[i] = math.Log(rho1 / null)
	}
	return e
}

// add folds in one tick: x canary and y stable bad events out of nC and nS
// requests. A tick without bad events or without traffic on either side
// carries no information about the ratio and changes nothing.
func (e *ratioEvidence) add(x, y, nC, nS float64) {
	if x+y == 0 || nC == 0 || nS == 0 {
		return
	}
	nullMass := e.null*nC + nS
	for i, rho1 := range e.grid {
		e.logSum[i] += x*e.logRatio[i] + (x+y)*math.Log(nullMass/(rho1*nC+nS))
	}
}

// logValue is ln E_t: the log of the grid average of the likelihood ratios.
func (e ratioEvidence) logValue() float64 {
	return logMeanExp(e.logSum)
}

// floorEvidence is F_t: evidence that the canary's own error rate is below
// the negligible floor p_f, against the alternatives p1 = p_f*fraction. It
// uses canary counts only, so it clears a canary that barely errs even when
// the stable's errors are too rare to compare against.
type floorEvidence struct {
	logErr []float64 // ln(p1/p_f)
	logOK  []float64 // ln((1-p1)/(1-p_f))
	logSum []float64
}

func newFloorEvidence(rate float64, fractions []float64) floorEvidence {
	f := floorEvidence{
		logErr: make([]float64, len(fractions)),
		logOK:  make([]float64, len(fractions)),
		logSum: make([]float64, len(fractions)),
	}
	for i, frac := range fractions {
		p1 := rate * frac
		f.logErr[i] = math.Log(p1 / rate)
		f.logOK[i] = math.Log((1 - p1) / (1 - rate))
	}
	return f
}

// add folds in one tick's canary errors out of its requests.
func (f *floorEvidence) add(errors, requests float64) {
	if requests == 0 {
		return
	}
	for i := range f.logSum {
		f.logSum[i] += errors*f.logErr[i] + (requests-errors)*f.logOK[i]
	}
}

func (f floorEvidence) logValue() float64 {
	return logMeanExp(f.logSum)
}

// logMeanExp is ln((1/n) * sum exp(v_i)) without overflow: the largest term
// is factored out before exponentiating.
func logMeanExp(v []float64) float64 {
	if len(v) == 0 {
		return math.Inf(-1)
	}
	top := v[0]
	for _, x := range v[1:] {
		top = max(top, x)
	}
	if math.IsInf(top, 0) {
		return top
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(x - top)
	}
	return top + math.Log(sum) - math.Log(float64(len(v)))
}

// theta is the canary's expected share of the bad events when its
// bad-event probability is rho times the stable's.
func theta(rho, nC, nS float64) float64 {
	return rho * nC / (rho*nC + nS)
}

// bernoulliKL is KL(a || b) between Bernoulli(a) and Bernoulli(b), with the
// convention 0*ln(0) = 0 at the ends.
func bernoulliKL(a, b float64) float64 {
	var kl float64
	if a > 0 {
		kl += a * math.Log(a/b)
	}
	if a < 1 {
		kl += (1 - a) * math.Log((1-a)/(1-b))
	}
	return kl
}

// ticksToDetect is the spec's ETA: the expected number of ticks before the
// harm evidence reaches its threshold when the canary is truly rho1 times
// worse. One tick is expected to add
//
//	D = (rho1*n_C*p_S + n_S*p_S) * KL(theta(rho1) || theta(rho0))
//
// to ln E (expected bad events times the per-event information), and the
// threshold needs ln(|G|*threshold) of it, the worst case being that only
// the grid point nearest rho1 contributes. It returns +Inf when a tick
// carries no information (no traffic or a zero baseline).
func ticksToDetect(rho1, rho0 float64, gridSize int, threshold, nC, nS, pS float64) float64 {
	if nC <= 0 || nS <= 0 || pS <= 0 {
		return math.Inf(1)
	}
	perTick := (rho1*nC*pS + nS*pS) * bernoulliKL(theta(rho1, nC, nS), theta(rho0, nC, nS))
	if perTick <= 0 {
		return math.Inf(1)
	}
	return math.Log(float64(gridSize)*threshold) / perTick
}
