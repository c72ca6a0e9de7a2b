package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mltop/mltop/sources/health"
)

// textWidth is where the text report wraps long finding lines: wide enough
// for a ticket, narrow enough for a chat message.
const textWidth = 100

// WriteText prints the document as a plain-text report: no colour, no escape
// sequences, fit for a ticket or a chat message.
func WriteText(w io.Writer, d Document) error {
	p := &printer{w: w}
	p.linef("mltop snapshot  %s  context %s  namespaces %s", d.TakenAt.Format(time.RFC3339), or(d.Context, "-"), or(strings.Join(d.Namespaces, ","), "all"))
	p.line("")

	p.section("SOURCES")
	for _, s := range d.Sources {
		age := ""
		if s.AgeSeconds != nil {
			age = health.Age(time.Duration(*s.AgeSeconds * float64(time.Second)))
		}
		detail := s.Error
		if !s.Configured && s.Hint != "" {
			detail = s.Hint
		}
		p.linef("  %-7s %-6s %-5s %s", s.ID, s.Health, age, detail)
	}

	p.section(fmt.Sprintf("ALERTS (%d)", len(d.Alerts)))
	if len(d.Alerts) == 0 {
		p.line("  none")
	}
	for _, a := range d.Alerts {
		p.linef("  %-4s %-9s %s", a.Severity, a.Pane, a.Text)
	}

	p.section(findingsTitle(d.Findings))
	writeFindings(p, d.Findings, textWidth)

	pl := d.Pipelines
	p.section(fmt.Sprintf("PIPELINES (last %s)", health.Window(time.Duration(pl.WindowSeconds*float64(time.Second)))))
	if pl.SuccessRate != nil {
		p.linef("  success %.1f%%  runs %d  ok %d  failed %d  running %d", 100**pl.SuccessRate, pl.Total, pl.Succeeded, pl.Failed, pl.Running)
	} else {
		p.linef("  runs %d  (no finished run)", pl.Total)
	}
	if pl.AvgDurationSeconds != nil {
		p.linef("  duration avg %s  p95 %s", minutes(*pl.AvgDurationSeconds), minutes(*pl.P95DurationSeconds))
	}
	for _, f := range pl.RecentFailures {
		p.linef("  failed %s  %s: %s", f.CreatedAt.Format("01-02 15:04"), f.Name, f.Error)
	}

	tr := d.Training
	p.section(fmt.Sprintf("TRAINING %s  %s", tr.Experiment, tr.Metric))
	if tr.Latest != nil && tr.Latest.Value != nil {
		line := fmt.Sprintf("  latest %.3f (%s)", *tr.Latest.Value, tr.Latest.Name)
		if tr.Previous != nil && tr.Delta != nil {
			line += fmt.Sprintf("  previous %.3f  delta %+.3f", *tr.Previous.Value, *tr.Delta)
		}
		if tr.Latest.DurationSeconds != nil {
			line += "  train time " + minutes(*tr.Latest.DurationSeconds)
		}
		p.line(line)
	} else {
		p.line("  no run has logged the metric")
	}

	rg := d.Registry
	p.section(fmt.Sprintf("REGISTRY (%d waiting)", len(rg.Waiting)))
	for _, v := range rg.Promoted {
		p.linef("  %s v%s  %s", v.Model, v.Version, or(strings.Join(v.Aliases, ","), v.Stage))
	}
	for _, v := range rg.Waiting {
		wait := ""
		if v.WaitSeconds != nil {
			wait = health.Age(time.Duration(*v.WaitSeconds * float64(time.Second)))
		}
		p.linef("  %s v%s  waiting %s  %s", v.Model, v.Version, wait, v.Status)
	}

	p.section(fmt.Sprintf("SERVING (%d services)", len(d.Serving)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  NAMESPACE/NAME\tMODE\tREADY\tRPS\tERR%\tP99\tMIN\tCANARY\t")
	for _, s := range d.Serving {
		ready := "yes"
		if !s.Ready {
			ready = "NO"
		}
		rps, errp, p99 := "-", "-", "-"
		if s.Traffic != nil {
			rps = fmt.Sprintf("%.1f", s.Traffic.RPS)
			if s.Traffic.ErrorRate != nil {
				errp = fmt.Sprintf("%.2f", 100**s.Traffic.ErrorRate)
			}
			if s.Traffic.P99Ms != nil {
				p99 = fmt.Sprintf("%.0fms", *s.Traffic.P99Ms)
			}
		}
		can := "-"
		if s.CanaryPercent != nil {
			can = fmt.Sprintf("%d%%", *s.CanaryPercent)
		}
		fmt.Fprintf(tw, "  %s/%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", s.Namespace, s.Name, or(s.Mode, "-"), ready, rps, errp, p99, s.MinReplicas, can)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range d.Serving {
		if !s.Ready && s.Reason != "" {
			p.linef("  %s not ready: %s", s.Name, s.Reason)
		}
	}

	p.section(fmt.Sprintf("CANARY (%d)", len(d.Canary)))
	if len(d.Canary) == 0 {
		p.line("  no canary in progress")
	}
	for _, c := range d.Canary {
		p.linef("  %s/%s  %d%% to %s  verdict %s", c.Namespace, c.Service, c.Percent, c.Canary.Revision, c.Verdict)
		p.linef("    stable %-32s %s", c.Stable.Revision, trafficLine(c.Stable.Traffic))
		p.linef("    canary %-32s %s", c.Canary.Revision, trafficLine(c.Canary.Traffic))
	}

	p.section("INFRA")
	for _, g := range d.Infra.GPUs {
		p.linef("  gpu %s/%s %5.1f%%  %s", g.Node, g.Device, g.Util, or(g.Pod, "idle"))
	}
	p.linef("  OOM kills in 24h: %d", len(d.Infra.OOMKills))
	for _, k := range d.Infra.OOMKills {
		p.linef("    %s/%s (%s) at %s", k.Namespace, k.Pod, or(k.Service, "-"), k.At.Format(time.RFC3339))
	}
	return p.err
}

func trafficLine(t *Traffic) string {
	if t == nil {
		return "no metrics"
	}
	parts := []string{fmt.Sprintf("%.1f rps", t.RPS)}
	if t.ErrorRate != nil {
		parts = append(parts, "5xx "+health.Percent(*t.ErrorRate))
	}
	if t.P99Ms != nil {
		parts = append(parts, fmt.Sprintf("p99 %.0fms", *t.P99Ms))
	}
	return strings.Join(parts, "  ")
}

func minutes(sec float64) string {
	return fmt.Sprintf("%.0fm", sec/60)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// printer writes lines and remembers the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, s)
	}
}

func (p *printer) linef(format string, args ...any) { p.line(fmt.Sprintf(format, args...)) }

func (p *printer) section(title string) {
	p.line("")
	p.line(title)
}
