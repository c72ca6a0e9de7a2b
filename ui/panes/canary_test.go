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
	mustContain(t, body, "stable 00001", "canary 00002", "5xx over 29m:  .. stable 00001  ** canary 00002  ## both")
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
	// Chart rows are the ones on the y axis ('|'), which nothing else draws.
	plotRows := func(body string) int { return strings.Count(plain(body), "|") }
	p := paneByID(Canary)
	normal := plotRows(p.Body(in, 100, 30))
	in.Zoomed = true
	zoomed := plotRows(p.Body(in, 100, 30))
	// Unzoomed the chart takes half of the 30 lines: 15, of which the
	// axis and its labels take two.
	if normal != 13 || zoomed <= normal {
		t.Errorf("chart rows: %d unzoomed (want 13), %d zoomed", normal, zoomed)
	}
}

func TestCanaryTrendIsOneChartOfBothRevisions(t *testing.T) {
	in := fixtureInput(asciiTheme())
	// The stable erred at a steady 0.5 %, the canary rose from 0 to 2.9 %
	// over the half hour up to 14:00.
	body := plain(paneByID(Canary).Body(in, 80, 16))
	lines := strings.Split(body, "\n")
	axis := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "+---") {
			axis = i
		}
	}
	if axis < 0 || axis+1 >= len(lines) {
		t.Fatalf("no time axis in:\n%s", body)
	}
	// Time labels are HH:MM of the samples' own clock.
	mustContain(t, lines[axis+1], "13:30", "13:36")
	if strings.Count(lines[axis+1], ":") < 3 {
		t.Errorf("too few time labels: %q", lines[axis+1])
	}
	// The y axis runs from 0 % to the highest rate drawn.
	mustContain(t, body, "2.9%|", "0.0%|")
	top, bottom := lineWith(t, body, "2.9%|"), lines[axis-1]
	// The canary ('*') starts at 0 and ends at the top right; the stable
	// ('.') runs along the row above zero, and where the canary crosses it
	// the cells show both ('#').
	if !strings.HasSuffix(top, "*") || !strings.HasPrefix(strings.TrimSpace(bottom), "0.0%|*") {
		t.Errorf("canary line misplaced:\n%s", body)
	}
	if stableRow := lines[axis-2]; strings.Count(stableRow, ".") < 40 || !strings.Contains(stableRow, "#") {
		t.Errorf("stable line missing on the row above zero:\n%s", body)
	}

	// In Unicode the two lines differ by their runes: braille for the
	// stable, box drawing for the canary.
	uni := plain(paneByID(Canary).Body(fixtureInput(unicodeTheme()), 80, 16))
	mustContain(t, uni, "⠤⠤ stable 00001", "── canary 00002", "━━ both", "╭", "⣀⣀⣀⣀", "└───")
}

func TestCanaryLegendNamesAMissingTrend(t *testing.T) {
	in := withCanary(fixtureInput(asciiTheme()), func(c *sources.CanaryView) { c.Stable.ErrTrend = nil })
	body := paneByID(Canary).Body(in, 80, 16)
	mustContain(t, body, "5xx over 29m:  ** canary 00002  (no stable trend)")
	mustNotContain(t, body, ".. stable", "both")
	in = withCanary(fixtureInput(asciiTheme()), func(c *sources.CanaryView) { c.Canary.ErrTrend = nil })
	mustContain(t, paneByID(Canary).Body(in, 80, 16), "5xx over 29m:  .. stable 00001  (no canary trend)")
}

func TestCanaryTrendLeavesRoomForSourceNotes(t *testing.T) {
	in := withSource(fixtureInput(asciiTheme()), staleStatus(sources.SourceProm))
	in.Selected = sources.ServiceKey{Namespace: "ml-prod", Name: "churn-model"}
	for _, h := range []int{12, 14, 20} {
		body := paneByID(Canary).Body(in, 90, h)
		mustContain(t, body, "! prom STALE 3m", "selected churn-model", "verdict")
	}
}
