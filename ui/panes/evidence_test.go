package panes

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

var fraudDetector = sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"}

// replayed is the judge's verdict after tick (1-based; 0 for the last) of
// one of the shared fixtures: real verdicts, with real explanations.
func replayed(t *testing.T, fixture string, tick int) canary.Verdict {
	t.Helper()
	res, err := canary.ReplayFile(filepath.Join("..", "..", "actions", "canary", "testdata", fixture), canary.PolicyJudge)
	if err != nil {
		t.Fatal(err)
	}
	if tick == 0 {
		return res.Verdict
	}
	return res.Ticks[tick-1]
}

func withVerdict(in Input, v canary.Verdict) Input {
	in.Verdicts = map[sources.ServiceKey]canary.Verdict{fraudDetector: v}
	in.Alerts = VerdictAlerts(in.Alerts, in.Verdicts)
	return in
}

// verdictVariants are the judge's states, each drawn over the fixture.
func verdictVariants(t *testing.T) map[string]canary.Verdict {
	unknownErrors := replayed(t, "v1.yaml", 3)
	unknownErrors.Metrics = unknownErrors.Metrics[1:] // as the tracker shows it without status codes
	seed, err := canary.ReplayFile(filepath.Join("..", "..", "actions", "canary", "testdata", "v2.yaml"), canary.PolicySeed)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]canary.Verdict{
		"rollback":       replayed(t, "v2.yaml", 0),
		"kill-switch":    {Decision: canary.Rollback, Tick: 2, Elapsed: 2 * time.Minute, Explanation: "ROLLBACK at tick 2: kill switch: the canary revision is not Ready. Action: canaryTrafficPercent=0"},
		"observing":      replayed(t, "v1.yaml", 2),
		"promote":        replayed(t, "imp.yaml", 0),
		"hold":           replayed(t, "v8.yaml", 4),
		"inconclusive":   replayed(t, "v4.yaml", 0),
		"slow-eta":       replayed(t, "v4.yaml", 6),
		"seed":           seed.Ticks[4],
		"unknown-errors": unknownErrors,
	}
}

func TestJudgedBodiesAreExactlyTheirSize(t *testing.T) {
	for name, v := range verdictVariants(t) {
		for themeName, th := range themes() {
			in := withVerdict(fixtureInput(th), v)
			for _, zoomed := range []bool{false, true} {
				in.Zoomed = zoomed
				for _, sz := range sizes() {
					w, h := sz[0], sz[1]
					checkBlock(t, fmt.Sprintf("%s/%s/zoom %v/%dx%d", name, themeName, zoomed, w, h), paneByID(Canary).Body(in, w, h), w, h)
				}
				for _, w := range []int{1, 10, 24, 40, 80} {
					if s := paneByID(Canary).Summary(in, w); strings.Contains(s, "\n") || widthOf(s) > w {
						t.Errorf("%s/%s: summary at %d is %q", name, themeName, w, s)
					}
				}
			}
		}
	}
}

func widthOf(s string) int { return len([]rune(plain(s))) }

func TestCanaryPaneShowsTheJudgesVerdict(t *testing.T) {
	in := withVerdict(fixtureInput(asciiTheme()), replayed(t, "v2.yaml", 0))
	p := paneByID(Canary)
	body := p.Body(in, 100, 24)
	// The figures the judge counted, side by side, with the ratio marked
	// where the harm evidence crossed the threshold.
	mustContain(t, lineWith(t, body, "requests"), "8,100", "900")
	mustContain(t, lineWith(t, body, "5xx  "), "0.52%", "2.00%", "X 3.9x")
	mustContain(t, lineWith(t, body, ">100ms L90"), "10.0%", "10.0%", "1.0x")
	mustContain(t, lineWith(t, body, ">250ms L99"), "1.00%", "1.00%")
	mustContain(t, body, "judged 3m", "evidence     rollback /300        promote /40          (log)")
	// Gauges: full towards rollback on 5xx (354 >= 300), and the latency
	// metrics neither way.
	gauges := strings.Split(plain(body), "\n")
	var errGauge string
	for _, l := range gauges {
		if strings.HasPrefix(l, "5xx") && strings.Contains(l, "[") {
			errGauge = l
		}
	}
	if !strings.Contains(errGauge, "[############] 354") {
		t.Errorf("5xx gauge %q, want a full rollback bar at 354", errGauge)
	}
	// The explanation, wrapped to the pane.
	mustContain(t, lineWith(t, body, "X ROLLBACK"), "X ROLLBACK at tick 3: canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x; harm evidence 354")
	mustContain(t, body, "  >= 300 (false-rollback risk <= 1%). Action: canaryTrafficPercent=0")
	// The dashboard rule's verdict line gives way to the judge's.
	mustNotContain(t, body, "verdict: canary errors")
	if got := plain(p.Summary(in, 80)); got != "canary fraud-detector 20%: X ROLLBACK at 3m, evidence 354/300" {
		t.Errorf("summary %q", got)
	}
	if got := plain(p.Summary(in, 40)); got != "canary fraud-detector 20%: X ROLLBACK 3m" {
		t.Errorf("narrow summary %q", got)
	}
	// One line: the verdict.
	if got := strings.TrimSpace(plain(p.Body(in, 100, 1))); !strings.HasPrefix(got, "X ROLLBACK at tick 3:") {
		t.Errorf("one line: %q", got)
	}
	// Narrow and short: one line per metric, in words.
	mustContain(t, p.Body(in, 40, 3), "X ROLLBACK at tick 3")
	mustContain(t, p.Body(in, 30, 8), "5xx rb 354/300 pr 0.00/40", ">250ms rb 0.13/300 pr 6.68/40")
}

func TestCanaryPaneVerdictWords(t *testing.T) {
	p := paneByID(Canary)
	for name, want := range map[string]struct{ summary, body string }{
		"observing":    {"canary fraud-detector 20%: OBSERVING 2m: cleared 1/3, harm 0.27/300", "OBSERVING at tick 2:"},
		"promote":      {"canary fraud-detector 20%: - PROMOTE after 6m, every metric cleared", "- PROMOTE at tick 6:"},
		"hold":         {"canary fraud-detector 20%: ! HOLD 4m: stable breaches its SLO", "! HOLD at tick 4:"},
		"inconclusive": {"canary fraud-detector 20%: ! INCONCLUSIVE after 30m: a human decides", "! INCONCLUSIVE at tick 30:"},
		"kill-switch":  {"canary fraud-detector 20%: X ROLLBACK at 2m (kill switch)", "X ROLLBACK at tick 2: kill switch"},
	} {
		in := withVerdict(fixtureInput(asciiTheme()), verdictVariants(t)[name])
		if got := plain(p.Summary(in, 120)); !strings.HasPrefix(got, want.summary) {
			t.Errorf("%s: summary %q, want %q...", name, got, want.summary)
		}
		mustContain(t, p.Body(in, 120, 30), want.body)
	}
}

func TestCanaryPaneWithoutJudgedErrors(t *testing.T) {
	// Without status codes the tracker leaves the errors metric out: the
	// pane says 5xx are unknown rather than showing the rule's rates.
	in := withVerdict(fixtureInput(asciiTheme()), verdictVariants(t)["unknown-errors"])
	body := paneByID(Canary).Body(in, 100, 24)
	mustContain(t, lineWith(t, body, "5xx  "), "unknown", "unknown")
	for _, l := range strings.Split(plain(body), "\n") {
		if strings.HasPrefix(l, "5xx") && strings.Contains(l, "[") {
			t.Errorf("a 5xx gauge without 5xx counts: %q", l)
		}
	}
	mustContain(t, body, ">100ms L90   [", ">250ms L99   [")
	// The seed policy reports no evidence: the figures are Prometheus's,
	// no gauge, and its own verdict line.
	in = withVerdict(fixtureInput(asciiTheme()), verdictVariants(t)["seed"])
	body = paneByID(Canary).Body(in, 100, 24)
	mustContain(t, body, "req/min", "4.00%", "OBSERVING at tick 5 (seed)")
	mustNotContain(t, body, "evidence", "judged")
}

func TestCanaryPaneETA(t *testing.T) {
	v := verdictVariants(t)["slow-eta"]
	if !v.ETA.Known || !v.ETA.ExceedsMax {
		t.Fatalf("fixture v4 at tick 6 should need more than T_max: %+v", v.ETA)
	}
	in := withVerdict(fixtureInput(asciiTheme()), v)
	// Tall: the explanation is whole and carries the ETA itself.
	tall := paneByID(Canary).Body(in, 100, 40)
	mustContain(t, tall, "too slow")
	mustNotContain(t, tall, "eta:")
	// Short: the explanation is cut, its ETA kept on a line of its own.
	short := paneByID(Canary).Body(in, 100, 14)
	mustContain(t, short, fmt.Sprintf("! eta: a 2x regression needs ~%s, past the limit at any split: more traffic needed",
		health.Age(v.ETA.Duration.Round(time.Minute))))
}

func TestLogFill(t *testing.T) {
	for _, c := range []struct{ value, want float64 }{
		{0, 0}, {0.5, 0}, {1, 0}, {math.Sqrt(300), 0.5}, {300, 1}, {1e9, 1}, {math.Inf(1), 1}, {math.NaN(), 0},
	} {
		if got := logFill(c.value, 300); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("logFill(%v, 300) = %v, want %v", c.value, got, c.want)
		}
	}
	for _, c := range []struct {
		x    float64
		want string
	}{{0.004, "0.00"}, {3.52, "3.52"}, {63.7, "63.7"}, {354, "354"}, {4021, "4021"}, {22088, "2e+04"}, {math.Inf(1), "inf"}} {
		if got := fmtEvidence(c.x); got != c.want || len(got) > 5 {
			t.Errorf("fmtEvidence(%v) = %q, want %q", c.x, got, c.want)
		}
	}
}

func TestVerdictAlerts(t *testing.T) {
	base := fixtureInput(asciiTheme()).Alerts
	ruleAlert := func(alerts []health.Alert) bool {
		for _, a := range alerts {
			if a.Pane == health.PaneCanary && strings.Contains(a.Text, "canary 5xx") && !strings.Contains(a.Text, "ROLLBACK") {
				return true
			}
		}
		return false
	}
	if !ruleAlert(base) {
		t.Fatal("the fixture's rule alert is missing: the test would prove nothing")
	}
	if got := VerdictAlerts(base, nil); len(got) != len(base) {
		t.Errorf("no verdicts changed the alerts: %d -> %d", len(base), len(got))
	}

	vs := map[sources.ServiceKey]canary.Verdict{fraudDetector: replayed(t, "v2.yaml", 0)}
	got := VerdictAlerts(base, vs)
	if got[0].Severity != health.Crit || got[0].Action != "rollback" || got[0].Service == nil || *got[0].Service != fraudDetector {
		t.Fatalf("the ROLLBACK does not lead: %+v", got[0])
	}
	if want := "fraud-detector canary ROLLBACK: 5xx 2.00% vs 0.52% (3.9x), harm evidence 354 >= 300"; got[0].Text != want {
		t.Errorf("alert %q, want %q", got[0].Text, want)
	}
	if ruleAlert(got) {
		t.Error("the rule's alert stayed beside the judge's verdict")
	}
	strip := plain(AlertStrip(Input{Alerts: got, Theme: asciiTheme()}, 120, 4))
	if !strings.HasPrefix(strip, "X CRIT fraud-detector canary ROLLBACK") {
		t.Errorf("strip does not lead with the rollback:\n%s", strip)
	}

	for name, want := range map[string]struct {
		sev    health.Severity
		action string
		text   string
	}{
		"promote":      {health.Info, "promote", "fraud-detector canary PROMOTE: every metric cleared after 6m"},
		"inconclusive": {health.Warn, "", "fraud-detector canary INCONCLUSIVE after 30m: keep the split, a human decides"},
		"hold":         {health.Info, "", "fraud-detector canary HOLD: stable breaches its SLO"},
		"kill-switch":  {health.Crit, "rollback", "fraud-detector canary ROLLBACK: kill switch: the canary revision is not Ready."},
	} {
		alerts := VerdictAlerts(nil, map[sources.ServiceKey]canary.Verdict{fraudDetector: verdictVariants(t)[name]})
		if len(alerts) != 1 || alerts[0].Severity != want.sev || alerts[0].Action != want.action || !strings.HasPrefix(alerts[0].Text, want.text) {
			t.Errorf("%s: %+v, want %v %q %q", name, alerts, want.sev, want.action, want.text)
		}
	}
	if alerts := VerdictAlerts(nil, map[sources.ServiceKey]canary.Verdict{fraudDetector: verdictVariants(t)["observing"]}); len(alerts) != 0 {
		t.Errorf("OBSERVING raised %+v", alerts)
	}
}

func TestVerdictTextIsCleaned(t *testing.T) {
	v := replayed(t, "v2.yaml", 0)
	v.Explanation = "ROLLBACK at tick 3: \x1b]0;pwned\x07\x1b[2Jboom\r\nnext"
	in := withVerdict(fixtureInput(asciiTheme()), v)
	for _, s := range []string{paneByID(Canary).Body(in, 100, 24), AlertStrip(in, 160, 6)} {
		if strings.ContainsRune(s, 0x1b) || strings.Contains(s, "\r") {
			t.Fatalf("an escape reached the terminal: %q", s)
		}
	}
	kill := verdictVariants(t)["kill-switch"]
	kill.Explanation = "ROLLBACK at tick 2: \x1b[31mred\x1b[0m"
	alerts := VerdictAlerts(nil, map[sources.ServiceKey]canary.Verdict{fraudDetector: kill})
	if strings.ContainsRune(alerts[0].Text, 0x1b) {
		t.Errorf("alert text %q", alerts[0].Text)
	}
}
