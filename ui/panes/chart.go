package panes

import (
	"math"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas/runes"

	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// plotLines draws values (oldest left) as a line chart exactly w cells wide
// and h lines tall, the top and bottom of the value range labelled on the
// left. With braille each cell holds a 2x4 dot grid (ntcharts' braille
// patterns); without it the line is drawn with '*' at the samples and '.'
// between them, which any terminal shows.
//
// The chart is drawn on a dot grid here instead of with ntcharts' linechart
// because that package pulls github.com/lrstanley/bubblezone, which the
// module's go.sum does not carry; only ntcharts' rune helpers are used.
func plotLines(t *theme.Theme, values []float64, w, h int, format func(float64) string) []string {
	if w <= 0 || h <= 0 || len(values) == 0 {
		return nil
	}
	lo, hi := valueRange(values)
	top, bottom := format(hi), format(lo)
	labelW := max(text.Width(top), text.Width(bottom))
	plotW := w - labelW - 1
	if plotW < 4 {
		labelW, plotW = 0, w
	}

	var cells [][]rune
	if t.Glyphs.Braille {
		cells = brailleCells(values, plotW, h, lo, hi)
	} else {
		cells = asciiCells(values, plotW, h, lo, hi)
	}

	out := make([]string, h)
	for r := 0; r < h; r++ {
		var label string
		if labelW > 0 {
			switch r {
			case 0:
				label = text.PadLeft(top, labelW)
			case h - 1:
				label = text.PadLeft(bottom, labelW)
			default:
				label = strings.Repeat(" ", labelW)
			}
			label = t.ChartAxis.Render(label) + " "
		}
		out[r] = label + t.Chart.Render(string(cells[r]))
	}
	return out
}

// valueRange is the plotted range: the data's span with a little headroom,
// or a small band around a flat series so it draws mid-height.
func valueRange(values []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	span := hi - lo
	if span <= 0 {
		pad := math.Max(math.Abs(hi)*0.01, 0.001)
		return lo - pad, hi + pad
	}
	return lo - span*0.05, hi + span*0.05
}

// lastN keeps the newest n values: a chart narrower than the history shows
// the recent runs rather than squeezing them.
func lastN(values []float64, n int) []float64 {
	if len(values) > n {
		return values[len(values)-n:]
	}
	return values
}

// gridPoint maps sample i of n with value v onto a gw x gh grid (y down).
func gridPoint(i, n int, v, lo, hi float64, gw, gh int) (x, y int) {
	if n > 1 {
		x = int(math.Round(float64(i) / float64(n-1) * float64(gw-1)))
	} else {
		x = gw - 1
	}
	frac := (v - lo) / (hi - lo)
	y = int(math.Round((1 - frac) * float64(gh-1)))
	return min(max(x, 0), gw-1), min(max(y, 0), gh-1)
}

// line visits the grid points of a straight line (Bresenham).
func line(x0, y0, x1, y1 int, visit func(x, y int)) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := 1, 1
	if x0 > x1 {
		sx = -1
	}
	if y0 > y1 {
		sy = -1
	}
	e := dx + dy
	for {
		visit(x0, y0)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func brailleCells(values []float64, w, h int, lo, hi float64) [][]rune {
	gw, gh := 2*w, 4*h
	values = lastN(values, gw)
	grid := runes.NewPatternDotsGrid(gw, gh)
	px, py := gridPoint(0, len(values), values[0], lo, hi, gw, gh)
	grid.Set(px, py)
	for i := 1; i < len(values); i++ {
		x, y := gridPoint(i, len(values), values[i], lo, hi, gw, gh)
		line(px, py, x, y, grid.Set)
		px, py = x, y
	}
	cells := grid.BraillePatterns()
	for _, row := range cells {
		for i, r := range row {
			// An empty pattern is a blank that some fonts draw as dots.
			if r == runes.BrailleBlockOffset {
				row[i] = ' '
			}
		}
	}
	return cells
}

func asciiCells(values []float64, w, h int, lo, hi float64) [][]rune {
	values = lastN(values, w)
	cells := make([][]rune, h)
	for r := range cells {
		cells[r] = []rune(strings.Repeat(" ", w))
	}
	set := func(ch rune) func(x, y int) {
		return func(x, y int) {
			if cells[y][x] != '*' {
				cells[y][x] = ch
			}
		}
	}
	var px, py int
	for i, v := range values {
		x, y := gridPoint(i, len(values), v, lo, hi, w, h)
		if i > 0 {
			line(px, py, x, y, set('.'))
		}
		cells[y][x] = '*'
		px, py = x, y
	}
	return cells
}
