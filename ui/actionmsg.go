package ui

import (
	"context"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
)

// The action pipeline's messages and the commands that produce them. These
// commands are the only code of the dashboard that calls the executor; each
// gets copies of what it needs and never reads the model.
//
// Every message names what it answers: a plan by the attempt that asked for
// it (the plan has no ID yet), everything later by the plan's ID. The model
// drops a message that does not answer what it is waiting for, so a slow
// answer to a cancelled or replaced attempt can never act.

// planMsg answers a Plan request.
type planMsg struct {
	attempt uint64
	plan    actions.Plan
	err     error
}

// preflightMsg carries a plan's checks.
type preflightMsg struct {
	planID string
	pre    actions.Preflight
}

// progressMsg is one step of a running action, with the mailbox it came
// from so the pump re-arms on that mailbox and no other.
type progressMsg struct {
	actions.Progress
	box *progressMailbox
}

// outcomeMsg is how an applied action ended.
type outcomeMsg struct {
	planID  string
	outcome actions.Outcome
}

// recordedMsg says an attempt that never reached Execute has been written
// to the audit log.
type recordedMsg struct{ planID string }

// Time limits of the commands that only read. An apply has none here: the
// executor bounds its own verify, and abandoning a patch half way would
// leave the user not knowing what was changed.
const (
	planTimeout   = 30 * time.Second
	recordTimeout = 10 * time.Second
)

// planCmd asks the executor for a plan.
func planCmd(ctx context.Context, exec actions.Executor, attempt uint64, req actions.Request) tea.Cmd {
	return func() tea.Msg {
		p, err := exec.Plan(ctx, req)
		return planMsg{attempt: attempt, plan: p, err: err}
	}
}

// preflightCmd runs a plan's checks. The message carries the ID of the plan
// that was checked, whatever the executor wrote in the result.
func preflightCmd(ctx context.Context, exec actions.Executor, p actions.Plan) tea.Cmd {
	return func() tea.Msg {
		pre := exec.Preflight(ctx, p)
		return preflightMsg{planID: p.ID, pre: pre}
	}
}

// executeCmd applies a confirmed plan. Its progress goes to the mailbox the
// progress pump reads, so the footer follows the action while Execute
// blocks; the mailbox closes when Execute returns.
func executeCmd(exec actions.Executor, p actions.Plan, pre actions.Preflight, box *progressMailbox) tea.Cmd {
	return func() tea.Msg {
		defer box.close()
		o := exec.Execute(context.Background(), p, pre, func(pr actions.Progress) {
			if pr.PlanID == "" {
				pr.PlanID = p.ID
			}
			box.send(pr)
		})
		return outcomeMsg{planID: p.ID, outcome: o}
	}
}

// waitForProgress is the progress pump: it returns the next progress of the
// running action and is re-armed after each one, like the updates pump.
// Once the mailbox closes it returns nil, which bubbletea drops.
func waitForProgress(box *progressMailbox) tea.Cmd {
	return func() tea.Msg {
		pr, ok := <-box.ch
		if !ok {
			return nil
		}
		return progressMsg{Progress: pr, box: box}
	}
}

// recordCmd writes the audit line of an attempt that was declined or
// refused by its preflight.
func recordCmd(exec actions.Executor, p actions.Plan, pre actions.Preflight, o actions.Outcome) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), recordTimeout)
		defer cancel()
		exec.Record(ctx, p, pre, o)
		return recordedMsg{planID: p.ID}
	}
}

// refreshKube asks for a fresh read of the cluster after an action, so the
// panes show its effect at once rather than at the next watch event. It
// says nothing: the action's own notice is the one to read.
func refreshKube(refresh func(sources.SourceID)) tea.Cmd {
	if refresh == nil {
		return nil
	}
	return func() tea.Msg {
		refresh(sources.SourceKube)
		return nil
	}
}

// progressBuffer holds the progress not yet drawn. An action reports a
// handful of steps; more than this means the UI is behind, and then the
// oldest step is the one to lose.
const progressBuffer = 16

// progressMailbox carries progress from the executor's goroutine to the
// pump. Sending never blocks the executor (the oldest waiting step makes
// room), and a send after close, from an executor that reports late, is
// dropped instead of panicking.
type progressMailbox struct {
	ch     chan actions.Progress
	mu     sync.Mutex
	closed bool
}

func newProgressMailbox() *progressMailbox {
	return &progressMailbox{ch: make(chan actions.Progress, progressBuffer)}
}

func (b *progressMailbox) send(p actions.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for {
		select {
		case b.ch <- p:
			return
		default:
		}
		select {
		case <-b.ch:
		default:
		}
	}
}

func (b *progressMailbox) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.ch)
	}
}
