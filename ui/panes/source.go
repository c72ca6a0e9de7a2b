package panes

import (
	"fmt"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/theme"
)

// feed is one source as a pane sees it: whether its data can be drawn and,
// when it cannot or is old, the words that say so.
type feed struct {
	t      *theme.Theme
	now    time.Time
	status sources.SourceStatus
}

func feedOf(in Input, id sources.SourceID) feed {
	return feed{t: themeOf(in), now: in.Now, status: in.Snap.Source(id)}
}

func (f feed) name() string { return string(f.status.ID) }

// usable reports whether the source's data may be drawn: fresh, or stale
// with a last good value.
func (f feed) usable() bool {
	switch f.status.Health {
	case sources.HealthOK:
		return true
	case sources.HealthStale:
		return f.status.HasData()
	}
	return false
}

// stale reports whether the data on screen is an old value kept after failures.
func (f feed) stale() bool {
	return f.status.Health == sources.HealthStale && f.status.HasData()
}

func (f feed) age() string { return health.Age(f.status.Age(f.now)) }

// word is the short state for titles and summaries: "STALE 3m", "off",
// "waiting", "DOWN"; empty when the source is fine.
func (f feed) word() string {
	switch {
	case f.stale():
		return "STALE " + f.age()
	case f.usable():
		return ""
	}
	switch f.status.Health {
	case sources.HealthOff:
		return "off"
	case sources.HealthPending:
		return "waiting"
	}
	return "DOWN"
}

// blocked returns the lines a pane shows instead of its data when the source
// cannot be drawn: how to configure it, that it is awaited, or why it fails.
func (f feed) blocked() []string {
	t := f.t
	name := f.name()
	switch f.status.Health {
	case sources.HealthOff:
		lines := []string{t.Dim.Render(name + " not configured")}
		if hint := safe(f.status.Hint); hint != "" {
			lines = append(lines, hint)
		}
		return lines
	case sources.HealthPending:
		return []string{t.Dim.Render("waiting for " + name + t.Glyphs.Ellipsis)}
	}
	// Down, or stale without any value: there is nothing to keep on screen.
	msg := name + " unreachable"
	if e := oneLine(f.status.Err); e != "" {
		msg += ": " + e
	}
	retry := "retrying"
	if f.status.Failures > 0 {
		retry = fmt.Sprintf("retrying (%s failed)", plural(f.status.Failures, "attempt"))
	}
	if !f.status.AttemptedAt.IsZero() {
		retry += ", last try " + ago(f.now, f.status.AttemptedAt)
	}
	return []string{t.Crit.Render(t.Glyphs.Crit + " " + msg), t.Dim.Render(retry)}
}

// note is the one body line for a source that is usable but not fresh, or,
// for a secondary source (Prometheus beside Kubernetes), not usable at all.
// Empty when there is nothing to say.
func (f feed) note() string {
	t := f.t
	name := f.name()
	if f.stale() {
		s := t.Glyphs.Warn + " " + name + " STALE " + f.age()
		if e := oneLine(f.status.Err); e != "" {
			s += ": " + e
		}
		return t.Warn.Render(s)
	}
	if f.usable() {
		return ""
	}
	switch f.status.Health {
	case sources.HealthOff:
		return t.Dim.Render(name + " not configured: figures show -")
	case sources.HealthPending:
		return t.Dim.Render("waiting for " + name + t.Glyphs.Ellipsis)
	}
	s := t.Glyphs.Crit + " " + name + " unreachable"
	if e := oneLine(f.status.Err); e != "" {
		s += ": " + e
	}
	return t.Crit.Render(s)
}

// titled appends a source's state word to a title: "PIPELINES 24h STALE 3m".
// In a pane fed by two sources each names itself:
// "SERVING ml-prod 5 services prom STALE 3m".
func titled(title string, primary feed, secondary ...feed) string {
	if w := primary.word(); w != "" {
		if len(secondary) > 0 {
			w = primary.name() + " " + w
		}
		title += " " + w
	}
	if !primary.usable() {
		return title
	}
	for _, f := range secondary {
		if w := f.word(); w != "" {
			title += " " + f.name() + " " + w
		}
	}
	return title
}
