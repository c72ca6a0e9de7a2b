package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// helpInput is what the help overlay shows.
type helpInput struct {
	Keys    KeyMap
	Snap    sources.Snapshot
	Now     time.Time
	Version string
	// Scroll is the first content line shown; small terminals scroll the
	// help with the list keys.
	Scroll int
}

// helpColumnsMin is the inside width from which keys and signs sit side by
// side; below it they stack and the bottom is cut by the height.
const helpColumnsMin = 76

// helpView draws the help overlay in a w x h box: every key by group, what
// the glyphs and words mean, and each source's state in full (its interval
// and its last error, which the status line has no room for).
func helpView(t *theme.Theme, f frameStyle, in helpInput, w, h int) []string {
	body := helpBody(t, in, w-2)
	rows := h - 2
	scroll := clampScroll(in.Scroll, len(body), rows)
	// Most useful first: the title is cut from the end on small terminals.
	title := "? HELP  esc to close"
	if len(body) > rows {
		title += fmt.Sprintf("  j/k scroll %d-%d of %d", scroll+1, min(scroll+rows, len(body)), len(body))
	}
	if in.Version != "" {
		title += "  mltop " + clean.Text(in.Version)
	}
	return f.box(title, strings.Join(body[scroll:], "\n"), w, h, true)
}

// clampScroll bounds a scroll offset so the last page is full.
func clampScroll(scroll, lines, rows int) int {
	return max(0, min(scroll, lines-rows))
}

// helpLineCount is how many content lines the help has at width w, so the
// model can bound its scroll offset.
func helpLineCount(t *theme.Theme, in helpInput, w int) int {
	return len(helpBody(t, in, w-2))
}

// helpBody lays the help out in two columns when the box is wide enough,
// otherwise in one.
func helpBody(t *theme.Theme, in helpInput, inner int) []string {
	keys := helpKeys(t, in.Keys)
	var body []string
	if inner >= helpColumnsMin {
		// The keys column needs about 40 cells; the rest goes to the
		// signs and the sources' errors.
		left := min(inner/2, 44)
		right := inner - left
		signs := append(append(helpSigns(t), ""), helpSources(t, in.Snap, in.Now, right-1)...)
		for i := 0; i < max(len(keys), len(signs)); i++ {
			l, r := "", ""
			if i < len(keys) {
				l = keys[i]
			}
			if i < len(signs) {
				r = signs[i]
			}
			body = append(body, text.Fit(l, left, t.Glyphs.Ellipsis)+text.Fit(r, right, t.Glyphs.Ellipsis))
		}
	} else {
		signs := append(append(helpSigns(t), ""), helpSources(t, in.Snap, in.Now, inner)...)
		body = append(append(keys, ""), signs...)
	}
	return body
}

func helpKeys(t *theme.Theme, km KeyMap) []string {
	var out []string
	for i, g := range km.Groups() {
		if i > 0 {
			out = append(out, "")
		}
		out = append(out, " "+t.Header.Render(g.Title))
		for _, b := range g.Keys {
			if !b.Enabled() {
				continue
			}
			hl := b.Help()
			out = append(out, "   "+t.Key.Render(text.Fit(hl.Key, 10, ""))+" "+hl.Desc)
		}
	}
	return out
}

// helpSigns explains every glyph and state word the dashboard uses. The
// meanings are short enough for half of an 80-column help box.
func helpSigns(t *theme.Theme) []string {
	g := t.Glyphs
	sign := func(mark, meaning string) string {
		return "   " + text.Fit(mark, 9, "") + " " + meaning
	}
	return []string{
		" " + t.Header.Render("Signs"),
		sign(t.Crit.Render(g.Crit+" CRIT"), "broken now: act"),
		sign(t.Warn.Render(g.Warn+" WARN"), "over a limit: look soon"),
		sign(t.OK.Render("ok")+" 12s", "fetched 12s ago"),
		sign("live", "watched, always current"),
		sign(t.Warn.Render("STALE")+" 3m", "failing; data 3m old"),
		sign(t.Crit.Render("DOWN"), "failing; no data yet"),
		sign("wait", "first fetch under way"),
		sign("off", "not configured"),
	}
}

// helpSources lists each source with its state, age, interval and last
// error, each line at most w cells.
func helpSources(t *theme.Theme, snap sources.Snapshot, now time.Time, w int) []string {
	out := []string{" " + t.Header.Render("Sources")}
	for _, st := range snap.Sources {
		item := sourceItem(t, st, now)
		line := "   " + item.text
		switch {
		case st.Live:
			line += "  " + t.Dim.Render("watched")
		case st.Interval > 0:
			line += "  " + t.Dim.Render("every "+health.Age(st.Interval))
		}
		if st.Failures > 0 {
			line += "  " + t.Dim.Render(plural(st.Failures, "failure"))
		}
		out = append(out, text.Truncate(line, w, t.Glyphs.Ellipsis))
		detail := ""
		switch {
		case st.Err != "":
			detail = clean.Text(st.Err)
		case !st.Configured && st.Hint != "":
			detail = clean.Text(st.Hint)
		}
		out = append(out, wrapDetail(t, detail, w)...)
	}
	return out
}

// plural is "1 failure" or "3 failures".
func plural(n int, word string) string {
	s := word
	if n != 1 {
		s += "s"
	}
	return strconv.Itoa(n) + " " + s
}

// maxDetailLines bounds a source's error in the help. Go errors put the
// cause last ("Get URL: dial tcp ...: connection refused"), so a longer
// error keeps its end.
const maxDetailLines = 4

// wrapDetail wraps an error or hint under its source, indented, in at most
// maxDetailLines lines of w cells.
func wrapDetail(t *theme.Theme, detail string, w int) []string {
	const indent = "     "
	room := w - len(indent)
	if detail == "" || room < 8 {
		return nil
	}
	lines := strings.Split(ansi.Wrap(detail, room, " /:"), "\n")
	if len(lines) > maxDetailLines {
		lines = lines[len(lines)-maxDetailLines:]
		lines[0] = t.Glyphs.Ellipsis + strings.TrimSpace(lines[0])
	}
	for i, l := range lines {
		lines[i] = indent + t.Dim.Render(text.Truncate(strings.TrimSpace(l), room, t.Glyphs.Ellipsis))
	}
	return lines
}
