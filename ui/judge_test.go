package ui

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/sim"
)

// TestDashboardJudgesTheDemoCanary plays the demo's incident through the
// root model's update path: the tracker judges each Prometheus update, the
// ROLLBACK verdict leads the alert strip, the Canary pane draws it, and the
// verdict store hands it to the action pipeline.
func TestDashboardJudgesTheDemoCanary(t *testing.T) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	store := canary.NewStore()
	m := newModel(Options{Thresholds: config.Default().Thresholds, Theme: plainTheme(), Now: p.Now, Verdicts: store}, paneKit())
	m = step(m, sizeMsg([2]int{120, 40}))
	m = playDemo(t, m, p, 6*time.Minute)

	key := sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"}
	v, ok := store.Verdict(key)
	if !ok || v.Decision != canary.Rollback {
		t.Fatalf("published verdict %+v (%v), want ROLLBACK", v.Decision, ok)
	}
	if len(m.alerts) == 0 || !strings.Contains(m.alerts[0].Text, "ROLLBACK") {
		t.Fatalf("first alert %+v, want the judge's ROLLBACK", m.alerts)
	}
	view := m.View()
	checkFrame(t, view, 120, 40)
	lines := strings.Split(view, "\n")
	if !strings.Contains(lines[2], "ROLLBACK") {
		t.Errorf("the alert strip does not lead with the rollback:\n%s", strings.Join(lines[:6], "\n"))
	}
	if !strings.Contains(view, v.Explanation[:30]) && !strings.Contains(view, "ROLLBACK at tick") {
		t.Errorf("the Canary pane does not show the verdict:\n%s", view)
	}
}

// TestGoldenCanaryPaneInTheDemo plays six simulated minutes of the demo's
// Kubernetes and Prometheus updates through the root model, so the judge
// decides, then runs the dashboard under teatest: the Canary pane is zoomed
// with its keys and the frame compared with the golden file. The
// simulation only moves when the test advances it, and the updates are
// applied before the program starts, so the frame is the same on every run.
func TestGoldenCanaryPaneInTheDemo(t *testing.T) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	m := newModel(Options{Thresholds: config.Default().Thresholds, Theme: plainTheme(),
		Now: p.Now, Context: "demo", Namespace: "ml-prod"}, paneKit())
	m = playDemo(t, m, p, 6*time.Minute)

	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("5")})
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("ROLLBACK at tick")) },
		teatest.WithDuration(waitFor), teatest.WithCheckInterval(waitTick))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).View()
	checkFrame(t, view, 120, 40)
	golden.RequireEqual(t, []byte(view))
}

// playDemo reads the demo's MLflow and KFP once, then its Kubernetes and
// Prometheus sources every 5 simulated seconds for the given time, feeding
// each reading through the model's update path as the poller would.
func playDemo(t *testing.T, m Model, p *sim.Platform, until time.Duration) Model {
	t.Helper()
	fetchers := p.Fetchers()
	seq := map[sources.SourceID]uint64{}
	read := func(ids ...sources.SourceID) {
		var batch updatesMsg
		for _, id := range ids {
			part, err := fetchers[id](context.Background())
			if err != nil {
				t.Fatal(err)
			}
			seq[id]++
			batch = append(batch, sources.Update{Status: sources.SourceStatus{ID: id, Health: sources.HealthOK,
				Configured: true, FetchedAt: p.Now(), Seq: seq[id], Interval: 5 * time.Second,
				Live: id == sources.SourceKube}, Part: part})
		}
		m = step(m, batch)
	}
	read(sources.SourceMLflow, sources.SourceKFP)
	for elapsed := time.Duration(0); ; elapsed += 5 * time.Second {
		read(sources.SourceKube, sources.SourceProm)
		if elapsed >= until {
			return m
		}
		p.Advance(5 * time.Second)
	}
}
