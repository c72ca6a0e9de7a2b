package ui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
)

// doctorView is the state of the findings view (d): whether it is open and
// which finding the cursor is on.
type doctorView struct {
	open   bool
	cursor int
	// picked names the finding the user moved the cursor to, so the cursor
	// stays on it when a new snapshot adds, removes or reorders findings.
	// Until the user moves, the cursor keeps its row: the top one, the
	// most severe finding, whatever it is now.
	picked findingID
}

// findingID names a finding across snapshots: its words change with the
// figures, its check and object do not.
type findingID struct{ check, object string }

func idOf(f health.Finding) findingID { return findingID{check: f.Check, object: f.Object} }

// moveTo puts the cursor on row i, bounded by the list, on the user's request.
func (d doctorView) moveTo(i int, findings []health.Finding) doctorView {
	d.cursor = max(min(i, len(findings)-1), 0)
	if d.cursor < len(findings) {
		d.picked = idOf(findings[d.cursor])
	}
	return d
}

// follow keeps the cursor on the picked finding in a new list; when that
// finding is gone (or none was picked) the cursor stays at its row,
// bounded by the new list.
func (d doctorView) follow(findings []health.Finding) doctorView {
	for i, f := range findings {
		if d.picked != (findingID{}) && idOf(f) == d.picked {
			d.cursor = i
			return d
		}
	}
	d.cursor = max(min(d.cursor, len(findings)-1), 0)
	return d
}

// answerDoctor takes a key while the findings view is open. Like the help,
// the view keeps every key but its own from the dashboard under it; the
// help itself opens over it and closes back to it.
func (m Model) answerDoctor(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	km := m.keys
	switch {
	case key.Matches(msg, km.Quit):
		return m.quit()
	case key.Matches(msg, km.Help):
		m.helpOpen, m.helpScroll = true, 0
	case key.Matches(msg, km.Back, km.Doctor):
		m.doctor.open = false
	case key.Matches(msg, km.Down):
		m.doctor = m.doctor.moveTo(m.doctor.cursor+1, m.findings)
	case key.Matches(msg, km.Up):
		m.doctor = m.doctor.moveTo(m.doctor.cursor-1, m.findings)
	case key.Matches(msg, km.Top):
		m.doctor = m.doctor.moveTo(0, m.findings)
	case key.Matches(msg, km.Bottom):
		m.doctor = m.doctor.moveTo(len(m.findings)-1, m.findings)
	case key.Matches(msg, km.GoTo):
		m.goToFinding()
	}
	return m, nil
}

// goToFinding closes the view on the selected finding's service: the
// Serving pane takes the focus with its cursor on that service, which
// becomes the user's selection (so the Canary pane follows it and the
// alerts no longer move it). A filter hiding the service is cleared. A
// finding about no service keeps the view open and says why nothing moved.
func (m *Model) goToFinding() {
	f, ok := panes.SelectedFinding(m.findings, m.doctor.cursor)
	if !ok {
		return
	}
	if f.Service == nil {
		m.say(m.theme.Dim.Render("no service to go to: this finding is about "+clean.Text(f.Object)), shortNotice)
		return
	}
	target := *f.Service
	row, found := m.visibleRow(target)
	if !found && m.filter.Active() {
		m.filter = m.filter.clear()
		m.refilter()
		row, found = m.visibleRow(target)
	}
	if !found {
		m.say(m.theme.Warn.Render(clean.Text(target.String())+" is not in the serving list"), shortNotice)
		return
	}
	m.doctor.open = false
	m.focus = panes.Serving
	m.userSelected = true
	m.setCursor(panes.Serving, row)
}

// visibleRow is the row of a service in the Serving list as shown.
func (m *Model) visibleRow(k sources.ServiceKey) (int, bool) {
	for i, r := range m.visible {
		if r.Key() == k {
			return i, true
		}
	}
	return 0, false
}

// doctorBody draws the findings view over the body, edge to edge: its own
// header names it, so a box would only repeat the title.
func (m Model) doctorBody(r Rect) []string {
	view := panes.FindingsView(m.input(0), m.findings, m.doctor.cursor, r.W, r.H)
	return blockLines(view, r.W, r.H, m.theme.Glyphs.Ellipsis)
}

// doctorFooter are the footer's items while the view is open: how to
// leave it, and help and quit, which still work. Its own last line names
// the keys that move and jump.
func (m Model) doctorFooter() []barItem {
	t := m.theme
	return []barItem{
		{text: t.Key.Render("esc") + " close doctor", short: t.Key.Render("esc") + " close", shortAt: 60, dropAt: 95},
		{text: t.Key.Render("?") + " help", dropAt: 85, right: true},
		{text: t.Key.Render("q") + " quit", dropAt: 90, right: true},
	}
}
