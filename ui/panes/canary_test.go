package panes

import (
	"strings"
	"testing"

	"github.com/mltop/mltop/sources"
)

// withCanary returns in with the fraud-detector canary's figures changed.
func withCanary(in Input, change func(*sources.CanaryView)) Input {
	cs := append([]sources.CanaryView(nil), in.Snap.Canaries...)
	change(&cs[0])
	in.Snap.Canaries = cs
	return in
}

func TestCanaryComparesTheRevisionsSideBySide(t *testing.T) {
	in := fixtureInput(asciiTheme())
	p := paneByID(Canary)
	body := p.Body(in, 80, 14)
	mustContain(t, body, "stable 00001", "canary 00002", "5xx 1h")
	mustContain(t, lineWith(t, body, "traffic"), "80%", "20% (obs 20.0%)")
	mustContain(t, lineWith(t, body, "req/min"), "4,800", "1,200")
	mustContain(t, lineWith(t, body, "5xx  "), "0.50%", "4.00%", "X 8.0x > 2x")
	mustContain(t, lineWith(t, body, "p50 / p99"), "68 / 242ms", "160 / 1450ms")
	mustContain(t, body, "X verdict: canary errors 8.0x stable > 2x (roll back)")
	if got := p.Title(in); got != "CANARY fraud-detector 20% -> 00002" {
		t.Errorf("title %q", got)
	}
	if got := plain(p.Summary(in, 80)); got != "canary fraud-detector 20%: 5xx 8.0x stable X" {
		t.Errorf("summary %q", got)
	}
	// One line: the verdict.
	mustContain(t, p.Body(in, 80, 1), "X verdict: canary errors 8.0x stable > 2x")
	// Narrow: a tighter table; the ratio moves to the verdict line.
	mustContain(t, p.Body(in, 40, 4), "stable 00001", "canary 00002", "0.50%", "4.00%", "X roll back: 5xx 8.0x > 2x")
	// Short: one line per revision.
	mustContain(t, p.Body(in, 40, 3), "canary 20%: 5xx 4.00%  X 8.0x > 2x", "stable 80%: 5xx 0.50%")
}

func TestCanaryVerdicts(t *testing.T) {
	cases := []struct {
		name   string
		change func(*sources.CanaryView)
		want   string
		bad    string
	}{
		{"breach", func(*sources.CanaryView) {}, "X verdict: canary errors 8.0x stable > 2x (roll back)", "within"},
		{"within", func(c *sources.CanaryView) { c.Canary.ErrorRate = 0.006 }, "- verdict: canary within 2x of stable", "X"},
		{"no canary traffic", func(c *sources.CanaryView) { c.Canary.RPS = 0 }, "verdict: not enough traffic yet", "X"},
		{"no revision metrics", func(c *sources.CanaryView) { c.HasMetrics = false }, "verdict: not enough traffic yet", "X"},
		{"clean stable, canary over the limit", func(c *sources.CanaryView) {
			c.Stable.ErrorRate, c.Canary.ErrorRate = 0, 0.015
		}, "X verdict: canary errors 1.50% with none on stable > 1.00% limit (roll back)", "within"},
		{"clean stable, canary under the limit", func(c *sources.CanaryView) {
			c.Stable.ErrorRate, c.Canary.ErrorRate = 0, 0.004
		}, "- verdict: canary within 2x of stable", "X"},
	}
	for _, c := range cases {
		in := withCanary(fixtureInput(asciiTheme()), c.change)
		got := plain(canaryVerdict(in.Theme, in, in.Snap.Canaries[0], 100))
		if got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, got, c.want)
		}
		body := paneByID(Canary).Body(in, 100, 12)
		mustContain(t, body, c.want)
		mustNotContain(t, lineWith(t, body, "verdict"), c.bad)
	}
}

func TestCanaryFollowsTheSelectedService(t *testing.T) {
	in := fixtureInput(asciiTheme())
	second := in.Snap.Canaries[0]
	second.Key.Name, second.Percent = "search-ranker", 10
	second.CanaryRevision = "search-ranker-predictor-00009"
	in.Snap.Canaries = append(append([]sources.CanaryView(nil), in.Snap.Canaries...), second)
	p := paneByID(Canary)
	if got := p.Title(in); got != "CANARY fraud-detector 20% -> 00002 (+1 more)" {
		t.Errorf("first canary by default, got %q", got)
	}
	in.Selected = second.Key
	if got := p.Title(in); got != "CANARY search-ranker 10% -> 00009 (+1 more)" {
		t.Errorf("selected canary, got %q", got)
	}
	// A selected service without a canary: the first canary, and why.
	in.Selected = sources.ServiceKey{Namespace: "ml-prod", Name: "churn-model"}
	mustContain(t, p.Title(in), "fraud-detector")
	mustContain(t, p.Body(in, 100, 16), "selected churn-model: Standard mode has no canary")
}

func TestNoCanaryInProgress(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Snap.Canaries = nil
	p := paneByID(Canary)
	body := p.Body(in, 100, 4)
	mustContain(t, body, "no canary in progress", "canary needs Knative mode; not possible for churn-model (STD)")
	if got := p.Title(in); got != "CANARY" {
		t.Errorf("title %q", got)
	}
	mustContain(t, p.Summary(in, 80), "canary none in progress")
	// The explanation is only drawn when there is room.
	if got := strings.TrimSpace(plain(p.Body(in, 100, 1))); got != "no canary in progress" {
		t.Errorf("one line: %q", got)
	}
}

func TestCanaryTrendGrowsWhenZoomed(t *testing.T) {
	in := fixtureInput(asciiTheme())
	trendLines := func(body string) int {
		n := 0
		for _, l := range strings.Split(plain(body), "\n") {
			if strings.Contains(l, "#") {
				n++
			}
		}
		return n
	}
	p := paneByID(Canary)
	normal := trendLines(p.Body(in, 100, 30))
	in.Zoomed = true
	zoomed := trendLines(p.Body(in, 100, 30))
	if normal != 4 || zoomed <= normal {
		t.Errorf("trend lines: %d unzoomed (want 4), %d zoomed", normal, zoomed)
	}
}
