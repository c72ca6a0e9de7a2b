package panes

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mltop/mltop/sources/health"
)

func stripLines(s string) []string {
	lines := strings.Split(plain(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return lines
}

// countAlerts counts the alerts drawn (each starts with its severity word).
func countAlerts(lines []string) int {
	n := 0
	for _, l := range lines {
		n += strings.Count(l, " CRIT ") + strings.Count(l, " WARN ") + strings.Count(l, " INFO ")
	}
	return n
}

func TestAlertStripWithoutAlerts(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Alerts = nil
	if got := stripLines(AlertStrip(in, 40, 2)); got[0] != "- no alerts" || got[1] != "" {
		t.Errorf("strip %q", got)
	}
}

func TestAlertStripLeadsWithCriticalAlerts(t *testing.T) {
	in := fixtureInput(asciiTheme())
	if len(in.Alerts) != 7 {
		t.Fatalf("fixture raises %d alerts, want 7: %+v", len(in.Alerts), in.Alerts)
	}
	// Reversed input: the strip still orders by severity.
	for i, j := 0, len(in.Alerts)-1; i < j; i, j = i+1, j-1 {
		in.Alerts[i], in.Alerts[j] = in.Alerts[j], in.Alerts[i]
	}
	lines := stripLines(AlertStrip(in, 100, 8))
	for i := 0; i < 3; i++ {
		if !strings.HasPrefix(lines[i], "X CRIT ") {
			t.Errorf("line %d is not critical: %q", i, lines[i])
		}
	}
	mustContain(t, strings.Join(lines, "\n"),
		"X CRIT fraud-detector canary 5xx 4.00% vs stable 0.50% (8.0x) > 2x",
		"X CRIT churn-model not ready: "+churnReason,
		"! WARN pipelines success 91.2% < 95% (52/57 finished, 24h)",
		"! WARN recommendation-v3 v8 waits 30h > 24h for promotion",
		"! WARN image-embedder OOM killed x1 in 24h")
	// Narrow strips give every alert its own line.
	for _, l := range lines {
		if countAlerts([]string{l}) > 1 {
			t.Errorf("two alerts share a line below %d columns: %q", packWidth, l)
		}
	}
}

func TestAlertStripPacksWarningsWhenWide(t *testing.T) {
	in := fixtureInput(asciiTheme())
	lines := stripLines(AlertStrip(in, 160, 6))
	shared := false
	for _, l := range lines {
		n := countAlerts([]string{l})
		if n > 1 {
			shared = true
			if strings.Contains(l, "CRIT") {
				t.Errorf("a critical alert shares a line: %q", l)
			}
		}
	}
	if !shared {
		t.Errorf("no warnings packed at 160 columns:\n%s", strings.Join(lines, "\n"))
	}
	if got := countAlerts(lines); got != len(in.Alerts) {
		t.Errorf("%d alerts drawn, want all %d", got, len(in.Alerts))
	}
}

func TestAlertStripCountsWhatDoesNotFit(t *testing.T) {
	more := regexp.MustCompile(`\+(\d+) more(, (\d+) CRIT)?$`)
	for _, sz := range [][2]int{{80, 1}, {80, 2}, {80, 3}, {120, 2}, {160, 2}, {30, 2}, {20, 1}} {
		in := fixtureInput(asciiTheme())
		lines := stripLines(AlertStrip(in, sz[0], sz[1]))
		last := lines[len(lines)-1]
		m := more.FindStringSubmatch(last)
		if m == nil {
			t.Errorf("%v: last line %q has no +N more", sz, last)
			continue
		}
		hidden, _ := strconv.Atoi(m[1])
		if shown := countAlerts(lines); shown+hidden != len(in.Alerts) {
			t.Errorf("%v: %d shown + %d hidden != %d alerts:\n%s", sz, shown, hidden, len(in.Alerts), strings.Join(lines, "\n"))
		}
		crit := 0
		for _, a := range in.Alerts {
			if a.Severity == health.Crit {
				crit++
			}
		}
		hiddenCrit, _ := strconv.Atoi(m[3])
		if shownCrit := strings.Count(strings.Join(lines, "\n"), " CRIT "); shownCrit+hiddenCrit != crit {
			t.Errorf("%v: critical count off in %q", sz, last)
		}
	}
}

func TestAlertStripUsesUnicodeGlyphs(t *testing.T) {
	in := fixtureInput(unicodeTheme())
	mustContain(t, AlertStrip(in, 120, 4), "✗ CRIT fraud-detector", "▲ WARN")
}
