package panes

import (
	"context"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/sources/sim"
	"github.com/mltop/mltop/ui/theme"
)

// demoRefresh is how often the demo's poller reads Prometheus.
const demoRefresh = 5 * time.Second

// demoInput plays the demo scenario for `at` simulated minutes the way the
// dashboard sees it: the Kubernetes and Prometheus sources read every
// demoRefresh into a board and a canary tracker, then every source once.
// Regenerate the goldens with `go test ./ui/panes -update`.
func demoInput(t *testing.T, th *theme.Theme, scenario string, at time.Duration) Input {
	t.Helper()
	p, err := sim.New(sim.Options{Seed: 1, Scenario: scenario})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := canary.NewTracker(canary.TrackerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	board := sources.NewBoard(nil)
	fetchers := p.Fetchers()
	seq := map[sources.SourceID]uint64{}
	read := func(ids ...sources.SourceID) {
		for _, id := range ids {
			part, err := fetchers[id](context.Background())
			if err != nil {
				t.Fatal(err)
			}
			seq[id]++
			now := p.Now()
			u := sources.Update{Status: sources.SourceStatus{ID: id, Health: sources.HealthOK, Configured: true,
				FetchedAt: now, AttemptedAt: now, Seq: seq[id], Interval: demoRefresh, Live: id == sources.SourceKube}, Part: part}
			board.Apply(u)
			tr.Apply(u)
		}
	}
	for elapsed := time.Duration(0); ; elapsed += demoRefresh {
		read(sources.SourceKube, sources.SourceProm)
		if elapsed >= at {
			break
		}
		p.Advance(demoRefresh)
	}
	read(sources.SourceMLflow, sources.SourceKFP)
	snap := board.Snapshot(p.Now())
	thresholds := config.Default().Thresholds
	verdicts := tr.Verdicts()
	return Input{Snap: snap, Alerts: VerdictAlerts(health.Evaluate(snap, thresholds), verdicts), Thresholds: thresholds,
		Theme: th, Now: p.Now(), Verdicts: verdicts}
}

func TestGoldenCanaryPaneInTheDemo(t *testing.T) {
	incident := demoInput(t, asciiTheme(), sim.ScenarioIncident, 6*time.Minute)
	calm := demoInput(t, asciiTheme(), sim.ScenarioCalm, 4*time.Minute)
	unicode := incident
	unicode.Theme = unicodeTheme()
	for _, c := range []struct {
		name string
		in   Input
		w, h int
	}{
		{"incident_80x20", incident, 80, 20},
		{"incident_120x30", incident, 120, 30},
		{"incident_120x30_unicode", unicode, 120, 30},
		{"calm_80x20", calm, 80, 20},
		{"calm_120x30", calm, 120, 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := paneByID(Canary).Body(c.in, c.w, c.h)
			checkBlock(t, c.name, body, c.w, c.h)
			golden.RequireEqual(t, []byte(plain(body)+"\n"))
		})
	}
}
