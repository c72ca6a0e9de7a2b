package promtest

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Steady is a collector of series that grow at constant per-second rates
// since Origin: every scrape reports rate x (scrape time - Origin). Since a
// counter's value is exactly linear in the scrape time, rate() over a window
// the server has fully scraped returns the injected rate (to the jitter of
// the scrape timestamps, microseconds against seconds), and
// histogram_quantile over the rates of the buckets is computable by hand.
// Origin should lie well before the first scrape (an hour, say) so that
// Prometheus never limits its extrapolation at the counter's zero point.
//
// Histogram counts are floats (client_model's CumulativeCountFloat) so no
// rounding to whole requests distorts the rates.
type Steady struct {
	origin time.Time
	now    func() time.Time

	mu     sync.Mutex
	descs  map[string]*prometheus.Desc
	series []steadySeries
}

type steadyKind int

const (
	steadyCounter steadyKind = iota
	steadyGauge
	steadyHistogram
)

type steadySeries struct {
	kind   steadyKind
	desc   *prometheus.Desc
	values []string // label values in the desc's order
	// rate is per second for a counter, the value of a gauge.
	rate float64
	// bounds are the histogram's finite upper bounds; bucketRates the
	// per-second observations in each bucket (not cumulative), the last one
	// above the largest bound (+Inf).
	bounds      []float64
	bucketRates []float64
}

// NewSteady returns a collector whose series started at origin.
func NewSteady(origin time.Time) *Steady {
	return &Steady{origin: origin, now: time.Now, descs: map[string]*prometheus.Desc{}}
}

// Counter adds a counter growing by perSecond every second.
func (s *Steady) Counter(name string, labels map[string]string, perSecond float64) {
	s.add(steadyCounter, name, labels, func(ss *steadySeries) { ss.rate = perSecond })
}

// Gauge adds a gauge of constant value.
func (s *Steady) Gauge(name string, labels map[string]string, value float64) {
	s.add(steadyGauge, name, labels, func(ss *steadySeries) { ss.rate = value })
}

// Histogram adds a histogram (name_bucket, name_count, name_sum) that
// observes perSecond[i] values per second in bucket i: (bounds[i-1],
// bounds[i]], the last one above the largest bound. The sum counts each
// observation at its bucket's upper bound (the largest finite bound for
// +Inf): nothing in mltop reads it.
func (s *Steady) Histogram(name string, labels map[string]string, bounds, perSecond []float64) error {
	if len(perSecond) != len(bounds)+1 {
		return fmt.Errorf("histogram %s: %d bucket rates for %d bounds: want one more (the +Inf bucket)", name, len(perSecond), len(bounds))
	}
	if !slices.IsSorted(bounds) || len(slices.Compact(slices.Clone(bounds))) != len(bounds) {
		return fmt.Errorf("histogram %s: bounds must increase", name)
	}
	s.add(steadyHistogram, name, labels, func(ss *steadySeries) {
		ss.bounds, ss.bucketRates = slices.Clone(bounds), slices.Clone(perSecond)
	})
	return nil
}

func (s *Steady) add(kind steadyKind, name string, labels map[string]string, set func(*steadySeries)) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := make([]string, len(keys))
	for i, k := range keys {
		values[i] = labels[k]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	descKey := name + "\x00" + strings.Join(keys, "\x00")
	desc := s.descs[descKey]
	if desc == nil {
		// The help text must be the same for every series of a family.
		desc = prometheus.NewDesc(name, name+" (promtest steady series)", keys, nil)
		s.descs[descKey] = desc
	}
	ss := steadySeries{kind: kind, desc: desc, values: values}
	set(&ss)
	s.series = append(s.series, ss)
}

// Describe sends nothing: Steady is an unchecked collector, its series
// are known only when they are added.
func (s *Steady) Describe(chan<- *prometheus.Desc) {}

// Collect reports every series at the current time.
func (s *Steady) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	all := slices.Clone(s.series)
	s.mu.Unlock()
	elapsed := s.now().Sub(s.origin).Seconds()
	for _, ss := range all {
		switch ss.kind {
		case steadyCounter:
			ch <- prometheus.MustNewConstMetric(ss.desc, prometheus.CounterValue, ss.rate*elapsed, ss.values...)
		case steadyGauge:
			ch <- prometheus.MustNewConstMetric(ss.desc, prometheus.GaugeValue, ss.rate, ss.values...)
		case steadyHistogram:
			ch <- floatHistogram{series: ss, elapsed: elapsed}
		}
	}
}

// floatHistogram is a classic histogram with float counts.
type floatHistogram struct {
	series  steadySeries
	elapsed float64
}

func (h floatHistogram) Desc() *prometheus.Desc { return h.series.desc }

func (h floatHistogram) Write(m *dto.Metric) error {
	ss := h.series
	var cumulative, sum float64
	buckets := make([]*dto.Bucket, len(ss.bounds))
	for i, bound := range ss.bounds {
		n := ss.bucketRates[i] * h.elapsed
		cumulative += n
		sum += n * bound
		buckets[i] = &dto.Bucket{UpperBound: new(bound), CumulativeCountFloat: new(cumulative)}
	}
	overflow := ss.bucketRates[len(ss.bounds)] * h.elapsed
	count := cumulative + overflow
	if len(ss.bounds) > 0 {
		sum += overflow * ss.bounds[len(ss.bounds)-1]
	}
	m.Label = prometheus.MakeLabelPairs(ss.desc, ss.values)
	m.Histogram = &dto.Histogram{SampleCountFloat: new(count), SampleSum: new(sum), Bucket: buckets}
	return nil
}
