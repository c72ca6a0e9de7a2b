package panes

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/NimbleMarkets/ntcharts/canvas"
	"github.com/NimbleMarkets/ntcharts/canvas/graph"
	"github.com/NimbleMarkets/ntcharts/canvas/runes"
	"github.com/NimbleMarkets/ntcharts/linechart"
	"github.com/NimbleMarkets/ntcharts/linechart/timeserieslinechart"
	"github.com/charmbracelet/lipgloss"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/theme"
)

// The charts are ntcharts models built for one render and dropped: a pane
// holds no state between frames, and a chart model shares its buffers with
// every copy, so nothing here outlives the call that draws it.
//
// ntcharts draws into its canvas (axes, labels, braille and line runes);
// chartLines then reads the canvas back cell by cell instead of calling
// View(). View renders every cell through its own lipgloss style, which is
// slow (one Render per cell) and, for the blank cells, goes through
// lipgloss's process-wide renderer rather than the theme's. Reading the runes
// lets the theme style each run of cells once, and lets ASCII mode swap the
// box-drawing axis and the braille for characters any terminal shows:
// ntcharts has no ASCII line style (runes.ThinLineStyle and ArcLineStyle are
// both box drawing).

// chartRole says what a chart cell shows, which decides its style and, in
// ASCII mode, its character.
type chartRole int

const (
	roleBlank   chartRole = iota
	roleAxis              // axis lines and their labels
	rolePrimary           // braille series: the metric, or the stable revision
	roleSecond            // line-rune series: the canary revision
	roleBoth              // both series in one cell: heavy line runes
)

// chartStyles styles each role. Every style must come from the theme's
// renderer: a zero lipgloss.Style renders through lipgloss's process-wide
// renderer, which probes standard output.
type chartStyles struct {
	axis, primary, second, both lipgloss.Style
}

// chartLines reads an ntcharts canvas back as styled lines exactly as wide as
// the canvas. origin is the chart's axes origin; hasY/hasX say whether the
// y and x axes were drawn (cells left of the y axis and below the x axis are
// labels). In ASCII mode braille cells become '.', line runes in the plot
// become '*', and the axes become '|', '-' and '+'.
func chartLines(t *theme.Theme, c *canvas.Model, origin canvas.Point, hasY, hasX bool, st chartStyles) []string {
	w, h := c.Width(), c.Height()
	out := make([]string, h)
	var b, seg strings.Builder
	for y := 0; y < h; y++ {
		b.Reset()
		seg.Reset()
		current := roleBlank
		flush := func() {
			switch {
			case seg.Len() == 0:
				return
			case current == roleBlank:
				b.WriteString(seg.String())
			default:
				b.WriteString(styleFor(st, current).Render(seg.String()))
			}
			seg.Reset()
		}
		for x := 0; x < w; x++ {
			r := c.Cell(canvas.Point{X: x, Y: y}).Rune
			role, ch := classifyCell(t, r, x, y, origin, hasY, hasX)
			if role != current {
				flush()
				current = role
			}
			seg.WriteRune(ch)
		}
		flush()
		out[y] = b.String()
	}
	return out
}

func styleFor(st chartStyles, role chartRole) lipgloss.Style {
	switch role {
	case roleAxis:
		return st.axis
	case rolePrimary:
		return st.primary
	case roleSecond:
		return st.second
	}
	return st.both
}

// classifyCell names the role of the cell at x, y holding rune r and the
// character to print for it.
func classifyCell(t *theme.Theme, r rune, x, y int, origin canvas.Point, hasY, hasX bool) (chartRole, rune) {
	switch {
	case r == runes.Null:
		return roleBlank, ' '
	case hasY && x < origin.X, hasX && y > origin.Y:
		return roleAxis, r
	case hasY && x == origin.X, hasX && y == origin.Y:
		if t.ASCII && runes.IsLine(r) {
			return roleAxis, asciiAxis(r, hasX && hasY && x == origin.X && y == origin.Y)
		}
		return roleAxis, r
	case isHeavy(r):
		if t.ASCII {
			return roleBoth, '#'
		}
		return roleBoth, r
	case runes.IsBraillePattern(r):
		if t.ASCII {
			return rolePrimary, '.'
		}
		return rolePrimary, r
	case runes.IsLine(r):
		if t.ASCII {
			return roleSecond, '*'
		}
		return roleSecond, r
	}
	return rolePrimary, r
}

// heavyLine is the heavy form of a line rune of ntcharts' arc style, which
// marks a cell where both series of a chart meet; false for other runes.
func heavyLine(r rune) (rune, bool) {
	switch r {
	case runes.LineHorizontal:
		return '━', true
	case runes.LineVertical:
		return '┃', true
	case runes.ArcDownRight:
		return '┏', true
	case runes.ArcDownLeft:
		return '┓', true
	case runes.ArcUpRight:
		return '┗', true
	case runes.ArcUpLeft:
		return '┛', true
	}
	return r, false
}

func isHeavy(r rune) bool {
	switch r {
	case '━', '┃', '┏', '┓', '┗', '┛':
		return true
	}
	return false
}

// asciiAxis is the ASCII stand-in for a box-drawing rune on an axis.
func asciiAxis(r rune, corner bool) rune {
	switch {
	case corner:
		return '+'
	case r == runes.LineHorizontal:
		return '-'
	}
	return '|'
}

// finite reports whether v can be plotted: NaN or an infinity would send
// ntcharts' line walk across billions of cells.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// labelRows picks which of rows 0..last (counted up from the bottom) carry a
// y-axis label: the bottom, the top, and evenly between them about every
// third to sixth row, so a tall chart has a scale without a label on every
// line.
func labelRows(last int) func(int) bool {
	if last <= 0 {
		return func(i int) bool { return i == 0 }
	}
	n := max(1, last/max(3, last/6))
	rows := make([]bool, last+1)
	for k := 0; k <= n; k++ {
		rows[(k*last+n/2)/n] = true
	}
	return func(i int) bool { return i >= 0 && i <= last && rows[i] }
}

// metricChart draws a training metric over its runs, oldest left, with
// ntcharts' linechart: the y axis labelled with the metric (three decimals)
// and one braille line through the runs; in ASCII mode each run is a '*' and
// the line between them dots. Runs are evenly spaced (the chart compares one
// run with the next, not hours), and the newest run is always the rightmost
// column. It returns exactly h lines of w cells and how many runs they show,
// or nil when the values or the room cannot make a chart.
func metricChart(t *theme.Theme, values []float64, w, h int) (lines []string, shown int) {
	vals := make([]float64, 0, len(values))
	for _, v := range values {
		if finite(v) {
			vals = append(vals, v)
		}
	}
	if w < 8 || h < 2 || len(vals) < 2 {
		return nil, 0
	}
	lo, hi := valueRange(vals)
	labelW := max(len(fmtMetric(lo)), len(fmtMetric(hi)))
	// A chart narrower than the history shows the recent runs rather than
	// squeezing them: at most one run per braille dot column (two per cell),
	// one per cell in ASCII.
	perCell := 2
	if !t.Glyphs.Braille {
		perCell = 1
	}
	if plotW := w - labelW - 1; plotW >= 4 {
		if n := plotW * perCell; len(vals) > n {
			vals = vals[len(vals)-n:]
			lo, hi = valueRange(vals)
		}
	} else {
		labelW = 0
	}

	yStep := 1
	if labelW == 0 {
		yStep = 0
	}
	// Without an x axis ntcharts labels row i (from the bottom) with
	// lo + i*span/h; stretching the labelled span by h/(h-1) puts lo on the
	// bottom row and hi on the top row, where the line reaches them.
	span := (hi - lo) * float64(h) / float64(max(h-1, 1))
	show := labelRows(h - 1)
	lc := linechart.New(w, h, 0, 1, lo, lo+span,
		linechart.WithXYSteps(0, yStep),
		linechart.WithYLabelFormatter(func(i int, v float64) string {
			if !show(i) {
				return ""
			}
			return fmtMetric(v)
		}))
	lc.DrawXYAxisAndLabel()

	// One braille grid for the whole series: linechart.DrawBrailleLine would
	// allocate a grid per segment.
	gw, gh := lc.GraphWidth(), lc.GraphHeight()
	if gw < 2 || gh < 1 {
		return nil, 0
	}
	grid := graph.NewBrailleGrid(gw, gh, 0, float64(len(vals)-1), lo, hi)
	prev := grid.GridPoint(canvas.Float64Point{X: 0, Y: vals[0]})
	grid.Set(prev)
	for i := 1; i < len(vals); i++ {
		p := grid.GridPoint(canvas.Float64Point{X: float64(i), Y: vals[i]})
		for _, q := range graph.GetLinePoints(prev, p) {
			grid.Set(q)
		}
		prev = p
	}
	startX := 0
	if yStep > 0 {
		startX = lc.Origin().X + 1
	}
	graph.DrawBraillePatterns(&lc.Canvas, canvas.Point{X: startX, Y: 0}, grid.BraillePatterns(), lipgloss.Style{})
	if !t.Glyphs.Braille {
		// Each run gets a '*' in its cell; the dots of the line between
		// runs read as '.' once chartLines translates the braille.
		for i, v := range vals {
			p := grid.GridPoint(canvas.Float64Point{X: float64(i), Y: v})
			lc.Canvas.SetCell(canvas.Point{X: startX + p.X/2, Y: p.Y / 4}, canvas.NewCell('*'))
		}
	}
	return chartLines(t, &lc.Canvas, lc.Origin(), yStep > 0, false,
		chartStyles{axis: t.ChartAxis, primary: t.Chart, second: t.Chart, both: t.Chart}), len(vals)
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

// canaryChartMinHeight is the smallest error-trend chart: two plot rows,
// the time axis and its labels.
const canaryChartMinHeight = 4

// errorTrendChart draws the 5xx rates of the stable and the canary revision
// (0..1 fractions) on one ntcharts time-series chart h lines tall and w
// cells wide: percent labels on the y axis from 0 to top, HH:MM labels (in
// loc) on the time axis. The two series differ without colour: the stable
// revision is a dotted braille line, the canary a solid line of box-drawing
// runes, and a cell where both pass is a heavy line (in ASCII '.', '*' and
// '#'): at the same rate the lines coincide, and neither may hide the other.
// Nil when there is no time span to draw or no room.
func errorTrendChart(t *theme.Theme, stable, canary []sources.Point, top float64, loc *time.Location, w, h int) []string {
	stable, canary = plottable(stable, top), plottable(canary, top)
	from, to, ok := comparedSpan(stable, canary)
	if !ok || w < 16 || h < canaryChartMinHeight || !(top > 0) {
		return nil
	}
	stable = within(stable, from)
	// The line runes put a value of 0 on the x axis row itself, where it
	// would merge with the axis. Starting the y range one row below zero
	// lifts 0 to the first plot row, and the labels of that range still say
	// 0 on that row and top on the top row.
	plotH := h - 2
	bottom := -top / float64(plotH-1)
	show := labelRows(plotH - 1)
	lc := timeserieslinechart.New(w, h,
		timeserieslinechart.WithTimeRange(from, to),
		timeserieslinechart.WithYRange(bottom, top),
		timeserieslinechart.WithXYSteps(max(8, (w-6)/4), 1),
		timeserieslinechart.WithXLabelFormatter(func(_ int, v float64) string {
			return time.Unix(int64(v), 0).In(loc).Format("15:04")
		}),
		timeserieslinechart.WithYLabelFormatter(func(i int, v float64) string {
			// Row 0 is the axis, below zero; rows 1.. are 0..top.
			if i == 0 || !show(i-1) {
				return ""
			}
			return pctLabel(v, top)
		}),
	)
	const canaryName = "canary"
	for _, p := range canary {
		lc.PushDataSet(canaryName, timeserieslinechart.TimePoint{Time: p.T, Value: p.V})
	}
	// DrawDataSets clears the canvas and draws the axes, the labels and
	// the canary's line; the stable's braille goes into the cells it left
	// empty, and turns the canary's runes heavy where it passes them.
	//
	// The stable is not a second data set of the chart: DrawBrailleDataSets
	// would clear the canary's line away, and it scales over the chart's
	// range, which starts a row below zero for the line runes, so its
	// zero would sit a row above the canary's. ntcharts' braille grid over
	// 0..top on the chart's canvas puts both series on the same rows.
	lc.DrawDataSets([]string{canaryName})

	gw, gh := lc.GraphWidth(), lc.GraphHeight()
	origin := lc.Origin()
	if len(stable) > 0 && gw >= 2 && gh >= 1 {
		grid := graph.NewBrailleGrid(gw, gh, float64(from.Unix()), float64(to.Unix()), 0, top)
		prev := grid.GridPoint(canvas.Float64Point{X: float64(stable[0].T.Unix()), Y: stable[0].V})
		grid.Set(prev)
		for _, s := range stable[1:] {
			p := grid.GridPoint(canvas.Float64Point{X: float64(s.T.Unix()), Y: s.V})
			for _, q := range graph.GetLinePoints(prev, p) {
				grid.Set(q)
			}
			prev = p
		}
		for y, row := range grid.BraillePatterns() {
			for x, r := range row {
				at := canvas.Point{X: origin.X + 1 + x, Y: y}
				if r == runes.BrailleBlockOffset {
					continue
				}
				switch under := lc.Canvas.Cell(at).Rune; {
				case under == runes.Null:
					lc.Canvas.SetCell(at, canvas.NewCell(r))
				case y < origin.Y:
					if heavy, ok := heavyLine(under); ok {
						lc.Canvas.SetCell(at, canvas.NewCell(heavy))
					}
				}
			}
		}
	}
	return chartLines(t, &lc.Canvas, origin, true, true,
		chartStyles{axis: t.ChartAxis, primary: t.Base, second: t.Chart, both: t.Chart})
}

// plottable keeps the points a chart can draw, in time order, with values
// clipped to 0..top: negative rates are noise, and a spike above the scale
// is drawn at the top instead of off the canvas.
func plottable(pts []sources.Point, top float64) []sources.Point {
	out := make([]sources.Point, 0, len(pts))
	for _, p := range pts {
		if p.T.IsZero() || !finite(p.V) {
			continue
		}
		p.V = math.Min(math.Max(p.V, 0), top)
		if n := len(out); n > 0 && !p.T.After(out[n-1].T) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// comparedSpan is the time the chart covers: from the canary's first sample
// (the stable's history before the canary existed compares nothing, and
// ntcharts would draw the canary's missing start as a drop to the axis) to
// the last sample of either; false when it is empty.
func comparedSpan(stable, canary []sources.Point) (from, to time.Time, ok bool) {
	from, to, ok = timeSpan(stable, canary)
	if len(canary) > 0 {
		from = canary[0].T
	}
	return from, to, ok && to.Unix() > from.Unix()
}

// within drops the points before from.
func within(pts []sources.Point, from time.Time) []sources.Point {
	for i, p := range pts {
		if !p.T.Before(from) {
			return pts[i:]
		}
	}
	return nil
}

// timeSpan is the time both series cover together; false when it is empty.
func timeSpan(a, b []sources.Point) (from, to time.Time, ok bool) {
	for _, s := range [][]sources.Point{a, b} {
		if len(s) == 0 {
			continue
		}
		if from.IsZero() || s[0].T.Before(from) {
			from = s[0].T
		}
		if last := s[len(s)-1].T; last.After(to) {
			to = last
		}
	}
	// ntcharts keeps times in whole seconds.
	return from, to, to.Unix() > from.Unix()
}

// pctLabel formats an axis value of a 0..1 rate as a percent with as many
// decimals as the scale needs, the same for every label of one axis:
// 0.50%, 4.0%, 12%.
func pctLabel(v, top float64) string {
	decimals := 0
	switch {
	case top < 0.01:
		decimals = 2
	case top < 0.1:
		decimals = 1
	}
	return strconv.FormatFloat(100*math.Max(v, 0), 'f', decimals, 64) + "%"
}
