package canary

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReplayFixtures: every fixture reproduces its expected verdict and
// tick, and the seed policy runs over it without error.
func TestReplayFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 6 {
		t.Fatalf("found %d fixtures in testdata, want the 6 shared ones", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res, err := ReplayFile(path, PolicyJudge)
			if err != nil {
				t.Fatal(err)
			}
			if res.Expect == nil {
				t.Fatal("fixture states no expectation")
			}
			if err := res.CheckExpect(); err != nil {
				t.Error(err)
			}
			t.Log(res.Verdict.Explanation)
			seed, err := ReplayFile(path, PolicySeed)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(seed.Verdict.Explanation)
		})
	}
}

// TestWorkedExample checks the specification's numbers: fixture v2's harm
// evidence on errors is 5.39, 40.9, 353.6 at ticks 1..3, and v6's on
// slower-than-250ms is 943 at tick 1.
func TestWorkedExample(t *testing.T) {
	v2, err := ReplayFile("testdata/v2.yaml", PolicyJudge)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{5.39, 40.9, 353.6} {
		got := v2.Ticks[i].Metrics[0].Harm
		if math.Abs(got-want) > 0.006*want {
			t.Errorf("v2 tick %d: errors E^H = %.4g, want %.4g", i+1, got, want)
		}
	}
	v6, err := ReplayFile("testdata/v6.yaml", PolicyJudge)
	if err != nil {
		t.Fatal(err)
	}
	if got := v6.Ticks[0].Metrics[2]; got.Name != MetricSlowerL99 || math.Abs(got.Harm-943) > 1 {
		t.Errorf("v6 tick 1: %s E^H = %.4g, want slower_than_L99 943", got.Name, got.Harm)
	}
}

// TestSeedOnFixtures: the specification's remark on v2 (every check fails,
// no fast path, so all 15 checks run and it rolls back at 15) and the seed's
// known failure on low traffic (v4 rolls back a healthy canary).
func TestSeedOnFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Decision
		tick int
	}{
		{"v1.yaml", Promote, 15},
		{"v2.yaml", Rollback, 15},
		{"v4.yaml", Rollback, 15},
		{"v6.yaml", Rollback, 15},
		{"v8.yaml", Rollback, 15},
	} {
		res, err := ReplayFile(filepath.Join("testdata", tc.file), PolicySeed)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict.Decision != tc.want || res.Verdict.Tick != tc.tick {
			t.Errorf("%s: seed %s at tick %d, want %s at %d: %s", tc.file, res.Verdict.Decision, res.Verdict.Tick, tc.want, tc.tick, res.Verdict.Explanation)
		}
	}
}

func TestReplayMalformed(t *testing.T) {
	const head = "name: x\ncanary_percent: 10\ntick_seconds: 60\nlatency_ms: {l90: 100, l99: 250, slo: 500}\n"
	const good = "  - stable: {requests: 2700, errors: 14, slower: {100: 270, 250: 27, 500: 3}}\n    canary: {requests: 300, errors: 6, slower: {100: 30, 250: 3, 500: 0}}\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "empty"},
		{"not yaml", "name: [unclosed", "line 1"},
		{"unknown key", head + "ticks:\n" + good + "  - querry_failed: true\n", "line 8: field querry_failed not found"},
		{"no percent", "name: x\nlatency_ms: {l90: 100, l99: 250}\nticks:\n" + good, "canary_percent is required"},
		{"percent range", strings.Replace(head, "canary_percent: 10", "canary_percent: 0", 1) + "ticks:\n" + good, "line 2: canary_percent must lie in 1..100"},
		{"bad tick seconds", strings.Replace(head, "tick_seconds: 60", "tick_seconds: -5", 1) + "ticks:\n" + good, "line 3: tick_seconds must be positive"},
		{"no bounds", "name: x\ncanary_percent: 10\nticks:\n" + good, "latency_ms needs l90 and l99"},
		{"no ticks", head + "ticks: []\n", "line 5: no ticks"},
		{"errors exceed requests", head + "ticks:\n" + good + "  - stable: {requests: 10, errors: 11}\n", "line 8: tick 2: stable errors 11 exceed its requests 10"},
		{"negative", head + "ticks:\n" + good + "  - canary: {requests: -1}\n", "line 8: tick 2: canary requests must be a count >= 0"},
		{"missing bound", head + "ticks:\n" + good + "  - canary: {requests: 5, slower: {110: 1, 250: 0}}\n", "line 8: tick 2: canary slower has no bound 100ms (latency_ms.l90)"},
		{"slower exceeds", head + "ticks:\n  - canary: {requests: 5, slower: {100: 6, 250: 0}}\n", "line 6: tick 1: canary slower than 100ms: 6 exceeds its requests 5"},
		{"wrong type", head + "ticks:\n  - canary: {requests: lots}\n", "line 6"},
		{"bad expect", head + "ticks:\n" + good + "expect: {verdict: MAYBE, tick: 1}\n", "line 8: expect.verdict \"MAYBE\""},
		{"bad expect tick", head + "ticks:\n" + good + "expect: {verdict: ROLLBACK, tick: 0}\n", "expect.tick must be a 1-based tick number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Replay(strings.NewReader(tc.yaml), PolicyJudge)
			if err == nil {
				t.Fatalf("accepted a malformed fixture; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestReplayLenientForms: forms the format allows are accepted: a failed
// query with or without counts, a revision left out, lower-case verdicts,
// the default tick length and SLO.
func TestReplayLenientForms(t *testing.T) {
	const doc = `name: lenient
canary_percent: 10
latency_ms: {l90: 100, l99: 250}
ticks:
  - query_failed: true
  - query_failed: true
    stable: {requests: 10, errors: 99}
  - stable: {requests: 2700, errors: 14, slower: {100: 270, 250: 27}}
  - {stable: {requests: 2700}, canary: {requests: 300}, canary_ready: false}
expect: {verdict: rollback, tick: 4}
`
	f, err := ParseFixture(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f.TickLength.Seconds() != 60 || f.Bounds.SLO != DefaultSLOMillis {
		t.Errorf("defaults: tick %v, SLO %v; want 60s and %v", f.TickLength, f.Bounds.SLO, DefaultSLOMillis)
	}
	if !f.Ticks[1].QueryFailed || f.Ticks[1].Stable.Requests != 0 {
		t.Errorf("a failed query must carry no counts, got %+v", f.Ticks[1])
	}
	if f.Ticks[2].Canary.Requests != 0 || !f.Ticks[3].CanaryNotReady {
		t.Errorf("ticks parsed wrong: %+v", f.Ticks)
	}
	j, err := NewJudge(DefaultConfig(), f.Bounds, f.CanaryPercent)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Replay(j).CheckExpect(); err != nil {
		t.Error(err)
	}
}

func TestReplayUnknownPolicy(t *testing.T) {
	data, err := os.ReadFile("testdata/v2.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Replay(strings.NewReader(string(data)), "flagger"); err == nil || !strings.Contains(err.Error(), "unknown canary policy") {
		t.Errorf("unknown policy: err = %v", err)
	}
	if _, err := ReplayFile("testdata/missing.yaml", PolicyJudge); err == nil {
		t.Error("a missing file must be an error")
	}
}

// TestVerdictJSON: the CLI's {verdict, tick, reason, metrics} shape, valid
// even when the evidence overflows float64.
func TestVerdictJSON(t *testing.T) {
	res, err := ReplayFile("testdata/v2.yaml", PolicyJudge)
	if err != nil {
		t.Fatal(err)
	}
	v := res.Verdict
	v.Metrics[1].Safety = math.Inf(1)
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Verdict string `json:"verdict"`
		Tick    int    `json:"tick"`
		Reason  string `json:"reason"`
		Metrics []struct {
			Name   string  `json:"name"`
			Harm   float64 `json:"harm"`
			Safety float64 `json:"safety"`
			Canary float64 `json:"canary_bad"`
		} `json:"metrics"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v in %s", err, data)
	}
	if got.Verdict != "ROLLBACK" || got.Tick != 3 || !strings.HasPrefix(got.Reason, "ROLLBACK at tick 3:") || len(got.Metrics) != 3 {
		t.Errorf("JSON = %s", data)
	}
	if got.Metrics[0].Name != MetricErrors || got.Metrics[0].Canary != 18 || got.Metrics[1].Safety != math.MaxFloat64 {
		t.Errorf("metrics in JSON = %+v", got.Metrics)
	}
}
