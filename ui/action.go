package ui

import (
	"context"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/dialog"
)

// actionPhase is where the dashboard's one action is. There is never more
// than one: a second key while one is under way is refused, so the user
// always knows which change the footer and the notice speak of.
type actionPhase int

const (
	actionIdle actionPhase = iota
	// actionPinPrompt: M asked for the minReplicas to pin.
	actionPinPrompt
	// actionPlanning: Plan runs.
	actionPlanning
	// actionChecking: Preflight runs.
	actionChecking
	// actionConfirming: the dialog waits for the answer.
	actionConfirming
	// actionApplying: Execute runs; its progress fills a footer line.
	actionApplying
)

// actionFlow is the model's part of the action pipeline.
type actionFlow struct {
	exec     actions.Executor
	readOnly bool

	phase actionPhase
	// attempt numbers the plan requests, so a plan arriving for an
	// attempt the user cancelled is dropped.
	attempt uint64
	req     actions.Request
	plan    actions.Plan
	// replanned: the plan was made again after a conflict; the dialog says so.
	replanned bool
	confirm   dialog.Confirm
	pin       dialog.PinPrompt
	// cancel ends the running Plan or Preflight call.
	cancel context.CancelFunc
	// progress is the running action's latest step.
	progress string
	// quitAsk: the user asked to quit while an apply was in flight.
	quitAsk bool
}

// newActionFlow reads the executor's mode once: it is a setting, not a
// state that changes under the dashboard.
func newActionFlow(exec actions.Executor, readOnly bool) actionFlow {
	if exec != nil && exec.ReadOnly() {
		readOnly = true
	}
	return actionFlow{exec: exec, readOnly: readOnly}
}

// access is what the action keys may do.
func (f actionFlow) access() ActionAccess {
	switch {
	case f.exec == nil:
		return ActionsNone
	case f.readOnly:
		return ActionsReadOnly
	}
	return ActionsAllowed
}

// stopCalls cancels a running Plan or Preflight call.
func (f *actionFlow) stopCalls() {
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
	}
}

// idle ends the flow, keeping the executor and the attempt counter.
func (f actionFlow) idle() actionFlow {
	f.stopCalls()
	return actionFlow{exec: f.exec, readOnly: f.readOnly, attempt: f.attempt}
}

// How long notices stay: a refusal is read at a glance, an outcome is the
// thing the user waits for and may need to read twice.
const (
	shortNotice   = 3 * time.Second
	outcomeNotice = 10 * time.Second
)

// Notices that answer a key that cannot act now.
const (
	readOnlyNotice = "read-only mode: actions are disabled"
	busyNotice     = "an action is running: wait for it to finish"
)

// startAction answers P, B or M on the selected service.
func (m Model) startAction(kind actions.Kind) (Model, tea.Cmd) {
	if m.act.phase != actionIdle {
		m.say(busyNotice, shortNotice)
		return m, nil
	}
	if m.selected == (sources.ServiceKey{}) {
		m.say("no service selected", shortNotice)
		return m, nil
	}
	// Acting on a service is choosing it: the selection stays on it even
	// when its alert clears, so the user sees the effect of what they did.
	m.userSelected = true
	req := actions.Request{Kind: kind, Namespace: m.selected.Namespace, Name: m.selected.Name}
	if kind == actions.Pin {
		m.act.phase, m.act.req, m.act.pin = actionPinPrompt, req, dialog.PinPrompt{}
		return m, nil
	}
	return m.planAction(req)
}

// planAction asks the executor for a plan.
func (m Model) planAction(req actions.Request) (Model, tea.Cmd) {
	m.act.stopCalls()
	m.act.attempt++
	ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
	m.act.phase, m.act.req, m.act.cancel = actionPlanning, req, cancel
	return m, planCmd(ctx, m.act.exec, m.act.attempt, req)
}

// checkPlan runs a plan's preflight.
func (m Model) checkPlan(p actions.Plan) (Model, tea.Cmd) {
	m.act.stopCalls()
	ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
	m.act.phase, m.act.plan, m.act.req, m.act.cancel = actionChecking, p, p.Request, cancel
	return m, preflightCmd(ctx, m.act.exec, p)
}

// cancelAction drops a plan or preflight under way (esc). Nothing was
// changed and nothing was asked, so there is nothing to record.
func (m Model) cancelAction() Model {
	m.say(dialog.Describe(m.act.req).Action+": cancelled", shortNotice)
	m.act = m.act.idle()
	return m
}

// answerPin takes a key in the minReplicas prompt.
func (m Model) answerPin(msg tea.KeyMsg) (Model, tea.Cmd) {
	pin, res := m.act.pin.Update(msg)
	m.act.pin = pin
	req := m.act.req
	switch res {
	case dialog.PinSet:
		req.MinReplicas = pin.Value()
		return m.planAction(req)
	case dialog.PinUnset:
		req.Unpin = true
		return m.planAction(req)
	case dialog.PinCancelled:
		m.act = m.act.idle()
	}
	return m, nil
}

// answerDialog takes a key in the confirmation dialog.
func (m Model) answerDialog(msg tea.KeyMsg) (Model, tea.Cmd) {
	c, answer := m.act.confirm.Update(msg)
	m.act.confirm = c
	switch answer {
	case dialog.Yes:
		return m.applyAction()
	case dialog.No:
		return m.declineAction()
	}
	return m, nil
}

// applyAction runs the confirmed plan and starts the progress pump.
func (m Model) applyAction() (Model, tea.Cmd) {
	plan, pre := m.act.confirm.Plan(), m.act.confirm.Preflight()
	box := newProgressMailbox()
	m.act.phase, m.act.plan, m.act.progress = actionApplying, plan, "applying"
	return m, tea.Batch(executeCmd(m.act.exec, plan, pre, box), waitForProgress(box))
}

// declineAction closes the dialog without applying and records why.
func (m Model) declineAction() (Model, tea.Cmd) {
	c := m.act.confirm
	action := dialog.Describe(c.Plan().Request).Action
	if c.Blocked() {
		failing := clean.Text(strings.Join(failingChecks(c.Preflight()), ", "))
		m.say(action+": "+m.theme.Crit.Render("refused")+" by the failing checks ("+failing+"), nothing changed", outcomeNotice)
	} else {
		m.say(action+": declined, nothing changed", shortNotice)
	}
	m.act = m.act.idle()
	return m, recordCmd(m.act.exec, c.Plan(), c.Preflight(), closedOutcome(c, "declined in the dashboard"))
}

// closedOutcome is the audit outcome of a dialog closed without a yes:
// declined for the reason given, or refused when a failing check left
// nothing to say yes to.
func closedOutcome(c dialog.Confirm, declined string) actions.Outcome {
	o := actions.Outcome{PlanID: c.Plan().ID, Result: actions.Declined, Message: declined}
	if c.Blocked() {
		o.Result, o.Message = actions.Refused, "preflight failed: "+strings.Join(failingChecks(c.Preflight()), ", ")
	}
	return o
}

func failingChecks(pre actions.Preflight) []string {
	var out []string
	for _, c := range pre.Checks {
		if c.Status == actions.CheckFail {
			out = append(out, c.Name)
		}
	}
	return out
}

// onActionMsg takes the pipeline's messages. Each is dropped unless it
// answers what the flow waits for now.
func (m Model) onActionMsg(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case planMsg:
		if m.act.phase != actionPlanning || msg.attempt != m.act.attempt {
			return m, nil
		}
		if msg.err != nil {
			m.say(dialog.Describe(m.act.req).Action+": "+m.theme.Crit.Render("cannot plan")+": "+clean.Text(msg.err.Error()), outcomeNotice)
			m.act = m.act.idle()
			return m, nil
		}
		return m.checkPlan(msg.plan)
	case preflightMsg:
		if m.act.phase != actionChecking || msg.planID != m.act.plan.ID {
			return m, nil
		}
		m.act.stopCalls()
		m.act.phase = actionConfirming
		m.act.confirm = dialog.NewConfirm(m.act.plan, msg.pre, m.act.replanned)
		return m, nil
	case progressMsg:
		// The pump is re-armed whatever the message says: it ends by
		// itself when its action's mailbox closes.
		next := waitForProgress(msg.box)
		if m.act.phase == actionApplying && msg.PlanID == m.act.plan.ID {
			m.act.progress = progressText(msg.Progress)
		}
		return m, next
	case outcomeMsg:
		if m.act.phase != actionApplying || msg.planID != m.act.plan.ID {
			return m, nil
		}
		return m.finishAction(msg.outcome)
	}
	return m, nil
}

// progressText is a step as the footer shows it.
func progressText(p actions.Progress) string {
	if s := clean.Text(p.Message); s != "" {
		return s
	}
	return clean.Text(string(p.Stage))
}

// finishAction shows how an applied action ended and asks for a fresh read
// of the cluster so the panes catch up at once. After a conflict the new
// plan goes through its preflight and the dialog again: the user decides on
// what the service is now, never on what it was.
func (m Model) finishAction(o actions.Outcome) (Model, tea.Cmd) {
	t := m.theme
	refresh := refreshKube(m.opts.Refresh)
	action := dialog.Describe(m.act.plan.Request).Action
	m.act.quitAsk = false
	if o.Result == actions.Conflict && o.Replanned != nil {
		m.say(action+": "+t.Warn.Render("conflict")+": the service changed since the plan, nothing was overwritten; review the new plan", outcomeNotice)
		m.act.replanned = true
		next, cmd := m.checkPlan(*o.Replanned)
		return next, tea.Batch(cmd, refresh)
	}
	m.act = m.act.idle()
	word := string(o.Result)
	switch o.Result {
	case actions.Succeeded:
		word = t.OK.Render(word)
	case actions.TimedOut, actions.Conflict:
		word = t.Warn.Render(word)
	default:
		word = t.Crit.Render(word)
	}
	line := action + ": " + word
	if o.Duration > 0 {
		line += " in " + durationText(o.Duration)
	}
	if msg := clean.Text(o.Message); msg != "" && o.Result != actions.Succeeded {
		line += ": " + msg
	}
	m.say(line, outcomeNotice)
	return m, refresh
}

// durationText is "4s", or "350ms" under a second.
func durationText(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return health.Age(d)
}

// quit ends the program, but not silently in the middle of an apply: the
// first q asks, and the answer or a second ctrl+c decides. Quitting from
// the open dialog is a no, recorded before the program ends.
func (m Model) quit() (tea.Model, tea.Cmd) {
	switch m.act.phase {
	case actionApplying:
		if !m.act.quitAsk {
			m.act.quitAsk = true
			return m, nil
		}
	case actionConfirming:
		c := m.act.confirm
		record := recordCmd(m.act.exec, c.Plan(), c.Preflight(), closedOutcome(c, "the dashboard quit with the dialog open"))
		m.act = m.act.idle()
		m.quitting = true
		return m, tea.Sequence(record, tea.Quit)
	}
	m.act = m.act.idle()
	m.quitting = true
	return m, tea.Quit
}

// answerQuit takes the answer to "quit anyway?": y or a second ctrl+c
// quits; anything else, the default, keeps the dashboard.
func (m Model) answerQuit(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if msg.Type == tea.KeyCtrlC || msg.Type == tea.KeyRunes && string(msg.Runes) == "y" {
		m.quitting = true
		return m, tea.Quit
	}
	m.act.quitAsk = false
	return m, nil
}

// say shows a notice in the footer for a while. The text is drawn as
// given: the caller styles what needs it.
func (m *Model) say(text string, d time.Duration) {
	m.notice = notice{text: text, until: m.now.Add(d)}
}
