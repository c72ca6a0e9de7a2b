package panes

import (
	"fmt"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// registryPane shows the MLflow model registry: the versions waiting for
// promotion (the list the cursor walks), how long the oldest has waited
// against the limit, and the promoted version of each model.
type registryPane struct{}

func (registryPane) ID() ID { return Registry }

func (registryPane) Title(in Input) string {
	title := "REGISTRY"
	f := feedOf(in, sources.SourceMLflow)
	if f.usable() {
		title += " " + fmt.Sprint(len(in.Snap.Registry.Waiting)) + " waiting"
	}
	return titled(title, f)
}

func (registryPane) Rows(in Input) int {
	if !feedOf(in, sources.SourceMLflow).usable() {
		return 0
	}
	return len(in.Snap.Registry.Waiting)
}

func (registryPane) Summary(in Input, w int) string {
	t := themeOf(in)
	f := feedOf(in, sources.SourceMLflow)
	if !f.usable() {
		return trunc(t, "registry "+f.word(), w)
	}
	return trunc(t, joinSpaced(" ", "registry "+waitingText(t, in), f.word()), w)
}

// waitingText is "3 waiting, oldest 30h !" (the mark only past the limit).
func waitingText(t *theme.Theme, in Input) string {
	waiting := in.Snap.Registry.Waiting
	if len(waiting) == 0 {
		return "0 waiting"
	}
	oldest, over := oldestWait(in)
	s := fmt.Sprintf("%d waiting, oldest %s", len(waiting), health.Age(oldest))
	if over {
		s += " " + t.Warn.Render(t.Glyphs.Warn)
	}
	return s
}

// waitOf is how long a version has waited at now; zero when its creation
// time is unknown.
func waitOf(v sources.ModelVersion, now time.Time) time.Duration {
	if v.Created.IsZero() || now.Before(v.Created) {
		return 0
	}
	return now.Sub(v.Created)
}

// oldestWait returns the longest wait and whether it breaks the limit.
func oldestWait(in Input) (time.Duration, bool) {
	var oldest time.Duration
	for _, v := range in.Snap.Registry.Waiting {
		oldest = max(oldest, waitOf(v, in.Now))
	}
	return oldest, oldest > in.Thresholds.RegistryWaitMax
}

func (registryPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	f := feedOf(in, sources.SourceMLflow)
	if !f.usable() {
		return block(t, f.blocked(), w, h)
	}
	reg := in.Snap.Registry
	models := registryModels(reg)

	head := "waiting 0" + t.Dim.Render("  nothing to promote")
	if n := len(reg.Waiting); n > 0 {
		oldest, over := oldestWait(in)
		limit, mark := "", ""
		if over {
			mark = t.Warn.Render(t.Glyphs.Warn)
			limit = t.Warn.Render(t.Glyphs.Warn + " > " + health.Age(in.Thresholds.RegistryWaitMax))
		}
		count := fmt.Sprintf("waiting %d", n)
		if waitingModels := countWaitingModels(models); waitingModels > 1 {
			count += fmt.Sprintf(" in %d models", waitingModels)
		}
		head = firstFit(w,
			joinSpaced(" ", count+"  oldest "+health.Age(oldest), limit),
			joinSpaced(" ", fmt.Sprintf("%d waiting, oldest %s", n, health.Age(oldest)), mark),
			joinSpaced(" ", fmt.Sprintf("%d waiting, %s", n, health.Age(oldest)), mark))
	}
	top := []ranked{{0, head}}
	if len(models) <= 1 {
		top = append(top, ranked{1, promotedLine(t, reg, models, w)})
	}
	if note := f.note(); note != "" {
		top = append([]ranked{{2, note}}, top...)
	}
	lines := keepRanked(top, h)
	if rows := h - len(lines); rows > 0 {
		lines = append(lines, registryList(in, t, models, w, rows)...)
	}
	return block(t, lines, w, h)
}

// modelGroup is one registered model as the pane lists it: its promoted
// version (if any) and its versions waiting for promotion, oldest first.
type modelGroup struct {
	name     string
	promoted *sources.ModelVersion
	waiting  []sources.ModelVersion
}

// registryModels groups the registry by model: first the models with
// versions waiting, in the order of their oldest waiting version, then the
// models that only have a promoted version.
func registryModels(reg sources.Registry) []modelGroup {
	var groups []modelGroup
	index := map[string]int{}
	group := func(model string) *modelGroup {
		i, ok := index[model]
		if !ok {
			i = len(groups)
			index[model] = i
			groups = append(groups, modelGroup{name: model})
		}
		return &groups[i]
	}
	for _, v := range reg.Waiting {
		g := group(v.Model)
		g.waiting = append(g.waiting, v)
	}
	for i := range reg.Promoted {
		g := group(reg.Promoted[i].Model)
		if g.promoted == nil {
			g.promoted = &reg.Promoted[i]
		}
	}
	return groups
}

func countWaitingModels(groups []modelGroup) int {
	n := 0
	for _, g := range groups {
		if len(g.waiting) > 0 {
			n++
		}
	}
	return n
}

// WaitingVersions returns the versions waiting for promotion in the order the
// Registry pane lists them, which is the order its cursor walks: grouped by
// model (the model with the oldest waiting version first), oldest first
// within a model.
func WaitingVersions(reg sources.Registry) []sources.ModelVersion {
	groups := registryModels(reg)
	if countWaitingModels(groups) <= 1 {
		return reg.Waiting
	}
	out := make([]sources.ModelVersion, 0, len(reg.Waiting))
	for _, g := range groups {
		out = append(out, g.waiting...)
	}
	return out
}

// promotedWord is the alias that marks the serving version.
func promotedWord(reg sources.Registry) string {
	if alias := safe(reg.PromotedAlias); alias != "" {
		return alias
	}
	return "champion"
}

// promotedLine is the single model's promoted version, the version first:
// "champion v7  recommendation-classifier" (the name when it fits).
func promotedLine(t *theme.Theme, reg sources.Registry, models []modelGroup, w int) string {
	alias := promotedWord(reg)
	if len(models) == 0 || models[0].promoted == nil {
		return t.Dim.Render("no " + alias + " alias set")
	}
	v := models[0].promoted
	s := alias + " " + t.Bold.Render("v"+safe(v.Version))
	return appendFit(t, s, "  ", t.Dim.Render(safe(v.Model)), w, 8)
}

// groupHeader names a model of a multi-model registry and its promoted
// version: "fraud-model  champion v3". The name gives way first, so the
// version stays readable in a narrow pane.
func groupHeader(t *theme.Theme, alias string, g modelGroup, w int) string {
	tail := "no " + alias
	if g.promoted != nil {
		tail = alias + " " + t.Bold.Render("v"+safe(g.promoted.Version))
	}
	tails := []string{tail}
	if len(g.waiting) == 0 {
		tails = []string{tail + t.Dim.Render(", nothing waiting"), tail}
	}
	name := safe(g.name)
	for _, tl := range tails {
		if room := w - text.Width(tl) - 2; room >= min(8, text.Width(name)) {
			return t.Header.Render(clip(t, name, room)) + "  " + tl
		}
	}
	return tail
}

// registryLine is one line of the Registry list: a model's header, or a
// waiting version (index into the cursor order).
type registryLine struct {
	header  string
	version int
}

// registryList draws rows lines of the waiting versions, grouped under a
// header per model when there are several, scrolled to the cursor when the
// pane has the keyboard; "!" marks a wait past the limit.
func registryList(in Input, t *theme.Theme, models []modelGroup, w, rows int) []string {
	grouped := len(models) > 1
	alias := promotedWord(in.Snap.Registry)
	var entries []registryLine
	var versions []sources.ModelVersion
	for _, g := range models {
		if grouped {
			entries = append(entries, registryLine{header: groupHeader(t, alias, g, w), version: -1})
		}
		for _, v := range g.waiting {
			entries = append(entries, registryLine{version: len(versions)})
			versions = append(versions, v)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	cursor, cursorLine := -1, -1
	if in.Focused && len(versions) > 0 {
		cursor = clampCursor(in.Cursor, len(versions))
		for i, e := range entries {
			if e.version == cursor {
				cursorLine = i
			}
		}
	}
	// The window keeps the cursor's row in view; when the list fits from the
	// top, a model's header stays above its versions.
	start := scrollStart(cursorLine, rows, len(entries))
	rowsOf := newWaitingRows(in, t, versions, w)
	out := make([]string, 0, rows)
	for i := start; i < len(entries) && len(out) < rows; i++ {
		if e := entries[i]; e.version < 0 {
			out = append(out, e.header)
		} else {
			out = append(out, rowsOf.row(versions[e.version], e.version == cursor))
		}
	}
	return out
}

// waitingRows lays out the version rows: the mark columns, the version
// (bare: the model is named above it), the wait and the status.
type waitingRows struct {
	in         Input
	t          *theme.Theme
	w          int
	nameW      int
	showStatus bool
}

func newWaitingRows(in Input, t *theme.Theme, versions []sources.ModelVersion, w int) waitingRows {
	markW := text.Width(t.Glyphs.Cursor) + 1 + text.Width(t.Glyphs.Warn) + 1
	const waitW, statusW = 4, 7
	longest := 0
	for _, v := range versions {
		longest = max(longest, text.Width("v"+safe(v.Version)))
	}
	avail := w - markW - 1 - waitW - 2 - statusW
	r := waitingRows{in: in, t: t, w: w, showStatus: avail >= min(longest, 10)}
	r.nameW = min(longest, avail)
	if !r.showStatus {
		r.nameW = min(longest, w-markW-1-waitW)
	}
	r.nameW = max(r.nameW, 1)
	return r
}

func (r waitingRows) row(v sources.ModelVersion, selected bool) string {
	t, in := r.t, r.in
	const waitW = 4
	wait := waitOf(v, in.Now)
	flag := strings.Repeat(" ", text.Width(t.Glyphs.Warn))
	if wait > in.Thresholds.RegistryWaitMax {
		flag = paint(t.Warn.Render, t.Glyphs.Warn, selected)
	}
	waited := "-"
	if !v.Created.IsZero() {
		waited = health.Age(wait)
	}
	row := cursorMark(t, selected) + " " + flag + " " + fit(t, "v"+safe(v.Version), r.nameW) + " " +
		text.PadLeft(waited, waitW)
	if r.showStatus {
		row += "  " + shortStatus(v.Status)
	}
	if selected {
		row = t.Selected.Render(fit(t, row, r.w))
	}
	return row
}

// shortStatus shortens MLflow's registration states for a narrow column.
func shortStatus(s string) string {
	switch s {
	case "PENDING_REGISTRATION":
		return "PENDING"
	case "FAILED_REGISTRATION":
		return "FAILED"
	}
	return safe(s)
}
