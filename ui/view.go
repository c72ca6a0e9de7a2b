package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
	"github.com/mltop/mltop/ui/text"
)

// viewFull draws the boxed dashboard (or the help or a zoomed pane in its body).
func (m Model) viewFull() string {
	l := m.layout
	blocks := m.frameEdges()
	if overlay, ok := m.overlay(); ok {
		return compose(l.W, l.H, append(blocks, overlay))
	}
	blocks = append(blocks, placed{l.Alerts, m.alertBox(l.Alerts)})
	for _, id := range panes.IDs() {
		r := l.Pane(id)
		blocks = append(blocks, placed{r, m.paneBox(id, r)})
	}
	return compose(l.W, l.H, blocks)
}

// viewCompact draws the bastion layout: no boxes, one line per pane but Serving.
func (m Model) viewCompact() string {
	l := m.layout
	blocks := m.frameEdges()
	if overlay, ok := m.overlay(); ok {
		return compose(l.W, l.H, append(blocks, overlay))
	}
	strip := ""
	if m.kit.alertStrip != nil {
		strip = m.kit.alertStrip(m.input(0), l.Alerts.W, l.Alerts.H)
	}
	blocks = append(blocks,
		placed{l.Alerts, blockLines(strip, l.Alerts.W, l.Alerts.H, m.theme.Glyphs.Ellipsis)},
		placed{l.ServingTitle, []string{m.frame.rule(m.frame.edges(m.focus == panes.Serving), m.title(panes.Serving), l.ServingTitle.W)}},
		placed{l.ServingBody, m.paneBody(panes.Serving, l.ServingBody.W, l.ServingBody.H)},
		placed{l.CanaryLine, []string{m.summaryLine(panes.Canary, l.CanaryLine.W)}},
		placed{l.Summaries, m.summaries(l.Summaries, l.SummaryColumns)},
	)
	return compose(l.W, l.H, blocks)
}

// frameEdges are the status line and the footer, on every screen.
func (m Model) frameEdges() []placed {
	l := m.layout
	status := statusBar(m.theme, m.snap, m.now, statusInfo{
		Context: m.opts.Context, Namespace: m.opts.Namespace, ReadOnly: m.act.readOnly, Findings: m.findings,
	}, l.Status.W)
	return []placed{
		{l.Status, []string{status}},
		{l.Footer, []string{m.footer(l.Footer.W)}},
	}
}

// overlay is what fills the body instead of the dashboard: the help (which
// opens over the findings view too), the findings view, or the zoomed pane.
func (m Model) overlay() (placed, bool) {
	body := m.layout.Body
	switch {
	case m.helpOpen:
		return placed{body, helpView(m.theme, m.frame, m.helpInput(), body.W, body.H)}, true
	case m.doctor.open:
		return placed{body, m.doctorBody(body)}, true
	case m.zoomed:
		return placed{body, m.paneBox(m.focus, body)}, true
	}
	return placed{}, false
}

// title is a pane's border title prefixed with its key number.
func (m Model) title(id panes.ID) string {
	p := m.kit.pane(id)
	if p == nil {
		return fmt.Sprintf("%d", id)
	}
	return fmt.Sprintf("%d %s", id, p.Title(m.input(id)))
}

// paneBox draws a pane in its box.
func (m Model) paneBox(id panes.ID, r Rect) []string {
	if r.Empty() {
		return nil
	}
	var body string
	if p := m.kit.pane(id); p != nil && r.W > 2 && r.H > 2 {
		body = p.Body(m.input(id), r.W-2, r.H-2)
	}
	return m.frame.box(m.title(id), body, r.W, r.H, id == m.focus)
}

// paneBody draws a pane without a box (the compact Serving table).
func (m Model) paneBody(id panes.ID, w, h int) []string {
	p := m.kit.pane(id)
	if p == nil || w <= 0 || h <= 0 {
		return blockLines("", w, h, "")
	}
	return blockLines(p.Body(m.input(id), w, h), w, h, m.theme.Glyphs.Ellipsis)
}

// alertBox is the alert strip in a box titled with the count by severity,
// so the number of critical alerts reads without colour.
func (m Model) alertBox(r Rect) []string {
	strip := ""
	if m.kit.alertStrip != nil && r.W > 2 && r.H > 2 {
		strip = m.kit.alertStrip(m.input(0), r.W-2, r.H-2)
	}
	return m.frame.box(alertTitle(m.alerts), strip, r.W, r.H, false)
}

func alertTitle(alerts []health.Alert) string {
	crit, warn := 0, 0
	for _, a := range alerts {
		switch a.Severity {
		case health.Crit:
			crit++
		case health.Warn:
			warn++
		}
	}
	t := fmt.Sprintf("ALERTS %d", len(alerts))
	var parts []string
	if crit > 0 {
		parts = append(parts, fmt.Sprintf("%d CRIT", crit))
	}
	if warn > 0 {
		parts = append(parts, fmt.Sprintf("%d WARN", warn))
	}
	if len(parts) > 0 {
		t += ": " + strings.Join(parts, ", ")
	}
	return t
}

// summaryLine is "5 canary fraud-detector 20%: ...": the key number, then
// the pane's summary. The focused pane's number carries the cursor glyph.
func (m Model) summaryLine(id panes.ID, w int) string {
	mark := " "
	if id == m.focus {
		mark = m.theme.Glyphs.Cursor
	}
	prefix := fmt.Sprintf("%s%d ", mark, id)
	if id == m.focus {
		prefix = m.theme.Focus.Render(prefix)
	}
	room := w - text.Width(prefix)
	s := ""
	if p := m.kit.pane(id); p != nil && room > 0 {
		s = p.Summary(m.input(id), room)
	}
	return text.Fit(prefix+s, w, m.theme.Glyphs.Ellipsis)
}

// summaries are the compact layout's one-line panes, columns per line.
func (m Model) summaries(r Rect, columns int) []string {
	ids := summaryPanes()
	columns = max(columns, 1)
	colW := r.W / columns
	lines := make([]string, 0, r.H)
	for row := 0; row < r.H; row++ {
		var b strings.Builder
		for c := 0; c < columns; c++ {
			i := row*columns + c
			w := colW
			if c == columns-1 {
				w = r.W - colW*(columns-1)
			}
			if i >= len(ids) {
				b.WriteString(strings.Repeat(" ", w))
				continue
			}
			b.WriteString(m.summaryLine(ids[i], w))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// footer is the bottom line: the action's prompt or question, or the
// filter editor while it is open; otherwise the action's progress, any
// notice and the filter in front of the key hints.
func (m Model) footer(w int) string {
	t := m.theme
	act, exclusive := m.actionFooter()
	if exclusive {
		return packBar(act, w, t.Glyphs.Ellipsis)
	}
	var items []barItem
	if m.filter.editing {
		cursor := "▏"
		if t.ASCII {
			cursor = "_"
		}
		items = append(items,
			barItem{text: t.Key.Render("/") + " " + m.filter.Value() + cursor, dropAt: 100},
			barItem{text: m.matchCount(), dropAt: 70},
			barItem{text: t.Key.Render("enter") + " keep", dropAt: 90, right: true},
			barItem{text: t.Key.Render("esc") + " clear", dropAt: 80, right: true},
		)
		return packBar(items, w, t.Glyphs.Ellipsis)
	}
	items = append(items, act...)
	if m.notice.text != "" {
		// A notice answers what the user just did: it outlasts the key
		// hints, and a long one is cut rather than lost.
		items = append(items, barItem{text: text.Truncate(m.notice.text, w-2, t.Glyphs.Ellipsis), dropAt: 97})
	}
	if m.filter.Active() {
		items = append(items, barItem{
			text:    "filter " + t.Bold.Render(m.filter.Value()) + " " + t.Dim.Render("("+m.matchCount()+")"),
			short:   "filter " + t.Bold.Render(m.filter.Value()),
			shortAt: 45, dropAt: 85,
		})
	}
	if m.zoomed && !m.helpOpen && !m.doctor.open {
		// Under the help or the findings view, esc closes those first.
		items = append(items, barItem{text: t.Key.Render("esc") + " back", dropAt: 95})
	}
	if m.helpOpen {
		// Under the help only closing and quitting do anything.
		items = append(items,
			barItem{text: t.Key.Render("esc") + " close help", dropAt: 95},
			barItem{text: t.Key.Render("q") + " quit", dropAt: 90, right: true})
		return packBar(items, w, t.Glyphs.Ellipsis)
	}
	if m.updatesClosed {
		items = append(items, barItem{text: t.Warn.Render("updates stopped"), dropAt: 88})
	}
	if m.doctor.open {
		// The findings are only as fresh as the data: "updates stopped"
		// stays in front of them.
		return packBar(append(items, m.doctorFooter()...), w, t.Glyphs.Ellipsis)
	}
	for _, h := range m.keys.hints() {
		bindings := h.bindings()
		if len(bindings) == 0 || m.zoomed && key.Matches(tea.KeyMsg{Type: tea.KeyEnter}, bindings[0]) {
			// Zoomed, enter goes back, which "esc back" already says.
			continue
		}
		var full, keys []string
		for _, b := range bindings {
			hl := b.Help()
			full = append(full, t.Key.Render(hl.Key)+" "+hl.Desc)
			keys = append(keys, t.Key.Render(hl.Key))
		}
		item := barItem{text: strings.Join(full, barGap), dropAt: h.dropAt, right: h.right}
		if h.short != "" {
			item.short, item.shortAt = strings.Join(keys, " ")+" "+h.short, h.shortAt
		}
		items = append(items, item)
	}
	return packBar(items, w, t.Glyphs.Ellipsis)
}

// matchCount is "2 of 5 services".
func (m Model) matchCount() string {
	return fmt.Sprintf("%d of %d services", len(m.visible), len(m.snap.Serving))
}

// tooSmall replaces the dashboard when the terminal cannot hold it, the way
// btop does, rather than drawing a garbled frame.
func tooSmall(w, h int, ellipsis string) string {
	msg := []string{fmt.Sprintf("terminal too small: need %dx%d, have %dx%d", MinWidth, MinHeight, w, h)}
	if text.Width(msg[0]) > w {
		msg = []string{"terminal too small", fmt.Sprintf("need %dx%d", MinWidth, MinHeight), fmt.Sprintf("have %dx%d", w, h)}
	}
	lines := make([]string, h)
	top := max((h-len(msg))/2, 0)
	for i := range lines {
		s := ""
		if j := i - top; j >= 0 && j < len(msg) {
			pad := max((w-text.Width(msg[j]))/2, 0)
			s = strings.Repeat(" ", pad) + msg[j]
		}
		lines[i] = text.Fit(s, w, ellipsis)
	}
	return strings.Join(lines, "\n")
}
