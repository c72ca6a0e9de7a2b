package panes

import (
	"fmt"
	"math"
	"strings"

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
			peak, _, ok := gpuPeakMean(gpus)
			gpu = joinSpaced(" ", "gpu max "+fmtUtil(peak, ok), prom.word())
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

// gpuUtil is a GPU's utilisation clamped to 0..100, and false when the
// exporter gave no number (NaN): a negative or over-100 reading is a
// scrape glitch, not a fact to draw past the end of the bar.
func gpuUtil(g sources.GPU) (float64, bool) {
	if math.IsNaN(g.Util) {
		return 0, false
	}
	return math.Min(math.Max(g.Util, 0), 100), true
}

// fmtUtil formats a utilisation percent, "-" when unknown.
func fmtUtil(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", v)
}

// gpuPeakMean is the fleet's highest and mean utilisation over the GPUs
// that reported one; false when none did.
func gpuPeakMean(gpus []sources.GPU) (peak, mean float64, ok bool) {
	n := 0
	for _, g := range gpus {
		u, known := gpuUtil(g)
		if !known {
			continue
		}
		peak = max(peak, u)
		mean += u
		n++
	}
	if n == 0 {
		return 0, 0, false
	}
	return peak, mean / float64(n), true
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
//
// A GPU is named node/device. The bar shrinks before the name does; when
// even a short bar leaves no room for the full names, the nodes' common
// prefix ("gpu-node-") is dropped and named once ("nodes gpu-node-*"), so
// rows read "a/0", "b/1" instead of the cut "gpu-node...". Its memory, in a
// column, and the pod using it follow when the row has room.
func gpuLines(in Input, t *theme.Theme, w int) []ranked {
	gpus := in.Snap.Infra.GPUs
	if len(gpus) == 0 {
		return []ranked{{3, t.Dim.Render("no GPU utilisation reported")}}
	}
	const pctW = 5    // " 100%"
	const minBarW = 7 // "[#####]"
	labels, prefix := gpuLabels(gpus, "")
	if labelWidth(labels)+1+minBarW+pctW > w {
		if short, p := gpuLabels(gpus, commonNodePrefix(gpus)); p != "" {
			labels, prefix = short, p
		}
	}
	labelW := min(labelWidth(labels), max(w-1-pctW, 1))
	barW := min(22, w-labelW-1-pctW)

	peak, mean, ok := gpuPeakMean(gpus)
	long := fmt.Sprintf("GPU util  max %s  mean %s", fmtUtil(peak, ok), fmtUtil(mean, ok))
	short := fmt.Sprintf("GPU max %s mean %s", fmtUtil(peak, ok), fmtUtil(mean, ok))
	lines := []ranked{{1, firstFit(w, long, short)}}
	if prefix != "" {
		// The shortened names need the prefix said: in the heading when it
		// fits there, else on a line of its own.
		nodes := "nodes " + prefix + "*"
		if head := firstFit(w, long+"  "+nodes, short+"  "+nodes); text.Width(head) <= w {
			lines[0].text = head
		} else {
			lines = append(lines, ranked{4, t.Dim.Render(nodes)})
		}
	}

	memW := 0
	mems := make([]string, len(gpus))
	for i, g := range gpus {
		if g.MemTotMB > 0 && !math.IsNaN(g.MemUsedMB) {
			mems[i] = fmt.Sprintf("mem %.1f/%.1fG", g.MemUsedMB/1024, g.MemTotMB/1024)
			memW = max(memW, len(mems[i]))
		}
	}
	for i, g := range gpus {
		u, known := gpuUtil(g)
		s := fit(t, labels[i], labelW) + " "
		if barW >= minBarW {
			s += t.Chart.Render(gauge(t.Glyphs, u/100, barW))
		}
		s += text.PadLeft(fmtUtil(u, known), pctW)
		if memW > 0 && text.Width(s)+2+memW <= w {
			s += "  " + t.Dim.Render(text.Fit(mems[i], memW, ""))
		}
		s = appendFit(t, s, "  ", safe(g.Pod), w, 12)
		lines = append(lines, ranked{2, s})
	}
	if trend := in.Snap.Infra.GPUTrend; len(trend) >= 2 {
		const label = "mean util 1h "
		if room := w - len(label); room >= 4 {
			lines = append(lines, ranked{6, label + t.Chart.Render(spark(t, sources.Values(trend), room, 0, 100))})
		}
	}
	return lines
}

// gpuLabels names each GPU node/device, without prefix at the start of the
// node name. It returns the prefix it dropped.
func gpuLabels(gpus []sources.GPU, prefix string) ([]string, string) {
	labels := make([]string, len(gpus))
	for i, g := range gpus {
		node := safe(g.Node)
		if prefix != "" {
			node = strings.TrimPrefix(node, prefix)
		}
		labels[i] = joinSpaced("/", node, safe(g.Device))
	}
	return labels, prefix
}

func labelWidth(labels []string) int {
	w := 0
	for _, l := range labels {
		w = max(w, text.Width(l))
	}
	return w
}

// commonNodePrefix is the start all node names share, up to and including
// its last '-' or '.', so what is left of each name is a whole part of it
// ("gpu-node-a", "gpu-node-b" share "gpu-node-"). Empty when there is none.
func commonNodePrefix(gpus []sources.GPU) string {
	prefix := safe(gpus[0].Node)
	for _, g := range gpus[1:] {
		node := safe(g.Node)
		n := 0
		for n < len(prefix) && n < len(node) && prefix[n] == node[n] {
			n++
		}
		prefix = prefix[:n]
	}
	// Cut back to a separator, and never to a whole node name.
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] == '-' || prefix[i] == '.' {
			prefix = prefix[:i+1]
			for _, g := range gpus {
				if len(safe(g.Node)) <= len(prefix) {
					return ""
				}
			}
			return prefix
		}
	}
	return ""
}

// oomLines is "OOM 24h: 1 ! > 0  2h ago image-embedder image-embedder-predictor-..."
// and one line per further kill, or, when the first kill's service does not
// fit beside the count, the count and then a line per kill. The age leads
// so a cut keeps it.
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
	// The first kill shares the count's line when its service fits whole
	// there; otherwise every kill gets a line of its own, so a narrow pane
	// still says what was killed.
	service := safe(kills[0].Service)
	if service == "" {
		service = safe(kills[0].Pod)
	}
	if text.Width(head)+2+len("23h ago ")+text.Width(service) <= w {
		lines := []ranked{{0, describe(head+" ", kills[0])}}
		for _, k := range kills[1:] {
			lines = append(lines, ranked{5, describe(" ", k)})
		}
		return lines
	}
	lines := []ranked{{0, head}}
	for i, k := range kills {
		rank := 5
		if i == 0 {
			rank = 3
		}
		lines = append(lines, ranked{rank, describe(" ", k)})
	}
	return lines
}
