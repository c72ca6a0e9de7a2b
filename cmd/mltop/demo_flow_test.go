package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui"
)

// TestDemoDashboardRollsBackTheCanary is the on-call engineer's path in the
// demo, end to end under teatest: the dashboard runs on the simulated
// platform as `mltop demo` builds it (informers over the demo cluster, the
// action executor, the canary judge), the judge calls ROLLBACK, B opens the
// dialog on fraud-detector, the protected namespace asks for the name, the
// footer reports the apply, and the regression is gone from the screen and
// recorded in the audit log.
func TestDemoDashboardRollsBackTheCanary(t *testing.T) {
	state := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "XDG_STATE_HOME": state}
	a := &app{streams: streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard}, env: func(k string) string { return env[k] }}
	cfg := config.Default()
	cfg.UI.NoColor = true
	// Twenty simulated seconds per real one: the regression starts at 3m,
	// so from 2m30s the judge has it within a few real seconds.
	p, err := newDemoPlatform(cfg, demoFlags{scenario: "incident", speed: 20, seed: 1, at: 150 * time.Second}, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, closeCluster, err := a.withDemoCluster(ctx, cfg, p, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeCluster()
	stop := p.run(ctx)
	defer stop()
	poller := sources.NewPoller(p.sources, sources.WithClock(p.clock))
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		_ = poller.Run(ctx)
	}()
	defer func() { cancel(); <-polled }()

	tm := teatest.NewTestModel(t, dashboardModel(cfg, p, poller, io.Discard), teatest.WithInitialTermSize(120, 40))
	// The output is a stream of redrawn lines that each wait consumes: what
	// one step draws is looked for in one wait.
	waitScreen := func(what string, d time.Duration, wants ...string) {
		t.Helper()
		t.Logf("waiting for %s", what)
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			for _, w := range wants {
				if !bytes.Contains(b, []byte(w)) {
					return false
				}
			}
			return true
		}, teatest.WithDuration(d), teatest.WithCheckInterval(20*time.Millisecond))
	}
	waitScreen("the judge's rollback", 30*time.Second, "kube ok", "ROLLBACK at tick")

	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("B")})
	waitScreen("the dialog", 10*time.Second, "Roll back fraud-detector (ml-prod, ctx demo)",
		"canaryTrafficPercent 20 -> 0", "type fraud-detector")
	tm.Type("fraud-detector")
	tm.Send(tea.KeyMsg{Type: tea.KeyEnter})
	// The footer reports the outcome, and the watch shows the canary gone.
	waitScreen("the outcome", 20*time.Second, "roll back fraud-detector: succeeded", "no canary in progress")

	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(ui.Model)
	if v := final.View(); strings.Contains(v, "CRIT fraud-detector canary") {
		t.Errorf("the canary alert is still on screen after the rollback:\n%s", v)
	}
	entries, err := audit.Read(audit.DefaultPath(filepath.Join(state, "mltop")))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Action != "rollback" || entries[0].Service != "fraud-detector" || string(entries[0].Result) != "succeeded" {
		t.Fatalf("audit log: %+v", entries)
	}
}
