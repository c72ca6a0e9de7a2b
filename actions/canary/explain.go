package canary

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The explanation is the one line an on-call engineer reads before acting,
// so it leads with the decision and the raw counts behind it:
//
//	ROLLBACK at tick 3: canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x; harm evidence 354 >= 300 (false-rollback risk <= 1%). Action: canaryTrafficPercent=0

// Triggers of a terminal verdict, for the explanation.
type (
	killNotReady struct{}
	killErrors   struct{ errors, requests float64 }
	harmTrigger  struct{ metric int }
)

const (
	actionRollback = "Action: canaryTrafficPercent=0"
	actionPromote  = "Action: remove canaryTrafficPercent"
)

func (j *Judge) explain(v Verdict, trigger any) string {
	head := fmt.Sprintf("%s at tick %d: ", v.Decision, v.Tick)
	switch t := trigger.(type) {
	case killNotReady:
		return head + "kill switch: the canary revision is not Ready. " + actionRollback
	case killErrors:
		return head + fmt.Sprintf("kill switch: canary 5xx %s (%s/%s) in one tick (>= %s of >= %s requests). %s",
			fmtRate(t.errors, t.requests), fmtCount(t.errors), fmtCount(t.requests),
			fmtLimit(j.cfg.KillErrorShare), fmtCount(j.cfg.KillMinRequests), actionRollback)
	case harmTrigger:
		return head + j.compare(v.Metrics[t.metric]) + fmt.Sprintf("; harm evidence %s >= %s (false-rollback risk <= %s). %s",
			fmtEvidence(v.Metrics[t.metric].Harm), fmtCount(j.cfg.HarmThreshold),
			fmtLimit(float64(len(j.metrics))/j.cfg.HarmThreshold), actionRollback)
	}

	lead := headlineMetric(v.Metrics)
	headline := j.compare(v.Metrics[lead])
	switch v.Decision {
	case Promote:
		var cleared []string
		for i, m := range v.Metrics {
			kind, value := "safety", m.Safety
			if i == 0 && !(m.Safety >= j.cfg.SafetyThreshold) {
				kind, value = "floor", m.Floor
			}
			cleared = append(cleared, fmt.Sprintf("%s (%s %s)", metricLabel(m.Name, m.BoundMillis), kind, fmtEvidence(value)))
		}
		return head + headline + fmt.Sprintf("; cleared %s >= %s after %s and %s canary requests. %s",
			strings.Join(cleared, ", "), fmtCount(j.cfg.SafetyThreshold), fmtDuration(v.Elapsed),
			fmtCount(v.Metrics[0].CanaryTotal), actionPromote)
	case Inconclusive:
		return head + headline + fmt.Sprintf("; no decision after %s: %s. Action: none, keep the split; a human decides",
			fmtDuration(v.Elapsed), strings.Join(v.Reasons, "; "))
	case Hold:
		return head + strings.Join(v.Reasons, "; ") + "; " + headline + ". No action: a hold is not a failure" + etaNote(v.ETA)
	}
	e := v.Metrics[lead]
	return head + headline + fmt.Sprintf("; harm %s/%s, safety %s/%s; waiting: %s",
		fmtEvidence(e.Harm), fmtCount(j.cfg.HarmThreshold), fmtEvidence(e.Safety), fmtCount(j.cfg.SafetyThreshold),
		strings.Join(v.Reasons, ", ")) + etaNote(v.ETA)
}

// headlineMetric picks the metric the line leads with: errors, unless a
// latency metric is building clearly more harm evidence.
func headlineMetric(ms []MetricEvidence) int {
	best := 0
	for i := 1; i < len(ms); i++ {
		if ms[i].Harm > max(ms[best].Harm, 10) {
			best = i
		}
	}
	return best
}

// compare is "canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x",
// with the quantile of the latency metrics (as histogram_quantile computes
// it from the same buckets) when the buckets allow.
func (j *Judge) compare(m MetricEvidence) string {
	what := "5xx"
	if m.BoundMillis > 0 {
		what = "slower than " + fmtMillis(m.BoundMillis)
	}
	s := fmt.Sprintf("canary %s %s (%s/%s) vs stable %s (%s/%s)", what,
		fmtRate(m.CanaryBad, m.CanaryTotal), fmtCount(m.CanaryBad), fmtCount(m.CanaryTotal),
		fmtRate(m.StableBad, m.StableTotal), fmtCount(m.StableBad), fmtCount(m.StableTotal))
	if ratio := m.CanaryRate() / m.StableRate(); !math.IsNaN(ratio) && !math.IsInf(ratio, 0) {
		s += fmt.Sprintf(" = %.1fx", ratio)
	}
	if m.BoundMillis == 0 {
		return s
	}
	q := 0.99
	if m.Name == MetricSlowerL90 {
		q = 0.90
	}
	cq, cOK := j.canary.quantile(q)
	sq, sOK := j.stable.quantile(q)
	if cOK && sOK {
		s += fmt.Sprintf(" (p%s %s vs %s)", strconv.FormatFloat(q*100, 'f', -1, 64), cq, sq)
	}
	return s
}

func etaNote(e ETA) string {
	if !e.Known {
		return ""
	}
	s := fmt.Sprintf("; a %.3gx regression would roll back in ~%.0f ticks (%s)", e.Rho1, math.Ceil(e.Ticks), fmtDuration(e.Duration.Round(time.Minute)))
	switch {
	case e.ExceedsMax && e.SuggestPercent > 0:
		s += fmt.Sprintf(", too slow: raise canaryTrafficPercent to %d", e.SuggestPercent)
	case e.ExceedsMax:
		s += ", too slow at any canaryTrafficPercent: more traffic needed"
	}
	return s
}

// histogram accumulates one revision's latency buckets over the analysis,
// from the slower-than counts, for quantiles in explanations.
type histogram struct {
	requests float64
	ticks    int
	slower   map[float64]float64
	seen     map[float64]int // ticks that reported the bound
}

func newHistogram() histogram {
	return histogram{slower: map[float64]float64{}, seen: map[float64]int{}}
}

func (h *histogram) add(c Counts) {
	h.ticks++
	h.requests += c.Requests
	for bound, v := range c.Slower {
		h.slower[bound] += v
		h.seen[bound]++
	}
}

// quantile interpolates inside the bucket as Prometheus' histogram_quantile
// does: the first bucket starts at 0, and a rank in the +Inf bucket returns
// the highest finite bound (shown here as ">=bound", since it is a floor).
// Only bounds reported in every tick are used, or the cumulative counts
// would not be comparable.
func (h histogram) quantile(q float64) (string, bool) {
	if h.requests <= 0 {
		return "", false
	}
	var bounds []float64
	for b, n := range h.seen {
		if n == h.ticks {
			bounds = append(bounds, b)
		}
	}
	if len(bounds) == 0 {
		return "", false
	}
	slices.Sort(bounds)
	cum := make([]float64, len(bounds))
	for i, b := range bounds {
		cum[i] = h.requests - h.slower[b]
		if i > 0 {
			cum[i] = max(cum[i], cum[i-1]) // histogram_quantile's monotonicity fix
		}
	}
	rank := q * h.requests
	i, _ := slices.BinarySearchFunc(cum, rank, func(c, r float64) int {
		if c >= r {
			return 1
		}
		return -1
	})
	if i == len(bounds) {
		return ">=" + fmtMillis(bounds[len(bounds)-1]), true
	}
	start, before := 0.0, 0.0
	if i > 0 {
		start, before = bounds[i-1], cum[i-1]
	}
	value := start + (bounds[i]-start)*(rank-before)/(cum[i]-before)
	return fmtMillis(math.Round(value)), true
}

func metricLabel(name string, bound float64) string {
	if bound == 0 {
		return name
	}
	return "slower than " + fmtMillis(bound)
}

// fmtEvidence shows an e-value with about three significant digits.
func fmtEvidence(x float64) string {
	switch {
	case math.IsInf(x, 1):
		return "inf"
	case x >= 1e5:
		return fmt.Sprintf("%.2g", x)
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

// fmtRate is an observed share with two decimals, or n/a without traffic.
func fmtRate(bad, total float64) string {
	if total <= 0 {
		return "n/a"
	}
	return fmtPercent(bad / total)
}

func fmtPercent(x float64) string { return fmt.Sprintf("%.2f%%", x*100) }

// fmtLimit shows a configured share without trailing zeros: 2%, 0.5%.
func fmtLimit(x float64) string { return fmt.Sprintf("%.3g%%", x*100) }

func fmtCount(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func fmtMillis(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) + "ms" }

// fmtDuration is "5m", "4m30s", "1h5m": whole seconds, no zero units.
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d/time.Hour), int(d%time.Hour/time.Minute), int(d%time.Minute/time.Second)
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if s > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", s)
	}
	return b.String()
}

func joinAnd(parts []string) string { return strings.Join(parts, " and ") }
