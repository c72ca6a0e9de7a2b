package ui

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/theme"
)

// fakeExecutor is a deterministic actions.Executor: plans are numbered, the
// preflight returns the checks it was given, Execute reports the steps it
// was given and ends with the outcome it was given. It records every call.
// The dashboard calls it from commands, which teatest runs on goroutines,
// so its state is behind a mutex.
type fakeExecutor struct {
	mu sync.Mutex

	readOnly  bool
	protected bool
	checks    []actions.Check
	planErr   error
	// steps are the progress messages Execute reports, in order;
	// anonymous steps carry no plan ID.
	steps     []string
	anonymous bool
	// outcome is what Execute returns (its PlanID is filled in).
	outcome actions.Outcome
	// hold, when set, makes Execute wait after its steps until it is
	// closed, so a test can see the progress while the apply is in flight.
	hold chan struct{}

	seq      int
	planned  []actions.Request
	checked  []actions.Plan
	executed []actions.Plan
	recorded []actions.Outcome
}

var _ actions.Executor = (*fakeExecutor)(nil)

// newFakeExecutor is the happy path of the rollback sketch.
func newFakeExecutor() *fakeExecutor {
	return &fakeExecutor{
		checks: []actions.Check{
			{Name: "access", Status: actions.CheckPass, Detail: "you may patch inferenceservices in ml-prod"},
			{Name: "dry-run", Status: actions.CheckPass, Detail: "server-side dry run accepted"},
			{Name: "previous-revision", Status: actions.CheckPass, Detail: "previous revision 00001 Ready, 2/2 pods ready"},
			{Name: "min-replicas", Status: actions.CheckWarn, Detail: "minReplicas 1: one cold pod would serve all traffic",
				Remedy: "pin minReplicas 2 first: M"},
		},
		steps:   []string{"patched", "patched, waiting for traffic 0/100"},
		outcome: actions.Outcome{Result: actions.Succeeded, Duration: 4 * time.Second},
	}
}

func (f *fakeExecutor) ReadOnly() bool { return f.readOnly }

func (f *fakeExecutor) Plan(_ context.Context, r actions.Request) (actions.Plan, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.planned = append(f.planned, r)
	if f.planErr != nil {
		return actions.Plan{}, f.planErr
	}
	f.seq++
	return fakePlan(fmt.Sprintf("plan-%d", f.seq), r, 20, "884213", f.protected), nil
}

// fakePlan is what actions/kserve would plan for fraud-detector with the
// canary at percent.
func fakePlan(id string, r actions.Request, percent int, rv string, protected bool) actions.Plan {
	p := actions.Plan{
		ID: id, Request: r, Context: "demo", ResourceVersion: rv, Protected: protected,
		Service: sources.Service{Namespace: r.Namespace, Name: r.Name, CanaryPercent: percent, HasCanaryPercent: true},
	}
	from := strconv.Itoa(percent)
	switch r.Kind {
	case actions.Rollback:
		p.Changes = []actions.Change{{Path: "spec.predictor.canaryTrafficPercent", From: from, To: "0"}}
		p.Summary = fmt.Sprintf("canaryTrafficPercent %d -> 0: all traffic to %s", percent, rev(r.Name, 1))
	case actions.Promote:
		p.Changes = []actions.Change{{Path: "spec.predictor.canaryTrafficPercent", From: from, ToAbsent: true}}
		p.Summary = fmt.Sprintf("remove canaryTrafficPercent %d: all traffic to %s", percent, rev(r.Name, 2))
	case actions.Pin:
		to := strconv.Itoa(max(r.MinReplicas, 1))
		if r.Unpin {
			to = "0"
		}
		p.Changes = []actions.Change{{Path: "spec.predictor.minReplicas", From: "1", To: to}}
		p.Summary = "minReplicas 1 -> " + to
	}
	return p
}

func (f *fakeExecutor) Preflight(_ context.Context, p actions.Plan) actions.Preflight {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, p)
	return actions.Preflight{
		PlanID:  p.ID,
		Checks:  append([]actions.Check(nil), f.checks...),
		Verdict: "ROLLBACK at 3m: canary 5xx 4.0% (48/1200) vs stable 0.5% (24/4800)",
	}
}

func (f *fakeExecutor) Execute(ctx context.Context, p actions.Plan, _ actions.Preflight, progress func(actions.Progress)) actions.Outcome {
	f.mu.Lock()
	f.executed = append(f.executed, p)
	steps, hold, o, anonymous := f.steps, f.hold, f.outcome, f.anonymous
	f.mu.Unlock()
	for _, s := range steps {
		pr := actions.Progress{PlanID: p.ID, Stage: actions.StageVerify, Message: s}
		if anonymous {
			pr.PlanID = ""
		}
		progress(pr)
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	o.PlanID = p.ID
	return o
}

func (f *fakeExecutor) Record(_ context.Context, p actions.Plan, _ actions.Preflight, o actions.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o.PlanID != p.ID {
		panic("Record: outcome for another plan")
	}
	f.recorded = append(f.recorded, o)
}

// calls is a consistent copy of what the executor was asked.
func (f *fakeExecutor) calls() (planned []actions.Request, executed []actions.Plan, recorded []actions.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append(planned, f.planned...), append(executed, f.executed...), append(recorded, f.recorded...)
}

// refreshLog records the sources the dashboard asked to refresh; the
// commands call it from their goroutines.
type refreshLog struct {
	mu  sync.Mutex
	ids []sources.SourceID
}

func (r *refreshLog) refresh(id sources.SourceID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *refreshLog) asked() []sources.SourceID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sources.SourceID(nil), r.ids...)
}

// actionOptions are the fixture's options with an executor and without the
// fixture's read-only flag.
func actionOptions(exec actions.Executor, th theme.Theme) Options {
	o := fixtureOptions(nil, th)
	o.ReadOnly = false
	o.Actions = exec
	return o
}

// loadedWith is a dashboard with the incident, a size and an executor.
func loadedWith(exec actions.Executor, th theme.Theme, w, h int) Model {
	return step(newModel(actionOptions(exec, th), testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: w, Height: h})
}

// feed runs a command and applies its message, returning the model and the
// command that message produced. A nil command leaves the model as it is.
func feed(m Model, cmd tea.Cmd) (Model, tea.Cmd) {
	if cmd == nil {
		return m, nil
	}
	next, out := m.Update(cmd())
	return next.(Model), out
}

// batch runs every command of a batch in order and returns their messages.
func batch(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	b, ok := msg.(tea.BatchMsg)
	if !ok {
		return []tea.Msg{msg}
	}
	var out []tea.Msg
	for _, c := range b {
		out = append(out, batch(c)...)
	}
	return out
}

// openDialog presses a key on the selected service and runs the plan and
// the preflight: the dialog is open when it returns.
func openDialog(m Model, k string) Model {
	m, cmd := press(m, k)
	m, cmd = feed(m, cmd) // plan
	m, _ = feed(m, cmd)   // preflight
	return m
}
