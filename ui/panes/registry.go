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

	head := "waiting 0" + t.Dim.Render("  nothing to promote")
	if n := len(reg.Waiting); n > 0 {
		oldest, over := oldestWait(in)
		limit, mark := "", ""
		if over {
			mark = t.Warn.Render(t.Glyphs.Warn)
			limit = t.Warn.Render(t.Glyphs.Warn + " > " + health.Age(in.Thresholds.RegistryWaitMax))
		}
		full := joinSpaced(" ", fmt.Sprintf("waiting %d  oldest %s", n, health.Age(oldest)), limit)
		model := ""
		if m := soleModel(reg.Waiting); m != "" {
			// The rows then show bare versions; the head says whose.
			model = m + ": "
		}
		head = firstFit(w, model+full, full,
			joinSpaced(" ", fmt.Sprintf("%d waiting, %s", n, health.Age(oldest)), mark))
	}
	top := []ranked{{0, head}, {1, promotedLine(t, reg)}}
	if note := f.note(); note != "" {
		top = append([]ranked{{2, note}}, top...)
	}
	lines := keepRanked(top, h)
	if rows := h - len(lines); rows > 0 && len(reg.Waiting) > 0 {
		lines = append(lines, waitingRows(in, t, reg.Waiting, w, rows)...)
	}
	return block(t, lines, w, h)
}

// promotedLine is "champion recommendation-v3 v7" (each model's promoted version).
func promotedLine(t *theme.Theme, reg sources.Registry) string {
	alias := safe(reg.PromotedAlias)
	if alias == "" {
		alias = "champion"
	}
	if len(reg.Promoted) == 0 {
		return t.Dim.Render("no " + alias + " alias set")
	}
	parts := make([]string, len(reg.Promoted))
	for i, v := range reg.Promoted {
		parts[i] = safe(v.Model) + " " + t.Bold.Render("v"+safe(v.Version))
	}
	return alias + " " + strings.Join(parts, ", ")
}

// soleModel is the model every version belongs to, or empty when they
// belong to several.
func soleModel(versions []sources.ModelVersion) string {
	for _, v := range versions {
		if v.Model != versions[0].Model {
			return ""
		}
	}
	if len(versions) == 0 {
		return ""
	}
	return safe(versions[0].Model)
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

// waitingRows draws the waiting versions, oldest first, scrolled to the
// cursor when the pane has the keyboard; "!" marks a wait past the limit.
func waitingRows(in Input, t *theme.Theme, waiting []sources.ModelVersion, w, rows int) []string {
	cursor := -1
	if in.Focused {
		cursor = clampCursor(in.Cursor, len(waiting))
	}
	start := scrollStart(cursor, rows, len(waiting))
	markW := text.Width(t.Glyphs.Cursor) + 1 + text.Width(t.Glyphs.Warn) + 1
	const waitW, statusW = 4, 7
	// One model's versions need no model name on every row.
	oneModel := soleModel(waiting) != ""
	label := func(v sources.ModelVersion) string {
		if oneModel {
			return "v" + safe(v.Version)
		}
		return safe(v.Model) + " v" + safe(v.Version)
	}
	longest := 0
	for _, v := range waiting {
		longest = max(longest, text.Width(label(v)))
	}
	avail := w - markW - 1 - waitW - 2 - statusW
	showStatus := avail >= min(longest, 10)
	nameW := min(longest, avail)
	if !showStatus {
		nameW = min(longest, w-markW-1-waitW)
	}
	out := make([]string, 0, rows)
	for i := start; i < len(waiting) && len(out) < rows; i++ {
		v := waiting[i]
		wait := waitOf(v, in.Now)
		selected := i == cursor
		flag := strings.Repeat(" ", text.Width(t.Glyphs.Warn))
		if wait > in.Thresholds.RegistryWaitMax {
			flag = paint(t.Warn.Render, t.Glyphs.Warn, selected)
		}
		name := label(v)
		waited := "-"
		if !v.Created.IsZero() {
			waited = health.Age(wait)
		}
		row := cursorMark(t, selected) + " " + flag + " " + fit(t, name, max(nameW, 1)) + " " +
			text.PadLeft(waited, waitW)
		if showStatus {
			row += "  " + shortStatus(v.Status)
		}
		if selected {
			row = t.Selected.Render(fit(t, row, w))
		}
		out = append(out, row)
	}
	return out
}
