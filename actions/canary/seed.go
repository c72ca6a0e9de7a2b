package canary

import (
	"fmt"
	"time"
)

// The seed policy is the article's run_canary_judgment, kept to compare the
// judge with. How the script maps onto ticks:
//
//   - It runs observation_minutes*60/check_interval = 15 checks, one per
//     check_interval (60 s). Check i happens at the first tick that ends at
//     or after i*60 s; a tick longer than the interval runs every check it
//     spans, on the same data, as the script's loop would.
//   - Each check's error rate is rate(5xx[5m])/rate(all[5m]): the canary's
//     errors over its requests in the ticks that ended in the last 5 minutes
//     (the last 5 ticks at 60 s, so consecutive windows overlap and one
//     spike is judged five times). Its p99 < 500 ms holds iff the share
//     slower than 500 ms in that window is below 1 %, which is what
//     histogram_quantile(0.99) < 500 means for a bucket bound of 500 ms.
//   - sufficient_traffic is increase(requests[15m]) >= 100 over the same
//     ticks; a check without it is skipped but still counts in the
//     denominator of the pass ratio, as in the script.
//   - A failed check with error rate > 3 x 2 % rolls back at once;
//     otherwise after 15 checks it promotes iff passed/15 >= 0.9.
//   - Python's `or 0.0` turns an absent series into a pass: a window with
//     no latency buckets passes the p99 check. A window with buckets or
//     requests but zero requests divides 0 by 0: NaN fails both
//     comparisons and never triggers the fast path.
//   - A failed query (Prometheus answering with an error body) makes every
//     query_prometheus call return None, so the check sees 0 requests and is
//     skipped as insufficient traffic.
//   - The article's PromQL has no revision label; like Flagger and the
//     specification's comparison (43 % false rollbacks at 60 canary
//     requests/min), the policy is fed the canary revision's counters.
//     It ignores readiness and cold start: the script does not look.

// SeedConfig is the article's CanaryConfig.
type SeedConfig struct {
	ObservationMinutes int
	CheckInterval      time.Duration
	ErrorRateThreshold float64
	P99ThresholdMillis float64
	MinRequestCount    float64
	// FastRollbackFactor: a failed check with error rate above this many
	// times ErrorRateThreshold rolls back at once.
	FastRollbackFactor float64
	PromotePassRatio   float64
	// RateWindow is the [5m] of the rate() queries.
	RateWindow time.Duration
}

// DefaultSeedConfig returns the article's values.
func DefaultSeedConfig() SeedConfig {
	return SeedConfig{
		ObservationMinutes: 15,
		CheckInterval:      60 * time.Second,
		ErrorRateThreshold: 0.02,
		P99ThresholdMillis: 500,
		MinRequestCount:    100,
		FastRollbackFactor: 3,
		PromotePassRatio:   0.9,
		RateWindow:         5 * time.Minute,
	}
}

// totalChecks is the script's observation_minutes * 60 // check_interval_seconds.
func (c SeedConfig) totalChecks() int {
	return int(time.Duration(c.ObservationMinutes) * time.Minute / c.CheckInterval)
}

type seedSample struct {
	end              time.Duration
	requests, errors float64
	slower           float64 // requests slower than the p99 threshold
	hasSlower        bool
}

// Seed is the article's threshold policy; build it with NewSeed.
type Seed struct {
	cfg SeedConfig

	tick      int
	elapsed   time.Duration
	nextCheck time.Duration
	checks    int
	passed    int
	samples   []seedSample // the ticks inside the longest query window

	done  bool
	final Verdict
}

// NewSeed starts the seed policy. bounds and percent are accepted for
// symmetry with NewJudge; the script's thresholds are absolute.
func NewSeed(cfg SeedConfig, bounds Bounds, percent int) (*Seed, error) {
	switch {
	case cfg.ObservationMinutes < 1 || cfg.CheckInterval <= 0 || cfg.totalChecks() < 1:
		return nil, fmt.Errorf("seed policy needs at least one check, got %d minutes at %v", cfg.ObservationMinutes, cfg.CheckInterval)
	case cfg.RateWindow <= 0:
		return nil, fmt.Errorf("seed policy rate window must be positive, got %v", cfg.RateWindow)
	case percent < 1 || percent > 100:
		return nil, fmt.Errorf("canaryTrafficPercent must lie in 1..100, got %d", percent)
	}
	return &Seed{cfg: cfg, nextCheck: cfg.CheckInterval}, nil
}

// Observe folds in one tick and runs the checks that fall due in it.
func (s *Seed) Observe(t Tick) Verdict {
	s.tick++
	length := t.Length
	if length <= 0 {
		length = s.cfg.CheckInterval
	}
	s.elapsed += length
	if s.done {
		return s.final.clone()
	}
	failed := t.QueryFailed || !t.Canary.usable()
	if !failed {
		slower, ok := t.Canary.SlowerThan(s.cfg.P99ThresholdMillis)
		s.samples = append(s.samples, seedSample{end: s.elapsed, requests: t.Canary.Requests, errors: t.Canary.Errors, slower: slower, hasSlower: ok})
	}
	keep := max(s.cfg.RateWindow, time.Duration(s.cfg.ObservationMinutes)*time.Minute)
	drop := 0
	for drop < len(s.samples) && s.samples[drop].end <= s.elapsed-keep {
		drop++
	}
	s.samples = s.samples[drop:]

	var last string
	for s.elapsed >= s.nextCheck && !s.done {
		s.nextCheck += s.cfg.CheckInterval
		last = s.check(failed)
	}
	if s.done {
		return s.final.clone()
	}
	v := Verdict{Decision: Observing, Tick: s.tick, Elapsed: s.elapsed,
		Explanation: fmt.Sprintf("OBSERVING at tick %d (seed): %s", s.tick, s.progress(last))}
	if last != "" {
		v.Reasons = []string{last}
	}
	return v
}

func (s *Seed) progress(last string) string {
	if last == "" {
		return fmt.Sprintf("no check due yet; %d/%d checks passed", s.passed, s.cfg.totalChecks())
	}
	return fmt.Sprintf("%s; %d/%d checks passed so far", last, s.passed, s.checks)
}

// check runs one evaluate_canary and its branch of the script's loop, and
// returns a line describing it.
func (s *Seed) check(queryFailed bool) string {
	s.checks++
	total := s.cfg.totalChecks()
	var requests15, windowRequests, windowErrors, slowRequests, slower float64
	for _, x := range s.samples {
		if x.end > s.elapsed-time.Duration(s.cfg.ObservationMinutes)*time.Minute {
			requests15 += x.requests
		}
		if x.end > s.elapsed-s.cfg.RateWindow {
			windowRequests += x.requests
			windowErrors += x.errors
			if x.hasSlower {
				slowRequests += x.requests
				slower += x.slower
			}
		}
	}
	var line string
	switch {
	case queryFailed || requests15 < s.cfg.MinRequestCount:
		if queryFailed {
			requests15 = 0 // every query answered None
		}
		line = fmt.Sprintf("check %d/%d skipped: %s canary requests in %dm < %s", s.checks, total,
			fmtCount(requests15), s.cfg.ObservationMinutes, fmtCount(s.cfg.MinRequestCount))
	default:
		errorRate := windowErrors / windowRequests // NaN without requests, as in PromQL
		latencyOK, latency := true, "no latency buckets"
		if slowRequests > 0 || windowRequests == 0 {
			share := slower / slowRequests
			latencyOK = share < 0.01
			latency = fmt.Sprintf("slower than %s %s", fmtMillis(s.cfg.P99ThresholdMillis), fmtRate(slower, slowRequests))
		}
		errorOK := errorRate < s.cfg.ErrorRateThreshold
		window := fmt.Sprintf("canary 5xx %s (%s/%s), %s over %s", fmtRate(windowErrors, windowRequests),
			fmtCount(windowErrors), fmtCount(windowRequests), latency, fmtDuration(s.cfg.RateWindow))
		if errorOK && latencyOK {
			s.passed++
			line = fmt.Sprintf("check %d/%d passed: %s", s.checks, total, window)
			break
		}
		fast := s.cfg.ErrorRateThreshold * s.cfg.FastRollbackFactor
		if errorRate > fast {
			s.conclude(Rollback, fmt.Sprintf("ROLLBACK at tick %d (seed): check %d/%d %s; 5xx above %s (%g x %s): immediate rollback. %s",
				s.tick, s.checks, total, window, fmtLimit(fast), s.cfg.FastRollbackFactor, fmtLimit(s.cfg.ErrorRateThreshold), actionRollback), line)
			return line
		}
		line = fmt.Sprintf("check %d/%d failed (5xx must be < %s, p99 < %s): %s", s.checks, total,
			fmtLimit(s.cfg.ErrorRateThreshold), fmtMillis(s.cfg.P99ThresholdMillis), window)
	}
	if s.checks >= total {
		ratio := float64(s.passed) / float64(max(total, 1))
		d, cmp, action := Rollback, "<", actionRollback
		if ratio >= s.cfg.PromotePassRatio {
			d, cmp, action = Promote, ">=", actionPromote
		}
		s.conclude(d, fmt.Sprintf("%s at tick %d (seed): %d/%d checks passed (pass ratio %.2f %s %g); last %s. %s",
			d, s.tick, s.passed, total, ratio, cmp, s.cfg.PromotePassRatio, line, action), line)
	}
	return line
}

func (s *Seed) conclude(d Decision, explanation, reason string) {
	s.final = Verdict{Decision: d, Tick: s.tick, Elapsed: s.elapsed, Explanation: explanation}
	if reason != "" {
		s.final.Reasons = []string{reason}
	}
	s.done = true
	s.samples = nil
}
