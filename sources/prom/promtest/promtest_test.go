package promtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func TestSteadyExposition(t *testing.T) {
	origin := time.Unix(1_000_000, 0)
	s := NewSteady(origin)
	s.now = func() time.Time { return origin.Add(100 * time.Second) }
	s.Counter("requests_total", map[string]string{"code": "200"}, 2.5)
	s.Gauge("temperature", nil, 41)
	if err := s.Histogram("latency_seconds", map[string]string{"model": "m"}, []float64{0.1, 0.5}, []float64{1, 0.5, 0.25}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	enc := expfmt.NewEncoder(&out, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	// 100 s after the origin: counter 250; buckets 100, 150, count 175;
	// sum 100x0.1 + 50x0.5 + 25x0.5 (overflow at the largest bound) = 47.5.
	for _, want := range []string{
		`requests_total{code="200"} 250`,
		`temperature 41`,
		"# TYPE latency_seconds histogram",
		`latency_seconds_bucket{model="m",le="0.1"} 100`,
		`latency_seconds_bucket{model="m",le="0.5"} 150`,
		`latency_seconds_bucket{model="m",le="+Inf"} 175`,
		`latency_seconds_sum{model="m"} 47.5`,
		`latency_seconds_count{model="m"} 175`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("exposition lacks %q:\n%s", want, out.String())
		}
	}
}

func TestSteadyHistogramValidation(t *testing.T) {
	s := NewSteady(time.Now())
	if err := s.Histogram("h", nil, []float64{1, 2}, []float64{1, 1}); err == nil {
		t.Error("accepted as many rates as bounds (the +Inf bucket is missing)")
	}
	if err := s.Histogram("h", nil, []float64{2, 1}, []float64{1, 1, 1}); err == nil {
		t.Error("accepted decreasing bounds")
	}
	if err := s.Histogram("h", nil, []float64{1, 1}, []float64{1, 1, 1}); err == nil {
		t.Error("accepted repeated bounds")
	}
}

func TestConfigYAML(t *testing.T) {
	out, err := configYAML(Config{ScrapeInterval: 2 * time.Second, Targets: []Target{
		{Job: "a", Addr: "127.0.0.1:1"},
		{Job: "b", Addr: "127.0.0.1:2", Labels: map[string]string{"namespace": "ml-prod"}},
		{Job: "a", Addr: "127.0.0.1:3"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scrape_interval: 2s", "job_name: a", "job_name: b", "namespace: ml-prod", "127.0.0.1:3"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(string(out), "job_name: a"); n != 1 {
		t.Errorf("job a appears %d times, want once:\n%s", n, out)
	}
}

func TestBinaryFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "prometheus.txt")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLTOP_PROMETHEUS", notExec)
	if _, err := Binary(); !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), "make test") {
		t.Errorf("Binary() with a non-executable MLTOP_PROMETHEUS: %v", err)
	}
	script := filepath.Join(dir, "prometheus")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MLTOP_PROMETHEUS", script)
	if got, err := Binary(); err != nil || got != script {
		t.Errorf("Binary() = %q, %v; want %q", got, err, script)
	}
}

// Start reports a server that cannot start with its own words.
func TestStartReportsAFailingBinary(t *testing.T) {
	script := filepath.Join(t.TempDir(), "prometheus")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'err=\"bad flag\"' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(Config{Binary: script})
	if err == nil || !strings.Contains(err.Error(), "bad flag") {
		t.Errorf("Start with a failing binary: %v", err)
	}
}
