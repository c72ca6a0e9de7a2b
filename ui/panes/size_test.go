package panes

import (
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/text"
)

// variant is one state of the world a pane must draw in any size.
type variant struct {
	name string
	in   func(Input) Input
}

func variants() []variant {
	all := func(st func(sources.SourceID) sources.SourceStatus) func(Input) Input {
		return func(in Input) Input {
			for _, id := range sources.AllSources() {
				in = withSource(in, st(id))
			}
			return in
		}
	}
	return []variant{
		{"ok", func(in Input) Input { return in }},
		{"focused", func(in Input) Input { in.Focused, in.Cursor = true, 2; return in }},
		{"zoomed", func(in Input) Input { in.Focused, in.Zoomed = true, true; return in }},
		{"cursor-past-end", func(in Input) Input { in.Focused, in.Cursor = true, 999; return in }},
		{"filtered-empty", func(in Input) Input { in.Filter = "zzz"; return in }},
		{"selected", func(in Input) Input {
			in.Selected = sources.ServiceKey{Namespace: "ml-prod", Name: "churn-model"}
			return in
		}},
		{"stale", all(staleStatus)},
		{"off", all(offStatus)},
		{"pending", all(pendingStatus)},
		{"down", all(downStatus)},
		{"prom-down", func(in Input) Input { return withSource(in, downStatus(sources.SourceProm)) }},
		{"empty", func(in Input) Input {
			in.Snap = sources.Snapshot{At: in.Now, Sources: in.Snap.Sources}
			in.Alerts = nil
			return in
		}},
	}
}

// sizes covers the tiny, the compact 80x24 pieces and the zoomed 160x48.
func sizes() [][2]int {
	var out [][2]int
	for _, w := range []int{1, 2, 3, 5, 8, 13, 20, 27, 33, 40, 44, 57, 64, 80, 99, 120, 160} {
		for _, h := range []int{1, 2, 3, 4, 5, 7, 10, 13, 24, 48} {
			out = append(out, [2]int{w, h})
		}
	}
	return out
}

// checkBlock fails unless s is exactly w cells by h lines with no control
// character once styling is stripped.
func checkBlock(t *testing.T, label, s string, w, h int) {
	t.Helper()
	lines := strings.Split(s, "\n")
	if len(lines) != h {
		t.Fatalf("%s: %d lines, want %d:\n%s", label, len(lines), h, s)
	}
	for i, l := range lines {
		if got := text.Width(l); got != w {
			t.Fatalf("%s: line %d is %d cells, want %d: %q", label, i, got, w, l)
		}
		if r, ok := controlRune(plain(l)); ok {
			t.Fatalf("%s: line %d holds control character %U: %q", label, i, r, l)
		}
	}
}

func controlRune(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) || r == 0x1b {
			return r, true
		}
	}
	return 0, false
}

func TestEveryBodyIsExactlyItsSize(t *testing.T) {
	for themeName, th := range themes() {
		for _, v := range variants() {
			in := v.in(fixtureInput(th))
			for _, p := range All() {
				for _, sz := range sizes() {
					w, h := sz[0], sz[1]
					label := fmt.Sprintf("%s/%s/pane %d/%dx%d", themeName, v.name, p.ID(), w, h)
					checkBlock(t, label, p.Body(in, w, h), w, h)
				}
			}
		}
	}
}

func TestAlertStripIsExactlyItsSize(t *testing.T) {
	for themeName, th := range themes() {
		for _, v := range variants() {
			in := v.in(fixtureInput(th))
			for _, sz := range sizes() {
				w, h := sz[0], sz[1]
				checkBlock(t, fmt.Sprintf("%s/%s/strip/%dx%d", themeName, v.name, w, h), AlertStrip(in, w, h), w, h)
			}
		}
	}
}

func TestZeroSizesDrawNothing(t *testing.T) {
	in := fixtureInput(asciiTheme())
	for _, p := range All() {
		for _, sz := range [][2]int{{0, 0}, {0, 5}, {5, 0}, {-1, 3}} {
			if got := p.Body(in, sz[0], sz[1]); got != "" {
				t.Errorf("pane %d at %v drew %q", p.ID(), sz, got)
			}
		}
	}
	if got := AlertStrip(in, 0, 2); got != "" {
		t.Errorf("strip at width 0 drew %q", got)
	}
}

func TestSummariesAndTitlesAreOneLineThatFits(t *testing.T) {
	for themeName, th := range themes() {
		for _, v := range variants() {
			in := v.in(fixtureInput(th))
			for _, p := range All() {
				title := p.Title(in)
				if strings.Contains(title, "\n") || title == "" {
					t.Errorf("%s/%s: pane %d title %q", themeName, v.name, p.ID(), title)
				}
				for _, w := range []int{1, 10, 24, 40, 80} {
					s := p.Summary(in, w)
					if strings.Contains(s, "\n") || text.Width(s) > w {
						t.Errorf("%s/%s: pane %d summary at %d is %d cells: %q", themeName, v.name, p.ID(), w, text.Width(s), s)
					}
				}
			}
		}
	}
}

func TestAllReturnsTheSixPanesInIDOrder(t *testing.T) {
	panes := All()
	ids := IDs()
	if len(panes) != len(ids) {
		t.Fatalf("%d panes, want %d", len(panes), len(ids))
	}
	for i, p := range panes {
		if p.ID() != ids[i] {
			t.Errorf("pane %d has ID %d, want %d", i, p.ID(), ids[i])
		}
	}
}

// hostile puts escape sequences and control characters in every free-text
// field a pane draws.
func hostile(in Input) Input {
	const evil = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x1b[0m\r\n\tbell\a \x9b31m"
	snap := in.Snap
	snap.Serving = append([]sources.ServiceRow(nil), snap.Serving...)
	for i := range snap.Serving {
		snap.Serving[i].Name += evil
		snap.Serving[i].Reason = evil + snap.Serving[i].Reason
		snap.Serving[i].Ready = false
	}
	snap.Canaries = append([]sources.CanaryView(nil), snap.Canaries...)
	for i := range snap.Canaries {
		snap.Canaries[i].Key.Name += evil
		snap.Canaries[i].CanaryRevision += evil
	}
	snap.Pipelines.Runs = append([]sources.PipelineRun(nil), snap.Pipelines.Runs...)
	for i := range snap.Pipelines.Runs {
		snap.Pipelines.Runs[i].Name += evil
		snap.Pipelines.Runs[i].Error = evil
	}
	snap.Training.Experiment += evil
	snap.Training.Metric += evil
	snap.Training.Runs = append([]sources.TrainingRun(nil), snap.Training.Runs...)
	for i := range snap.Training.Runs {
		snap.Training.Runs[i].Name += evil
	}
	snap.Registry.Waiting = append([]sources.ModelVersion(nil), snap.Registry.Waiting...)
	for i := range snap.Registry.Waiting {
		snap.Registry.Waiting[i].Model += evil
		snap.Registry.Waiting[i].Status = evil
	}
	snap.Registry.Promoted = append([]sources.ModelVersion(nil), snap.Registry.Promoted...)
	for i := range snap.Registry.Promoted {
		snap.Registry.Promoted[i].Version += evil
	}
	snap.Infra.GPUs = append([]sources.GPU(nil), snap.Infra.GPUs...)
	for i := range snap.Infra.GPUs {
		snap.Infra.GPUs[i].Node += evil
		snap.Infra.GPUs[i].Pod += evil
	}
	snap.Infra.OOMKills = append([]sources.OOMKill(nil), snap.Infra.OOMKills...)
	for i := range snap.Infra.OOMKills {
		snap.Infra.OOMKills[i].Pod += evil
		snap.Infra.OOMKills[i].Service += evil
	}
	snap.Namespaces = []string{"ml-prod" + evil}
	srcs := append([]sources.SourceStatus(nil), snap.Sources...)
	for i := range srcs {
		srcs[i].Err, srcs[i].Hint = evil, evil
	}
	snap.Sources = srcs
	in.Snap = snap
	for i := range in.Alerts {
		in.Alerts[i].Text += evil
		in.Alerts[i].Object += evil
	}
	in.Filter = ""
	return in
}

func TestNoControlCharacterReachesTheTerminal(t *testing.T) {
	th := asciiTheme() // no colour: any escape in the output came from the data
	for _, v := range variants() {
		in := hostile(v.in(fixtureInput(th)))
		if len(in.Snap.Serving) > 0 {
			in.Selected = in.Snap.Serving[0].Key()
		}
		for _, p := range All() {
			for _, sz := range [][2]int{{20, 3}, {80, 12}, {160, 48}} {
				body := p.Body(in, sz[0], sz[1])
				if strings.ContainsRune(body, 0x1b) {
					t.Fatalf("%s: pane %d body holds ESC: %q", v.name, p.ID(), body)
				}
				checkBlock(t, fmt.Sprintf("%s/pane %d", v.name, p.ID()), body, sz[0], sz[1])
			}
			for _, s := range []string{p.Title(in), p.Summary(in, 200)} {
				if r, ok := controlRune(s); ok {
					t.Fatalf("%s: pane %d title/summary holds %U: %q", v.name, p.ID(), r, s)
				}
			}
		}
		strip := AlertStrip(in, 160, 6)
		if r, ok := controlRune(strings.ReplaceAll(strip, "\n", "")); ok {
			t.Fatalf("%s: alert strip holds %U: %q", v.name, r, strip)
		}
	}
}
