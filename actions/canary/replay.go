package canary

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// A replay fixture is a recorded analysis: per-tick increments after
// warm-up and, optionally, the verdict the judge must reach:
//
//	name: 4x error regression
//	canary_percent: 10
//	tick_seconds: 60            # default 60
//	latency_ms: {l90: 100, l99: 250, slo: 500}   # slo defaults to 500
//	ticks:
//	  - stable: {requests: 2700, errors: 14, slower: {100: 270, 250: 27, 500: 3}}
//	    canary: {requests: 300, errors: 6, slower: {100: 30, 250: 3, 500: 0}}
//	  - query_failed: true      # the tick's counts, if any, are not seen
//	  - {stable: {...}, canary: {...}, canary_ready: false}
//	expect: {verdict: ROLLBACK, tick: 3}
//
// A revision left out of a tick had no requests; a `slower` map left out
// means no latency data (never zero slower requests).

// Fixture is a parsed replay fixture.
type Fixture struct {
	Name          string
	CanaryPercent int
	TickLength    time.Duration
	Bounds        Bounds
	Ticks         []Tick
	// Expect is nil when the fixture states no expected verdict.
	Expect *Expectation
}

// Expectation is the verdict and 1-based tick a fixture expects.
type Expectation struct {
	Verdict Decision `json:"verdict"`
	Tick    int      `json:"tick"`
}

// Result is a replay: the final verdict and the verdict after every tick.
type Result struct {
	Name    string
	Verdict Verdict
	Ticks   []Verdict
	Expect  *Expectation
}

// CheckExpect returns nil when the fixture states no expectation or the
// replay met it (verdict and tick), and otherwise an error saying what
// happened instead.
func (r Result) CheckExpect() error {
	if r.Expect == nil {
		return nil
	}
	if r.Verdict.Decision == r.Expect.Verdict && r.Verdict.Tick == r.Expect.Tick {
		return nil
	}
	return fmt.Errorf("%s: expected %s at tick %d, got %s at tick %d: %s", r.Name,
		r.Expect.Verdict, r.Expect.Tick, r.Verdict.Decision, r.Verdict.Tick, r.Verdict.Explanation)
}

// Replay parses a fixture and runs the named policy (see NewPolicy) over
// it with the default configuration.
func Replay(r io.Reader, policyName string) (Result, error) {
	f, err := ParseFixture(r)
	if err != nil {
		return Result{}, err
	}
	p, err := NewPolicy(policyName, DefaultConfig(), f.Bounds, f.CanaryPercent)
	if err != nil {
		return Result{}, err
	}
	return f.Replay(p), nil
}

// ReplayFile is Replay on a file; errors start with the path.
func ReplayFile(path, policyName string) (Result, error) {
	file, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer file.Close()
	res, err := Replay(file, policyName)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// Replay runs p over every tick of the fixture. p must be fresh.
func (f Fixture) Replay(p Policy) Result {
	res := Result{Name: f.Name, Expect: f.Expect, Ticks: make([]Verdict, 0, len(f.Ticks))}
	for _, t := range f.Ticks {
		res.Ticks = append(res.Ticks, p.Observe(t))
	}
	if n := len(res.Ticks); n > 0 {
		res.Verdict = res.Ticks[n-1]
	}
	return res
}

// maxFixtureBytes bounds what a fixture may make us read.
const maxFixtureBytes = 64 << 20

type fixtureYAML struct {
	Name          string       `yaml:"name"`
	CanaryPercent *int         `yaml:"canary_percent"`
	TickSeconds   *float64     `yaml:"tick_seconds"`
	Latency       *latencyYAML `yaml:"latency_ms"`
	Ticks         []tickYAML   `yaml:"ticks"`
	Expect        *expectYAML  `yaml:"expect"`
}

type latencyYAML struct {
	L90 *float64 `yaml:"l90"`
	L99 *float64 `yaml:"l99"`
	SLO *float64 `yaml:"slo"`
}

type tickYAML struct {
	Stable      *countsYAML `yaml:"stable"`
	Canary      *countsYAML `yaml:"canary"`
	QueryFailed bool        `yaml:"query_failed"`
	CanaryReady *bool       `yaml:"canary_ready"`
}

type countsYAML struct {
	Requests float64             `yaml:"requests"`
	Errors   float64             `yaml:"errors"`
	Slower   map[float64]float64 `yaml:"slower"`
}

type expectYAML struct {
	Verdict string `yaml:"verdict"`
	Tick    int    `yaml:"tick"`
}

// ParseFixture reads one fixture. Errors name the line they are about.
func ParseFixture(r io.Reader) (Fixture, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFixtureBytes+1))
	if err != nil {
		return Fixture{}, fmt.Errorf("reading fixture: %w", err)
	}
	if len(data) > maxFixtureBytes {
		return Fixture{}, fmt.Errorf("fixture larger than %d MiB", maxFixtureBytes>>20)
	}
	var raw fixtureYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key (querry_failed) must not pass silently
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return Fixture{}, errors.New("fixture is empty")
		}
		return Fixture{}, fmt.Errorf("fixture: %w", err)
	}
	// The node tree only supplies line numbers for the checks below; the
	// strict decode above already proved the document well formed.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Fixture{}, fmt.Errorf("fixture: %w", err)
	}
	lines := fixtureLines(&doc)
	return raw.fixture(lines)
}

// lineIndex finds the line of a top-level key or of a tick.
type lineIndex struct {
	keys  map[string]int
	ticks []int
}

func fixtureLines(doc *yaml.Node) lineIndex {
	idx := lineIndex{keys: map[string]int{}}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return idx
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, value := top.Content[i], top.Content[i+1]
		idx.keys[key.Value] = key.Line
		if key.Value == "ticks" && value.Kind == yaml.SequenceNode {
			for _, t := range value.Content {
				idx.ticks = append(idx.ticks, t.Line)
			}
		}
	}
	return idx
}

func (l lineIndex) key(name string) string {
	if n, ok := l.keys[name]; ok {
		return fmt.Sprintf("line %d: ", n)
	}
	return ""
}

func (l lineIndex) tick(i int) string {
	if i < len(l.ticks) {
		return fmt.Sprintf("line %d: tick %d: ", l.ticks[i], i+1)
	}
	return fmt.Sprintf("tick %d: ", i+1)
}

func (raw fixtureYAML) fixture(lines lineIndex) (Fixture, error) {
	f := Fixture{Name: raw.Name, TickLength: 60 * time.Second}
	if f.Name == "" {
		f.Name = "unnamed fixture"
	}
	if raw.CanaryPercent == nil {
		return f, errors.New("fixture: canary_percent is required")
	}
	if p := *raw.CanaryPercent; p < 1 || p > 100 {
		return f, fmt.Errorf("fixture: %scanary_percent must lie in 1..100, got %d", lines.key("canary_percent"), p)
	}
	f.CanaryPercent = *raw.CanaryPercent
	if raw.TickSeconds != nil {
		s := *raw.TickSeconds
		if !(s > 0) || s > 24*3600 {
			return f, fmt.Errorf("fixture: %stick_seconds must be positive (at most a day), got %v", lines.key("tick_seconds"), s)
		}
		f.TickLength = time.Duration(math.Round(s * float64(time.Second)))
	}
	if raw.Latency == nil || raw.Latency.L90 == nil || raw.Latency.L99 == nil {
		return f, fmt.Errorf("fixture: %slatency_ms needs l90 and l99 (bucket bounds in ms)", lines.key("latency_ms"))
	}
	f.Bounds = Bounds{L90: *raw.Latency.L90, L99: *raw.Latency.L99, SLO: DefaultSLOMillis}
	if raw.Latency.SLO != nil {
		f.Bounds.SLO = *raw.Latency.SLO
	}
	if err := f.Bounds.Validate(); err != nil {
		return f, fmt.Errorf("fixture: %s%w", lines.key("latency_ms"), err)
	}
	if len(raw.Ticks) == 0 {
		return f, fmt.Errorf("fixture: %sno ticks", lines.key("ticks"))
	}
	for i, rt := range raw.Ticks {
		t, err := rt.tick(f)
		if err != nil {
			return f, fmt.Errorf("fixture: %s%w", lines.tick(i), err)
		}
		f.Ticks = append(f.Ticks, t)
	}
	if raw.Expect != nil {
		d := Decision(strings.ToUpper(strings.TrimSpace(raw.Expect.Verdict)))
		switch d {
		case Promote, Rollback, Hold, Observing, Inconclusive:
		default:
			return f, fmt.Errorf("fixture: %sexpect.verdict %q is not one of PROMOTE, ROLLBACK, HOLD, OBSERVING, INCONCLUSIVE", lines.key("expect"), raw.Expect.Verdict)
		}
		if raw.Expect.Tick < 1 {
			return f, fmt.Errorf("fixture: %sexpect.tick must be a 1-based tick number, got %d", lines.key("expect"), raw.Expect.Tick)
		}
		f.Expect = &Expectation{Verdict: d, Tick: raw.Expect.Tick}
	}
	return f, nil
}

func (rt tickYAML) tick(f Fixture) (Tick, error) {
	t := Tick{Length: f.TickLength, QueryFailed: rt.QueryFailed}
	if rt.CanaryReady != nil && !*rt.CanaryReady {
		t.CanaryNotReady = true
	}
	if rt.QueryFailed {
		return t, nil // a failed query sees no counts, whatever the fixture lists
	}
	var err error
	if t.Stable, err = rt.Stable.counts("stable", f.Bounds); err != nil {
		return t, err
	}
	if t.Canary, err = rt.Canary.counts("canary", f.Bounds); err != nil {
		return t, err
	}
	return t, nil
}

func (c *countsYAML) counts(version string, b Bounds) (Counts, error) {
	if c == nil {
		return Counts{}, nil
	}
	out := Counts{Requests: c.Requests, Errors: c.Errors}
	switch {
	case !validCount(c.Requests):
		return out, fmt.Errorf("%s requests must be a count >= 0, got %v", version, c.Requests)
	case !validCount(c.Errors):
		return out, fmt.Errorf("%s errors must be a count >= 0, got %v", version, c.Errors)
	case c.Errors > c.Requests:
		return out, fmt.Errorf("%s errors %v exceed its requests %v", version, c.Errors, c.Requests)
	}
	if len(c.Slower) == 0 {
		return out, nil
	}
	out.Slower = make(map[float64]float64, len(c.Slower))
	for bound, n := range c.Slower {
		switch {
		case !(bound > 0) || math.IsInf(bound, 0):
			return out, fmt.Errorf("%s slower: bound %v must be a positive number of ms", version, bound)
		case !validCount(n):
			return out, fmt.Errorf("%s slower than %vms must be a count >= 0, got %v", version, bound, n)
		case n > c.Requests:
			return out, fmt.Errorf("%s slower than %vms: %v exceeds its requests %v", version, bound, n, c.Requests)
		}
		out.Slower[bound] = n
	}
	// A slower map that lacks a judged bound is almost surely a typo (a
	// bound that is not a bucket of the histogram); reading it as "no data"
	// would quietly stop that metric.
	if c.Requests > 0 {
		for _, need := range []struct {
			name  string
			bound float64
		}{{"l90", b.L90}, {"l99", b.L99}} {
			if _, ok := out.SlowerThan(need.bound); !ok {
				return out, fmt.Errorf("%s slower has no bound %vms (latency_ms.%s)", version, need.bound, need.name)
			}
		}
	}
	return out, nil
}
