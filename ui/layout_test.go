package ui

import (
	"fmt"
	"testing"

	"github.com/mltop/mltop/ui/panes"
)

// sizes covers the sketches, the scaling range and odd sizes.
var layoutSizes = [][2]int{
	{80, 24}, {100, 30}, {120, 40}, {160, 48}, {250, 70},
	{81, 25}, {61, 20}, {60, 16}, {99, 31}, {100, 32}, {101, 33}, {133, 57}, {300, 100},
}

func TestLayoutModes(t *testing.T) {
	cases := []struct {
		w, h int
		want LayoutMode
	}{
		{80, 24, LayoutCompact},
		{61, 20, LayoutCompact},
		{60, 16, LayoutCompact},
		{59, 24, LayoutTooSmall},
		{80, 15, LayoutTooSmall},
		{0, 0, LayoutTooSmall},
		{99, 40, LayoutCompact},
		{120, 31, LayoutCompact},
		{100, 32, LayoutFull},
		{120, 40, LayoutFull},
		{250, 70, LayoutFull},
	}
	for _, c := range cases {
		if got := ComputeLayout(c.w, c.h, 3).Mode; got != c.want {
			t.Errorf("%dx%d: mode %d, want %d", c.w, c.h, got, c.want)
		}
	}
}

// TestLayoutTilesScreen checks that the regions cover every cell exactly
// once and that the body is exactly the space between status and footer.
func TestLayoutTilesScreen(t *testing.T) {
	for _, sz := range layoutSizes {
		for _, alerts := range []int{0, 3, 7, 40} {
			w, h := sz[0], sz[1]
			t.Run(fmt.Sprintf("%dx%d/%d-alerts", w, h, alerts), func(t *testing.T) {
				testTiling(t, ComputeLayout(w, h, alerts), w, h)
			})
		}
	}
}

func testTiling(t *testing.T, l Layout, w, h int) {
	t.Helper()
	covered := make([]int, w*h)
	for _, r := range l.Regions() {
		if r.Empty() {
			t.Errorf("empty region %+v", r)
			continue
		}
		if r.X < 0 || r.Y < 0 || r.X+r.W > w || r.Y+r.H > h {
			t.Fatalf("region %+v leaves the %dx%d screen", r, w, h)
		}
		for y := r.Y; y < r.Y+r.H; y++ {
			for x := r.X; x < r.X+r.W; x++ {
				covered[y*w+x]++
			}
		}
	}
	for i, n := range covered {
		if n != 1 {
			t.Fatalf("cell (%d,%d) covered %d times", i%w, i/w, n)
		}
	}
	if want := (Rect{X: 0, Y: 1, W: w, H: h - 2}); l.Body != want {
		t.Errorf("body %+v, want %+v", l.Body, want)
	}
}

func TestFullLayoutProportions(t *testing.T) {
	for _, sz := range [][2]int{{100, 32}, {120, 40}, {160, 48}, {250, 70}} {
		l := ComputeLayout(sz[0], sz[1], 7)
		serving, canary := l.Pane(panes.Serving), l.Pane(panes.Canary)
		training := l.Pane(panes.Training)
		if serving.Y != canary.Y || serving.H != canary.H {
			t.Errorf("%v: serving %+v and canary %+v are not side by side", sz, serving, canary)
		}
		if serving.W <= canary.W {
			t.Errorf("%v: serving (%d) should be wider than canary (%d)", sz, serving.W, canary.W)
		}
		if serving.H < training.H {
			t.Errorf("%v: serving row (%d) lower than the bottom row (%d)", sz, serving.H, training.H)
		}
		for _, id := range []panes.ID{panes.Pipelines, panes.Registry, panes.Infra} {
			r := l.Pane(id)
			if r.Y != training.Y || r.H != training.H {
				t.Errorf("%v: pane %d %+v not in the bottom row with training %+v", sz, id, r, training)
			}
			if d := r.W - training.W; d < -1 || d > 1 {
				t.Errorf("%v: bottom row widths differ by %d", sz, d)
			}
			// A box needs its border and at least six lines of content.
			if r.H < 8 || r.W < 20 {
				t.Errorf("%v: pane %d too small: %+v", sz, id, r)
			}
		}
	}
	// The extra room of a big terminal goes to the panes, not to gaps.
	small, big := ComputeLayout(120, 40, 7), ComputeLayout(250, 70, 7)
	for _, id := range panes.IDs() {
		if big.Pane(id).H <= small.Pane(id).H || big.Pane(id).W <= small.Pane(id).W {
			t.Errorf("pane %d does not grow: %+v -> %+v", id, small.Pane(id), big.Pane(id))
		}
	}
	if a, b := ComputeLayout(100, 32, 7).Alerts.H, big.Alerts.H; a != 4 || b != 6 {
		t.Errorf("alert box heights %d and %d, want 4 (two lines) and 6 (four lines)", a, b)
	}
}

func TestAlertStripHeight(t *testing.T) {
	cases := []struct {
		w, h, alerts, want int
	}{
		{120, 40, 0, 2 + 2}, // a box: lines plus its border
		{120, 40, 3, 3 + 2},
		{120, 40, 7, 4 + 2},
		{120, 37, 7, 3 + 2},
		{120, 33, 7, 2 + 2},
		{80, 24, 0, 2},
		{80, 24, 1, 2},
		{80, 24, 7, 4},
		{80, 22, 7, 3},
		{80, 18, 7, 2},
	}
	for _, c := range cases {
		l := ComputeLayout(c.w, c.h, c.alerts)
		if l.Alerts.H != c.want {
			t.Errorf("%dx%d with %d alerts: strip %d lines, want %d", c.w, c.h, c.alerts, l.Alerts.H, c.want)
		}
	}
}

func TestCompactLayoutGivesSpareLinesToServing(t *testing.T) {
	l := ComputeLayout(80, 24, 2)
	if l.ServingBody.H != 14 || l.Summaries.H != 4 || l.SummaryColumns != 1 {
		t.Errorf("80x24: serving %d lines, summaries %d lines x %d columns; want 14, 4 x 1",
			l.ServingBody.H, l.Summaries.H, l.SummaryColumns)
	}
	l = ComputeLayout(60, 16, 7)
	if l.ServingBody.H != 8 || l.Summaries.H != 2 || l.SummaryColumns != 2 {
		t.Errorf("60x16: serving %d lines, summaries %d lines x %d columns; want 8, 2 x 2",
			l.ServingBody.H, l.Summaries.H, l.SummaryColumns)
	}
}

func TestSplitSumsExactly(t *testing.T) {
	for total := 0; total < 300; total += 7 {
		parts := split(total, []int{3, 4, 3, 3})
		sum := 0
		for _, p := range parts {
			sum += p
		}
		if sum != total {
			t.Fatalf("split(%d) = %v sums to %d", total, parts, sum)
		}
	}
}
