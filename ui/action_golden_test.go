package ui

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
)

// startProgram runs the dashboard with o under teatest, feeds it the
// incident and waits until it is on screen.
func startProgram(t *testing.T, o Options, w, h int) *teatest.TestModel {
	t.Helper()
	ch := make(chan sources.Update, 8)
	o.Updates = ch
	tm := teatest.NewTestModel(t, newModel(o, testKit()), teatest.WithInitialTermSize(w, h))
	for _, u := range incident() {
		ch <- u
	}
	waitScreen(t, tm, "kfp STALE")
	return tm
}

// waitScreen waits until everything in want has been drawn since the last
// wait. The renderer redraws only lines that change, so each string must
// be new on screen.
func waitScreen(t *testing.T, tm *teatest.TestModel, want ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, s := range want {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(waitFor), teatest.WithCheckInterval(waitTick))
}

// TestActionFlowEndToEnd runs a rollback through the real program: B on
// the selected fraud-detector, the dialog with its checks and its patch,
// y, the progress footer while Execute is still running, the outcome.
func TestActionFlowEndToEnd(t *testing.T) {
	exec := newFakeExecutor()
	exec.hold = make(chan struct{})
	released := false
	t.Cleanup(func() {
		if !released {
			close(exec.hold)
		}
	})
	refreshed := &refreshLog{}
	o := actionOptions(exec, plainTheme())
	o.Refresh = refreshed.refresh
	tm := startProgram(t, o, 120, 40)

	tm.Send(keyMsg("B"))
	waitScreen(t, tm,
		"Roll back fraud-detector (ml-prod, ctx demo)",
		"● ok   dry-run: server-side dry run accepted",
		"▲ warn min-replicas",
		"spec.predictor.canaryTrafficPercent: 20 -> 0   (merge, resourceVersion 884213)",
		"Roll back now?  [y] yes   [N] no (default)")

	tm.Send(keyMsg("y"))
	// Execute is held after its steps: the footer shows them while it runs.
	waitScreen(t, tm, "rolling back fraud-detector: patched, waiting for traffic 0/100")
	if _, executed, recorded := exec.calls(); len(executed) != 1 || executed[0].ID != "plan-1" || len(recorded) != 0 {
		t.Fatalf("while applying: %d executed, %d recorded", len(executed), len(recorded))
	}
	released = true
	close(exec.hold)
	waitScreen(t, tm, "roll back fraud-detector: succeeded in 4s")

	// The quiet refresh runs on its own goroutine; give it a bounded time.
	deadline := time.Now().Add(waitFor)
	for len(refreshed.asked()) == 0 && time.Now().Before(deadline) {
		time.Sleep(waitTick)
	}
	if got := refreshed.asked(); !slices.Equal(got, []sources.SourceID{sources.SourceKube}) {
		t.Errorf("refreshed %v after the action, want kube alone", got)
	}
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).(Model)
	if final.act.phase != actionIdle || !final.quitting {
		t.Errorf("final phase %d quitting %v", final.act.phase, final.quitting)
	}
}

// TestGoldenActions are the action screens: the dialog as the sketch draws
// it at both sizes (and in ASCII), a blocked and a protected dialog, the
// progress footer, and the footer and help with the action keys.
func TestGoldenActions(t *testing.T) {
	blocked := func(e *fakeExecutor) {
		e.checks = append(e.checks, actions.Check{
			Name: "previous-revision", Status: actions.CheckFail,
			Detail: "previous revision 00001 has no ready pod (scaled to zero)",
			Remedy: "pin minReplicas first (M), or roll back to the previous model",
		})
	}
	protected := func(e *fakeExecutor) { e.protected = true }
	cases := []struct {
		name  string
		ascii bool
		w, h  int
		setup func(*fakeExecutor)
		keys  []string
		// then are keys sent once ready is drawn.
		ready string
		then  []string
		// until is drawn once the keys have taken effect; empty when the
		// keys draw at once (no command runs).
		until string
	}{
		{name: "dialog_80x24", w: 80, h: 24, keys: []string{"B"}, until: "Roll back now?"},
		{name: "dialog_120x40", w: 120, h: 40, keys: []string{"B"}, until: "Roll back now?"},
		{name: "dialog_80x24_ascii", ascii: true, w: 80, h: 24, keys: []string{"B"}, until: "Roll back now?"},
		{name: "blocked_80x24", w: 80, h: 24, setup: blocked, keys: []string{"B"}, until: "blocked: fix the failing checks"},
		{name: "protected_120x40", w: 120, h: 40, setup: protected, keys: []string{"B"}, ready: "is protected", then: []string{"f", "r", "a"}, until: "> fra"},
		{name: "promote_120x40", w: 120, h: 40, keys: []string{"P"}, until: "Promote now?"},
		{name: "applying_80x24", w: 80, h: 24, keys: []string{"B"}, ready: "Roll back now?", then: []string{"y"}, until: "waiting for traffic 0/100"},
		{name: "pin_prompt_80x24", w: 80, h: 24, keys: []string{"G", "M", "3"}, until: "minReplicas [1]: 3"},
		{name: "footer_80x24", w: 80, h: 24},
		{name: "footer_160x48", w: 160, h: 48},
		{name: "help_80x24", w: 80, h: 24, keys: []string{"?"}, until: "roll back the canary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exec := newFakeExecutor()
			exec.hold = make(chan struct{})
			t.Cleanup(func() { close(exec.hold) })
			if c.setup != nil {
				c.setup(exec)
			}
			th := plainTheme()
			if c.ascii {
				th = asciiTheme()
			}
			tm := startProgram(t, actionOptions(exec, th), c.w, c.h)
			for _, k := range c.keys {
				tm.Send(keyMsg(k))
			}
			if c.ready != "" {
				waitScreen(t, tm, c.ready)
			}
			for _, k := range c.then {
				tm.Send(keyMsg(k))
			}
			if c.until != "" {
				waitScreen(t, tm, c.until)
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			view := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).View()
			checkFrame(t, view, c.w, c.h)
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// TestGoldenReadOnly: with a read-only executor the footer and the help are
// those of a dashboard without actions, and the status line says why.
func TestGoldenReadOnly(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		keys []string
	}{
		{"footer_120x40", 120, 40, nil},
		{"help_80x24", 80, 24, []string{"?"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			exec := newFakeExecutor()
			exec.readOnly = true
			tm := startProgram(t, actionOptions(exec, plainTheme()), c.w, c.h)
			for _, k := range c.keys {
				tm.Send(keyMsg(k))
			}
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			view := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).View()
			checkFrame(t, view, c.w, c.h)
			golden.RequireEqual(t, []byte(view))
		})
	}
}
