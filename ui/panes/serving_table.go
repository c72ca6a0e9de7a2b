package panes

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// servingColumn is one column after NAME.
type servingColumn int

const (
	colMode servingColumn = iota
	colReady
	colRPS
	colErr
	colP99
	colTrend
)

type columnSpec struct {
	id     servingColumn
	head   string
	width  int
	metric bool // a not-ready row's reason spans the metric columns
}

// servingTable is the column layout for one frame: which columns fit in w
// and how wide NAME is.
type servingTable struct {
	in       Input
	t        *theme.Theme
	w        int
	glyphW   int
	nameW    int
	cols     []columnSpec
	trendErr bool // the trend column shows the 5xx rate, else requests
	showNS   bool // rows span several namespaces: names carry theirs
	// sparks draws the trend column, one ntcharts sparkline for all rows;
	// made on the first row that needs it.
	sparks *sparkDrawer
}

// Column widths: wide enough for "100.0k", "12.50!", "1450ms!".
const (
	nameMinWide   = 14 // below this NAME loses a column
	nameMinNarrow = 6  // below this even ERR% and P99 give way
)

func newServingTable(in Input, t *theme.Theme, rows []sources.ServiceRow, w int) *servingTable {
	tb := &servingTable{in: in, t: t, w: w}
	tb.glyphW = max(text.Width(t.Glyphs.Crit), text.Width(t.Glyphs.Warn))
	hasErrTrend, hasRPSTrend := false, false
	natural := 0
	for i := range rows {
		if rows[i].Namespace != rows[0].Namespace {
			tb.showNS = true
		}
		natural = max(natural, naturalNameWidth(&rows[i]))
		m := &rows[i].Metrics
		hasErrTrend = hasErrTrend || (m.HasErrors && len(m.ErrTrend) > 0)
		hasRPSTrend = hasRPSTrend || len(m.RPSTrend) > 0
	}
	tb.trendErr = hasErrTrend

	trendW := 10
	if w >= 140 {
		trendW = 20
	}
	cols := []columnSpec{
		{colMode, "MODE", 4, false},
		{colReady, "READY", 5, false},
		{colRPS, "RPS", 7, true},
		{colErr, "ERR%", 6, true},
		{colP99, "P99", 7, true},
	}
	switch {
	case hasErrTrend:
		cols = append(cols, columnSpec{colTrend, "5xx 1h", trendW, true})
	case hasRPSTrend:
		cols = append(cols, columnSpec{colTrend, "rps 1h", trendW, true})
	}
	tb.cols = cols
	tb.layout()
	if tb.showNS {
		natural += 1 + len(rows[0].Namespace)
	}
	tb.spendSpare(natural)
	return tb
}

// naturalNameWidth is about how wide a row's NAME cell wants to be: its name
// and markers. It is an estimate that allocates nothing, because it runs over
// every row of the list, not only the visible ones.
func naturalNameWidth(r *sources.ServiceRow) int {
	n := len(r.Name)
	if r.InCanary() {
		n += 2 + len("c100%")
	}
	if r.MinReplicas == 0 {
		n += 1 + len("min=0")
	}
	if r.OOMKills > 0 {
		n += 1 + len("oom10")
	}
	if r.GPU {
		n += 1 + len("gpu")
	}
	return n
}

// spendSpare narrows NAME to what the names need and gives the rest to the
// trend column (up to a readable hour), so a wide pane does not push the
// figures far from the names.
func (tb *servingTable) spendSpare(natural int) {
	const trendMax = 30
	want := max(natural, nameMinWide)
	spare := tb.nameW - want
	if spare <= 0 {
		return
	}
	tb.nameW = want
	for i := range tb.cols {
		if tb.cols[i].id == colTrend {
			grow := min(spare, trendMax-tb.cols[i].width)
			if grow > 0 {
				tb.cols[i].width += grow
			}
		}
	}
}

// layout drops columns, least useful first, until NAME has room: the trend,
// then MODE, RPS and READY; ERR% and P99 go only when the pane is so narrow
// that the name would be unreadable.
func (tb *servingTable) layout() {
	drops := []struct {
		id      servingColumn
		minName int
	}{
		{colTrend, nameMinWide}, {colMode, nameMinWide}, {colRPS, nameMinWide},
		{colReady, nameMinWide}, {colP99, nameMinNarrow}, {colErr, nameMinNarrow},
	}
	tb.nameW = tb.nameWidth()
	for _, d := range drops {
		if tb.nameW >= d.minName {
			break
		}
		for i, c := range tb.cols {
			if c.id == d.id {
				tb.cols = append(tb.cols[:i:i], tb.cols[i+1:]...)
				break
			}
		}
		tb.nameW = tb.nameWidth()
	}
	tb.nameW = max(tb.nameW, 1)
}

func (tb *servingTable) prefixWidth() int {
	return text.Width(tb.t.Glyphs.Cursor) + 1 + tb.glyphW + 1
}

func (tb *servingTable) nameWidth() int {
	n := tb.w - tb.prefixWidth()
	for _, c := range tb.cols {
		n -= c.width + 1
	}
	return n
}

// header is the column heads; NAME carries the visible range when the list
// scrolls ("NAME 11-38/500").
func (tb *servingTable) header(from, to, total int) string {
	name := "NAME"
	if to-from < total {
		name += fmt.Sprintf(" %d-%d/%d", from+1, to, total)
	}
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", tb.prefixWidth()))
	b.WriteString(text.Fit(name, tb.nameW, ""))
	for _, c := range tb.cols {
		b.WriteByte(' ')
		if c.id == colMode || c.id == colReady || c.id == colTrend {
			b.WriteString(text.Fit(c.head, c.width, ""))
		} else {
			b.WriteString(text.PadLeft(c.head, c.width))
		}
	}
	return tb.t.Header.Render(b.String())
}

// row draws one service. cursor marks it with the cursor glyph; highlight
// also reverses it (drawn plain inside so the reverse spans the whole row).
func (tb *servingTable) row(r sources.ServiceRow, cursor, highlight bool) string {
	t, th := tb.t, tb.in.Thresholds
	plain := highlight
	glyph := strings.Repeat(" ", tb.glyphW)
	switch judgeRow(r, tb.in.Snap.Canaries, th) {
	case health.Crit:
		glyph = paint(t.Crit.Render, text.Fit(t.Glyphs.Crit, tb.glyphW, ""), plain)
	case health.Warn:
		glyph = paint(t.Warn.Render, text.Fit(t.Glyphs.Warn, tb.glyphW, ""), plain)
	}

	var b strings.Builder
	b.WriteString(cursorMark(t, cursor))
	b.WriteByte(' ')
	b.WriteString(glyph)
	b.WriteByte(' ')
	b.WriteString(tb.nameCell(r, plain))

	spanned := false
	for i, c := range tb.cols {
		if !r.Ready && c.metric {
			if !spanned {
				b.WriteByte(' ')
				b.WriteString(paint(t.Crit.Render, fit(t, notReadyReason(r), tb.spanWidth(i)), plain))
				spanned = true
			}
			continue
		}
		b.WriteByte(' ')
		b.WriteString(tb.cell(c, r, plain))
	}
	s := b.String()
	if highlight {
		s = t.Selected.Render(fit(t, s, tb.w))
	}
	return s
}

// spanWidth is the width from column i to the end of the table.
func (tb *servingTable) spanWidth(i int) int {
	w := -1
	for _, c := range tb.cols[i:] {
		w += c.width + 1
	}
	return max(w, 0)
}

func notReadyReason(r sources.ServiceRow) string {
	if reason := oneLine(r.Reason); reason != "" {
		return reason
	}
	return "not ready"
}

// nameCell is the name and its markers: "c20%" (canary share), "min=0"
// (scale to zero), "oom1" (OOM kills in 24 h), "gpu". Markers give way,
// last first, before the name is cut short.
func (tb *servingTable) nameCell(r sources.ServiceRow, plain bool) string {
	t := tb.t
	name := safe(r.Name)
	if tb.showNS {
		name = safe(r.Namespace) + "/" + name
	}
	var marks []string
	if r.InCanary() {
		marks = append(marks, fmt.Sprintf("c%d%%", r.CanaryPercent))
	}
	if r.MinReplicas == 0 {
		marks = append(marks, "min=0")
	}
	if r.OOMKills > 0 {
		marks = append(marks, fmt.Sprintf("oom%d", r.OOMKills))
	}
	if r.GPU {
		marks = append(marks, "gpu")
	}
	// The whole name beats a marker; the first marker (the canary share)
	// stays if the name keeps a dozen cells.
	nameW := text.Width(name)
	for len(marks) > 0 {
		room := tb.nameW - text.Width(strings.Join(marks, " ")) - 2
		if room >= nameW || (len(marks) == 1 && room >= min(nameW, 12)) {
			break
		}
		marks = marks[:len(marks)-1]
	}
	if len(marks) == 0 {
		return fit(t, name, tb.nameW)
	}
	m := strings.Join(marks, " ")
	room := tb.nameW - text.Width(m) - 2
	return text.Fit(trunc(t, name, room)+"  "+paint(t.Dim.Render, m, plain), tb.nameW, "")
}

// cell draws one metric of a ready service; "-" for a figure Prometheus did
// not give (never 0, which would claim a measurement), "!" after a value
// over its limit.
func (tb *servingTable) cell(c columnSpec, r sources.ServiceRow, plain bool) string {
	t, th := tb.t, tb.in.Thresholds
	m := r.Metrics
	switch c.id {
	case colMode:
		return text.Fit(modeShort(r.Mode), c.width, "")
	case colReady:
		if r.Ready {
			return text.Fit("yes", c.width, "")
		}
		return paint(t.Crit.Render, text.Fit("NO", c.width, ""), plain)
	case colRPS:
		if !r.HasMetrics {
			return text.PadLeft("-", c.width)
		}
		return text.PadLeft(fmtRate(m.RPS), c.width)
	case colErr:
		if !r.HasMetrics || !m.HasErrors {
			return text.PadLeft("-", c.width)
		}
		if m.ErrorRate > th.ErrorRateMax {
			return paint(t.Crit.Render, text.PadLeft(fmtErrCell(m.ErrorRate)+"!", c.width), plain)
		}
		return text.PadLeft(fmtErrCell(m.ErrorRate), c.width)
	case colP99:
		if !r.HasMetrics || !m.HasP99 {
			return text.PadLeft("-", c.width)
		}
		if m.P99 > th.P99Max {
			return paint(t.Warn.Render, text.PadLeft(fmtLatency(m.P99)+"!", c.width), plain)
		}
		return text.PadLeft(fmtLatency(m.P99), c.width)
	case colTrend:
		return text.Fit(paint(t.Chart.Render, tb.trend(r), plain), c.width, "")
	}
	return strings.Repeat(" ", c.width)
}

// trend is the row's sparkline: the 5xx rate scaled so that only rates near
// the limit reach the top, or the request rate scaled to its own peak.
func (tb *servingTable) trend(r sources.ServiceRow) string {
	if !r.HasMetrics {
		return "-"
	}
	var pts []sources.Point
	floor := 0.0
	if tb.trendErr {
		pts, floor = r.Metrics.ErrTrend, tb.in.Thresholds.ErrorRateMax
	} else {
		pts = r.Metrics.RPSTrend
	}
	if len(pts) == 0 {
		return "-"
	}
	vals := sources.Values(pts)
	if tb.sparks == nil {
		tb.sparks = newSparkDrawer(tb.t, tb.colWidth(colTrend))
	}
	return tb.sparks.draw(vals, 0, scaleMax(vals, floor))
}

func (tb *servingTable) colWidth(id servingColumn) int {
	for _, c := range tb.cols {
		if c.id == id {
			return c.width
		}
	}
	return 0
}
