package ui

import (
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// statusInfo is what the status line shows besides the sources.
type statusInfo struct {
	Context   string
	Namespace string
	ReadOnly  bool
	// Findings are the doctor's findings on the snapshot, counted on the line.
	Findings []health.Finding
}

// statusBar draws the top line: program, context and namespace, then every
// source's health word and the age of its data, the doctor's count,
// "read-only" and the help hint. A failing source keeps its word and age at
// any width; ages of healthy sources and the context go first when the line
// is narrow.
func statusBar(t *theme.Theme, snap sources.Snapshot, now time.Time, info statusInfo, w int) string {
	items := []barItem{{text: t.Title.Render("mltop"), dropAt: 95}}

	ctx, ns := clean.Text(info.Context), clean.Text(info.Namespace)
	if snap.Context != "" {
		ctx = clean.Text(snap.Context)
	}
	if len(snap.Namespaces) > 0 {
		ns = clean.Text(strings.Join(snap.Namespaces, ","))
	}
	if ctx != "" || ns != "" {
		var full []string
		if ctx != "" {
			full = append(full, t.Dim.Render("ctx")+" "+ctx)
		}
		if ns != "" {
			full = append(full, t.Dim.Render("ns")+" "+ns)
		}
		short := strings.Trim(ctx+"/"+ns, "/")
		items = append(items, barItem{text: strings.Join(full, "  "), short: short, shortAt: 30, dropAt: 45})
	}

	var fastest time.Duration
	var errItem *barItem
	for _, st := range snap.Sources {
		items = append(items, sourceItem(t, st, now))
		if st.Configured && !st.Live && st.Interval > 0 && (fastest == 0 || st.Interval < fastest) {
			fastest = st.Interval
		}
		if errItem == nil && st.Err != "" && (st.Health == sources.HealthStale || st.Health == sources.HealthDown) {
			errItem = &barItem{label: string(st.ID) + ": ", text: t.Dim.Render(clean.Text(st.Err)), fill: true, keepEnd: true}
		}
	}
	if errItem != nil {
		items = append(items, *errItem)
	}
	if fastest > 0 {
		items = append(items, barItem{text: t.Dim.Render("every " + health.Age(fastest)), dropAt: 10})
	}
	// The doctor's verdict sits on the right with the session's mode, apart
	// from the sources it is drawn from.
	if item, ok := doctorItem(t, snap, info.Findings); ok {
		items = append(items, item)
	}
	if info.ReadOnly {
		items = append(items, barItem{text: t.Warn.Render("read-only"), dropAt: 85, right: true})
	}
	// The footer shows "? help" too, so here it is the first thing to go.
	items = append(items, barItem{text: t.Key.Render("?") + " help", dropAt: 5, right: true})
	return t.StatusBar.Render(packBar(items, w, t.Glyphs.Ellipsis))
}

// sourceItem is one source's "name word age" item. The word carries the
// state (ok, STALE, DOWN), so the line reads the same without colour.
func sourceItem(t *theme.Theme, st sources.SourceStatus, now time.Time) barItem {
	name := string(st.ID)
	word := st.Health.String()
	switch st.Health {
	case sources.HealthOK:
		word = t.OK.Render(word)
	case sources.HealthStale:
		word = t.Warn.Render(word)
	case sources.HealthDown:
		word = t.Crit.Render(word)
	default:
		word = t.Dim.Render(word)
	}
	base := name + " " + word
	switch st.Health {
	case sources.HealthOK:
		age := "live"
		if !st.Live {
			age = health.Age(st.Age(now))
		}
		return barItem{text: base + " " + t.Dim.Render(age), short: base, shortAt: 20, dropAt: 55}
	case sources.HealthStale:
		// The age is the point of STALE: how old is what I am looking at.
		return barItem{text: base + " " + health.Age(st.Age(now)), dropAt: 90}
	case sources.HealthDown:
		return barItem{text: base, dropAt: 90}
	}
	return barItem{text: base, dropAt: 52}
}

// doctorItem is the doctor's count: "✗ doctor 1 CRIT 2 WARN", "● doctor ok".
// Before any source has answered there is nothing to check, and "ok" would
// be a claim, so the item waits. Problems outrank the context on a narrow
// line (the Serving title still names the namespace) but go before any
// source's state, whose word the findings depend on; "ok" goes early.
func doctorItem(t *theme.Theme, snap sources.Snapshot, findings []health.Finding) (barItem, bool) {
	checked := false
	for _, st := range snap.Sources {
		checked = checked || st.HasData()
	}
	if !checked {
		return barItem{}, false
	}
	in := panes.Input{Theme: t}
	full := panes.FindingsSummary(in, findings, summaryRoom)
	// One cell less than the full form picks the summary's next shorter
	// wording ("doctor 1C 2W").
	short := panes.FindingsSummary(in, findings, text.Width(full)-1)
	item := barItem{text: full, short: short, shortAt: 25, dropAt: 48, right: true}
	if worst, found := health.Worst(findings); !found || worst == health.Info {
		item.shortAt, item.dropAt = 12, 15
	}
	return item, true
}

// summaryRoom is more than any doctor summary needs, so FindingsSummary
// gives its longest wording.
const summaryRoom = 80
