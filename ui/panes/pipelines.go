package panes

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// pipelinesPane shows Kubeflow Pipelines runs: the success rate against its
// threshold, counts, durations and the failed runs, newest first (the list
// the cursor walks).
type pipelinesPane struct{}

func (pipelinesPane) ID() ID { return Pipelines }

func (pipelinesPane) Title(in Input) string {
	title := "PIPELINES"
	if win := in.Snap.Pipelines.Window; win > 0 {
		title += " " + health.Window(win)
	}
	return titled(title, feedOf(in, sources.SourceKFP))
}

func (pipelinesPane) Rows(in Input) int {
	if !feedOf(in, sources.SourceKFP).usable() {
		return 0
	}
	n := 0
	for _, r := range in.Snap.Pipelines.Runs {
		if r.State == sources.RunFailed {
			n++
		}
	}
	return n
}

func (p pipelinesPane) Summary(in Input, w int) string {
	t := themeOf(in)
	f := feedOf(in, sources.SourceKFP)
	if !f.usable() {
		return trunc(t, "pipelines "+f.word(), w)
	}
	st := in.Snap.Pipelines.Stats()
	v := successVerdict(t, st, in.Thresholds)
	return trunc(t, firstFit(w, joinSpaced(" ", "pipelines "+v, f.word()), joinSpaced(" ", "kfp "+v, f.word()), "kfp "+v), w)
}

// successVerdict is "91.2% ! < 95%" below the threshold, "98.0% ok" above.
func successVerdict(t *theme.Theme, st sources.PipelineStats, th config.Thresholds) string {
	if !st.HasRate {
		return "no finished runs"
	}
	rate := fmt.Sprintf("%.1f%%", 100*st.SuccessRate)
	if st.SuccessRate < th.PipelineSuccessMin {
		return rate + "  " + t.Warn.Render(t.Glyphs.Warn+" < "+fmtWholePct(th.PipelineSuccessMin))
	}
	return rate + " " + t.OK.Render("ok")
}

func (p pipelinesPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	f := feedOf(in, sources.SourceKFP)
	if !f.usable() {
		return block(t, f.blocked(), w, h)
	}
	pl := in.Snap.Pipelines
	st := pl.Stats()

	verdict := successVerdict(t, st, in.Thresholds)
	success := "success " + verdict
	if st.HasRate {
		success = firstFit(w, success+t.Dim.Render(fmt.Sprintf("  (%d/%d finished)", st.Succeeded, st.Succeeded+st.Failed)),
			success, verdict)
	}
	counts := fmt.Sprintf("runs %d  ok %d  fail %d  running %d", st.Total, st.Succeeded, st.Failed, st.Running)
	if st.Other > 0 {
		counts += fmt.Sprintf("  other %d", st.Other)
	}
	counts = firstFit(w, counts, fmt.Sprintf("runs %d ok %d fail %d run %d", st.Total, st.Succeeded, st.Failed, st.Running))
	durations := firstFit(w, "duration avg "+fmtDuration(st.AvgDuration)+"  p95 "+fmtDuration(st.P95Duration),
		"took avg "+fmtDuration(st.AvgDuration)+" p95 "+fmtDuration(st.P95Duration))
	core := []ranked{{0, success}, {1, counts}, {3, durations}}
	if note := f.note(); note != "" {
		core = append([]ranked{{2, note}}, core...)
	}
	lines := keepRanked(core, h)
	room := h - len(lines)

	failed := failedRuns(pl.Runs)
	trend := durationTrend(t, pl.Runs, w)
	// The failures matter more than the trend, but three of them are enough
	// to see a pattern; the trend comes before the rest of the list. Zoomed,
	// each failure also gets a line with its run's name when that leaves
	// room for the three.
	perRun := 1
	if in.Zoomed && room >= 2+2*min(len(failed), 3) {
		perRun = 2
	}
	listRows := 0
	if len(failed) > 0 && room >= 2 {
		listRows = min(min(len(failed), 3)*perRun, room-1)
		room -= 1 + listRows
	}
	if trend != "" && room >= 1 {
		lines = append(lines, trend)
		room--
	}
	switch {
	case len(failed) == 0 && room >= 1:
		lines = append(lines, t.OK.Render(t.Glyphs.OK+" no failed runs"))
	case listRows > 0:
		listRows += min(len(failed)*perRun-listRows, room)
		lines = append(lines, t.Header.Render(firstFit(w,
			fmt.Sprintf("failed runs (%d), newest first", len(failed)), fmt.Sprintf("failed runs (%d), by age", len(failed)))))
		lines = append(lines, failureRows(in, t, failed, w, listRows, perRun)...)
	}
	return block(t, lines, w, h)
}

// failedRuns returns the failed runs, newest first (the source's order).
func failedRuns(runs []sources.PipelineRun) []sources.PipelineRun {
	var out []sources.PipelineRun
	for _, r := range runs {
		if r.State == sources.RunFailed {
			out = append(out, r)
		}
	}
	return out
}

// failureRows draws rows lines of the failure list, scrolled to the cursor
// when the pane has the keyboard. A row leads with the age and the error
// message, which says what failed ("3h ago  train-model: OOMKilled (exit
// code 137)"); the run's name, often the pipeline's name and a timestamp,
// follows only where it fits whole: on a wide row, or on a line of its own
// when perRun is 2. A narrow row drops the word "ago" to keep the message.
func failureRows(in Input, t *theme.Theme, failed []sources.PipelineRun, w, rows, perRun int) []string {
	cursor := -1
	if in.Focused {
		cursor = clampCursor(in.Cursor, len(failed))
	}
	start := scrollStart(cursor, rows/perRun, len(failed))
	out := make([]string, 0, rows)
	for i := start; i < len(failed) && len(out)+perRun <= rows; i++ {
		r := failed[i]
		at := r.Finished
		if at.IsZero() {
			at = r.Created
		}
		name := oneLine(r.Name)
		if name == "" {
			name = oneLine(r.Pipeline)
		}
		selected := i == cursor
		age, ageW := ago(in.Now, at), len("22h ago")
		if w < 40 {
			age, ageW = strings.TrimSuffix(age, " ago"), len("22h")
		}
		lead := cursorMark(t, selected) + " " + fmt.Sprintf("%-*s", ageW, age) + " "
		row := lead
		runName := ""
		if name != "" {
			runName = paint(t.Dim.Render, "run "+name, selected)
		}
		switch msg := oneLine(r.Error); {
		case msg != "":
			// Cut inside a word if need be: "OOMK..." tells more than
			// dropping the word at the last space.
			row += clip(t, msg, w-text.Width(row))
		case name != "":
			// Without a message the name is all there is to go on.
			row += paint(t.Dim.Render, "no error message", selected) + "  "
			row += clip(t, "run "+name, w-text.Width(row))
			runName = ""
		default:
			row += paint(t.Dim.Render, "no error message", selected)
		}
		if perRun == 1 && runName != "" && w >= 100 && text.Width(row)+2+text.Width(runName) <= w {
			row += "  " + runName
		}
		if selected {
			row = t.Selected.Render(fit(t, row, w))
		}
		out = append(out, row)
		if perRun == 2 {
			out = append(out, strings.Repeat(" ", text.Width(lead))+runName)
		}
	}
	return out
}

// durationTrend is a one-line sparkline of the finished runs' durations,
// oldest left, with the span it covers.
func durationTrend(t *theme.Theme, runs []sources.PipelineRun, w int) string {
	const label = "duration "
	var d []float64
	// Runs arrive newest first; the trend reads left to right in time.
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Done() && runs[i].Duration() > 0 {
			d = append(d, runs[i].Duration().Seconds())
		}
	}
	if len(d) < 2 {
		return ""
	}
	// One cell per run: a bucket of runs would show its slowest, and a
	// narrow pane would draw every cell at the top. When the runs do not
	// fit, the newest do, and the tail says how many.
	tail := "  last %d runs"
	room := w - len(label) - len(fmt.Sprintf(tail, len(d)))
	if room < min(len(d), 10) {
		tail = " %d runs"
		room = w - len(label) - len(fmt.Sprintf(tail, len(d)))
	}
	if room < 4 {
		return ""
	}
	d = lastN(d, room)
	lo, hi := spread(d)
	return label + t.Chart.Render(spark(t, d, room, lo, hi)) + t.Dim.Render(fmt.Sprintf(tail, len(d)))
}

// lastN keeps the newest n values.
func lastN(values []float64, n int) []float64 {
	if len(values) > n {
		return values[len(values)-n:]
	}
	return values
}
