package panes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// packWidth is the strip width from which short warnings share a line, as in
// the 120-column sketch; narrower strips give each alert its own line so a
// glance down the left edge counts them.
const packWidth = 120

// alertSep separates alerts that share a line.
const alertSep = "   "

// AlertStrip draws the alert strip: h lines of w cells, the most severe
// alerts first, each led by its glyph and word ("X CRIT ..."). Critical
// alerts always get a line of their own. When the alerts do not fit, the last
// line ends with "+N more" (and how many of those are critical). With no
// alert it says so with the OK glyph.
func AlertStrip(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	if len(in.Alerts) == 0 {
		return block(t, []string{t.OK.Render(t.Glyphs.OK + " no alerts")}, w, h)
	}
	alerts := append([]health.Alert(nil), in.Alerts...)
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].Severity > alerts[j].Severity })

	items := make([]alertItem, len(alerts))
	for i, a := range alerts {
		items[i] = newAlertItem(t, a)
	}
	return block(t, packAlerts(t, items, w, h), w, h)
}

// alertItem is one alert drawn for the strip.
type alertItem struct {
	sev   health.Severity
	text  string // styled
	width int
}

func newAlertItem(t *theme.Theme, a health.Alert) alertItem {
	glyph, style := t.Glyphs.OK, t.Dim
	switch a.Severity {
	case health.Crit:
		glyph, style = t.Glyphs.Crit, t.Crit
	case health.Warn:
		glyph, style = t.Glyphs.Warn, t.Warn
	}
	s := style.Render(glyph+" "+a.Severity.String()) + " " + alertText(a)
	return alertItem{sev: a.Severity, text: s, width: text.Width(s)}
}

// alertText is the alert's sentence, led by what it is about: the rules
// write "success 91.2% < 95%" for pipelines, which alone would not say where.
func alertText(a health.Alert) string {
	txt, obj := oneLine(a.Text), oneLine(a.Object)
	if obj == "" {
		obj = a.Pane
	}
	if obj != "" && !strings.HasPrefix(txt, obj) {
		txt = obj + " " + txt
	}
	return txt
}

// packAlerts lays the alerts out in at most h lines of w cells.
func packAlerts(t *theme.Theme, items []alertItem, w, h int) []string {
	pack := w >= packWidth
	sepW := len(alertSep)
	var lines [][]alertItem
	used := 0
	for _, it := range items {
		if n := len(lines); n > 0 && canShare(pack, lines[n-1], it) && used+sepW+it.width <= w {
			lines[n-1] = append(lines[n-1], it)
			used += sepW + it.width
			continue
		}
		lines = append(lines, []alertItem{it})
		used = it.width
	}

	if len(lines) <= h {
		return renderAlertLines(lines)
	}
	out := renderAlertLines(lines[:h-1])
	var rest []alertItem
	for _, l := range lines[h-1:] {
		rest = append(rest, l...)
	}
	return append(out, overflowLine(t, rest, pack, w))
}

// canShare reports whether it may join a line that already holds others:
// only on wide strips, and never next to or as a critical alert.
func canShare(pack bool, line []alertItem, it alertItem) bool {
	return pack && it.sev < health.Crit && line[0].sev < health.Crit
}

func renderAlertLines(lines [][]alertItem) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		parts := make([]string, len(l))
		for j, it := range l {
			parts[j] = it.text
		}
		out[i] = strings.Join(parts, alertSep)
	}
	return out
}

// overflowLine is the strip's last line when alerts remain: as many of them
// as fit, then "+N more".
func overflowLine(t *theme.Theme, rest []alertItem, pack bool, w int) string {
	sepW := len(alertSep)
	var shown []string
	n, used := 0, 0
	for n < len(rest) {
		it := rest[n]
		if n > 0 && !canShare(pack, rest[:1], it) {
			break
		}
		add := it.width
		if n > 0 {
			add += sepW
		}
		suffixW := text.Width(moreText(rest[n+1:]))
		if used+add+sepW+suffixW > w {
			if n == 0 {
				// The first alert alone is too long: cut it, unless too
				// little would be left to read; then the count says it all.
				if room := w - sepW - suffixW; room >= 16 {
					shown = append(shown, trunc(t, it.text, room))
					n++
				}
			}
			break
		}
		shown = append(shown, it.text)
		used += add
		n++
	}
	more := moreText(rest[n:])
	if more == "" {
		return strings.Join(shown, alertSep)
	}
	more = t.Bold.Render(more)
	if len(shown) == 0 {
		return more
	}
	return strings.Join(shown, alertSep) + alertSep + more
}

// moreText counts hidden alerts, naming critical ones: "+3 more, 1 CRIT".
func moreText(hidden []alertItem) string {
	if len(hidden) == 0 {
		return ""
	}
	crit := 0
	for _, it := range hidden {
		if it.sev == health.Crit {
			crit++
		}
	}
	if crit > 0 {
		return fmt.Sprintf("+%d more, %d CRIT", len(hidden), crit)
	}
	return fmt.Sprintf("+%d more", len(hidden))
}
