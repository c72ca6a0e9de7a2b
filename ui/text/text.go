// Package text fits strings into terminal cells: display width (wide runes
// count two), truncation that prefers word boundaries and ends with an
// ellipsis, and padding. Strings may hold ANSI styling; widths ignore it.
package text

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Width is the number of terminal cells s occupies.
func Width(s string) int { return ansi.StringWidth(s) }

// Truncate shortens s to at most w cells. When it must cut, it cuts at the
// last space if that keeps at least half of the room, so words are not cut in
// the middle, and it ends with ellipsis.
func Truncate(s string, w int, ellipsis string) string {
	if w <= 0 {
		return ""
	}
	if Width(s) <= w {
		return s
	}
	ew := Width(ellipsis)
	if ew >= w {
		return ansi.Truncate(s, w, "")
	}
	cut := ansi.Strip(ansi.Truncate(s, w-ew, ""))
	if i := strings.LastIndexByte(strings.TrimRight(cut, " "), ' '); i >= (w-ew)/2 && i > 0 {
		// Re-truncate the styled string at the word boundary.
		return ansi.Truncate(s, Width(cut[:i]), "") + ellipsis
	}
	return ansi.Truncate(s, w-ew, "") + ellipsis
}

// Fit truncates s to w cells and pads it with spaces to exactly w cells.
func Fit(s string, w int, ellipsis string) string {
	s = Truncate(s, w, ellipsis)
	if pad := w - Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// PadLeft right-aligns s in w cells (numbers in table columns); it truncates
// from the right when s is too wide.
func PadLeft(s string, w int) string {
	if Width(s) > w {
		return ansi.Truncate(s, w, "")
	}
	return strings.Repeat(" ", w-Width(s)) + s
}

// Block makes s exactly w cells wide and h lines tall: long lines are
// truncated, short ones padded, missing lines added and extra ones dropped.
func Block(s string, w, h int, ellipsis string) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = Fit(l, w, ellipsis)
	}
	return strings.Join(lines, "\n")
}

// Join places parts left to right separated by sep, dropping whole parts
// from the end (never cutting one) when they do not fit in w cells.
func Join(parts []string, sep string, w int) string {
	var b strings.Builder
	used := 0
	for i, p := range parts {
		pw := Width(p)
		if i > 0 {
			pw += Width(sep)
		}
		if used+pw > w {
			break
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(p)
		used += pw
	}
	return b.String()
}
