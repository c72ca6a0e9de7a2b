package panes

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// This file draws the canary judge's verdict: the figures it judged, a
// gauge per metric towards each decision, the verdict word with its
// explanation, and the alerts it raises. The gauges are log-scaled: a
// bar is empty at evidence 1 (no evidence either way) and full at the
// threshold, so it fills evenly as log-evidence accumulates tick by tick,
// which is how the judge builds it.

// verdictOf returns the judge's verdict for the canary shown, if any.
func verdictOf(in Input, cv sources.CanaryView) (canary.Verdict, bool) {
	v, ok := in.Verdicts[cv.Key]
	return v, ok
}

// judgeThresholds are the evidence thresholds the gauges fill towards. The
// tracker runs the judge's default configuration; were it configurable,
// these would come with it.
type judgeThresholds struct{ harm, safety float64 }

func defaultJudgeThresholds() judgeThresholds {
	cfg := canary.DefaultConfig()
	return judgeThresholds{harm: cfg.HarmThreshold, safety: cfg.SafetyThreshold}
}

// decisionStyle is the glyph and style of a decision word, so the word
// and the glyph carry it without colour.
func decisionStyle(t *theme.Theme, d canary.Decision) (glyph string, render func(...string) string) {
	switch d {
	case canary.Rollback:
		return t.Glyphs.Crit, t.Crit.Render
	case canary.Promote:
		return t.Glyphs.OK, t.OK.Render
	case canary.Hold, canary.Inconclusive:
		return t.Glyphs.Warn, t.Warn.Render
	}
	return "", t.Dim.Render
}

// metricRow is one judged metric as the pane shows it; metrics with the
// same latency bound (L90 = L99 when the buckets are coarse) share a row,
// since their counts and evidence are the same.
type metricRow struct {
	label, short string
	m            canary.MetricEvidence
}

func metricRows(v canary.Verdict) []metricRow {
	var rows []metricRow
	for _, m := range v.Metrics {
		switch {
		case m.Name == canary.MetricErrors:
			rows = append(rows, metricRow{label: "5xx", short: "5xx", m: m})
			continue
		case len(rows) > 0 && rows[len(rows)-1].m.BoundMillis == m.BoundMillis:
			rows[len(rows)-1].label += "/99"
			continue
		}
		bound := ">" + strconv.FormatFloat(m.BoundMillis, 'f', -1, 64) + "ms"
		which := "L90"
		if m.Name == canary.MetricSlowerL99 {
			which = "L99"
		}
		rows = append(rows, metricRow{label: bound + " " + which, short: bound, m: m})
	}
	return rows
}

// promoteEvidence is the evidence towards clearing a metric: E^S, or for
// errors the larger of E^S and the negligible-error floor F.
func promoteEvidence(m canary.MetricEvidence) float64 {
	if m.Name == canary.MetricErrors {
		return math.Max(m.Safety, m.Floor)
	}
	return m.Safety
}

// judgedTotals are the requests the judge counted, from any metric (they
// all count the same requests; errors may be missing without status codes).
func judgedTotals(v canary.Verdict) (stable, canaryN float64, ok bool) {
	for _, m := range v.Metrics {
		return m.StableTotal, m.CanaryTotal, true
	}
	return 0, 0, false
}

// judgedLines lays out one canary with a verdict: the figures side by side,
// a gauge per metric, room for the trend, and the verdict.
func judgedLines(in Input, t *theme.Theme, cv sources.CanaryView, v canary.Verdict, w, h, notes int) []ranked {
	var lines []ranked
	if !cv.Ready {
		reason := "not ready"
		if r, ok := in.Snap.Row(cv.Key); ok {
			reason = notReadyReason(r)
		}
		lines = append(lines, ranked{1, t.Crit.Render(t.Glyphs.Crit + " CRIT service " + reason)})
	}
	th := defaultJudgeThresholds()
	if table := judgedTable(in, t, cv, v, th, w, h); table != nil {
		lines = append(lines, table...)
	} else {
		lines = append(lines, compactCanary(in, t, cv, w)...)
		for _, r := range metricRows(v) {
			lines = append(lines, ranked{3, compactGauge(t, r, th, w)})
		}
	}
	verdict := verdictLines(t, v, w)
	selected := selectedNote(in, cv)
	room := h - len(lines) - len(verdict) - notes
	if selected != "" {
		room--
	}
	// The explanation of an open analysis ends with the ETA; a line of its
	// own keeps it when the pane is too short for the whole explanation.
	eta := ""
	if room < 0 {
		eta = etaLine(t, v, w)
	}
	lines = append(lines, canaryTrend(in, t, cv, w, h, room)...)
	lines = append(lines, verdict...)
	if eta != "" {
		lines = append(lines, ranked{5, eta})
	}
	if selected != "" {
		lines = append(lines, ranked{9, t.Dim.Render(selected)})
	}
	return lines
}

// judgedTable is the side-by-side form with the judge's figures and the
// evidence gauges; nil when the pane is too short or narrow for it.
func judgedTable(in Input, t *theme.Theme, cv sources.CanaryView, v canary.Verdict, th judgeThresholds, w, h int) []ranked {
	if h < 4 {
		return nil
	}
	labelW, latencyLabel := 13, "p50 / p99"
	if w < 50 {
		labelW, latencyLabel = 10, "p50/p99"
	}
	const ratioW = 7 // " 12.3x" and a glyph
	extra := ratioW
	colW := min(20, (w-labelW-extra-1)/2)
	if colW < 12 {
		extra, colW = 0, min(20, (w-labelW-1)/2)
	}
	if colW < 11 {
		return nil
	}
	rows := metricRows(v)
	label := func(r metricRow) string {
		if labelW < 13 {
			return r.short
		}
		return r.label
	}
	row := func(l, a, b, x string) string {
		s := text.Fit(l, labelW, "") + fit(t, a, colW) + " " + fit(t, b, colW)
		if x != "" && extra > 0 {
			s += " " + x
		}
		return s
	}
	st := figuresOf(cv, cv.Stable, cv.StableRevision, 100-cv.Percent)
	ca := figuresOf(cv, cv.Canary, cv.CanaryRevision, cv.Percent)
	if share, ok := observedShare(cv); ok {
		ca.share = firstFit(colW, ca.share+t.Dim.Render(" (obs "+fmtPct(share)+")"), ca.share)
	}
	judged := ""
	if len(v.Metrics) > 0 {
		// The counts below are the judge's, from its start to this verdict
		// (to the decision, once there is one).
		judged = t.Dim.Render("judged " + health.Age(v.Elapsed))
	}
	header := t.Header.Render(row("", firstFit(colW, "stable "+st.name, "stable"), firstFit(colW, "canary "+ca.name, "canary"), ""))
	if judged != "" && text.Width(header)+1+text.Width(judged) <= w {
		header += " " + judged
	}
	lines := []ranked{
		{2, header},
		{4, row("traffic", st.share, ca.share, "")},
	}
	if sN, cN, ok := judgedTotals(v); ok {
		lines = append(lines, ranked{5, row("requests", fmtCount(sN), fmtCount(cN), "")})
	} else {
		lines = append(lines, ranked{5, row("req/min", st.reqMin, ca.reqMin, "")})
	}
	hasErrors := false
	for _, r := range rows {
		if r.m.Name == canary.MetricErrors {
			hasErrors = true
			lines = append(lines, ranked{1, row("5xx", rateCell(r.m.StableBad, r.m.StableTotal), rateCell(r.m.CanaryBad, r.m.CanaryTotal), ratioOf(t, r.m, th))})
		}
	}
	if !hasErrors {
		// No judged 5xx: without status codes, or the seed policy.
		errRow := row("5xx", st.errs, ca.errs, "")
		if len(v.Metrics) > 0 {
			errRow = row("5xx", "unknown", "unknown", "")
		}
		lines = append(lines, ranked{1, errRow})
	}
	lines = append(lines, ranked{4, row(latencyLabel, st.latency, ca.latency, "")})
	for _, r := range rows {
		if r.m.Name != canary.MetricErrors {
			lines = append(lines, ranked{3, row(label(r), rateCell(r.m.StableBad, r.m.StableTotal), rateCell(r.m.CanaryBad, r.m.CanaryTotal), ratioOf(t, r.m, th))})
		}
	}
	if len(rows) == 0 {
		return lines
	}
	harmHead, promoteHead := "rollback /"+fmtCountShort(th.harm), "promote /"+fmtCountShort(th.safety)
	// The bars are log-scaled; the header says so in its last column, or
	// in its label when the pane is too narrow for that column.
	evidenceLabel := "evidence"
	if extra == 0 {
		evidenceLabel = "evid (log)"
	}
	lines = append(lines, ranked{3, t.Dim.Render(row(evidenceLabel, firstFit(colW, harmHead, "rollback"), firstFit(colW, promoteHead, "promote"), "(log)"))})
	for _, r := range rows {
		harm := evidenceGauge(t, r.m.Harm, th.harm, colW, r.m.Harm >= th.harm, t.Crit.Render)
		promote := evidenceGauge(t, promoteEvidence(r.m), th.safety, colW, r.m.Cleared, t.OK.Render)
		lines = append(lines, ranked{2, row(label(r), harm, promote, "")})
	}
	return lines
}

// rateCell is an observed share with its raw counts when they are few.
func rateCell(bad, total float64) string {
	if total <= 0 {
		return "-"
	}
	return fmtPct(bad / total)
}

// ratioOf is the canary's rate over the stable's, marked when the harm
// evidence on it passed the rollback threshold.
func ratioOf(t *theme.Theme, m canary.MetricEvidence, th judgeThresholds) string {
	r := m.CanaryRate() / m.StableRate()
	if math.IsNaN(r) {
		return ""
	}
	s := ratioText(r)
	if m.Harm >= th.harm {
		return t.Crit.Render(t.Glyphs.Crit + " " + s)
	}
	return s
}

// evidenceGauge is "[####......] 354": a log-scaled bar towards threshold
// and the evidence, w cells in all; styled with done once it is met.
func evidenceGauge(t *theme.Theme, value, threshold float64, w int, met bool, done func(...string) string) string {
	const valueW = 5
	barW := w - 1 - valueW // the bar's brackets are in its width
	if barW < 3 {
		return text.PadLeft(fmtEvidence(value), w)
	}
	bar := gauge(t.Glyphs, logFill(value, threshold), barW)
	if met {
		bar = done(bar)
	}
	return bar + " " + fmtEvidence(value)
}

// logFill is how full a gauge is: ln(value)/ln(threshold), clamped to
// [0, 1]; evidence below 1 (against the decision) shows empty.
func logFill(value, threshold float64) float64 {
	switch {
	case math.IsNaN(value) || value <= 1:
		return 0
	case math.IsInf(value, 1) || value >= threshold:
		return 1
	}
	return math.Log(value) / math.Log(threshold)
}

// fmtEvidence shows an e-value in at most five cells: 0.20, 12.3, 354,
// 4021, 5e+06.
func fmtEvidence(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case math.IsInf(x, 1):
		return "inf"
	case x >= 1e4:
		return fmt.Sprintf("%.0e", x)
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtCountShort(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// compactGauge is one metric's evidence in a line, for narrow panes:
// "5xx  rollback 354/300  promote 0.20/40".
func compactGauge(t *theme.Theme, r metricRow, th judgeThresholds, w int) string {
	harm, prom := fmtEvidence(r.m.Harm), fmtEvidence(promoteEvidence(r.m))
	if r.m.Harm >= th.harm {
		harm = t.Crit.Render(harm)
	}
	if r.m.Cleared {
		prom = t.OK.Render(prom)
	}
	h, s := fmtCountShort(th.harm), fmtCountShort(th.safety)
	return firstFit(w,
		fmt.Sprintf("%s  rollback %s/%s  promote %s/%s", r.label, harm, h, prom, s),
		fmt.Sprintf("%s rb %s/%s pr %s/%s", r.short, harm, h, prom, s),
		fmt.Sprintf("%s %s %s", r.short, harm, prom))
}

// verdictLines are the verdict word, glyph and explanation, wrapped: the
// first line is what a short pane keeps.
func verdictLines(t *theme.Theme, v canary.Verdict, w int) []ranked {
	glyph, style := decisionStyle(t, v.Decision)
	explanation := oneLine(v.Explanation)
	if explanation == "" {
		explanation = string(v.Decision)
	}
	lead := ""
	if glyph != "" {
		lead = glyph + " "
	}
	wrapped := wrapWords(lead+explanation, w, "  ")
	out := make([]ranked, len(wrapped))
	for i, l := range wrapped {
		rank := 6
		if i == 0 {
			rank = 0
			l = style(l)
		}
		out[i] = ranked{rank, l}
	}
	return out
}

// etaLine says how soon the judge would catch a regression of its ETA
// size, and how to make it sooner; empty once the analysis has ended.
func etaLine(t *theme.Theme, v canary.Verdict, w int) string {
	e := v.ETA
	if !e.Known || v.Decision.Terminal() {
		return ""
	}
	d := health.Age(e.Duration.Round(time.Minute))
	if e.Duration < time.Minute {
		d = "<1m"
	}
	rho := strconv.FormatFloat(e.Rho1, 'g', 3, 64)
	switch {
	case e.ExceedsMax && e.SuggestPercent > 0:
		return t.Warn.Render(firstFit(w,
			fmt.Sprintf("%s eta: a %sx regression needs ~%s, past the limit: raise canaryTrafficPercent to %d", t.Glyphs.Warn, rho, d, e.SuggestPercent),
			fmt.Sprintf("%s eta %sx ~%s: raise canary to %d%%", t.Glyphs.Warn, rho, d, e.SuggestPercent)))
	case e.ExceedsMax:
		return t.Warn.Render(firstFit(w,
			fmt.Sprintf("%s eta: a %sx regression needs ~%s, past the limit at any split: more traffic needed", t.Glyphs.Warn, rho, d),
			fmt.Sprintf("%s eta %sx ~%s: too little traffic", t.Glyphs.Warn, rho, d)))
	}
	return t.Dim.Render(firstFit(w,
		fmt.Sprintf("eta: a %sx regression would roll back in ~%s (%.0f ticks)", rho, d, math.Ceil(e.Ticks)),
		fmt.Sprintf("eta %sx rollback ~%s", rho, d)))
}

// wrapWords breaks s into lines of at most w cells at spaces; continuation
// lines start with indent. A word longer than a line is left for the
// final block to cut.
func wrapWords(s string, w int, indent string) []string {
	words := strings.Fields(s)
	if len(words) == 0 || w <= 0 {
		return []string{s}
	}
	var lines []string
	cur := words[0]
	for _, word := range words[1:] {
		if text.Width(cur)+1+text.Width(word) <= w {
			cur += " " + word
			continue
		}
		lines = append(lines, cur)
		cur = indent + word
	}
	return append(lines, cur)
}

// judgedSummary is the compact layout's canary line with a verdict, long
// and short: "X ROLLBACK at 3m, evidence 354/300" and "X ROLLBACK 3m".
func judgedSummary(t *theme.Theme, v canary.Verdict) (long, short string) {
	glyph, style := decisionStyle(t, v.Decision)
	th := defaultJudgeThresholds()
	word := string(v.Decision)
	if glyph != "" {
		word = glyph + " " + word
	}
	at := health.Age(v.Elapsed)
	short = style(word + " " + at)
	lead := headline(v)
	switch v.Decision {
	case canary.Rollback:
		if lead != nil && lead.Harm >= th.harm {
			return style(fmt.Sprintf("%s at %s, evidence %s/%s", word, at, fmtEvidence(lead.Harm), fmtCountShort(th.harm))), short
		}
		return style(fmt.Sprintf("%s at %s (kill switch)", word, at)), short
	case canary.Promote:
		return style(fmt.Sprintf("%s after %s, every metric cleared", word, at)), short
	case canary.Inconclusive:
		return style(fmt.Sprintf("%s after %s: a human decides", word, at)), short
	case canary.Hold:
		reason := "see the canary pane"
		if len(v.Reasons) > 0 {
			reason = oneLine(v.Reasons[0])
		}
		return style(fmt.Sprintf("%s %s: %s", word, at, reason)), short
	}
	if lead == nil {
		return short, short
	}
	cleared := 0
	for _, m := range v.Metrics {
		if m.Cleared {
			cleared++
		}
	}
	return style(fmt.Sprintf("%s %s: cleared %d/%d, harm %s/%s", word, at, cleared, len(v.Metrics),
		fmtEvidence(lead.Harm), fmtCountShort(th.harm))), short
}

// headline returns the metric with the most harm evidence, nil without
// metrics: what a line about the verdict leads with (and, past the
// threshold, the rollback's trigger).
func headline(v canary.Verdict) *canary.MetricEvidence {
	var lead *canary.MetricEvidence
	for i := range v.Metrics {
		if lead == nil || v.Metrics[i].Harm > lead.Harm {
			lead = &v.Metrics[i]
		}
	}
	return lead
}

// VerdictAlerts merges the canary judge's verdicts into the dashboard's
// alerts: a ROLLBACK is a critical alert that leads the strip, an
// INCONCLUSIVE a warning (a human must decide), a PROMOTE or a HOLD a note.
// For a service with a verdict the judge replaces the dashboard's
// error-ratio rule, as in the Canary pane, so that rule's alert is dropped.
// The root calls it on health.Evaluate's result and keeps the order.
func VerdictAlerts(alerts []health.Alert, verdicts map[sources.ServiceKey]canary.Verdict) []health.Alert {
	if len(verdicts) == 0 {
		return alerts
	}
	keys := make([]sources.ServiceKey, 0, len(verdicts))
	for k := range verdicts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	var rollbacks, others []health.Alert
	for _, k := range keys {
		a, ok := verdictAlert(k, verdicts[k])
		switch {
		case !ok:
		case verdicts[k].Decision == canary.Rollback:
			rollbacks = append(rollbacks, a)
		default:
			others = append(others, a)
		}
	}
	out := make([]health.Alert, 0, len(alerts)+len(keys))
	out = append(out, rollbacks...)
	for _, a := range alerts {
		if a.Pane == health.PaneCanary && a.Service != nil {
			if _, judged := verdicts[*a.Service]; judged {
				continue
			}
		}
		out = append(out, a)
	}
	out = append(out, others...)
	// Keep the strip's contract: most severe first, in a stable order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Severity > out[j].Severity })
	return out
}

// verdictAlert is one verdict as an alert; ok is false for OBSERVING.
func verdictAlert(k sources.ServiceKey, v canary.Verdict) (health.Alert, bool) {
	key := k
	name := safe(k.Name)
	a := health.Alert{Pane: health.PaneCanary, Object: name, Service: &key}
	th := defaultJudgeThresholds()
	trigger := headline(v)
	switch v.Decision {
	case canary.Rollback:
		a.Severity, a.Action = health.Crit, "rollback"
		if trigger != nil && trigger.Harm >= th.harm {
			what := "5xx"
			if trigger.BoundMillis > 0 {
				what = "slower than " + strconv.FormatFloat(trigger.BoundMillis, 'f', -1, 64) + "ms"
			}
			a.Text = fmt.Sprintf("%s canary ROLLBACK: %s %s vs %s (%s), harm evidence %s >= %s", name, what,
				rateCell(trigger.CanaryBad, trigger.CanaryTotal), rateCell(trigger.StableBad, trigger.StableTotal),
				ratioText(trigger.CanaryRate()/trigger.StableRate()), fmtEvidence(trigger.Harm), fmtCountShort(th.harm))
		} else {
			a.Text = name + " canary ROLLBACK: " + explanationBody(v)
		}
	case canary.Inconclusive:
		a.Severity = health.Warn
		a.Text = fmt.Sprintf("%s canary INCONCLUSIVE after %s: keep the split, a human decides", name, health.Age(v.Elapsed))
	case canary.Promote:
		a.Severity, a.Action = health.Info, "promote"
		a.Text = fmt.Sprintf("%s canary PROMOTE: every metric cleared after %s", name, health.Age(v.Elapsed))
	case canary.Hold:
		a.Severity = health.Info
		a.Text = name + " canary HOLD: " + explanationBody(v)
	default:
		return health.Alert{}, false
	}
	return a, true
}

// explanationBody is the explanation without its "DECISION at tick N: "
// lead, which the alert says in its own words.
func explanationBody(v canary.Verdict) string {
	s := oneLine(v.Explanation)
	if _, body, ok := strings.Cut(s, ": "); ok {
		return body
	}
	return s
}
