package panes

import (
	"fmt"

	"github.com/mltop/mltop/sources"
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
	scored := tr.Scored()

	var top []ranked
	if note := f.note(); note != "" {
		top = append(top, ranked{2, note})
	}
	top = append(top, ranked{0, latestLine(t, in, tr, w)})
	if l := runLine(t, in, tr); l != "" {
		top = append(top, ranked{1, l})
	}
	lines := keepRanked(top, h)

	// The chart takes what the numbers leave; it is the first thing to go.
	room := h - len(lines)
	if room >= chartMinHeight && w >= 20 && len(scored) >= 2 {
		values := make([]float64, len(scored))
		for i, r := range scored {
			values[i] = r.Value
		}
		caption := t.Dim.Render(fmt.Sprintf("last %d runs, oldest left", len(scored)))
		chartH := room
		if room > chartMinHeight {
			chartH--
		} else {
			caption = ""
		}
		lines = append(lines, plotLines(t, values, w, chartH, fmtMetric)...)
		if caption != "" {
			lines = append(lines, caption)
		}
	}
	return block(t, lines, w, h)
}

// latestLine is "cv_f1_mean 0.857  -0.030 vs prev 0.887  ! WARN drop > 0.02",
// or a terser form that fits w.
func latestLine(t *theme.Theme, in Input, tr sources.Training, w int) string {
	metric := safe(tr.Metric)
	latest, prev, ok := tr.LatestPair()
	if !latest.HasValue {
		return joinSpaced(" ", metric, t.Dim.Render("no run has logged it yet"))
	}
	value := t.Bold.Render(fmtMetric(latest.Value))
	if !ok {
		return joinSpaced(" ", metric, value) + t.Dim.Render("  first scored run")
	}
	delta := fmtDelta(latest.Value - prev.Value)
	mark, warn := "", ""
	if metricDropped(latest, prev, in.Thresholds.MetricDropMax) {
		mark = t.Warn.Render(t.Glyphs.Warn)
		warn = t.Warn.Render(fmt.Sprintf("%s WARN drop > %g", t.Glyphs.Warn, in.Thresholds.MetricDropMax))
	}
	return firstFit(w,
		joinSpaced("  ", joinSpaced(" ", metric, value), delta+" vs prev "+fmtMetric(prev.Value), warn),
		joinSpaced("  ", joinSpaced(" ", metric, value), delta, warn),
		joinSpaced(" ", metric, value, delta, mark),
		joinSpaced(" ", value, delta, mark))
}

// runLine says how long the latest scored run trained and when it ended, and
// whether a newer run is still going.
func runLine(t *theme.Theme, in Input, tr sources.Training) string {
	latest, _, _ := tr.LatestPair()
	var parts []string
	if latest.HasValue {
		name := oneLine(latest.Name)
		when := ago(in.Now, latest.End)
		parts = append(parts, "train time "+fmtDuration(latest.Duration())+t.Dim.Render(" ("+joinSpaced(", ", when, name)+")"))
	}
	if n := len(tr.Runs); n > 0 {
		if r := tr.Runs[n-1]; r.End.IsZero() && r.Status == "RUNNING" {
			parts = append(parts, fmt.Sprintf("running %s for %s", oneLine(r.Name), fmtDuration(in.Now.Sub(r.Start))))
		}
	}
	return joinSpaced("  ", parts...)
}
