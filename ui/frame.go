package ui

import (
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// frameStyle draws pane boxes. The border glyphs are styled once here
// because a frame has hundreds of side glyphs and styling each one would
// dominate the cost of a View.
type frameStyle struct {
	ellipsis string
	normal   edges
	focused  edges
	title    lipgloss.Style
}

// edges are the styled pieces of one kind of border.
type edges struct {
	style                   lipgloss.Style
	topLeft, topRight       string
	bottomLeft, bottomRight string
	left, right             string
	horizontal              string // unstyled: runs are styled whole
	// open and close surround the title. The focused pane brackets its
	// title, so focus is visible without colour and without the heavier
	// border glyphs (the ASCII border has none).
	open, close string
}

func newFrameStyle(t *theme.Theme) frameStyle {
	focusBorder := lipgloss.ThickBorder()
	if t.ASCII {
		focusBorder = lipgloss.Border{
			Top: "=", Bottom: "=", Left: "|", Right: "|",
			TopLeft: "+", TopRight: "+", BottomLeft: "+", BottomRight: "+",
		}
	}
	return frameStyle{
		ellipsis: t.Glyphs.Ellipsis,
		normal:   newEdges(t.Glyphs.Border, t.Border, " ", " "),
		focused:  newEdges(focusBorder, t.Focus, "[", "]"),
		title:    t.Title,
	}
}

func newEdges(b lipgloss.Border, s lipgloss.Style, open, close string) edges {
	return edges{
		style:   s,
		topLeft: s.Render(b.TopLeft), topRight: s.Render(b.TopRight),
		bottomLeft: s.Render(b.BottomLeft), bottomRight: s.Render(b.BottomRight),
		left: s.Render(b.Left), right: s.Render(b.Right),
		horizontal: b.Top,
		open:       s.Render(open), close: s.Render(close),
	}
}

// box draws body inside a w x h border with title in the top edge and
// returns its lines, each exactly w cells wide. The body is fitted to the
// inside, so a pane that draws a line too long or too many lines cannot
// push the rest of the screen out of place.
func (f frameStyle) box(title, body string, w, h int, focused bool) []string {
	if w < 4 || h < 2 {
		return blockLines(body, w, h, f.ellipsis)
	}
	e := f.edges(focused)
	lines := make([]string, 0, h)
	lines = append(lines, f.topEdge(e, title, w))
	inner := blockLines(body, w-2, h-2, f.ellipsis)
	for _, l := range inner {
		lines = append(lines, e.left+l+e.right)
	}
	lines = append(lines, e.bottomLeft+e.style.Render(strings.Repeat(e.horizontal, w-2))+e.bottomRight)
	return lines
}

// topEdge is "╭─ 4 SERVING ml-prod 5 services ─────╮", or with the focus
// marks "┏━[4 SERVING ml-prod 5 services]━━━━━┓".
func (f frameStyle) topEdge(e edges, title string, w int) string {
	return e.topLeft + f.rule(e, title, w-2) + e.topRight
}

// rule is a horizontal line of w cells carrying a title after one border
// glyph; the compact layout uses it alone as the Serving header.
func (f frameStyle) rule(e edges, title string, w int) string {
	if w <= 0 {
		return ""
	}
	room := w - 1 - 2 - 1 // leading glyph, the two marks, one trailing glyph
	if title == "" || room < 1 {
		return e.style.Render(strings.Repeat(e.horizontal, w))
	}
	t := f.title.Render(text.Truncate(title, room, f.ellipsis))
	rest := w - 1 - 2 - text.Width(t)
	return e.style.Render(e.horizontal) + e.open + t + e.close + e.style.Render(strings.Repeat(e.horizontal, rest))
}

// blockLines fits s into exactly w x h cells and returns the lines. Panes
// already draw to size, so a line is measured once and only refitted when
// it is off.
func blockLines(s string, w, h int, ellipsis string) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	lines := strings.SplitN(s, "\n", h+1)
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if text.Width(l) != w {
			lines[i] = text.Fit(l, w, ellipsis)
		}
	}
	for len(lines) < h {
		lines = append(lines, strings.Repeat(" ", w))
	}
	return lines
}

// placed is a block of lines at a rectangle of the screen.
type placed struct {
	at    Rect
	lines []string
}

// compose joins placed blocks into the w x h frame. Blocks are expected to
// tile the screen (the layout guarantees it) with lines exactly as wide as
// their rectangles (box, blockLines and packBar guarantee that); any cell no
// block covers is a space, and any line a block lacks is blank, so a mistake
// shows as a gap rather than a shifted screen.
func compose(w, h int, blocks []placed) string {
	var b strings.Builder
	b.Grow(w * h * 2)
	for y := 0; y < h; y++ {
		if y > 0 {
			b.WriteByte('\n')
		}
		x := 0
		for x < w {
			blk, ok := blockAt(blocks, x, y)
			if !ok {
				next := nextBlockX(blocks, x, y, w)
				b.WriteString(strings.Repeat(" ", next-x))
				x = next
				continue
			}
			if i := y - blk.at.Y; i < len(blk.lines) {
				b.WriteString(blk.lines[i])
			} else {
				b.WriteString(strings.Repeat(" ", blk.at.W))
			}
			x += blk.at.W
		}
	}
	return b.String()
}

// blockAt finds the block whose rectangle starts at column x on line y.
func blockAt(blocks []placed, x, y int) (placed, bool) {
	for _, blk := range blocks {
		r := blk.at
		if r.X == x && y >= r.Y && y < r.Y+r.H && r.W > 0 {
			return blk, true
		}
	}
	return placed{}, false
}

// nextBlockX is the column where the next block on line y starts after x,
// or w when none does.
func nextBlockX(blocks []placed, x, y, w int) int {
	next := w
	for _, blk := range blocks {
		r := blk.at
		if r.X > x && r.X < next && y >= r.Y && y < r.Y+r.H {
			next = r.X
		}
	}
	return next
}

// edges returns the border pieces for a focused or an unfocused pane.
func (f frameStyle) edges(focused bool) edges {
	if focused {
		return f.focused
	}
	return f.normal
}
