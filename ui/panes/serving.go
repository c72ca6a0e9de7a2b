package panes

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

// servingPane is the main table: one row per InferenceService with its
// mode, readiness and Prometheus figures, led by a glyph that says what is
// wrong with it.
type servingPane struct{}

func (servingPane) ID() ID { return Serving }

// VisibleServices returns the Serving rows that match filter (a
// case-insensitive substring of the service name), in display order.
//
// The order is by namespace, then name: stable, so the row under the cursor
// stays the same service when another one turns red. Problems are not sorted
// first; their glyphs mark them in the table and the alert strip lists them
// worst first. With no filter and an already ordered snapshot (the board's
// output) the snapshot's own slice is returned: callers must not modify it.
func VisibleServices(s sources.Snapshot, filter string) []sources.ServiceRow {
	rows := s.Serving
	if filter != "" {
		matched := make([]sources.ServiceRow, 0, len(rows))
		for _, r := range rows {
			if containsFold(r.Name, filter) {
				matched = append(matched, r)
			}
		}
		rows = matched
	}
	less := func(a, b sources.ServiceRow) bool {
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	}
	if sort.SliceIsSorted(rows, func(i, j int) bool { return less(rows[i], rows[j]) }) {
		return rows
	}
	if filter == "" {
		rows = append([]sources.ServiceRow(nil), rows...)
	}
	sort.SliceStable(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	return rows
}

// containsFold reports whether sub occurs in s, ignoring case, without
// allocating for the ASCII names Kubernetes allows.
func containsFold(s, sub string) bool {
	if len(sub) > len(s) {
		return false
	}
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	if isASCII(s) && isASCII(sub) {
		return false
	}
	// EqualFold on byte windows can miss a match whose case forms differ in
	// length; lowering both is exact for the rest.
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// judgeRow says what is wrong with a service (Info when nothing is), by the
// table's rules: critical when not ready, erroring
// above the limit, or its canary breaches the canary rule; a warning for a
// slow p99, scale-to-zero (cold starts) or OOM kills.
func judgeRow(r sources.ServiceRow, canaries []sources.CanaryView, th config.Thresholds) health.Severity {
	m := r.Metrics
	switch {
	case !r.Ready:
		return health.Crit
	case r.HasMetrics && m.HasErrors && m.ErrorRate > th.ErrorRateMax:
		return health.Crit
	case r.InCanary() && canaryBreached(r.Key(), canaries, th):
		return health.Crit
	case r.HasMetrics && m.HasP99 && m.P99 > th.P99Max, r.MinReplicas == 0, r.OOMKills > 0:
		return health.Warn
	}
	return health.Info
}

func canaryBreached(k sources.ServiceKey, canaries []sources.CanaryView, th config.Thresholds) bool {
	for _, c := range canaries {
		if c.Key == k {
			return health.CompareCanary(c, th).Breached
		}
	}
	return false
}

func (servingPane) Rows(in Input) int {
	if !feedOf(in, sources.SourceKube).usable() {
		return 0
	}
	return len(VisibleServices(in.Snap, in.Filter))
}

func (servingPane) Title(in Input) string {
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	title := "SERVING " + namespaceLabel(in.Snap.Namespaces)
	if kube.usable() {
		total := len(in.Snap.Serving)
		if in.Filter != "" {
			shown := len(VisibleServices(in.Snap, in.Filter))
			title += fmt.Sprintf(" %d/%s filter: %s", shown, plural(total, "service"), safe(in.Filter))
		} else {
			title += " " + plural(total, "service")
		}
	}
	return titled(title, kube, prom)
}

func (servingPane) Summary(in Input, w int) string {
	t := themeOf(in)
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	if !kube.usable() {
		return trunc(t, "serving "+kube.word(), w)
	}
	crit, warn := 0, 0
	for _, r := range in.Snap.Serving {
		switch judgeRow(r, in.Snap.Canaries, in.Thresholds) {
		case health.Crit:
			crit++
		case health.Warn:
			warn++
		}
	}
	s := "serving " + plural(len(in.Snap.Serving), "service")
	switch {
	case crit+warn == 0:
		s += " " + t.OK.Render("all ok")
	default:
		var parts []string
		if crit > 0 {
			parts = append(parts, t.Crit.Render(fmt.Sprintf("%s %d CRIT", t.Glyphs.Crit, crit)))
		}
		if warn > 0 {
			parts = append(parts, t.Warn.Render(fmt.Sprintf("%s %d WARN", t.Glyphs.Warn, warn)))
		}
		s += ": " + strings.Join(parts, " ")
	}
	state := joinSpaced(" ", prefixed(kube.name(), kube.word()), prefixed(prom.name(), prom.word()))
	return trunc(t, joinSpaced(" ", s, state), w)
}

// prefixed is "prom STALE 3m", or empty when there is no state to tell.
func prefixed(name, word string) string {
	if word == "" {
		return ""
	}
	return name + " " + word
}

func (servingPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	if !kube.usable() {
		return block(t, kube.blocked(), w, h)
	}
	rows := VisibleServices(in.Snap, in.Filter)
	notes := make([]string, 0, 2)
	for _, f := range []feed{kube, prom} {
		if n := f.note(); n != "" {
			notes = append(notes, n)
		}
	}
	if len(rows) == 0 {
		msg := "no InferenceService in " + namespaceLabel(in.Snap.Namespaces)
		if in.Filter != "" {
			msg = fmt.Sprintf("no service name contains %q", safe(in.Filter))
		}
		return block(t, append([]string{t.Dim.Render(msg)}, notes...), w, h)
	}

	// Notes about the sources come last and go first when the pane is short:
	// the rows themselves show "-" for figures that are missing.
	listH := h
	showHeader := h >= 3
	if showHeader {
		listH--
	}
	keepNotes := min(len(notes), max(0, listH-2))
	listH -= keepNotes

	sel, highlight := selectedRow(in, rows)
	start := scrollStart(sel, listH, len(rows))
	tbl := newServingTable(in, t, rows, w)

	lines := make([]string, 0, h)
	if showHeader {
		lines = append(lines, tbl.header(start, min(start+listH, len(rows)), len(rows)))
	}
	for i := start; i < len(rows) && i < start+listH; i++ {
		lines = append(lines, tbl.row(rows[i], i == sel, i == sel && highlight))
	}
	lines = append(lines, notes[:keepNotes]...)
	return block(t, lines, w, h)
}

// selectedRow is the row to mark: the cursor when the pane has the keyboard
// (highlighted), otherwise the selected service the Canary pane follows
// (cursor glyph only), or -1.
func selectedRow(in Input, rows []sources.ServiceRow) (idx int, highlight bool) {
	if in.Focused {
		return clampCursor(in.Cursor, len(rows)), true
	}
	if in.Selected == (sources.ServiceKey{}) {
		return -1, false
	}
	for i, r := range rows {
		if r.Namespace == in.Selected.Namespace && r.Name == in.Selected.Name {
			return i, false
		}
	}
	return -1, false
}
