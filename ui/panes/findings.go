package panes

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// findingLabelW is the width of the detail's labels ("evidence  ").
const findingLabelW = 10

// FindingsView draws the doctor's findings as one screen (the d view): a
// header counting them by severity, one row per finding (severity, check,
// object and what is wrong, the most severe first as health.Findings
// orders them) with the cursor row selected, and under the list the
// selected finding in full: what, evidence and remedy, wrapped, and the
// service a jump would open. The result is exactly w cells by h lines;
// cursor is clamped to the list.
func FindingsView(in Input, findings []health.Finding, cursor, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	lines := []string{findingsHeader(t, findings, w)}
	if len(findings) == 0 {
		lines = append(lines, t.OK.Render(t.Glyphs.OK)+" "+
			firstFit(w-2, "no findings: every seam between KFP, MLflow and KServe that mltop checks is sound", "no findings"))
		return block(t, lines, w, h)
	}
	cursor = clampCursor(cursor, len(findings))
	hint := h >= 8
	avail := h - 1
	if hint {
		avail--
	}
	listRows := min(len(findings), max(1, avail/2))
	if avail-listRows < 3 { // too short for a useful detail: the list only
		listRows = min(len(findings), avail)
	}
	cols := newFindingColumns(findings, w)
	start := scrollStart(cursor, listRows, len(findings))
	for i := start; i < len(findings) && i < start+listRows; i++ {
		lines = append(lines, cols.row(t, findings[i], i == cursor))
	}
	if detail := avail - listRows; detail > 0 {
		lines = append(lines, findingDetail(t, findings[cursor], cursor, len(findings), w, detail)...)
	}
	if hint {
		for len(lines) < h-1 {
			lines = append(lines, "")
		}
		keys := "j/k select  esc back"
		if findings[cursor].Service != nil {
			keys = "j/k select  enter go to " + safe(findings[cursor].Service.Name) + "  esc back"
		}
		lines = append(lines, t.Dim.Render(trunc(t, keys, w)))
	}
	return block(t, lines, w, h)
}

// FindingsSummary is the status bar's word on the doctor's findings, at
// most w cells, led by the worst severity's glyph and worded so it reads
// without colour: "✗ doctor 1 CRIT 6 WARN", "● doctor ok".
func FindingsSummary(in Input, findings []health.Finding, w int) string {
	t := themeOf(in)
	if w <= 0 {
		return ""
	}
	counts := health.CountBySeverity(findings)
	crit, warn, info := counts[health.Crit], counts[health.Warn], counts[health.Info]
	if crit+warn == 0 {
		variants := []string{"doctor ok", "dr ok"}
		if info > 0 {
			variants = append([]string{fmt.Sprintf("doctor ok, %d info", info)}, variants...)
		}
		return t.OK.Render(t.Glyphs.OK) + " " + trunc(t, firstFit(w-text.Width(t.Glyphs.OK)-1, variants...), w-text.Width(t.Glyphs.OK)-1)
	}
	glyph, style := t.Glyphs.Warn, t.Warn
	if crit > 0 {
		glyph, style = t.Glyphs.Crit, t.Crit
	}
	var long, short []string
	if crit > 0 {
		long, short = append(long, fmt.Sprintf("%d CRIT", crit)), append(short, fmt.Sprintf("%dC", crit))
	}
	if warn > 0 {
		long, short = append(long, fmt.Sprintf("%d WARN", warn)), append(short, fmt.Sprintf("%dW", warn))
	}
	room := w - text.Width(glyph) - 1
	if room <= 0 {
		return trunc(t, style.Render(glyph), w)
	}
	words := firstFit(room, "doctor "+strings.Join(long, " "), "doctor "+strings.Join(short, " "), "dr "+strings.Join(short, " "))
	return style.Render(glyph) + " " + trunc(t, words, room)
}

// SelectedFinding is the finding under the cursor, clamped to the list; the
// root jumps to its Service, when it has one.
func SelectedFinding(findings []health.Finding, cursor int) (health.Finding, bool) {
	i := clampCursor(cursor, len(findings))
	if i < 0 {
		return health.Finding{}, false
	}
	return findings[i], true
}

func findingsHeader(t *theme.Theme, findings []health.Finding, w int) string {
	counts := health.CountBySeverity(findings)
	var parts []string
	for _, sev := range []health.Severity{health.Crit, health.Warn, health.Info} {
		if counts[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[sev], sev))
		}
	}
	title := t.Title.Render("DOCTOR")
	n := plural(len(findings), "finding")
	if len(parts) == 0 {
		return title + " " + trunc(t, n, w-7)
	}
	return title + " " + trunc(t, firstFit(w-7, n+": "+strings.Join(parts, ", "), n), w-7)
}

// findingColumns sizes the list's columns once for all rows: the check and
// the object get the width of their longest value (bounded), what is wrong
// gets the rest; narrow screens drop the check, then what.
type findingColumns struct {
	w, checkW, objectW int
	showCheck          bool
	showWhat           bool
}

func newFindingColumns(findings []health.Finding, w int) findingColumns {
	c := findingColumns{w: w, showCheck: w >= 100, showWhat: w >= 50}
	for _, f := range findings {
		c.checkW = max(c.checkW, text.Width(f.Check))
		c.objectW = max(c.objectW, text.Width(oneLine(f.Object)))
	}
	c.checkW = min(c.checkW, 18)
	c.objectW = min(c.objectW, max(12, w/4))
	return c
}

func (c findingColumns) row(t *theme.Theme, f health.Finding, selected bool) string {
	glyph, style := t.Glyphs.OK, t.Dim
	switch f.Severity {
	case health.Crit:
		glyph, style = t.Glyphs.Crit, t.Crit
	case health.Warn:
		glyph, style = t.Glyphs.Warn, t.Warn
	}
	row := cursorMark(t, selected) + " " + paint(style.Render, glyph+" "+fmt.Sprintf("%-4s", f.Severity), selected) + " "
	if c.showCheck {
		row += paint(t.Dim.Render, fit(t, f.Check, c.checkW), selected) + "  "
	}
	if !c.showWhat {
		row += clip(t, oneLine(f.Object), c.w-text.Width(row))
	} else {
		row += fit(t, oneLine(f.Object), c.objectW) + "  "
		row += clip(t, oneLine(f.What), c.w-text.Width(row))
	}
	if selected {
		row = t.Selected.Render(fit(t, row, c.w))
	}
	return row
}

// findingDetail is the selected finding in full, in rows lines: a rule
// naming it, then what, the service, the remedy and the evidence. When the
// lines do not fit, the ends of long paragraphs go first (the evidence's
// before the remedy's), so the first line of each stays.
func findingDetail(t *theme.Theme, f health.Finding, index, total, w, rows int) []string {
	rule := fmt.Sprintf(" %d of %d: %s ", index+1, total, f.Check)
	ruleLine := t.Dim.Render(trunc(t, strings.Repeat(ruleChar(t), 2)+rule+strings.Repeat(ruleChar(t), max(0, w-2-text.Width(rule))), w))
	lines := []ranked{{0, ruleLine}}
	paragraph := func(label, body string, first, rest int) {
		for i, l := range wrapCells(oneLine(body), w-findingLabelW) {
			lead, rank := strings.Repeat(" ", findingLabelW), rest
			if i == 0 {
				lead, rank = t.Dim.Render(fmt.Sprintf("%-*s", findingLabelW, label)), first
			}
			lines = append(lines, ranked{rank, lead + l})
		}
	}
	paragraph("what", f.What, 1, 4)
	if f.Service != nil {
		paragraph("service", f.Service.String(), 2, 6)
	}
	paragraph("evidence", f.Evidence, 2, 6)
	paragraph("remedy", f.Remedy, 2, 5)
	return keepRanked(lines, rows)
}

func ruleChar(t *theme.Theme) string {
	if t.ASCII {
		return "-"
	}
	return "─"
}

// wrapCells breaks plain text into lines of at most w cells at spaces; a
// word wider than w (a storage URI) is cut across lines.
func wrapCells(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var lines []string
	line, lineW := "", 0
	flush := func() {
		lines = append(lines, line)
		line, lineW = "", 0
	}
	for _, word := range strings.Fields(s) {
		ww := text.Width(word)
		if lineW > 0 && lineW+1+ww <= w {
			line, lineW = line+" "+word, lineW+1+ww
			continue
		}
		if lineW > 0 {
			flush()
		}
		for ww > w {
			head, headW := "", 0
			for _, r := range word {
				rw := text.Width(string(r))
				if headW+rw > w {
					break
				}
				head, headW = head+string(r), headW+rw
			}
			if head == "" { // a rune wider than the line: keep it whole
				head, headW = string([]rune(word)[0]), w
			}
			line, lineW = head, headW
			flush()
			word = word[len(head):]
			ww = text.Width(word)
		}
		line, lineW = word, ww
	}
	if lineW > 0 || len(lines) == 0 {
		flush()
	}
	return lines
}
