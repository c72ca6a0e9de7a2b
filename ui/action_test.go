package ui

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/dialog"
	"github.com/mltop/mltop/ui/theme"
)

func TestRollbackKeyPlansOnTheSelectedService(t *testing.T) {
	exec := newFakeExecutor()
	m := loadedWith(exec, plainTheme(), 120, 40)
	if m.selected != svcKey("fraud-detector") {
		t.Fatalf("selection %v, want the worst alert's service", m.selected)
	}
	m, cmd := press(m, "B")
	if cmd == nil || m.act.phase != actionPlanning {
		t.Fatalf("B: phase %d, command %v; want planning", m.act.phase, cmd != nil)
	}
	if planned, _, _ := exec.calls(); len(planned) != 0 {
		t.Fatal("Plan was called inside Update, not in the command")
	}
	if !strings.Contains(lastLine(m.View()), "planning roll back fraud-detector") {
		t.Errorf("footer while planning: %q", lastLine(m.View()))
	}
	m, cmd = feed(m, cmd)
	if m.act.phase != actionChecking || cmd == nil {
		t.Fatalf("after the plan: phase %d", m.act.phase)
	}
	m, _ = feed(m, cmd)
	if m.act.phase != actionConfirming {
		t.Fatalf("after the preflight: phase %d, want the dialog", m.act.phase)
	}
	planned, _, _ := exec.calls()
	want := actions.Request{Kind: actions.Rollback, Namespace: ns, Name: "fraud-detector"}
	if len(planned) != 1 || planned[0] != want {
		t.Errorf("planned %+v, want %+v", planned, want)
	}
	v := m.View()
	checkFrame(t, v, 120, 40)
	for _, s := range []string{
		"Roll back fraud-detector (ml-prod, ctx demo)",
		"canaryTrafficPercent 20 -> 0: all traffic to fraud-detector-predictor-00001",
		"ROLLBACK at 3m",
		"● ok   access: you may patch inferenceservices in ml-prod",
		"▲ warn min-replicas: minReplicas 1",
		"-> pin minReplicas 2 first: M",
		"spec.predictor.canaryTrafficPercent: 20 -> 0   (merge, resourceVersion 884213)",
		"Roll back now?  [y] yes   [N] no (default)",
	} {
		if !strings.Contains(v, s) {
			t.Errorf("dialog lacks %q:\n%s", s, v)
		}
	}
}

func TestDialogDefaultIsNoAndIsRecorded(t *testing.T) {
	for _, k := range []string{"enter", "esc", "n", "N", "Y", "q", "j", "?", "space"} {
		t.Run(k, func(t *testing.T) {
			exec := newFakeExecutor()
			m := openDialog(loadedWith(exec, plainTheme(), 120, 40), "B")
			m, cmd := press(m, k)
			if m.act.phase != actionIdle || m.quitting || m.helpOpen {
				t.Fatalf("%s: phase %d quit %v help %v; want the dialog closed and nothing else", k, m.act.phase, m.quitting, m.helpOpen)
			}
			if _, executed, _ := exec.calls(); len(executed) != 0 {
				t.Fatalf("%s applied the plan", k)
			}
			m, _ = feed(m, cmd)
			_, _, recorded := exec.calls()
			if len(recorded) != 1 || recorded[0].Result != actions.Declined || recorded[0].PlanID != "plan-1" {
				t.Fatalf("%s recorded %+v, want one Declined outcome of plan-1", k, recorded)
			}
			if !strings.Contains(lastLine(m.View()), "roll back fraud-detector: declined, nothing changed") {
				t.Errorf("footer after no: %q", lastLine(m.View()))
			}
		})
	}
}

func TestBlockedPreflightCannotBeConfirmed(t *testing.T) {
	exec := newFakeExecutor()
	exec.checks = append(exec.checks, actions.Check{
		Name: "previous-revision", Status: actions.CheckFail,
		Detail: "previous revision 00001 has 0/0 pods ready: traffic would go nowhere",
		Remedy: "roll back to the previous model (mltop rollback --to-previous-model) or pin minReplicas first",
	})
	m := openDialog(loadedWith(exec, plainTheme(), 80, 24), "B")
	v := m.View()
	checkFrame(t, v, 80, 24)
	for _, s := range []string{"✗ FAIL previous-revision", "blocked: fix the failing checks"} {
		if !strings.Contains(v, s) {
			t.Errorf("blocked dialog lacks %q:\n%s", s, v)
		}
	}
	if strings.Contains(v, "[y] yes") {
		t.Errorf("a blocked dialog offers yes:\n%s", v)
	}
	m, cmd := press(m, "y")
	if m.act.phase != actionConfirming || cmd != nil {
		t.Fatalf("y on a blocked plan: phase %d, command %v", m.act.phase, cmd != nil)
	}
	m, cmd = press(m, "enter")
	if m.act.phase != actionIdle {
		t.Fatal("enter did not close the blocked dialog")
	}
	m, _ = feed(m, cmd)
	_, executed, recorded := exec.calls()
	if len(executed) != 0 {
		t.Error("a blocked plan was applied")
	}
	if len(recorded) != 1 || recorded[0].Result != actions.Refused || !strings.Contains(recorded[0].Message, "previous-revision") {
		t.Errorf("recorded %+v, want Refused naming the failing check", recorded)
	}
	if !strings.Contains(lastLine(m.View()), "refused") {
		t.Errorf("footer after closing: %q", lastLine(m.View()))
	}
}

func TestProtectedNamespaceNeedsTheTypedName(t *testing.T) {
	exec := newFakeExecutor()
	exec.protected = true
	m := openDialog(loadedWith(exec, plainTheme(), 120, 40), "B")
	if v := m.View(); !strings.Contains(v, "ml-prod is protected: type fraud-detector and press enter") {
		t.Fatalf("protected dialog does not ask for the name:\n%s", v)
	}
	// y and a wrong name do nothing: no answer, nothing applied.
	m = typeText(m, "y")
	m, cmd := press(m, "enter")
	if m.act.phase != actionConfirming || cmd != nil {
		t.Fatalf("enter on %q: phase %d, command %v", m.act.confirm.Typed(), m.act.phase, cmd != nil)
	}
	if !strings.Contains(m.View(), "not the service's name") {
		t.Errorf("a wrong name is not called wrong:\n%s", m.View())
	}
	m, _ = press(m, "ctrl+u")
	m = typeText(m, "fraud-detectr")
	m, cmd = press(m, "enter")
	if m.act.phase != actionConfirming || cmd != nil {
		t.Fatalf("a misspelt name confirmed: phase %d", m.act.phase)
	}
	m, _ = press(m, "backspace", "backspace")
	m = typeText(m, "tor")
	m, cmd = press(m, "enter")
	if m.act.phase != actionApplying || cmd == nil {
		t.Fatalf("the right name did not apply: phase %d typed %q", m.act.phase, m.act.confirm.Typed())
	}
	for _, msg := range batch(cmd) {
		m = step(m, msg)
	}
	if _, executed, _ := exec.calls(); len(executed) != 1 {
		t.Errorf("executed %d plans, want 1", len(executed))
	}

	// esc still says no in a protected namespace.
	m = openDialog(m, "B")
	m = typeText(m, "fraud")
	m, cmd = press(m, "esc")
	m, _ = feed(m, cmd)
	if _, _, recorded := exec.calls(); m.act.phase != actionIdle || len(recorded) != 1 || recorded[0].Result != actions.Declined {
		t.Errorf("esc in a protected dialog: phase %d recorded %+v", m.act.phase, recorded)
	}
}

func TestYesAppliesAndTheOutcomeIsShown(t *testing.T) {
	exec := newFakeExecutor()
	refreshed := &refreshLog{}
	o := actionOptions(exec, plainTheme())
	o.Refresh = refreshed.refresh
	m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 120, Height: 40})
	m = openDialog(m, "B")
	m, cmd := press(m, "y")
	if m.act.phase != actionApplying {
		t.Fatalf("y: phase %d", m.act.phase)
	}
	if !strings.Contains(lastLine(m.View()), "rolling back fraud-detector: applying") {
		t.Errorf("footer before any progress: %q", lastLine(m.View()))
	}
	msgs := batch(cmd) // Execute ran to its end; the pump got the first step
	var outcome tea.Msg
	for _, msg := range msgs {
		switch msg.(type) {
		case outcomeMsg:
			outcome = msg
		case progressMsg:
			var next tea.Cmd
			m, next = feed(m, func() tea.Msg { return msg })
			// The pump is re-armed after each step and ends when the
			// mailbox closes.
			for next != nil {
				m, next = feed(m, next)
			}
		}
	}
	if got := lastLine(m.View()); !strings.Contains(got, "rolling back fraud-detector: patched, waiting for traffic 0/100") {
		t.Errorf("progress footer: %q", got)
	}
	m, cmd = feed(m, func() tea.Msg { return outcome })
	if m.act.phase != actionIdle {
		t.Fatalf("after the outcome: phase %d", m.act.phase)
	}
	if got := lastLine(m.View()); !strings.Contains(got, "roll back fraud-detector: succeeded in 4s") {
		t.Errorf("outcome notice: %q", got)
	}
	if refreshed.asked() != nil {
		t.Fatal("Refresh called inside Update")
	}
	feed(m, cmd)
	if got := refreshed.asked(); !slices.Equal(got, []sources.SourceID{sources.SourceKube}) {
		t.Errorf("refreshed %v after the action, want kube", got)
	}
	_, executed, recorded := exec.calls()
	if len(executed) != 1 || executed[0].ID != "plan-1" || len(recorded) != 0 {
		t.Errorf("executed %d, recorded %d; Execute writes its own audit line", len(executed), len(recorded))
	}
	// The notice goes away with time.
	m.notice.until = fixtureNow
	m = step(m, tickMsg{})
	if strings.Contains(lastLine(m.View()), "succeeded") {
		t.Errorf("the notice outlived its time: %q", lastLine(m.View()))
	}
}

func TestFailedOutcomesSayWhy(t *testing.T) {
	cases := []struct {
		o    actions.Outcome
		want string
	}{
		{actions.Outcome{Result: actions.Failed, Message: "patch: the server rejected it\x1b[2J"}, "roll back fraud-detector: failed: patch: the server rejected it"},
		{actions.Outcome{Result: actions.TimedOut, Duration: 120e9, Message: "traffic 20/100 after 2m"}, "roll back fraud-detector: timed-out in 2m: traffic 20/100 after 2m"},
		{actions.Outcome{Result: actions.Conflict, Message: "the service changed"}, "roll back fraud-detector: conflict: the service changed"},
		{actions.Outcome{Result: actions.Refused, Message: "another action runs on fraud-detector"}, "roll back fraud-detector: refused: another action runs"},
	}
	for _, c := range cases {
		t.Run(string(c.o.Result), func(t *testing.T) {
			exec := newFakeExecutor()
			exec.outcome = c.o
			m := openDialog(loadedWith(exec, plainTheme(), 160, 48), "B")
			m, cmd := press(m, "y")
			for _, msg := range batch(cmd) {
				if _, ok := msg.(outcomeMsg); ok {
					m = step(m, msg)
				}
			}
			got := lastLine(m.View())
			if !strings.Contains(got, c.want) || strings.Contains(got, "\x1b") {
				t.Errorf("notice %q, want %q", got, c.want)
			}
		})
	}
}

func TestConflictShowsTheReplannedChanges(t *testing.T) {
	exec := newFakeExecutor()
	replanned := fakePlan("plan-9", actions.Request{Kind: actions.Rollback, Namespace: ns, Name: "fraud-detector"}, 50, "884299", false)
	exec.outcome = actions.Outcome{Result: actions.Conflict, Message: "resourceVersion 884213 is gone", Replanned: &replanned}
	m := openDialog(loadedWith(exec, plainTheme(), 120, 40), "B")
	m, cmd := press(m, "y")
	for _, msg := range batch(cmd) {
		if _, ok := msg.(outcomeMsg); ok {
			m, cmd = feed(m, func() tea.Msg { return msg })
		}
	}
	if m.act.phase != actionChecking || m.act.plan.ID != "plan-9" {
		t.Fatalf("after a conflict: phase %d plan %q; want the new plan checked", m.act.phase, m.act.plan.ID)
	}
	for _, msg := range batch(cmd) {
		m = step(m, msg) // the preflight and the quiet refresh
	}
	if m.act.phase != actionConfirming {
		t.Fatalf("the replanned dialog did not open: phase %d", m.act.phase)
	}
	v := m.View()
	for _, s := range []string{"the service changed since the last plan", "canaryTrafficPercent: 50 -> 0", "resourceVersion 884299"} {
		if !strings.Contains(v, s) {
			t.Errorf("replanned dialog lacks %q:\n%s", s, v)
		}
	}
	// Deciding again: y applies the new plan, not the old one.
	exec.mu.Lock()
	exec.outcome = actions.Outcome{Result: actions.Succeeded}
	exec.mu.Unlock()
	m, cmd = press(m, "y")
	for _, msg := range batch(cmd) {
		m = step(m, msg)
	}
	_, executed, _ := exec.calls()
	if len(executed) != 2 || executed[1].ID != "plan-9" {
		t.Errorf("executed %v, want plan-1 then plan-9", executed)
	}
	if m.act.phase != actionIdle || m.act.replanned {
		t.Errorf("after the second apply: phase %d replanned %v", m.act.phase, m.act.replanned)
	}
}

func TestStaleMessagesAreIgnored(t *testing.T) {
	exec := newFakeExecutor()
	m := loadedWith(exec, plainTheme(), 120, 40)

	// A plan for an attempt the user cancelled never opens anything.
	m, oldPlan := press(m, "B")
	m, _ = press(m, "esc")
	if m.act.phase != actionIdle || !strings.Contains(lastLine(m.View()), "cancelled") {
		t.Fatalf("esc while planning: phase %d footer %q", m.act.phase, lastLine(m.View()))
	}
	stale := oldPlan()
	m, newPlan := press(m, "P")
	m = step(m, stale)
	if m.act.phase != actionPlanning || m.act.req.Kind != actions.Promote {
		t.Fatalf("a cancelled attempt's plan was taken: phase %d kind %s", m.act.phase, m.act.req.Kind)
	}
	m, check := feed(m, newPlan)
	if m.act.plan.Request.Kind != actions.Promote {
		t.Fatalf("checking %s, want the promote", m.act.plan.Request.Kind)
	}

	// A preflight of another plan does not open the dialog.
	m = step(m, preflightMsg{planID: "plan-1", pre: actions.Preflight{PlanID: "plan-1"}})
	if m.act.phase != actionChecking {
		t.Fatalf("a stale preflight opened the dialog (phase %d)", m.act.phase)
	}
	m, _ = feed(m, check)
	m, _ = press(m, "y")
	if m.act.phase != actionApplying {
		t.Fatalf("y: phase %d", m.act.phase)
	}
	current := m.act.plan.ID

	// Progress and outcomes of other plans change nothing.
	m = step(m, progressMsg{Progress: actions.Progress{PlanID: "plan-1", Message: "old news"}, box: closedMailbox()})
	m = step(m, outcomeMsg{planID: "plan-1", outcome: actions.Outcome{PlanID: "plan-1", Result: actions.Failed, Message: "old failure"}})
	if m.act.phase != actionApplying || strings.Contains(lastLine(m.View()), "old") {
		t.Errorf("stale messages acted: phase %d footer %q", m.act.phase, lastLine(m.View()))
	}
	m = step(m, progressMsg{Progress: actions.Progress{PlanID: current, Message: "patched"}, box: closedMailbox()})
	if !strings.Contains(lastLine(m.View()), "promoting fraud-detector: patched") {
		t.Errorf("current progress not shown: %q", lastLine(m.View()))
	}
	m = step(m, outcomeMsg{planID: current, outcome: actions.Outcome{PlanID: current, Result: actions.Succeeded}})
	// Once idle, a late step of the finished action is not news either.
	m = step(m, progressMsg{Progress: actions.Progress{PlanID: current, Message: "late step"}, box: closedMailbox()})
	if m.act.phase != actionIdle || strings.Contains(lastLine(m.View()), "late step") {
		t.Errorf("late progress shown: %q", lastLine(m.View()))
	}
}

func closedMailbox() *progressMailbox {
	b := newProgressMailbox()
	b.close()
	return b
}

func TestOneActionAtATime(t *testing.T) {
	exec := newFakeExecutor()
	m := loadedWith(exec, plainTheme(), 120, 40)
	m, _ = press(m, "B")
	for _, k := range []string{"P", "B", "M"} {
		mm, cmd := press(m, k)
		if cmd != nil || mm.act.req.Kind != actions.Rollback || !strings.Contains(lastLine(mm.View()), busyNotice) {
			t.Errorf("%s while planning: command %v kind %s footer %q", k, cmd != nil, mm.act.req.Kind, lastLine(mm.View()))
		}
	}
	m = openDialog(loadedWith(exec, plainTheme(), 120, 40), "B")
	m, _ = press(m, "y") // the apply is in flight: its command is never run here
	for _, k := range []string{"P", "B", "M"} {
		mm, cmd := press(m, k)
		if cmd != nil || mm.act.phase != actionApplying || !strings.Contains(lastLine(mm.View()), busyNotice) {
			t.Errorf("%s while applying: command %v phase %d footer %q", k, cmd != nil, mm.act.phase, lastLine(mm.View()))
		}
	}
	// The dashboard stays usable meanwhile.
	m, _ = press(m, "j", "5", "enter")
	if !m.zoomed || m.act.phase != actionApplying {
		t.Errorf("navigation while applying: zoomed %v phase %d", m.zoomed, m.act.phase)
	}
	if planned, executed, _ := exec.calls(); len(planned) != 1 || len(executed) != 0 {
		t.Errorf("refused keys planned or applied: %d plans, %d applied", len(planned), len(executed))
	}
}

func TestQuitWhileApplyingAsksFirst(t *testing.T) {
	exec := newFakeExecutor()
	applying, _ := press(openDialog(loadedWith(exec, plainTheme(), 80, 24), "B"), "y")

	for _, first := range []string{"q", "ctrl+c"} {
		m, cmd := press(applying, first)
		if isQuit(cmd) || !m.act.quitAsk {
			t.Fatalf("%s while applying quit at once", first)
		}
		footer := lastLine(m.View())
		if !strings.Contains(footer, "an action is being applied; quit anyway? [y/N]") || !strings.Contains(footer, "ctrl+c again quits") {
			t.Errorf("quit question: %q", footer)
		}
		// The default is no.
		for _, k := range []string{"enter", "n", "q", "esc"} {
			mm, cmd := press(m, k)
			if isQuit(cmd) || mm.act.quitAsk || mm.act.phase != actionApplying {
				t.Errorf("%s then %s: quit %v ask %v phase %d", first, k, isQuit(cmd), mm.act.quitAsk, mm.act.phase)
			}
		}
		for _, k := range []string{"y", "ctrl+c"} {
			if _, cmd := press(m, k); !isQuit(cmd) {
				t.Errorf("%s then %s did not quit", first, k)
			}
		}
	}

	// The action ending answers the question.
	m, _ := press(applying, "q")
	m = step(m, outcomeMsg{planID: m.act.plan.ID, outcome: actions.Outcome{PlanID: m.act.plan.ID, Result: actions.Succeeded}})
	if m.act.quitAsk || strings.Contains(lastLine(m.View()), "quit anyway") {
		t.Errorf("the question outlived the action: %q", lastLine(m.View()))
	}
	if _, cmd := press(m, "q"); !isQuit(cmd) {
		t.Error("q after the action does not quit")
	}
}

func TestQuitFromTheDialogRecordsNo(t *testing.T) {
	exec := newFakeExecutor()
	m := openDialog(loadedWith(exec, plainTheme(), 80, 24), "B")
	m, cmd := press(m, "ctrl+c")
	if !m.quitting || cmd == nil {
		t.Fatal("ctrl+c in the dialog did not quit")
	}
	// The record runs before the quit (tea.Sequence); running the
	// sequence's record step is enough to see it.
	if _, _, recorded := exec.calls(); len(recorded) != 0 {
		t.Fatal("recorded inside Update")
	}
	runSequence(t, cmd)
	if _, _, recorded := exec.calls(); len(recorded) != 1 || recorded[0].Result != actions.Declined {
		t.Errorf("recorded %+v, want the dialog's no", recorded)
	}
}

// runSequence runs the commands of a tea.Sequence in order. bubbletea keeps
// the sequence's message type unexported, so it is read as the slice of
// commands it is.
func runSequence(t *testing.T, cmd tea.Cmd) {
	t.Helper()
	v := reflect.ValueOf(cmd())
	if v.Kind() != reflect.Slice || v.Type().Elem() != reflect.TypeOf(tea.Cmd(nil)) {
		t.Fatalf("%s is not a sequence of commands", v.Type())
	}
	for i := 0; i < v.Len(); i++ {
		if c := v.Index(i).Interface().(tea.Cmd); c != nil {
			c()
		}
	}
}

// dialogFor opens the dialog on a plan the test changed.
func dialogFor(p actions.Plan, pre actions.Preflight) dialog.Confirm {
	return dialog.NewConfirm(p, pre, false)
}

func TestReadOnlyHidesAndRefusesTheKeys(t *testing.T) {
	for _, ro := range []struct {
		name     string
		executor bool // the executor says read-only
		option   bool // Options.ReadOnly
	}{{"executor", true, false}, {"option", false, true}} {
		t.Run(ro.name, func(t *testing.T) {
			exec := newFakeExecutor()
			exec.readOnly = ro.executor
			o := actionOptions(exec, plainTheme())
			o.ReadOnly = ro.option
			m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 160, Height: 48})
			none := loaded(t, plainTheme(), 160, 48) // no executor at all

			// Footer and help are those of a dashboard without actions.
			if m.View() != none.View() {
				t.Errorf("read-only dashboard differs from one without actions:\n%s", m.View())
			}
			help, _ := press(m, "?")
			noneHelp, _ := press(none, "?")
			if help.View() != noneHelp.View() {
				t.Errorf("read-only help differs from one without actions:\n%s", help.View())
			}
			if !strings.Contains(m.View(), "read-only") {
				t.Error("status line does not say read-only")
			}
			for _, k := range []string{"P", "B", "M"} {
				mm, cmd := press(m, k)
				if cmd != nil || mm.act.phase != actionIdle || !strings.Contains(lastLine(mm.View()), readOnlyNotice) {
					t.Errorf("%s in read-only mode: command %v phase %d footer %q", k, cmd != nil, mm.act.phase, lastLine(mm.View()))
				}
			}
			if planned, _, _ := exec.calls(); len(planned) != 0 {
				t.Errorf("read-only mode planned %d actions", len(planned))
			}
		})
	}

	// Without an executor the keys do nothing at all.
	m := loaded(t, plainTheme(), 120, 40)
	for _, k := range []string{"P", "B", "M"} {
		if mm, cmd := press(m, k); cmd != nil || mm.notice.text != "" {
			t.Errorf("%s without an executor: command %v notice %q", k, cmd != nil, mm.notice.text)
		}
	}
}

func TestActionKeysAreAdvertisedWhenAllowed(t *testing.T) {
	m := loadedWith(newFakeExecutor(), plainTheme(), 160, 48)
	if got := lastLine(m.View()); !strings.Contains(got, "P promote  B roll back  M pin") {
		t.Errorf("wide footer: %q", got)
	}
	m = step(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if got := lastLine(m.View()); !strings.Contains(got, "P B M actions") || !strings.Contains(got, "? help  q quit") {
		t.Errorf("80-column footer: %q", got)
	}
	m, _ = press(m, "?")
	for _, s := range []string{"Actions", "B          roll back the canary", "P          promote the canary", "M          pin or unpin minReplicas"} {
		if !strings.Contains(m.View(), s) {
			t.Errorf("help lacks %q:\n%s", s, m.View())
		}
	}
}

func TestPinPrompt(t *testing.T) {
	exec := newFakeExecutor()
	m := loadedWith(exec, plainTheme(), 120, 40)
	m, _ = press(m, "G") // search-ranker, minReplicas 0
	target := m.selected
	if target != svcKey("search-ranker") {
		t.Fatalf("selected %v", target)
	}
	m, cmd := press(m, "M")
	if cmd != nil || m.act.phase != actionPinPrompt {
		t.Fatalf("M: phase %d", m.act.phase)
	}
	if got := lastLine(m.View()); !strings.Contains(got, "minReplicas [1]:") || !strings.Contains(got, "u unpin") {
		t.Errorf("prompt footer: %q", got)
	}
	// Only digits, and no leading zero; q is not quit here.
	m = typeText(m, "0xq3")
	m, cmd = press(m, "backspace")
	m = typeText(m, "25")
	if m.act.pin.Typed() != "25" || isQuit(cmd) {
		t.Fatalf("typed %q", m.act.pin.Typed())
	}
	m, cmd = press(m, "enter")
	m, _ = feed(m, cmd)
	planned, _, _ := exec.calls()
	want := actions.Request{Kind: actions.Pin, Namespace: target.Namespace, Name: target.Name, MinReplicas: 25}
	if len(planned) != 1 || planned[0] != want || m.act.phase != actionChecking {
		t.Fatalf("planned %+v (phase %d), want %+v", planned, m.act.phase, want)
	}
	m, _ = press(m, "esc")

	// enter alone pins the default, 1; u unpins; esc plans nothing.
	m, cmd = press(m, "M", "enter")
	feed(m, cmd)
	m, _ = press(m, "esc")
	m, cmd = press(m, "M", "u")
	feed(m, cmd)
	m, _ = press(m, "esc")
	m, cmd = press(m, "M", "esc")
	if cmd != nil || m.act.phase != actionIdle {
		t.Errorf("esc in the prompt: phase %d", m.act.phase)
	}
	planned, _, _ = exec.calls()
	if len(planned) != 3 || planned[1].MinReplicas != 1 || !planned[2].Unpin {
		t.Errorf("planned %+v, want the default pin then an unpin", planned)
	}
	m, _ = press(m, "M")
	if m.act.phase != actionPinPrompt {
		t.Fatalf("phase %d", m.act.phase)
	}
	m, cmd = press(m, "enter")
	m, cmd = feed(m, cmd)
	m, _ = feed(m, cmd)
	if v := m.View(); !strings.Contains(v, "Pin minReplicas of search-ranker to 1 (ml-prod, ctx demo)") || !strings.Contains(v, "Pin now?") {
		t.Errorf("pin dialog:\n%s", v)
	}
}

func TestPlanErrorIsANotice(t *testing.T) {
	exec := newFakeExecutor()
	exec.planErr = errors.New("fraud-detector: not found\x1b]0;x\x07")
	m := loadedWith(exec, plainTheme(), 120, 40)
	m, cmd := press(m, "P")
	m, _ = feed(m, cmd)
	got := lastLine(m.View())
	if m.act.phase != actionIdle || !strings.Contains(got, "promote fraud-detector: cannot plan: fraud-detector: not found") || strings.ContainsAny(got, "\x1b\x07") {
		t.Errorf("plan error: phase %d footer %q", m.act.phase, got)
	}
	if _, cmd := press(m, "P"); cmd == nil {
		t.Error("a failed plan left the dashboard busy")
	}
}

func TestNoServiceSelected(t *testing.T) {
	m := loadedWith(newFakeExecutor(), plainTheme(), 120, 40)
	m, _ = press(m, "/", "z", "z", "z", "enter")
	m, cmd := press(m, "B")
	if cmd != nil || !strings.Contains(lastLine(m.View()), "no service selected") {
		t.Errorf("B with an empty list: command %v footer %q", cmd != nil, lastLine(m.View()))
	}
}

// TestDialogFitsEverySize opens the dialog in every theme at every size the
// layout supports: the frame stays exactly the terminal's size and the
// answer line is always on screen.
func TestDialogFitsEverySize(t *testing.T) {
	long := newFakeExecutor()
	long.checks = append(long.checks,
		actions.Check{Name: "mode", Status: actions.CheckPass, Detail: "Serverless (Knative): traffic can be split"},
		actions.Check{Name: "verdict", Status: actions.CheckPass, Detail: "the judge recommends a rollback"},
		actions.Check{Name: "in-flight", Status: actions.CheckSkip, Detail: "no other action on fraud-detector"},
		actions.Check{Name: "events", Status: actions.CheckWarn, Detail: strings.Repeat("a long warning from the cluster ", 6),
			Remedy: strings.Repeat("a long remedy ", 8)},
	)
	blocked := newFakeExecutor()
	blocked.checks = []actions.Check{{Name: "access", Status: actions.CheckFail, Detail: "forbidden"}}
	protected := newFakeExecutor()
	protected.protected = true
	execs := map[string]*fakeExecutor{"sketch": newFakeExecutor(), "long": long, "blocked": blocked, "protected": protected}
	themes := map[string]theme.Theme{"plain": plainTheme(), "ascii": asciiTheme(), "colour": colourTheme()}
	answers := map[string]string{"sketch": "[y] yes", "long": "[y] yes", "blocked": "blocked", "protected": "type fraud-detector"}
	for thName, th := range themes {
		for name, exec := range execs {
			for _, sz := range layoutSizes {
				w, h := sz[0], sz[1]
				t.Run(fmt.Sprintf("%s/%s/%dx%d", thName, name, w, h), func(t *testing.T) {
					m := openDialog(loadedWith(exec, th, w, h), "B")
					v := m.View()
					checkFrame(t, v, w, h)
					if m.layout.Mode != LayoutTooSmall && thName != "colour" && !strings.Contains(v, answers[name]) {
						t.Errorf("answer line missing:\n%s", v)
					}
				})
			}
		}
	}
}

func TestDialogTextIsCleaned(t *testing.T) {
	exec := newFakeExecutor()
	exec.checks = []actions.Check{{Name: "dry-run\x1b[2J", Status: actions.CheckWarn, Detail: "admission webhook said \x1b]0;owned\x07hi", Remedy: "\x9b2J retry"}}
	m := openDialog(loadedWith(exec, plainTheme(), 120, 40), "B")
	plan := m.act.confirm.Plan()
	plan.Summary += "\x1b[31m red"
	plan.Notes = []string{"note\x07 with a bell"}
	m.act.confirm = dialogFor(plan, m.act.confirm.Preflight())
	v := m.View()
	if strings.ContainsAny(v, "\x1b\x07\x9b") {
		t.Errorf("escape sequence reached the dialog:\n%q", v)
	}
	if !strings.Contains(v, "admission webhook said hi") || !strings.Contains(v, "note with a bell") {
		t.Errorf("cleaned text missing:\n%s", v)
	}
}

func TestProgressMailboxNeverBlocksTheExecutor(t *testing.T) {
	box := newProgressMailbox()
	// Nobody reads: far more steps than the buffer holds must not block,
	// and the newest are the ones kept.
	for i := 0; i < progressBuffer*3; i++ {
		box.send(actions.Progress{PlanID: "p", Message: fmt.Sprint(i)})
	}
	box.close()
	box.send(actions.Progress{PlanID: "p", Message: "after close"}) // dropped, no panic
	box.close()                                                     // twice is harmless
	var got []string
	for {
		msg := waitForProgress(box)()
		if msg == nil {
			break
		}
		got = append(got, msg.(progressMsg).Message)
	}
	if len(got) != progressBuffer || got[len(got)-1] != fmt.Sprint(progressBuffer*3-1) {
		t.Errorf("kept %v; want the newest %d steps", got, progressBuffer)
	}
}

func TestExecuteCommandStampsAndCloses(t *testing.T) {
	exec := newFakeExecutor()
	exec.steps, exec.anonymous = []string{"patched"}, true
	plan := fakePlan("plan-7", actions.Request{Kind: actions.Rollback, Namespace: ns, Name: "fraud-detector"}, 20, "1", false)
	box := newProgressMailbox()
	msg := executeCmd(exec, plan, actions.Preflight{PlanID: plan.ID}, box)()
	out, ok := msg.(outcomeMsg)
	if !ok || out.planID != "plan-7" || out.outcome.Result != actions.Succeeded {
		t.Fatalf("execute returned %#v", msg)
	}
	first := waitForProgress(box)()
	if p, ok := first.(progressMsg); !ok || p.PlanID != "plan-7" || p.Message != "patched" || p.box != box {
		t.Errorf("first step %#v", first)
	}
	if rest := waitForProgress(box)(); rest != nil {
		t.Errorf("the mailbox stayed open after Execute returned: %#v", rest)
	}
}

// TestPasteNeverAnswers: a paste is never an answer, not even while the
// filter editor (which takes pastes) is open under the dialog.
func TestPasteNeverAnswers(t *testing.T) {
	paste := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y"), Paste: true}
	exec := newFakeExecutor()
	m := loadedWith(exec, plainTheme(), 120, 40)
	m, _ = press(m, "/")
	m, cmd := press(m, "B") // typed into the filter, not an action
	if cmd != nil || m.filter.Value() != "B" {
		t.Fatalf("B while filtering: filter %q command %v", m.filter.Value(), cmd != nil)
	}
	m, _ = press(m, "esc")
	// Open the dialog while the filter is being edited: B, then /, then
	// the plan and the preflight arrive.
	m, plan := press(m, "B")
	m, _ = press(m, "/")
	m, check := feed(m, plan)
	m, _ = feed(m, check)
	if m.act.phase != actionConfirming || !m.filter.editing {
		t.Fatalf("setup: phase %d editing %v", m.act.phase, m.filter.editing)
	}
	next, cmd := m.Update(paste)
	m = next.(Model)
	if m.act.phase != actionConfirming || cmd != nil || m.filter.Value() != "" {
		t.Errorf("a paste answered the dialog or reached the filter: phase %d filter %q", m.act.phase, m.filter.Value())
	}
	// The pin prompt takes no paste either.
	m, _ = press(m, "esc")
	m, _ = press(m, "esc")
	m, _ = press(m, "M")
	next, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("42"), Paste: true})
	if mm := next.(Model); mm.act.pin.Typed() != "" {
		t.Errorf("a paste typed %q into the prompt", mm.act.pin.Typed())
	}
}

// TestActionFootersFitEverySize draws every footer the action flow has at
// every layout size: each frame stays exactly the terminal's size, and the
// line that matters most keeps its lead.
func TestActionFootersFitEverySize(t *testing.T) {
	states := map[string]struct {
		reach func(Model) Model
		want  string
	}{
		"prompt":   {func(m Model) Model { m, _ = press(m, "M", "2"); return m }, "minReplicas [1]: 2"},
		"planning": {func(m Model) Model { m, _ = press(m, "B"); return m }, "planning"},
		"applying": {func(m Model) Model { m, _ = press(openDialog(m, "B"), "y"); return m }, "rolling back"},
		"quit":     {func(m Model) Model { m, _ = press(openDialog(m, "B"), "y", "q"); return m }, "an action is being applied"},
		"outcome": {func(m Model) Model {
			m, _ = press(openDialog(m, "B"), "y")
			return step(m, outcomeMsg{planID: m.act.plan.ID, outcome: actions.Outcome{
				PlanID: m.act.plan.ID, Result: actions.Failed, Message: strings.Repeat("a very long failure message ", 10)}})
		}, "roll back fraud-detector: failed"},
	}
	themes := map[string]theme.Theme{"plain": plainTheme(), "colour": colourTheme()}
	for thName, th := range themes {
		for name, st := range states {
			for _, sz := range layoutSizes {
				w, h := sz[0], sz[1]
				t.Run(fmt.Sprintf("%s/%s/%dx%d", thName, name, w, h), func(t *testing.T) {
					m := st.reach(loadedWith(newFakeExecutor(), th, w, h))
					v := m.View()
					checkFrame(t, v, w, h)
					if m.layout.Mode != LayoutTooSmall && thName == "plain" && !strings.Contains(lastLine(v), st.want) {
						t.Errorf("footer lacks %q: %q", st.want, lastLine(v))
					}
				})
			}
		}
	}
}

// TestActingKeepsTheSelection: after an action the selection stays on the
// service acted on, even when the alert that chose it clears.
func TestActingKeepsTheSelection(t *testing.T) {
	m := loadedWith(newFakeExecutor(), plainTheme(), 120, 40)
	if m.userSelected {
		t.Fatal("the selection starts as the worst alert's, not the user's")
	}
	m, _ = press(m, "B")
	if !m.userSelected || m.selected != svcKey("fraud-detector") {
		t.Fatalf("after B: userSelected %v, selected %v", m.userSelected, m.selected)
	}
	m.alerts = nil
	m.refilter()
	if m.selected != svcKey("fraud-detector") {
		t.Errorf("the selection moved to %v when the alert cleared", m.selected)
	}
}
