package ui

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/ui/text"
)

// barItem is one item of a one-line bar (the status line, the footer). When
// the bar is too narrow, items are first shortened and then dropped, each at
// its own priority, so that a narrow terminal loses the least useful words
// first and never sees a word cut in half.
type barItem struct {
	text string
	// short replaces text once the bar is squeezed past shortAt; empty
	// means the item has no shorter form.
	short   string
	shortAt int
	// dropAt orders removal: lower goes first.
	dropAt int
	// right items are aligned to the right edge.
	right bool
	// fill items (an error message) are placed last, in whatever room the
	// other items leave, and truncated to it: from the left when keepEnd is
	// set, because an error's cause comes last.
	fill    bool
	keepEnd bool
	// label leads a fill item and is never cut ("kfp: ").
	label string
}

// minFill is the least room worth giving a fill item: less would show only
// an ellipsis and a word fragment.
const minFill = 12

// barGap separates items; two spaces read as a separator without a glyph.
const barGap = "  "

// packBar lays items out on exactly w cells with one cell of margin on each
// side: left items from the left, right items against the right edge.
func packBar(items []barItem, w int, ellipsis string) string {
	if w <= 0 {
		return ""
	}
	type step struct {
		prio  int
		index int
		drop  bool
	}
	var steps []step
	for i, it := range items {
		if it.fill {
			continue
		}
		if it.short != "" {
			steps = append(steps, step{prio: it.shortAt, index: i})
		}
		steps = append(steps, step{prio: it.dropAt, index: i, drop: true})
	}
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].prio < steps[b].prio })

	shown := make([]string, len(items))
	for i, it := range items {
		if !it.fill {
			shown[i] = it.text
		}
	}
	room := w - 2
	for _, st := range steps {
		if barWidth(items, shown) <= room {
			break
		}
		if st.drop {
			shown[st.index] = ""
		} else if shown[st.index] != "" {
			shown[st.index] = items[st.index].short
		}
	}
	for i, it := range items {
		if !it.fill {
			continue
		}
		spare := room - barWidth(items, shown) - len(barGap) - text.Width(it.label)
		if spare < minFill {
			continue
		}
		if it.keepEnd {
			shown[i] = it.label + truncateStart(it.text, spare, ellipsis)
		} else {
			shown[i] = it.label + text.Truncate(it.text, spare, ellipsis)
		}
	}
	var left, right []string
	for i, it := range items {
		if shown[i] == "" {
			continue
		}
		if it.right {
			right = append(right, shown[i])
		} else {
			left = append(left, shown[i])
		}
	}
	l, r := strings.Join(left, barGap), strings.Join(right, barGap)
	gap := room - text.Width(l) - text.Width(r)
	if gap < 0 {
		// Only reachable when a single item is wider than the bar.
		return text.Fit(" "+l+" "+r, w, "")
	}
	return " " + l + strings.Repeat(" ", gap) + r + " "
}

// barWidth is the width the shown items need, with at least one gap between
// the left and the right group.
func barWidth(items []barItem, shown []string) int {
	total, n := 0, 0
	for i := range items {
		if shown[i] == "" {
			continue
		}
		total += text.Width(shown[i])
		n++
	}
	if n > 1 {
		total += (n - 1) * len(barGap)
	}
	return total
}

// truncateStart keeps the last w cells of s, led by the ellipsis when it
// cuts, starting at a word when that keeps at least half of the room.
func truncateStart(s string, w int, ellipsis string) string {
	sw := text.Width(s)
	if sw <= w {
		return s
	}
	room := w - text.Width(ellipsis)
	if room <= 0 {
		return ansi.Truncate(ellipsis, w, "")
	}
	tail := ansi.TruncateLeft(s, sw-room, "")
	plain := ansi.Strip(tail)
	if i := strings.IndexByte(plain, ' '); i >= 0 && i < len(plain)/2 {
		tail = ansi.TruncateLeft(tail, text.Width(plain[:i+1]), "")
	}
	return ellipsis + tail
}
