// Package ui is mltop's dashboard: a bubbletea model that receives source
// updates, keeps them on a sources.Board, and draws the six panes of
// package panes in a layout that fits the terminal.
//
// The model performs no I/O. Updates arrive through one command that reads
// the poller's channel and is re-armed after each message; a tick ages what
// is on screen; the outward calls, a refresh request and the action
// pipeline's stages (action.go, actionmsg.go), run in commands.
package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
	"github.com/mltop/mltop/ui/theme"
)

// Options configure the dashboard.
type Options struct {
	// Updates is the poller's channel. When it closes the dashboard keeps
	// the last data and stops listening.
	Updates <-chan sources.Update
	// Initial are the sources' statuses before any update, so unconfigured
	// sources show as "off" from the first frame.
	Initial    []sources.SourceStatus
	Thresholds config.Thresholds
	Theme      theme.Theme
	// Now is the clock; the demo runs on simulated time. Nil means time.Now.
	Now func() time.Time
	// Tick is how often ages are redrawn (default 1s). It never fetches.
	Tick time.Duration
	// ReadOnly says so on the status line and refuses the action keys,
	// whatever the executor says.
	ReadOnly bool
	// Context and Namespace label the status line until the Kubernetes
	// source reports its own.
	Context   string
	Namespace string
	// Refresh asks the poller for an immediate fetch of one source; nil
	// disables the "r" key.
	Refresh func(sources.SourceID)
	Version string
	// Actions runs promote, roll back and pin on the selected service. Nil
	// means no action keys at all; a read-only executor (or ReadOnly above)
	// keeps the keys off the footer and the help and refuses them.
	Actions actions.Executor
	// Verdicts receives the canary judge's verdicts after every update, for
	// readers on other goroutines (the action preflight); nil: none.
	Verdicts *canary.Store
	// Findings configures the doctor's checks behind the d view and the
	// status line's count. The zero value works: with no thresholds of its
	// own the doctor judges by Thresholds above, like the alerts, and the
	// version matrix check is off.
	Findings health.FindingsConfig
}

// Model is the root bubbletea model. It has one owner, the bubbletea
// program: copies share the board, so an old copy must not be updated.
type Model struct {
	opts  Options
	kit   drawKit
	keys  KeyMap
	theme *theme.Theme
	frame frameStyle

	board *sources.Board
	// tracker judges every canary from each new Prometheus update; like the
	// board it has one owner, this model.
	tracker *canary.Tracker
	// Computed once per update or tick, not per View.
	now      time.Time
	snap     sources.Snapshot
	verdicts map[sources.ServiceKey]canary.Verdict
	alerts   []health.Alert
	findings []health.Finding
	visible  []sources.ServiceRow // the Serving list after the filter

	width, height int
	layout        Layout

	focus    panes.ID
	zoomed   bool
	helpOpen bool
	// doctor is the findings view (d): open or not, and its cursor.
	doctor doctorView
	// helpScroll is the help's first line on terminals too short for it.
	helpScroll int
	filter     filterEditor
	// cursors holds each pane's list cursor, indexed by ID.
	cursors [paneCount + 1]int
	// selected is the service under the Serving cursor. The selection
	// follows the service, not the row, when updates reorder the list.
	selected sources.ServiceKey
	// userSelected is set once the user moves the Serving cursor; until
	// then the selection follows the worst alert.
	userSelected bool

	updatesClosed bool
	quitting      bool
	// notice is a short-lived footer message, e.g. after "r".
	notice notice
	// act is the action under way, if any, from its key to its outcome.
	act actionFlow
}

// notice is a footer message that goes away by itself. Its text is styled
// when it is made.
type notice struct {
	text  string
	until time.Time
}

var _ tea.Model = Model{}

// New builds the dashboard with the real panes.
func New(o Options) Model { return newModel(o, paneKit()) }

func newModel(o Options, kit drawKit) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick <= 0 {
		o.Tick = time.Second
	}
	if o.Findings.Thresholds == (config.Thresholds{}) {
		// One set of limits, the alerts', when the doctor was given none.
		o.Findings.Thresholds = o.Thresholds
	}
	th := o.Theme
	act := newActionFlow(o.Actions, o.ReadOnly)
	m := Model{
		opts:  o,
		kit:   kit,
		act:   act,
		keys:  DefaultKeyMap(o.Refresh != nil, act.access()),
		theme: &th,
		frame: newFrameStyle(&th),
		board: sources.NewBoard(o.Initial),
		focus: panes.Serving,
	}
	// The zero options (the default judge) cannot fail.
	m.tracker, _ = canary.NewTracker(canary.TrackerOptions{})
	m.recompute()
	return m
}

// Init starts the update pump and the aging tick.
func (m Model) Init() tea.Cmd {
	return tea.Batch(waitForUpdates(m.opts.Updates), tick(m.opts.Tick))
}

// Update routes a message to its handler.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout = ComputeLayout(m.width, m.height, len(m.alerts))
		return m, nil
	case updatesMsg:
		for _, u := range msg {
			m.board.Apply(u)
			m.tracker.Apply(u)
		}
		m.recompute()
		return m, waitForUpdates(m.opts.Updates)
	case updatesClosedMsg:
		m.updatesClosed = true
		return m, nil
	case tickMsg:
		m.recompute()
		return m, tick(m.opts.Tick)
	case refreshedMsg:
		m.say(m.theme.Dim.Render("refresh requested: "+joinIDs(msg.sources)), shortNotice)
		return m, nil
	case planMsg, preflightMsg, progressMsg, outcomeMsg, recordedMsg:
		return m.onActionMsg(msg)
	case tea.KeyMsg:
		return m.handleInput(msg)
	}
	return m, nil
}

// View draws the frame from the cached snapshot; it does no I/O and
// computes no snapshot.
func (m Model) View() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	var frame string
	switch m.layout.Mode {
	case LayoutTooSmall:
		return tooSmall(m.width, m.height, m.theme.Glyphs.Ellipsis)
	case LayoutCompact:
		frame = m.viewCompact()
	default:
		frame = m.viewFull()
	}
	if m.act.phase == actionConfirming {
		frame = m.withDialog(frame)
	}
	return frame
}

// recompute reads the clock, composes the snapshot, its alerts and the
// doctor's findings, and re-applies the filter and the selection. It runs
// once per update batch and once per tick.
func (m *Model) recompute() {
	m.now = m.opts.Now()
	m.snap = m.board.Snapshot(m.now)
	if !m.snap.Source(sources.SourceKube).HasData() {
		// Until the cluster answers, the configured labels stand in for
		// its own, so the panes and the status line agree on the scope.
		m.snap.Context = m.opts.Context
		if m.opts.Namespace != "" {
			m.snap.Namespaces = []string{m.opts.Namespace}
		}
	}
	m.verdicts = m.tracker.Verdicts()
	if m.opts.Verdicts != nil {
		m.opts.Verdicts.Publish(m.verdicts)
	}
	// A judge's ROLLBACK leads the strip and replaces the error-ratio rule
	// for its service.
	m.alerts = panes.VerdictAlerts(health.Evaluate(m.snap, m.opts.Thresholds), m.verdicts)
	m.findings = health.Findings(m.snap, m.opts.Findings)
	m.doctor = m.doctor.follow(m.findings)
	m.layout = ComputeLayout(m.width, m.height, len(m.alerts))
	if m.notice.text != "" && !m.now.Before(m.notice.until) {
		m.notice = notice{}
	}
	m.refilter()
}
