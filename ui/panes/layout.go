package panes

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// ranked is a body line that may be dropped when the pane is short. Lines
// with a lower rank survive longer; the survivors keep their display order.
// Panes list their lines in reading order and say what matters most, instead
// of hand-writing a layout for every height.
type ranked struct {
	rank int
	text string
}

// keepRanked returns at most h lines: the h best-ranked, in their original
// order. Equal ranks keep the earlier line.
func keepRanked(lines []ranked, h int) []string {
	if h <= 0 {
		return nil
	}
	if len(lines) <= h {
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = l.text
		}
		return out
	}
	idx := make([]int, len(lines))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lines[idx[a]].rank < lines[idx[b]].rank })
	idx = idx[:h]
	sort.Ints(idx)
	out := make([]string, h)
	for i, j := range idx {
		out[i] = lines[j].text
	}
	return out
}

// block is text.Block with the theme's ellipsis: every Body ends here so its
// size is exactly w x h whatever the lines above produced.
func block(t *theme.Theme, lines []string, w, h int) string {
	return text.Block(strings.Join(lines, "\n"), w, h, t.Glyphs.Ellipsis)
}

// fit truncates s to w cells (at a word boundary when one is near) and pads it.
func fit(t *theme.Theme, s string, w int) string { return text.Fit(s, w, t.Glyphs.Ellipsis) }

// clip truncates s to w cells anywhere, not only at a space, for free
// text whose every word counts (error messages, pod names).
func clip(t *theme.Theme, s string, w int) string {
	if w <= 0 {
		return ""
	}
	if text.Width(s) <= w {
		return s
	}
	ew := text.Width(t.Glyphs.Ellipsis)
	if ew >= w {
		return ansi.Truncate(s, w, "")
	}
	return ansi.Truncate(s, w-ew, "") + t.Glyphs.Ellipsis
}

// trunc truncates s to w cells without padding.
func trunc(t *theme.Theme, s string, w int) string { return text.Truncate(s, w, t.Glyphs.Ellipsis) }

// scrollStart is the first list row to draw so the cursor row is visible in
// a window of rows lines out of total. Panes keep no state between frames,
// so the window is a function of the cursor alone: it moves only when the
// cursor would leave the first page, and then keeps the cursor on the last line.
func scrollStart(cursor, rows, total int) int {
	if rows <= 0 || total <= rows || cursor < rows {
		return 0
	}
	start := cursor - rows + 1
	if start > total-rows {
		start = total - rows
	}
	return start
}

// clampCursor bounds a cursor to a list of n rows; -1 for an empty list.
func clampCursor(c, n int) int {
	if n == 0 {
		return -1
	}
	if c < 0 {
		return 0
	}
	if c >= n {
		return n - 1
	}
	return c
}

// paint styles s unless plain is set. A selected row is drawn plain and then
// reversed as a whole: an inner style's reset would end the reverse video
// half way along the row.
func paint(style func(...string) string, s string, plain bool) string {
	if plain || s == "" {
		return s
	}
	return style(s)
}

// firstFit returns the first variant that fits in w cells, else the last
// (shortest) one, which the final block truncates. Key lines come in a long
// and a terse wording so that a narrow pane keeps the number and its verdict
// instead of the first words of a sentence.
func firstFit(w int, variants ...string) string {
	for _, v := range variants {
		if text.Width(v) <= w {
			return v
		}
	}
	if len(variants) == 0 {
		return ""
	}
	return variants[len(variants)-1]
}

// appendFit appends sep and part to s when at least minRoom cells of part
// fit in w, cutting part to the room left. It is for identifiers such as pod
// names, where a cut inside the name tells more than dropping it at the last
// space, which is what truncating the whole line would do.
func appendFit(t *theme.Theme, s, sep, part string, w, minRoom int) string {
	room := w - text.Width(s) - text.Width(sep)
	if part == "" || room < min(minRoom, text.Width(part)) {
		return s
	}
	return s + sep + trunc(t, part, room)
}

// joinSpaced joins the non-empty parts with sep.
func joinSpaced(sep string, parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
	}
	return b.String()
}

// cursorMark is the leading mark of a list row: the cursor glyph on the
// selected row (visible without colour), blanks elsewhere.
func cursorMark(t *theme.Theme, selected bool) string {
	if selected {
		return t.Glyphs.Cursor
	}
	return strings.Repeat(" ", text.Width(t.Glyphs.Cursor))
}
