package panes

import (
	"math"
	"strings"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/sparkline"

	"github.com/mltop/mltop/ui/theme"
)

// One-line sparklines are drawn with ntcharts' sparkline (block runes) and,
// in ASCII mode, with a ramp of ASCII characters, since ntcharts has no ASCII
// column runes. Three things are done before the values reach ntcharts:
//   - resample: its ring buffer keeps only the newest w values, so an hour of
//     samples wider than the cell would lose its start; the samples are
//     bucketed into w columns first, keeping each bucket's peak.
//   - scaling to lo..hi: its scale always starts at 0 (SetMax only moves the
//     top), while the pipeline durations need a relative scale; values are
//     shifted and scaled to 0..1 here, with a fixed max of 1.
//   - a baseline: it draws nothing for 0, and a flat zero must read as a
//     baseline, not as missing data; 0 is lifted to the lowest block (1/8).

// resample fits values into at most w columns, oldest left. When there are
// more values than columns each column shows the largest value of its bucket,
// so a short error spike is never averaged away.
func resample(values []float64, w int) []float64 {
	if w <= 0 || len(values) == 0 {
		return nil
	}
	if len(values) <= w {
		return values
	}
	out := make([]float64, w)
	n := len(values)
	for c := 0; c < w; c++ {
		lo, hi := c*n/w, (c+1)*n/w
		m := values[lo]
		for _, v := range values[lo:hi] {
			if v > m {
				m = v
			}
		}
		out[c] = m
	}
	return out
}

// scaleMax returns the top of the scale: the given floor or the largest
// value, whichever is greater. A floor keeps noise flat: an error rate of
// 0.001 % must not fill the cell just because it is the largest sample.
func scaleMax(values []float64, floor float64) float64 {
	m := floor
	for _, v := range values {
		if v > m && !math.IsInf(v, 0) && !math.IsNaN(v) {
			m = v
		}
	}
	return m
}

// asciiRamp is the ASCII sparkline's levels, lowest first. The lowest
// level is visible so a flat zero reads as a baseline, not as missing data.
const asciiRamp = ".:-=+*#"

// sparkBaseline is the height, in cells, of a value at the bottom of the
// scale: ntcharts' lowest block.
const sparkBaseline = 1.0 / 8

// spark draws values as a one-line sparkline of at most w cells, oldest
// left, scaled from lo to hi (values outside are clipped).
func spark(t *theme.Theme, values []float64, w int, lo, hi float64) string {
	return newSparkDrawer(t, w).draw(values, lo, hi)
}

// sparkDrawer draws one-line sparklines of at most w cells. It holds one
// ntcharts sparkline for all of them: a table draws a sparkline per row,
// and each model allocates a canvas of styled cells (over half a kilobyte a
// cell), so a model per row would be most of the table's cost. The drawer
// belongs to one frame's table; ntcharts models share their buffers with
// their copies, so it is never copied or kept.
type sparkDrawer struct {
	t     *theme.Theme
	w     int
	model *sparkline.Model // nil in ASCII mode, or without room
}

func newSparkDrawer(t *theme.Theme, w int) *sparkDrawer {
	d := &sparkDrawer{t: t, w: w}
	if !t.ASCII && w > 0 {
		m := sparkline.New(w, 1, sparkline.WithMaxValue(1), sparkline.WithNoAutoMaxValue())
		d.model = &m
	}
	return d
}

func (d *sparkDrawer) draw(values []float64, lo, hi float64) string {
	vals := resample(values, d.w)
	if len(vals) == 0 {
		return ""
	}
	if d.model == nil {
		var b strings.Builder
		for _, v := range vals {
			i := level(v-lo, hi-lo, len(asciiRamp))
			b.WriteString(asciiRamp[i : i+1])
		}
		return b.String()
	}
	// The ring buffer holds exactly w values: pushing w of them replaces
	// the previous row's without Clear, which would reallocate the canvas.
	// The padding is 0, which ntcharts leaves blank (real values are lifted
	// to the baseline), and only the cells of real values are read back.
	for range d.w - len(vals) {
		d.model.Push(0)
	}
	for _, v := range vals {
		d.model.Push(sparkBaseline + (1-sparkBaseline)*unit(v-lo, hi-lo))
	}
	d.model.DrawColumnsOnly()
	var b strings.Builder
	for x := d.w - len(vals); x < d.w; x++ {
		r := d.model.Canvas.Cell(canvas.Point{X: x, Y: 0}).Rune
		if r == runes.Null {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unit maps v on 0..max to 0..1, clipped; 0 for NaN or an empty scale.
func unit(v, max float64) float64 {
	if !(max > 0) || !(v > 0) {
		return 0
	}
	return math.Min(v/max, 1)
}

// spread is the range a relative trend is drawn over: the data's own
// minimum and maximum, widened to at least 10 % of the maximum so that
// jitter around a steady value stays flat.
func spread(values []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range values {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if min := hi * 0.1; hi-lo < min {
		lo = hi - min
	}
	return lo, hi
}

// level maps v on 0..max to one of n levels.
func level(v, max float64, n int) int {
	if max <= 0 || v <= 0 || math.IsNaN(v) {
		return 0
	}
	i := int(math.Round(v / max * float64(n-1)))
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// gauge draws a bar of width cells (brackets included) filled to frac of 0..1:
// [#####.....].
func gauge(g theme.Glyphs, frac float64, width int) string {
	inner := width - 2
	if inner < 1 {
		return ""
	}
	if math.IsNaN(frac) || frac < 0 {
		frac = 0
	}
	if frac > 1 {
		frac = 1
	}
	n := int(math.Round(frac * float64(inner)))
	return "[" + strings.Repeat(g.BarFull, n) + strings.Repeat(g.BarEmpty, inner-n) + "]"
}
