package panes

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"

	"github.com/mltop/mltop/ui/text"
)

func TestKeepRankedKeepsTheBestInReadingOrder(t *testing.T) {
	lines := []ranked{{3, "a"}, {0, "b"}, {2, "c"}, {1, "d"}, {2, "e"}}
	for h, want := range map[int][]string{
		0: nil, 1: {"b"}, 2: {"b", "d"}, 3: {"b", "c", "d"}, 4: {"b", "c", "d", "e"}, 9: {"a", "b", "c", "d", "e"},
	} {
		if got := keepRanked(lines, h); !reflect.DeepEqual(got, want) {
			t.Errorf("h=%d: %q, want %q", h, got, want)
		}
	}
}

func TestScrollStartKeepsTheCursorInTheWindow(t *testing.T) {
	for _, c := range []struct{ cursor, rows, total, want int }{
		{0, 5, 3, 0}, {2, 5, 20, 0}, {4, 5, 20, 0}, {5, 5, 20, 1}, {19, 5, 20, 15}, {30, 5, 20, 15}, {-1, 5, 20, 0}, {3, 0, 20, 0},
	} {
		got := scrollStart(c.cursor, c.rows, c.total)
		if got != c.want {
			t.Errorf("scrollStart(%d, %d, %d) = %d, want %d", c.cursor, c.rows, c.total, got, c.want)
		}
		if c.rows > 0 && c.cursor >= 0 && c.cursor < c.total && (c.cursor < got || c.cursor >= got+c.rows) {
			t.Errorf("cursor %d outside window %d+%d", c.cursor, got, c.rows)
		}
	}
}

func TestSparklines(t *testing.T) {
	th := asciiTheme()
	if got := spark(th, []float64{0, 1, 2, 3, 4, 5, 6}, 10, 0, 6); got != ".:-=+*#" {
		t.Errorf("ramp %q", got)
	}
	// Above the top is clipped; a floor keeps noise flat.
	if got := spark(th, []float64{0.0001, 0.0002, 0.5}, 3, 0, scaleMax([]float64{0.0001, 0.0002}, 0.01)); got != "..#" {
		t.Errorf("floor/clip %q", got)
	}
	// More samples than cells: each cell keeps its bucket's peak.
	vals := make([]float64, 100)
	vals[42] = 9
	got := spark(th, vals, 10, 0, 9)
	if text.Width(got) != 10 || strings.Count(got, "#") != 1 {
		t.Errorf("resampled spike lost: %q", got)
	}
	if got := spark(th, nil, 10, 0, 1); got != "" {
		t.Errorf("empty series drew %q", got)
	}
	// ntcharts draws the Unicode one: a zero keeps the lowest block as a
	// baseline, the top is a full block, values between climb in eighths.
	if got := spark(unicodeTheme(), []float64{0, 1, 2, 4, 8, math.NaN(), -3}, 10, 0, 4); got != "▁▃▅██▁▁" {
		t.Errorf("unicode sparkline %q", got)
	}
	// A relative scale: lo..hi spans the whole ramp.
	if got := spark(unicodeTheme(), []float64{30, 35, 40}, 3, 30, 40); got != "▁▅█" {
		t.Errorf("relative sparkline %q", got)
	}
	if got := spark(unicodeTheme(), []float64{1, 1}, 0, 0, 1); got != "" {
		t.Errorf("no room drew %q", got)
	}
	// One drawer serves a table's rows: a short row after a long one keeps
	// nothing of it.
	d := newSparkDrawer(unicodeTheme(), 6)
	if got := d.draw([]float64{4, 4, 4, 4, 4, 4, 4, 4}, 0, 4); got != "██████" {
		t.Errorf("full row %q", got)
	}
	if got := d.draw([]float64{0, 4}, 0, 4); got != "▁█" {
		t.Errorf("short row after a full one %q", got)
	}
	if got := d.draw(nil, 0, 4); got != "" {
		t.Errorf("empty row %q", got)
	}
}

func TestSpreadKeepsSteadySeriesFlat(t *testing.T) {
	lo, hi := spread([]float64{100, 101, 100})
	if hi != 101 || lo > 91 {
		t.Errorf("spread of jitter %v..%v should span at least 10%% of the top", lo, hi)
	}
	lo, hi = spread([]float64{10, 40})
	if lo != 10 || hi != 40 {
		t.Errorf("spread %v..%v", lo, hi)
	}
}

func TestGauge(t *testing.T) {
	g := asciiTheme().Glyphs
	for frac, want := range map[float64]string{0: "[..........]", 0.73: "[#######...]", 1: "[##########]", 2: "[##########]", -1: "[..........]"} {
		if got := gauge(g, frac, 12); got != want {
			t.Errorf("gauge(%v) = %q, want %q", frac, got, want)
		}
	}
	if got := gauge(g, 0.5, 2); got != "" {
		t.Errorf("no room: %q", got)
	}
}

func TestChartsAreExactlyTheirSize(t *testing.T) {
	now := fixtureNow()
	rising := trend(now, 60, func(i int) float64 { return 0.001 * float64(i) })
	for name, th := range themes() {
		for _, vals := range [][]float64{{1, 1}, {0.5, 0.9, 0.1}, {math.NaN(), 0.8, math.Inf(1), 0.9}, make([]float64, 500)} {
			for _, sz := range [][2]int{{8, 2}, {20, 3}, {28, 9}, {80, 12}, {160, 40}} {
				lines, shown := metricChart(th, vals, sz[0], sz[1])
				if lines == nil {
					t.Fatalf("%s: %d values at %v: no chart", name, len(vals), sz)
				}
				if shown < 2 || shown > len(vals) {
					t.Errorf("%s: %d values at %v: shows %d runs", name, len(vals), sz, shown)
				}
				checkBlock(t, fmt.Sprintf("%s metric %d values %v", name, len(vals), sz), strings.Join(lines, "\n"), sz[0], sz[1])
			}
		}
		for _, sz := range [][2]int{{16, 4}, {40, 6}, {100, 30}} {
			for _, pts := range [][]sources.Point{nil, rising[:1], rising} {
				lines := errorTrendChart(th, rising, pts, 0.06, time.UTC, sz[0], sz[1])
				checkBlock(t, fmt.Sprintf("%s canary %d points %v", name, len(pts), sz), strings.Join(lines, "\n"), sz[0], sz[1])
			}
		}
	}
	if lines, _ := metricChart(asciiTheme(), []float64{1}, 40, 5); lines != nil {
		t.Errorf("one run drew a chart: %q", lines)
	}
	if lines := errorTrendChart(asciiTheme(), rising[:1], nil, 0.01, time.UTC, 40, 6); lines != nil {
		t.Errorf("one instant drew a chart: %q", lines)
	}
	if lines := errorTrendChart(asciiTheme(), rising, rising, 0.01, time.UTC, 40, 3); lines != nil {
		t.Errorf("three lines drew a chart: %q", lines)
	}
}

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		s, sub string
		want   bool
	}{
		{"fraud-detector", "FRAUD", true}, {"fraud-detector", "tector", true}, {"fraud", "fraud-d", false},
		{"ÉCOLE-model", "école", true}, {"search-ranker", "", true}, {"a", "b", false},
	} {
		if got := containsFold(c.s, c.sub); got != c.want {
			t.Errorf("containsFold(%q, %q) = %v", c.s, c.sub, got)
		}
	}
}

func TestFormatters(t *testing.T) {
	for i, c := range [][2]string{
		{fmtRate(0), "0"},
		{fmtRate(0.05), "0.05"},
		{fmtRate(100), "100.0"},
		{fmtRate(12345), "12.3k"},
		{fmtRate(2.5e6), "2.5M"},
		{fmtCount(4800), "4,800"},
		{fmtCount(1234567), "1,234,567"},
		{fmtCount(-1200), "-1,200"},
		{fmtCount(999), "999"},
		{fmtErrCell(0.012), "1.20"},
		{fmtErrCell(0.125), "12.5"},
		{fmtLatency(471 * time.Millisecond), "471ms"},
		{fmtLatency(1450 * time.Millisecond), "1.45s"},
		{fmtLatency(12345 * time.Millisecond), "12.3s"},
		{fmtDuration(0), "-"},
		{fmtDuration(42 * time.Second), "42s"},
		{fmtDuration(34 * time.Minute), "34m"},
		{fmtDuration(125 * time.Minute), "2h05m"},
		{fmtMetric(0.857), "0.857"},
		{fmtMetric(1234.5), "1234.5"},
		{fmtDelta(-0.03), "-0.030"},
		{fmtDelta(0.012), "+0.012"},
		{fmtWholePct(0.95), "95%"},
		{fmtRatio(2), "2x"},
		{fmtRatio(1.5), "1.5x"},
		{modeShort("Standard"), "STD"},
		{modeShort(""), "-"},
		{shortRevision("fraud", "fraud-predictor-00002"), "00002"},
		{shortRevision("fraud", "other-00002"), "other-00002"},
		{oneLine("  a\n\tb  \x1b[31mc "), "a b c"},
		{namespaceLabel(nil), "all namespaces"},
		{namespaceLabel([]string{"a", "b"}), "2 namespaces"},
		{ago(time.Unix(7200, 0), time.Unix(0, 0)), "2h ago"},
		{ago(time.Unix(0, 0), time.Time{}), "-"},
	} {
		if c[0] != c[1] {
			t.Errorf("case %d: got %q, want %q", i, c[0], c[1])
		}
	}
}

func TestFirstFitAndAppendFit(t *testing.T) {
	if got := firstFit(10, "a long wording", "short", "s"); got != "short" {
		t.Errorf("firstFit %q", got)
	}
	if got := firstFit(1, "aa", "bb"); got != "bb" {
		t.Errorf("firstFit with nothing fitting %q", got)
	}
	th := asciiTheme()
	if got := appendFit(th, "OOM 1", "  ", "image-embedder-predictor-7f9c6d", 20, 8); got != "OOM 1  image-embe..." {
		t.Errorf("appendFit cut %q", got)
	}
	if got := appendFit(th, "OOM 1", "  ", "image-embedder-predictor-7f9c6d", 12, 8); got != "OOM 1" {
		t.Errorf("appendFit without room %q", got)
	}
}
