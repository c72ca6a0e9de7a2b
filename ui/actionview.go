package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/ui/dialog"
	"github.com/mltop/mltop/ui/text"
)

// actionFooter is the footer's part of the flow. exclusive means the items
// replace the key hints: the prompt, the dialog's answers, the quit question.
func (m Model) actionFooter() (items []barItem, exclusive bool) {
	t := m.theme
	key := func(k, desc string) string { return t.Key.Render(k) + " " + desc }
	if m.act.quitAsk {
		return []barItem{
			{text: t.Warn.Render("an action is being applied; quit anyway? [y/N]"), dropAt: 100},
			{text: t.Dim.Render("ctrl+c again quits"), dropAt: 90, right: true},
		}, true
	}
	phrase := dialog.Describe(m.act.req)
	switch m.act.phase {
	case actionPinPrompt:
		cursor := "▏"
		if t.ASCII {
			cursor = "_"
		}
		return []barItem{
			{text: "pin " + clean.Text(m.act.req.Name), dropAt: 60},
			{text: t.Key.Render("minReplicas [1]:") + " " + m.act.pin.Typed() + cursor, dropAt: 100},
			{text: key("enter", "pin"), dropAt: 95, right: true},
			{text: key("u", "unpin"), dropAt: 85, right: true},
			{text: key("esc", "cancel"), dropAt: 90, right: true},
		}, true
	case actionConfirming:
		c := m.act.confirm
		switch {
		case c.Blocked():
			return []barItem{{text: t.Crit.Render("blocked") + "  " + key("any key", "close"), dropAt: 100}}, true
		case c.Plan().Protected:
			return []barItem{
				{text: "type the service name to confirm", dropAt: 60},
				{text: key("enter", "confirm"), dropAt: 95, right: true},
				{text: key("esc", "no"), dropAt: 100, right: true},
			}, true
		}
		return []barItem{
			{text: key("y", "yes"), dropAt: 100},
			{text: key("N", "no (enter, esc, any other key)"), short: key("N", "no"), shortAt: 50, dropAt: 95},
		}, true
	case actionPlanning, actionChecking:
		step := "planning "
		if m.act.phase == actionChecking {
			step = "checking "
		}
		return []barItem{
			{text: t.Dim.Render(step + phrase.Action + t.Glyphs.Ellipsis), dropAt: 96},
			{text: key("esc", "cancel"), dropAt: 94},
		}, false
	case actionApplying:
		return []barItem{{text: t.Warn.Render(phrase.Doing+": ") + m.act.progress, dropAt: 98}}, false
	}
	return nil, false
}

// dialogMaxWidth keeps the dialog's lines short enough to read at a glance
// on a wide terminal.
const dialogMaxWidth = 100

// withDialog draws the confirmation dialog over the frame, centred in the
// body, with the dashboard still visible around it. A blank column on each
// side of the box and inside it keeps the dialog's text apart from the
// panes' and from its border.
func (m Model) withDialog(frame string) string {
	body := m.layout.Body
	w := min(body.W-2, dialogMaxWidth) // the box and its two blank columns
	if w < 28 || body.H < 4 {
		return frame
	}
	c := m.act.confirm
	content := c.Lines(m.theme, w-6, body.H-2)
	for i, l := range content {
		content[i] = " " + l
	}
	box := m.frame.box(c.Title(), strings.Join(content, "\n"), w-2, len(content)+2, true)
	for i, l := range box {
		box[i] = " " + l + " "
	}
	x := body.X + (body.W-w)/2
	y := body.Y + (body.H-len(box))/2
	return overlay(frame, box, x, y, m.layout.W)
}

// overlay writes lines over a w-cell-wide frame with their top left corner
// at x, y. What the lines cover is cut out of the frame's lines, keeping
// their styling on either side; a wide rune the edge would split becomes
// spaces, so every line stays exactly w cells.
func overlay(frame string, lines []string, x, y, w int) string {
	rows := strings.Split(frame, "\n")
	for i, l := range lines {
		r := y + i
		if r < 0 || r >= len(rows) {
			continue
		}
		row := rows[r]
		left := ansi.Truncate(row, x, "")
		if strings.Contains(left, "\x1b") {
			// A style open where the cut falls must not colour the dialog.
			left += ansi.ResetStyle
		}
		if lw := text.Width(left); lw < x {
			left += strings.Repeat(" ", x-lw)
		}
		lw := text.Width(l)
		want := max(w-x-lw, 0)
		right := ansi.TruncateLeft(row, x+lw, "")
		for text.Width(right) > want {
			right = ansi.TruncateLeft(right, 1, "")
		}
		if rw := text.Width(right); rw < want {
			right = strings.Repeat(" ", want-rw) + right
		}
		rows[r] = left + l + right
	}
	return strings.Join(rows, "\n")
}
