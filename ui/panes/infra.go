package panes

import (
	"fmt"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// infraPane shows GPU utilisation (Prometheus) and the containers killed for
// running out of memory in the last 24 hours (Kubernetes and Prometheus).
type infraPane struct{}

func (infraPane) ID() ID { return Infra }

func (infraPane) Rows(Input) int { return 0 }

func (infraPane) Title(in Input) string {
	prom, kube := feedOf(in, sources.SourceProm), feedOf(in, sources.SourceKube)
	title := "INFRA"
	if prom.usable() {
		title += " " + plural(len(in.Snap.Infra.GPUs), "GPU")
	}
	return titled(title, prom, kube)
}

func (infraPane) Summary(in Input, w int) string {
	t := themeOf(in)
	prom := feedOf(in, sources.SourceProm)
	gpu := "gpu " + prom.word()
	if prom.usable() {
		if gpus := in.Snap.Infra.GPUs; len(gpus) > 0 {
			peak, _ := gpuPeakMean(gpus)
			gpu = joinSpaced(" ", fmt.Sprintf("gpu max %.0f%%", peak), prom.word())
		} else {
			gpu = joinSpaced(" ", "gpu none", prom.word())
		}
	}
	oom := ""
	if oomKnown(in) {
		oom = oomCount(t, in)
	}
	return trunc(t, joinSpaced("  ", gpu, oom), w)
}

// oomKnown reports whether either source that reports OOM kills has data.
func oomKnown(in Input) bool {
	return feedOf(in, sources.SourceKube).usable() || feedOf(in, sources.SourceProm).usable()
}

// oomCount is "OOM 1 !" (the mark past the daily limit).
func oomCount(t *theme.Theme, in Input) string {
	n := len(in.Snap.Infra.OOMKills)
	s := fmt.Sprintf("OOM %d", n)
	if n > in.Thresholds.OOMKillsPerDayMax {
		s += " " + t.Warn.Render(t.Glyphs.Warn)
	}
	return s
}

func gpuPeakMean(gpus []sources.GPU) (peak, mean float64) {
	for _, g := range gpus {
		peak = max(peak, g.Util)
		mean += g.Util
	}
	return peak, mean / float64(len(gpus))
}

func (infraPane) Body(in Input, w, h int) string {
	t := themeOf(in)
	if w <= 0 || h <= 0 {
		return ""
	}
	prom, kube := feedOf(in, sources.SourceProm), feedOf(in, sources.SourceKube)
	var lines []ranked
	if prom.usable() {
		lines = append(lines, gpuLines(in, t, w)...)
	} else {
		for _, l := range prom.blocked() {
			lines = append(lines, ranked{3, l})
		}
	}
	if oomKnown(in) {
		lines = append(lines, oomLines(in, t, w)...)
	} else if !kube.usable() && prom.usable() {
		lines = append(lines, ranked{4, t.Dim.Render("OOM kills: kube " + kube.word())})
	}
	for i, f := range []feed{prom, kube} {
		if n := f.note(); n != "" && f.usable() {
			lines = append(lines, ranked{7 + i, n})
		}
	}
	return block(t, keepRanked(lines, h), w, h)
}

// gpuLines is a heading, one gauge per GPU and the fleet's trend.
func gpuLines(in Input, t *theme.Theme, w int) []ranked {
	gpus := in.Snap.Infra.GPUs
	if len(gpus) == 0 {
		return []ranked{{3, t.Dim.Render("no GPU utilisation reported")}}
	}
	peak, mean := gpuPeakMean(gpus)
	lines := []ranked{{1, firstFit(w, fmt.Sprintf("GPU util  max %.0f%%  mean %.0f%%", peak, mean),
		fmt.Sprintf("GPU max %.0f%% mean %.0f%%", peak, mean))}}

	labels := make([]string, len(gpus))
	labelW := 0
	for i, g := range gpus {
		labels[i] = joinSpaced("/", safe(g.Node), safe(g.Device))
		labelW = max(labelW, text.Width(labels[i]))
	}
	labelW = min(labelW, max(w/3, 6))
	const pctW = 5 // " 100%"
	barW := min(22, w-labelW-1-pctW)
	for i, g := range gpus {
		s := fit(t, labels[i], labelW) + " "
		if barW >= 5 {
			s += t.Chart.Render(gauge(t.Glyphs, g.Util/100, barW))
		}
		s += text.PadLeft(fmt.Sprintf("%.0f%%", g.Util), pctW)
		s = appendFit(t, s, "  ", safe(g.Pod), w, 8)
		if g.MemTotMB > 0 {
			s = appendFit(t, s, "  ", t.Dim.Render(fmt.Sprintf("mem %.1f/%.1fG", g.MemUsedMB/1024, g.MemTotMB/1024)), w, 14)
		}
		lines = append(lines, ranked{2, s})
	}
	if trend := in.Snap.Infra.GPUTrend; len(trend) >= 2 {
		const label = "mean 1h "
		if room := w - len(label); room >= 4 {
			lines = append(lines, ranked{6, label + t.Chart.Render(spark(t, sources.Values(trend), room, 0, 100))})
		}
	}
	return lines
}

// oomLines is "OOM 24h: 1 ! > 0  2h ago image-embedder image-embedder-predictor-..."
// and one line per further kill. The age leads so a cut keeps it.
func oomLines(in Input, t *theme.Theme, w int) []ranked {
	kills := in.Snap.Infra.OOMKills
	head := fmt.Sprintf("OOM 24h: %d", len(kills))
	if len(kills) > in.Thresholds.OOMKillsPerDayMax {
		head = firstFit(w-8, head+" "+t.Warn.Render(fmt.Sprintf("%s > %d", t.Glyphs.Warn, in.Thresholds.OOMKillsPerDayMax)),
			head+" "+t.Warn.Render(t.Glyphs.Warn))
	}
	describe := func(lead string, k sources.OOMKill) string {
		s := lead + " " + t.Dim.Render(ago(in.Now, k.At))
		s = appendFit(t, s, " ", safe(k.Service), w, 8)
		return appendFit(t, s, " ", safe(k.Pod), w, 8)
	}
	if len(kills) == 0 {
		return []ranked{{0, head}}
	}
	lines := []ranked{{0, describe(head+" ", kills[0])}}
	for _, k := range kills[1:] {
		lines = append(lines, ranked{5, describe(" ", k)})
	}
	return lines
}
