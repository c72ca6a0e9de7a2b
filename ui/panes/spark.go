package panes

import (
	"math"
	"strings"

	"github.com/mltop/mltop/ui/theme"
)

// Sparklines are drawn here rather than with ntcharts' sparkline: a one-line
// trend in a table cell needs no canvas, and a table of hundreds of rows
// redrawn every second should not allocate a chart model per cell.

// sparkRamp returns the levels of a one-line sparkline, lowest
// first. The lowest level is visible so a flat zero reads as a baseline, not
// as missing data.
func sparkRamp(t *theme.Theme) []string {
	if t.ASCII {
		return []string{".", ":", "-", "=", "+", "*", "#"}
	}
	return []string{"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}
}

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

// spark draws values as a one-line sparkline of at most w cells, oldest
// left, scaled from lo to hi (values outside are clipped).
func spark(t *theme.Theme, values []float64, w int, lo, hi float64) string {
	vals := resample(values, w)
	if len(vals) == 0 {
		return ""
	}
	ramp := sparkRamp(t)
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(ramp[level(v-lo, hi-lo, len(ramp))])
	}
	return b.String()
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

// sparkRows draws values as a column chart h lines tall and at most w cells
// wide (oldest left), for trends that have room for more than one line.
// Each column is filled from the bottom; its top cell shows the remainder
// with the ramp's partial levels.
func sparkRows(t *theme.Theme, values []float64, w, h int, max float64) []string {
	vals := resample(values, w)
	if len(vals) == 0 || h <= 0 {
		return nil
	}
	if h == 1 {
		return []string{spark(t, values, w, 0, max)}
	}
	ramp := sparkRamp(t)
	full := ramp[len(ramp)-1]
	rows := make([]strings.Builder, h)
	for _, v := range vals {
		// Height in eighths of a cell (or ramp steps), at least the baseline.
		steps := len(ramp)
		units := 0
		if max > 0 && v > 0 {
			units = int(math.Round(math.Min(v/max, 1) * float64(h*steps)))
		}
		for r := 0; r < h; r++ {
			// r counts from the bottom line.
			cell := " "
			switch rem := units - r*steps; {
			case rem >= steps:
				cell = full
			case rem > 0:
				cell = ramp[rem-1]
			case r == 0:
				cell = ramp[0]
			}
			rows[h-1-r].WriteString(cell)
		}
	}
	out := make([]string, h)
	for i := range rows {
		out[i] = rows[i].String()
	}
	return out
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
