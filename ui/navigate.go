package ui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
)

// handleInput routes what the terminal typed. Bubbletea delivers a burst of
// printable characters (fast typing over a slow SSH link, key repeat, tmux
// send-keys) as one message with several runes, which no binding matches,
// so a burst is taken apart and handled one key at a time. A paste is text,
// never commands: outside the filter it is ignored, so pasting "q..." into
// the dashboard cannot quit it, and the service name a protected namespace
// asks for must be typed (the point is to read it).
func (m Model) handleInput(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if msg.Paste && !m.filterHasKeys() {
		return m, nil
	}
	if msg.Type != tea.KeyRunes || len(msg.Runes) <= 1 || msg.Paste {
		return m.handleKey(msg)
	}
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		next, cmd := m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
		m = next.(Model)
		if m.quitting {
			// Keys typed after "q" are not for this program. The quit
			// command may first record an open dialog's answer.
			return m, cmd
		}
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// filterHasKeys reports whether the filter editor receives the keys: it is
// open and no question of the action flow is in front of it.
func (m Model) filterHasKeys() bool {
	return m.filter.editing && !m.act.quitAsk && m.act.phase != actionConfirming && m.act.phase != actionPinPrompt
}

// handleKey turns a key into a state change. The question "quit anyway?",
// the action dialog and the minReplicas prompt take every key while they
// are open; so does the filter editor (so "q" can be typed), and the help
// overlay swallows everything but closing and quitting. The findings view
// under it takes only its own keys (doctor.go).
func (m Model) handleKey(msg tea.KeyMsg) (tea.Model, tea.Cmd) {
	if m.act.quitAsk {
		return m.answerQuit(msg)
	}
	if msg.Type == tea.KeyCtrlC {
		return m.quit()
	}
	switch m.act.phase {
	case actionConfirming:
		return m.answerDialog(msg)
	case actionPinPrompt:
		return m.answerPin(msg)
	}
	if m.filter.editing {
		var res filterResult
		m.filter, res = m.filter.handle(msg)
		if res == filterChanged || res == filterCleared {
			m.refilter()
		}
		return m, nil
	}
	km := m.keys
	if m.helpOpen {
		switch {
		case key.Matches(msg, km.Quit):
			return m.quit()
		case key.Matches(msg, km.Back, km.Help):
			m.helpOpen = false
		case key.Matches(msg, km.Down):
			m.scrollHelp(m.helpScroll + 1)
		case key.Matches(msg, km.Up):
			m.scrollHelp(m.helpScroll - 1)
		case key.Matches(msg, km.Top):
			m.scrollHelp(0)
		case key.Matches(msg, km.Bottom):
			m.scrollHelp(1 << 30)
		}
		return m, nil
	}
	if m.doctor.open {
		return m.answerDoctor(msg)
	}
	switch {
	case key.Matches(msg, km.Quit):
		return m.quit()
	case key.Matches(msg, km.Help):
		m.helpOpen, m.helpScroll = true, 0
	case key.Matches(msg, km.Doctor):
		// The cursor stays where it was: after a jump, d comes back to
		// the finding just visited, one key from the next.
		m.doctor.open = true
	case key.Matches(msg, km.Back):
		if m.act.phase == actionPlanning || m.act.phase == actionChecking {
			// The newest thing under way is the action: esc stops it
			// before it closes anything on screen.
			return m.cancelAction(), nil
		}
		m.back()
	case key.Matches(msg, km.Next):
		m.focus = m.focus%paneCount + 1
	case key.Matches(msg, km.Prev):
		m.focus = (m.focus+paneCount-2)%paneCount + 1
	case key.Matches(msg, km.Focus):
		m.focus = panes.ID(msg.String()[0] - '0')
	case key.Matches(msg, km.Zoom):
		m.zoomed = !m.zoomed
	case key.Matches(msg, km.Down):
		m.moveCursor(m.cursors[m.focus] + 1)
	case key.Matches(msg, km.Up):
		m.moveCursor(m.cursors[m.focus] - 1)
	case key.Matches(msg, km.Top):
		m.moveCursor(0)
	case key.Matches(msg, km.Bottom):
		m.moveCursor(m.rows(m.focus) - 1)
	case key.Matches(msg, km.Filter):
		// The filter narrows the Serving list, so that is where the user
		// looks while typing.
		m.focus = panes.Serving
		m.filter = m.filter.open()
	case key.Matches(msg, km.Refresh):
		return m, requestRefresh(m.opts.Refresh, configuredSources(m.snap))
	case key.Matches(msg, km.Promote):
		return m.startAction(actions.Promote)
	case key.Matches(msg, km.Rollback):
		return m.startAction(actions.Rollback)
	case key.Matches(msg, km.Pin):
		return m.startAction(actions.Pin)
	case key.Matches(msg, km.Refused):
		m.say(readOnlyNotice, shortNotice)
	}
	return m, nil
}

// back closes the innermost thing open: the help overlay, then the filter,
// then the zoom.
func (m *Model) back() {
	switch {
	case m.helpOpen:
		m.helpOpen = false
	case m.filter.Active():
		m.filter = m.filter.clear()
		m.refilter()
	case m.zoomed:
		m.zoomed = false
	}
}

// scrollHelp moves the help to a first line, bounded by its length at the
// current size.
func (m *Model) scrollHelp(to int) {
	body := m.layout.Body
	lines := helpLineCount(m.theme, m.helpInput(), body.W)
	m.helpScroll = clampScroll(to, lines, body.H-2)
}

func (m *Model) helpInput() helpInput {
	return helpInput{Keys: m.keys, Snap: m.snap, Now: m.now, Version: m.opts.Version, Scroll: m.helpScroll}
}

// rows is how many selectable rows a pane has now.
func (m *Model) rows(id panes.ID) int {
	if id == panes.Serving {
		return len(m.visible)
	}
	p := m.kit.pane(id)
	if p == nil {
		return 0
	}
	return p.Rows(m.input(id))
}

// setCursor moves a pane's cursor, bounded by its rows. On the Serving pane
// the cursor also selects the service the Canary pane follows.
func (m *Model) setCursor(id panes.ID, i int) {
	n := m.rows(id)
	i = min(i, n-1)
	i = max(i, 0)
	m.cursors[id] = i
	if id == panes.Serving {
		m.selected = sources.ServiceKey{}
		if n > 0 {
			m.selected = m.visible[i].Key()
		}
	}
}

// moveCursor moves the focused pane's cursor on the user's request. Once the
// user picks a service, the selection is theirs: it no longer follows the
// alerts.
func (m *Model) moveCursor(i int) {
	if m.focus == panes.Serving {
		m.userSelected = true
	}
	m.setCursor(m.focus, i)
}

// refilter recomputes the Serving list and keeps the selection on the same
// service when it is still listed; otherwise the cursor stays at its row.
// Other panes' cursors are bounded again because their lists may shrink.
func (m *Model) refilter() {
	m.visible = m.kit.visibleServices(m.snap, m.filter.Value())
	cursor := m.cursors[panes.Serving]
	if !m.userSelected {
		// Until the user picks one, the selection is the service of the
		// worst alert, so the Canary pane opens on the canary in trouble.
		if k, ok := worstService(m.alerts); ok {
			m.selected = k
		}
	}
	for i, r := range m.visible {
		if r.Key() == m.selected {
			cursor = i
			break
		}
	}
	m.setCursor(panes.Serving, cursor)
	for _, id := range panes.IDs() {
		if id != panes.Serving {
			m.setCursor(id, m.cursors[id])
		}
	}
}

// worstService is the service named by the first (most severe) alert that
// names one.
func worstService(alerts []health.Alert) (sources.ServiceKey, bool) {
	for _, a := range alerts {
		if a.Service != nil {
			return *a.Service, true
		}
	}
	return sources.ServiceKey{}, false
}

// configuredSources are the sources a refresh can reach.
func configuredSources(s sources.Snapshot) []sources.SourceID {
	var out []sources.SourceID
	for _, st := range s.Sources {
		if st.Configured {
			out = append(out, st.ID)
		}
	}
	return out
}

func joinIDs(ids []sources.SourceID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = string(id)
	}
	return strings.Join(parts, ", ")
}

// input is what a pane receives to draw itself.
func (m *Model) input(id panes.ID) panes.Input {
	return panes.Input{
		Snap:       m.snap,
		Alerts:     m.alerts,
		Thresholds: m.opts.Thresholds,
		Theme:      m.theme,
		Now:        m.now,
		Focused:    id == m.focus,
		Zoomed:     m.zoomed && id == m.focus,
		Selected:   m.selected,
		Cursor:     m.cursors[id],
		Filter:     m.filter.Value(),
		Verdicts:   m.verdicts,
	}
}
