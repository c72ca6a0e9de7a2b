package ui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/ui/text"
	"github.com/mltop/mltop/ui/theme"
)

// testKit is the real panes: the tests check what a user would see.
func testKit() drawKit { return paneKit() }

// loaded is a dashboard that has received the incident and a window size.
func loaded(tb testing.TB, th theme.Theme, w, h int) Model {
	tb.Helper()
	m := newModel(fixtureOptions(nil, th), testKit())
	return step(m, updatesMsg(incident()), tea.WindowSizeMsg{Width: w, Height: h})
}

// step applies messages in order and drops the commands.
func step(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	return m
}

// keyMsg turns a key name as bubbletea prints it ("tab", "esc", "j") into
// the message a terminal would produce.
func keyMsg(name string) tea.KeyMsg {
	named := map[string]tea.KeyType{
		"tab": tea.KeyTab, "shift+tab": tea.KeyShiftTab, "enter": tea.KeyEnter, "esc": tea.KeyEsc,
		"up": tea.KeyUp, "down": tea.KeyDown, "ctrl+c": tea.KeyCtrlC, "backspace": tea.KeyBackspace,
		"ctrl+u": tea.KeyCtrlU, "ctrl+w": tea.KeyCtrlW, "home": tea.KeyHome, "end": tea.KeyEnd,
		"space": tea.KeySpace,
	}
	if k, ok := named[name]; ok {
		return tea.KeyMsg{Type: k}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(name)}
}

// press sends keys and returns the model and the last key's command.
func press(m Model, keys ...string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys {
		var next tea.Model
		next, cmd = m.Update(keyMsg(k))
		m = next.(Model)
	}
	return m, cmd
}

// typeText sends each rune as its own key, as a person typing does.
func typeText(m Model, s string) Model {
	for _, r := range s {
		m, _ = press(m, string(r))
	}
	return m
}

func sizeMsg(sz [2]int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: sz[0], Height: sz[1]} }

// checkFrame fails unless the frame is exactly w x h cells.
func checkFrame(tb testing.TB, frame string, w, h int) {
	tb.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		tb.Fatalf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := text.Width(l); got != w {
			tb.Fatalf("line %d is %d cells wide, want %d: %q", i, got, w, l)
		}
	}
}

// isQuit reports whether a command quits the program.
func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}
