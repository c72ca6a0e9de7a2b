package panes

import (
	"fmt"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// trainingPane shows the watched MLflow metric over the experiment's runs:
// the latest value, its change against the previous run (with the drop
// rule), the training time, and a line chart when there is room.
type trainingPane struct{}

// chartMinHeight is the smallest chart worth drawing; below it the pane
// keeps only the numbers.
const chartMinHeight = 3

func (trainingPane) ID() ID { return Training }

func (trainingPane) Title(in Input) string {
	tr := in.Snap.Training
	title := joinSpaced(" ", "TRAINING", safe(tr.Experiment), safe(tr.Metric))
	return titled(title, feedOf(in, sources.SourceMLflow))
}

func (trainingPane) Rows(Input) int { return 0 }

func (trainingPane) Summary(in Input, w int) string {
	t := themeOf(in)
	f := feedOf(in, sources.SourceMLflow)
	metric := safe(in.Snap.Training.Metric)
	if metric == "" {
		metric = "training"
	}
	if !f.usable() {
		return trunc(t, metric+" "+f.word(), w)
	}
	latest, prev, ok := in.Snap.Training.LatestPair()
	var s string
	switch {
	case ok:
		s = fmt.Sprintf("%s %s (%s)", metric, fmtMetric(latest.Value), fmtDelta(latest.Value-prev.Value))
		if metricDropped(latest, prev, in.Thresholds.MetricDropMax) {
			s += " " + t.Warn.Render(t.Glyphs.Warn)
		}
	case latest.HasValue:
		s = metric + " " + fmtMetric(latest.Value)
	default:
		s = metric + " no scored run"
	}
	return trunc(t, joinSpaced(" ", s, f.word()), w)
}

// metricDropped applies the drop rule as the alert does (same epsilon, so
// the pane and the alert strip never disagree at the limit).
func metricDropped(latest, prev sources.TrainingRun, limit float64) bool {
	return prev.Value-latest.Value > limit+1e-9
}

func (trainingPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	f := feedOf(in, sources.SourceMLflow)
	if !f.usable() {
		return block(t, f.blocked(), w, h)
	}
	tr := in.Snap.Training

	var top []ranked
	if note := f.note(); note != "" {
		top = append(top, ranked{3, note})
	}
	head, warn := latestLines(t, in, tr, w)
	top = append(top, ranked{0, head})
	if warn != "" {
		top = append(top, ranked{1, warn})
	}
	if l := runLine(t, in, tr, w); l != "" {
		top = append(top, ranked{2, l})
	}
	lines := keepRanked(top, h)

	// The chart takes what the numbers leave; it is the first thing to go.
	// It is built only when it has room, so a short pane costs nothing.
	room := h - len(lines)
	if scored := tr.Scored(); room >= chartMinHeight && w >= 20 && len(scored) >= 2 {
		values := make([]float64, len(scored))
		for i, r := range scored {
			values[i] = r.Value
		}
		chartH := room
		if room > chartMinHeight {
			chartH-- // the caption
		}
		if chart, shown := metricChart(t, values, w, chartH); chart != nil {
			lines = append(lines, chart...)
			if chartH < room {
				lines = append(lines, t.Dim.Render(firstFit(w,
					fmt.Sprintf("%s over the last %d runs, oldest left", safe(tr.Metric), shown),
					fmt.Sprintf("last %d runs, oldest left", shown),
					fmt.Sprintf("last %d runs", shown))))
			}
		}
	}
	return block(t, lines, w, h)
}

// latestLines is the latest value and its change against the previous run,
// "cv_f1_mean 0.857  -0.030 vs prev 0.887  ! WARN drop > 0.02", in the
// longest wording that fits. When the warning does not fit beside the
// figures it gets a line of its own (warn), so a narrow pane still says what
// the mark means.
func latestLines(t *theme.Theme, in Input, tr sources.Training, w int) (head, warn string) {
	metric := safe(tr.Metric)
	latest, prev, ok := tr.LatestPair()
	if !latest.HasValue {
		return joinSpaced(" ", metric, t.Dim.Render("no run has logged it yet")), ""
	}
	value := t.Bold.Render(fmtMetric(latest.Value))
	if !ok {
		return joinSpaced(" ", metric, value) + t.Dim.Render("  first scored run"), ""
	}
	delta := fmtDelta(latest.Value - prev.Value)
	named := joinSpaced(" ", metric, value)
	long := joinSpaced("  ", named, delta+" vs prev "+fmtMetric(prev.Value))
	if !metricDropped(latest, prev, in.Thresholds.MetricDropMax) {
		return firstFit(w, long,
			joinSpaced("  ", named, delta+" vs prev"),
			fmt.Sprintf("%s (%s)", named, delta),
			fmt.Sprintf("%s (%s)", value, delta)), ""
	}
	limit := fmt.Sprintf("%g", in.Thresholds.MetricDropMax)
	full := joinSpaced("  ", long, t.Warn.Render(fmt.Sprintf("%s WARN drop > %s", t.Glyphs.Warn, limit)))
	if text.Width(full) <= w {
		return full, ""
	}
	mark := t.Warn.Render(t.Glyphs.Warn)
	head = firstFit(w,
		joinSpaced("  ", long, mark),
		joinSpaced("  ", named, delta+" vs prev", mark),
		fmt.Sprintf("%s (%s) %s", named, delta, mark),
		fmt.Sprintf("%s (%s) %s", value, delta, mark))
	warn = t.Warn.Render(firstFit(w,
		fmt.Sprintf("%s WARN dropped %s, limit %s", t.Glyphs.Warn, fmtMetric(prev.Value-latest.Value), limit),
		fmt.Sprintf("%s WARN drop > %s", t.Glyphs.Warn, limit)))
	return head, warn
}

// runLine says how long the latest scored run trained and when it ended, and
// whether a newer run is still going, in the longest wording that fits.
func runLine(t *theme.Theme, in Input, tr sources.Training, w int) string {
	latest, _, _ := tr.LatestPair()
	var long, short []string
	if latest.HasValue {
		name := oneLine(latest.Name)
		when := ago(in.Now, latest.End)
		took := "train time " + fmtDuration(latest.Duration())
		long = append(long, took+t.Dim.Render(" ("+joinSpaced(", ", when, name)+")"))
		short = append(short, took+t.Dim.Render(", "+when))
	}
	if n := len(tr.Runs); n > 0 {
		if r := tr.Runs[n-1]; r.End.IsZero() && r.Status == "RUNNING" {
			running := fmtDuration(in.Now.Sub(r.Start))
			long = append(long, fmt.Sprintf("running %s for %s", oneLine(r.Name), running))
			short = append(short, "running for "+running)
		}
	}
	return firstFit(w, joinSpaced("  ", long...), joinSpaced("  ", short...))
}
