package ui

import "github.com/mltop/mltop/ui/panes"

// Rect is a rectangle of terminal cells; X and Y are zero-based.
type Rect struct{ X, Y, W, H int }

// Empty reports whether the rectangle holds no cell.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// Overlaps reports whether two rectangles share a cell.
func (r Rect) Overlaps(o Rect) bool {
	if r.Empty() || o.Empty() {
		return false
	}
	return r.X < o.X+o.W && o.X < r.X+r.W && r.Y < o.Y+o.H && o.Y < r.Y+r.H
}

// LayoutMode says which arrangement a terminal size gets.
type LayoutMode int

const (
	// LayoutTooSmall: the terminal cannot hold a readable dashboard; a
	// message says which size is needed (btop does the same).
	LayoutTooSmall LayoutMode = iota
	// LayoutCompact: the bastion-terminal arrangement. Alerts, the serving
	// table, the canary verdict and one line per other pane.
	LayoutCompact
	// LayoutFull: every pane in its own box.
	LayoutFull
)

// Size limits of the arrangements. Below the minimum the serving table would
// have no room for a single service besides its header.
const (
	MinWidth      = 60
	MinHeight     = 16
	FullMinWidth  = 100
	FullMinHeight = 32
)

// Layout places every region of the screen. Regions tile the screen exactly:
// nothing overlaps and no cell is left out, so the frame is always exactly
// the terminal's size.
type Layout struct {
	Mode LayoutMode
	W, H int

	Status Rect // one line at the top
	Footer Rect // one line at the bottom: key hints, the filter editor
	// Body is everything between the status line and the footer; a zoomed
	// pane and the help overlay fill it.
	Body Rect

	// Alerts is the alert strip: a box with its border in the full layout,
	// bare lines in the compact one.
	Alerts Rect

	// Panes holds each pane's box in the full layout, indexed by panes.ID.
	Panes [paneCount + 1]Rect

	// Compact layout only.
	ServingTitle Rect // a rule carrying the Serving title (the table has no box)
	ServingBody  Rect // the serving table
	CanaryLine   Rect // the canary verdict
	Summaries    Rect // one-line summaries of Pipelines, Training, Registry and Infra
	// SummaryColumns is how many summaries share one line of Summaries.
	SummaryColumns int
}

// paneCount is the number of panes; their IDs run from 1 to paneCount.
const paneCount = 6

// summaryPanes are the panes the compact layout reduces to one line (and the
// full layout puts in its bottom row), in the order they are shown.
func summaryPanes() []panes.ID {
	return []panes.ID{panes.Pipelines, panes.Training, panes.Registry, panes.Infra}
}

// Pane returns the box of one pane in the full layout.
func (l Layout) Pane(id panes.ID) Rect {
	if id < 1 || int(id) >= len(l.Panes) {
		return Rect{}
	}
	return l.Panes[id]
}

// Regions lists the rectangles the dashboard draws (not Body, which the
// regions fill), for tests and for the compositor.
func (l Layout) Regions() []Rect {
	out := []Rect{l.Status, l.Footer, l.Alerts}
	switch l.Mode {
	case LayoutFull:
		for _, id := range panes.IDs() {
			out = append(out, l.Panes[id])
		}
	case LayoutCompact:
		out = append(out, l.ServingTitle, l.ServingBody, l.CanaryLine, l.Summaries)
	}
	return out
}

// ComputeLayout arranges a w x h terminal holding alerts active alerts. It
// is a pure function of its arguments. The alert count only sizes the alert
// strip (between two lines and what the height affords), so a hidden
// critical alert never costs lines the serving table was not using.
func ComputeLayout(w, h, alerts int) Layout {
	l := Layout{W: max(w, 0), H: max(h, 0)}
	if w < MinWidth || h < MinHeight {
		l.Mode = LayoutTooSmall
		return l
	}
	l.Status = Rect{X: 0, Y: 0, W: w, H: 1}
	l.Footer = Rect{X: 0, Y: h - 1, W: w, H: 1}
	l.Body = Rect{X: 0, Y: 1, W: w, H: h - 2}
	if w < FullMinWidth || h < FullMinHeight {
		l.Mode = LayoutCompact
		compactLayout(&l, alerts)
		return l
	}
	l.Mode = LayoutFull
	fullLayout(&l, alerts)
	return l
}

// alertLines is how many lines the alert strip gets: one per alert, at
// least two (so the strip does not jump for every alert that comes and
// goes) and at most limit.
func alertLines(alerts, limit int) int {
	return max(2, min(alerts, limit))
}

// compactLayout follows the 80x24 sketch: status, alert lines, the serving
// table under a title rule, the canary verdict, the summaries and the
// footer. The serving table takes every spare line because during an
// incident it is the list the user works in.
func compactLayout(l *Layout, alerts int) {
	limit := 4
	switch {
	case l.H < 20:
		limit = 2
	case l.H < 24:
		limit = 3
	}
	w, y := l.W, 1
	l.Alerts = Rect{X: 0, Y: y, W: w, H: alertLines(alerts, limit)}
	y += l.Alerts.H
	l.ServingTitle = Rect{X: 0, Y: y, W: w, H: 1}
	y++

	// Four summary lines when there is room, otherwise two per line.
	summaryLines, columns := 4, 1
	if l.H < 20 {
		summaryLines, columns = 2, 2
	}
	l.SummaryColumns = columns
	bottom := l.H - 1 // the footer's line
	l.Summaries = Rect{X: 0, Y: bottom - summaryLines, W: w, H: summaryLines}
	l.CanaryLine = Rect{X: 0, Y: l.Summaries.Y - 1, W: w, H: 1}
	l.ServingBody = Rect{X: 0, Y: y, W: w, H: l.CanaryLine.Y - y}
}

// fullLayout follows the 120x40 sketch: an alert box, Serving and Canary side
// by side, and a row of Pipelines, Training, Registry and Infra. Extra height
// is shared equally by the two rows: the serving list grows with the number
// of services, the bottom row with failed runs, waiting versions and GPUs.
func fullLayout(l *Layout, alerts int) {
	w, h := l.W, l.H
	limit := 4
	switch {
	case h < 36:
		limit = 2
	case h < 40:
		limit = 3
	}
	l.Alerts = Rect{X: 0, Y: 1, W: w, H: alertLines(alerts, limit) + 2}

	top := l.Alerts.Y + l.Alerts.H
	rest := h - 1 - top
	middle := (rest + 1) / 2
	bottom := rest - middle

	cols := split(w, []int{55, 45})
	l.Panes[panes.Serving] = Rect{X: 0, Y: top, W: cols[0], H: middle}
	l.Panes[panes.Canary] = Rect{X: cols[0], Y: top, W: cols[1], H: middle}

	bw := split(w, []int{1, 1, 1, 1})
	x := 0
	for i, id := range summaryPanes() {
		l.Panes[id] = Rect{X: x, Y: top + middle, W: bw[i], H: bottom}
		x += bw[i]
	}
}

// split divides total into parts proportional to weights; the parts sum to
// total exactly (the remainder goes to the first parts, one cell each).
func split(total int, weights []int) []int {
	sum := 0
	for _, wt := range weights {
		sum += wt
	}
	out := make([]int, len(weights))
	if sum <= 0 || total <= 0 {
		return out
	}
	used := 0
	for i, wt := range weights {
		out[i] = total * wt / sum
		used += out[i]
	}
	for i := 0; used < total; i = (i + 1) % len(out) {
		out[i]++
		used++
	}
	return out
}
