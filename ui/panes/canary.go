package panes

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// canaryPane compares a canary revision with the stable one side by side:
// traffic share, requests, 5xx and latency, the error ratio against the
// dashboard rule, and a verdict line.
type canaryPane struct{}

func (canaryPane) ID() ID { return Canary }

func (canaryPane) Rows(Input) int { return 0 }

// pickCanary returns the canary the pane shows: the selected service's when
// it is in canary, else the first one.
func pickCanary(in Input) (sources.CanaryView, bool) {
	if cv, ok := in.Snap.Canary(in.Selected); ok {
		return cv, true
	}
	if len(in.Snap.Canaries) > 0 {
		return in.Snap.Canaries[0], true
	}
	return sources.CanaryView{}, false
}

func (canaryPane) Title(in Input) string {
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	title := "CANARY"
	if cv, ok := pickCanary(in); ok && kube.usable() {
		name := safe(cv.Key.Name)
		title += fmt.Sprintf(" %s %d%% -> %s", name, cv.Percent, shortRevision(cv.Key.Name, cv.CanaryRevision))
		if n := len(in.Snap.Canaries); n > 1 {
			title += fmt.Sprintf(" (+%d more)", n-1)
		}
	}
	return titled(title, kube, prom)
}

func (canaryPane) Summary(in Input, w int) string {
	t := themeOf(in)
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	if !kube.usable() {
		return trunc(t, "canary "+kube.word(), w)
	}
	cv, ok := pickCanary(in)
	if !ok {
		return trunc(t, "canary none in progress", w)
	}
	s := fmt.Sprintf("canary %s %d%%: ", safe(cv.Key.Name), cv.Percent)
	if v, judged := verdictOf(in, cv); judged {
		long, short := judgedSummary(t, v)
		feeds := []string{prefixed(kube.name(), kube.word()), prefixed(prom.name(), prom.word())}
		return trunc(t, firstFit(w,
			joinSpaced(" ", append([]string{s + long}, feeds...)...),
			joinSpaced(" ", append([]string{s + short}, feeds...)...),
			joinSpaced(" ", append([]string{safe(cv.Key.Name) + ": " + short}, feeds...)...)), w)
	}
	cmp := health.CompareCanary(cv, in.Thresholds)
	switch {
	case cmp.Breached:
		s += t.Crit.Render(fmt.Sprintf("5xx %s stable %s", ratioText(cmp.Ratio), t.Glyphs.Crit))
	case cmp.Known:
		s += "within " + fmtRatio(in.Thresholds.CanaryErrorRatio) + " of stable"
	default:
		s += "not enough traffic yet"
	}
	return trunc(t, joinSpaced(" ", s, prefixed(kube.name(), kube.word()), prefixed(prom.name(), prom.word())), w)
}

// ratioText is "8.0x", or "vs 0" when the stable had no errors at all.
func ratioText(r float64) string {
	if math.IsInf(r, 1) {
		return "vs 0"
	}
	return health.Ratio(r)
}

// canaryVerdict is the pane's one-line judgement by the dashboard rule
// (health.CompareCanary), for a canary the judge has no verdict on yet
// (the judge's verdicts are drawn by evidence.go).
func canaryVerdict(t *theme.Theme, in Input, cv sources.CanaryView, w int) string {
	th := in.Thresholds
	cmp := health.CompareCanary(cv, th)
	limit := fmtRatio(th.CanaryErrorRatio)
	switch {
	case !cv.HasMetrics && !feedOf(in, sources.SourceProm).usable():
		return t.Dim.Render(firstFit(w, "verdict: no per-revision metrics (prom "+feedOf(in, sources.SourceProm).word()+")",
			"verdict: no metrics"))
	case !cmp.Known:
		return t.Dim.Render(firstFit(w, "verdict: not enough traffic yet", "verdict: too little traffic"))
	case cmp.Breached && math.IsInf(cmp.Ratio, 1):
		return t.Crit.Render(firstFit(w,
			fmt.Sprintf("%s verdict: canary errors %s with none on stable > %s limit (roll back)",
				t.Glyphs.Crit, fmtPct(cv.Canary.ErrorRate), fmtPct(th.ErrorRateMax)),
			fmt.Sprintf("%s roll back: canary 5xx %s > %s", t.Glyphs.Crit, fmtPct(cv.Canary.ErrorRate), fmtPct(th.ErrorRateMax))))
	case cmp.Breached:
		return t.Crit.Render(firstFit(w,
			fmt.Sprintf("%s verdict: canary errors %s stable > %s (roll back)", t.Glyphs.Crit, health.Ratio(cmp.Ratio), limit),
			fmt.Sprintf("%s roll back: 5xx %s > %s", t.Glyphs.Crit, health.Ratio(cmp.Ratio), limit),
			fmt.Sprintf("%s 5xx %s > %s", t.Glyphs.Crit, health.Ratio(cmp.Ratio), limit)))
	}
	return t.OK.Render(firstFit(w,
		fmt.Sprintf("%s verdict: canary within %s of stable", t.Glyphs.OK, limit),
		fmt.Sprintf("%s canary within %s", t.Glyphs.OK, limit)))
}

func (canaryPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	kube, prom := feedOf(in, sources.SourceKube), feedOf(in, sources.SourceProm)
	if !kube.usable() {
		return block(t, kube.blocked(), w, h)
	}
	var lines []ranked
	cv, ok := pickCanary(in)
	if !ok {
		lines = append(lines, ranked{0, t.Dim.Render("no canary in progress")})
		if l := unsupportedLine(in); l != "" {
			lines = append(lines, ranked{5, t.Dim.Render(l)})
		}
	}
	var notes []ranked
	for i, f := range []feed{kube, prom} {
		if n := f.note(); n != "" {
			notes = append(notes, ranked{8 + i, n})
		}
	}
	if v, judged := verdictOf(in, cv); ok && judged {
		lines = judgedLines(in, t, cv, v, w, h, len(notes))
	} else if ok {
		lines = canaryLines(in, t, cv, w, h, len(notes))
	}
	return block(t, keepRanked(append(lines, notes...), h), w, h)
}

// canaryLines lays out one canary: a side-by-side table when there is room
// for its header and a few rows, otherwise two compact lines; then the 5xx
// trend in the rows left over, and the verdict. notes is how many lines the
// caller adds about its sources: the trend leaves room for them.
func canaryLines(in Input, t *theme.Theme, cv sources.CanaryView, w, h, notes int) []ranked {
	lines := []ranked{}
	if !cv.Ready {
		reason := "not ready"
		if r, ok := in.Snap.Row(cv.Key); ok {
			reason = notReadyReason(r)
		}
		lines = append(lines, ranked{1, t.Crit.Render(t.Glyphs.Crit + " CRIT service " + reason)})
	}
	table := canaryTable(in, t, cv, w, h)
	if table == nil {
		table = compactCanary(in, t, cv, w)
	}
	lines = append(lines, table...)
	selected := selectedNote(in, cv)
	room := h - len(lines) - 1 - notes // 1: the verdict
	if selected != "" {
		room--
	}
	lines = append(lines, canaryTrend(in, t, cv, w, h, room)...)
	lines = append(lines, ranked{0, canaryVerdict(t, in, cv, w)})
	if selected != "" {
		lines = append(lines, ranked{9, t.Dim.Render(selected)})
	}
	return lines
}

// canaryTrend is the 5xx trend of both revisions in at most room lines of a
// pane h lines tall: a legend and an ntcharts chart. Unzoomed it takes at
// most half the pane (and at least a readable 8 lines) so the pane stays a
// summary; zoomed it takes the screen. The chart is only built when it has
// room.
func canaryTrend(in Input, t *theme.Theme, cv sources.CanaryView, w, h, room int) []ranked {
	if !cv.HasMetrics || room < canaryChartMinHeight+1 {
		return nil
	}
	chartH := room - 1
	if !in.Zoomed {
		chartH = min(chartH, max(8, h/2))
	}
	stable, canary := cv.Stable.ErrTrend, cv.Canary.ErrTrend
	top := scaleMax(sources.Values(canary), scaleMax(sources.Values(stable), in.Thresholds.ErrorRateMax))
	chart := errorTrendChart(t, stable, canary, top, in.Now.Location(), w, chartH)
	if chart == nil {
		return nil
	}
	st := shortRevision(cv.Key.Name, cv.StableRevision)
	ca := shortRevision(cv.Key.Name, cv.CanaryRevision)
	lines := []ranked{{7, trendLegend(t, cv, st, ca, w)}}
	for _, l := range chart {
		lines = append(lines, ranked{7, l})
	}
	return lines
}

// revisionFigures are one revision's cells.
type revisionFigures struct {
	name, share, reqMin, errs, latency string
}

func figuresOf(cv sources.CanaryView, m sources.RevisionMetrics, rev string, percent int) revisionFigures {
	f := revisionFigures{name: shortRevision(cv.Key.Name, rev), share: fmt.Sprintf("%d%%", percent),
		reqMin: "-", errs: "-", latency: "-"}
	if !cv.HasMetrics {
		return f
	}
	f.reqMin = fmtCount(m.RPS * 60)
	if m.HasErrors {
		f.errs = fmtPct(m.ErrorRate)
	}
	if m.HasP99 {
		f.latency = fmt.Sprintf("%d / %s", m.P50.Milliseconds(), health.Millis(m.P99))
	}
	return f
}

// observedShare is the canary's share of the requests actually served,
// which drifts from the configured split while Knative scales.
func observedShare(cv sources.CanaryView) (float64, bool) {
	total := cv.Canary.RPS + cv.Stable.RPS
	if !cv.HasMetrics || total <= 0 {
		return 0, false
	}
	return cv.Canary.RPS / total, true
}

// ratioCell is "X 8.0x > 2x" past the rule, the bare ratio within it.
func ratioCell(t *theme.Theme, in Input, cv sources.CanaryView) string {
	cmp := health.CompareCanary(cv, in.Thresholds)
	switch {
	case !cmp.Known:
		return ""
	case cmp.Breached:
		return t.Crit.Render(fmt.Sprintf("%s %s > %s", t.Glyphs.Crit, ratioText(cmp.Ratio), fmtRatio(in.Thresholds.CanaryErrorRatio)))
	}
	return ratioText(cmp.Ratio)
}

// canaryTable is the side-by-side form; nil when the pane is too short or
// too narrow for it.
func canaryTable(in Input, t *theme.Theme, cv sources.CanaryView, w, h int) []ranked {
	if h < 4 {
		return nil
	}
	labelW, latencyLabel := 10, "p50 / p99"
	if w < 50 {
		labelW, latencyLabel = 8, "p50/p99"
	}
	extra := text.Width(ratioCell(t, in, cv))
	colW := min(20, (w-labelW-extra-2)/2)
	if colW < 12 {
		// The ratio is also on the verdict line; the figures come first.
		extra, colW = 0, min(20, (w-labelW-1)/2)
	}
	if colW < 11 {
		return nil
	}
	st := figuresOf(cv, cv.Stable, cv.StableRevision, 100-cv.Percent)
	ca := figuresOf(cv, cv.Canary, cv.CanaryRevision, cv.Percent)
	if share, ok := observedShare(cv); ok {
		ca.share = firstFit(colW, ca.share+t.Dim.Render(" (obs "+fmtPct(share)+")"), ca.share)
	}
	row := func(label, a, b, x string) string {
		s := text.Fit(label, labelW, "") + fit(t, a, colW) + " " + fit(t, b, colW)
		if x != "" && extra > 0 {
			s += " " + x
		}
		return s
	}
	lines := []ranked{
		{2, t.Header.Render(row("", "stable "+st.name, "canary "+ca.name, ""))},
		{3, row("traffic", st.share, ca.share, "")},
		{5, row("req/min", st.reqMin, ca.reqMin, "")},
		{1, row("5xx", st.errs, ca.errs, ratioCell(t, in, cv))},
		{4, row(latencyLabel, st.latency, ca.latency, "")},
	}
	return lines
}

// trendLegend names the chart's lines by their look, so they tell apart
// without colour: "5xx over 1h:  ⠤⠤ stable 00001  ── canary 00002  ━━ both".
func trendLegend(t *theme.Theme, cv sources.CanaryView, stable, canary string, w int) string {
	stableMark, canaryMark, bothMark := "⠤⠤", "──", "━━"
	if t.ASCII {
		stableMark, canaryMark, bothMark = "..", "**", "##"
	}
	span := ""
	stablePts, canaryPts := plottable(cv.Stable.ErrTrend, math.Inf(1)), plottable(cv.Canary.ErrTrend, math.Inf(1))
	if from, to, ok := comparedSpan(stablePts, canaryPts); ok {
		span = " over " + health.Age(to.Sub(from).Round(time.Minute))
		stablePts = within(stablePts, from)
	}
	sm, cm, bm := t.Base.Render(stableMark), t.Chart.Render(canaryMark), t.Chart.Render(bothMark)
	// A revision without a trend is named as missing, not given a mark
	// that nothing on the chart wears.
	switch {
	case len(stablePts) == 0:
		return firstFit(w,
			fmt.Sprintf("5xx%s:  %s canary %s  (no stable trend)", span, cm, canary),
			fmt.Sprintf("5xx%s: %s canary, no stable trend", span, cm),
			fmt.Sprintf("5xx %s canary", cm))
	case len(canaryPts) == 0:
		return firstFit(w,
			fmt.Sprintf("5xx%s:  %s stable %s  (no canary trend)", span, sm, stable),
			fmt.Sprintf("5xx%s: %s stable, no canary trend", span, sm),
			fmt.Sprintf("5xx %s stable", sm))
	}
	return firstFit(w,
		fmt.Sprintf("5xx%s:  %s stable %s  %s canary %s  %s both", span, sm, stable, cm, canary, bm),
		fmt.Sprintf("5xx%s: %s stable  %s canary  %s both", span, sm, cm, bm),
		fmt.Sprintf("5xx %s stable %s canary %s both", sm, cm, bm),
		fmt.Sprintf("5xx %s stable %s canary", sm, cm))
}

// compactCanary is the narrow or short form: one line per revision, in the
// longest wording that fits.
func compactCanary(in Input, t *theme.Theme, cv sources.CanaryView, w int) []ranked {
	st := figuresOf(cv, cv.Stable, cv.StableRevision, 100-cv.Percent)
	ca := figuresOf(cv, cv.Canary, cv.CanaryRevision, cv.Percent)
	line := func(role string, f revisionFigures, x string) string {
		return firstFit(w,
			joinSpaced("  ", fmt.Sprintf("%s %s %s: 5xx %s", role, f.name, f.share, f.errs), x, "p50/p99 "+f.latency),
			joinSpaced("  ", fmt.Sprintf("%s %s: 5xx %s", role, f.share, f.errs), x),
			joinSpaced(" ", role, f.errs, x))
	}
	return []ranked{
		{1, line("canary", ca, ratioCell(t, in, cv))},
		{2, line("stable", st, "")},
	}
}

// unsupportedLine names the services whose mode has no canary rollout
// (KServe splits traffic only in Knative mode), so an empty pane explains itself.
func unsupportedLine(in Input) string {
	var names []string
	for _, r := range in.Snap.Serving {
		if r.Mode == sources.ModeStandard || r.Mode == sources.ModeModelMesh {
			names = append(names, safe(r.Name)+" ("+modeShort(r.Mode)+")")
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "canary needs Knative mode; not possible for " + strings.Join(names, ", ")
}

// selectedNote explains why the pane shows another service than the one
// selected in the Serving list.
func selectedNote(in Input, shown sources.CanaryView) string {
	if in.Selected == (sources.ServiceKey{}) || in.Selected == shown.Key {
		return ""
	}
	r, ok := in.Snap.Row(in.Selected)
	if !ok {
		return ""
	}
	if r.Mode == sources.ModeStandard || r.Mode == sources.ModeModelMesh {
		return fmt.Sprintf("selected %s: %s mode has no canary", safe(r.Name), safe(r.Mode))
	}
	return fmt.Sprintf("selected %s has no canary in progress", safe(r.Name))
}
