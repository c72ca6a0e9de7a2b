package ui

import (
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/theme"
)

// statusInfo is what the status line shows besides the sources.
type statusInfo struct {
	Context   string
	Namespace string
	ReadOnly  bool
}

// statusBar draws the top line: program, context and namespace, then every
// source's health word and the age of its data, "read-only" and the help
// hint. A failing source keeps its word and age at any width; ages of
// healthy sources and the context go first when the line is narrow.
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
