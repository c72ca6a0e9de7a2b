package ui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
)

// KeyMap feeds bubbles/help like any other key map.
var _ help.KeyMap = KeyMap{}

// KeyMap is every key the dashboard answers to. It is built by DefaultKeyMap
// and stored in the model, never shared through a package variable.
//
// No binding uses ctrl+h/j/k/l or ctrl+d/ctrl+k: tmux users keep those for
// pane navigation (gh-dash #797, k9s #625).
type KeyMap struct {
	Next    key.Binding
	Prev    key.Binding
	Focus   key.Binding // 1-6
	Down    key.Binding
	Up      key.Binding
	Top     key.Binding
	Bottom  key.Binding
	Zoom    key.Binding
	Back    key.Binding
	Filter  key.Binding
	Refresh key.Binding
	Help    key.Binding
	Quit    key.Binding
}

// KeyGroup is a titled group of bindings, as the help overlay lists them.
type KeyGroup struct {
	Title string
	Keys  []key.Binding
}

// DefaultKeyMap returns the dashboard's bindings. Refresh is disabled (and so
// hidden from help) when canRefresh is false: a key that does nothing should
// not be advertised.
func DefaultKeyMap(canRefresh bool) KeyMap {
	km := KeyMap{
		Next:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Prev:    key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Focus:   key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6"), key.WithHelp("1-6", "focus pane by number")),
		Down:    key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/down", "next row")),
		Up:      key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/up", "previous row")),
		Top:     key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first row")),
		Bottom:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last row")),
		Zoom:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "zoom pane / back")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help, filter, zoom")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter services")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh all sources now")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
	km.Refresh.SetEnabled(canRefresh)
	return km
}

// hint is a footer hint: a binding, when it goes as the footer narrows,
// and whether it sits at the right edge.
type hint struct {
	binding key.Binding
	dropAt  int
	right   bool
}

// hints are the footer's key hints in reading order. Help and quit stay
// longest: with them a user can find everything else.
func (k KeyMap) hints() []hint {
	focus := key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/1-6", "focus"))
	zoom := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "zoom"))
	move := key.NewBinding(key.WithKeys("j", "k"), key.WithHelp("j/k", "select"))
	refresh := key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh"))
	refresh.SetEnabled(k.Refresh.Enabled())
	return []hint{
		{binding: focus, dropAt: 60},
		{binding: zoom, dropAt: 50},
		{binding: move, dropAt: 30},
		{binding: k.Filter, dropAt: 40},
		{binding: refresh, dropAt: 20},
		{binding: k.Help, dropAt: 90, right: true},
		{binding: k.Quit, dropAt: 80, right: true},
	}
}

// ShortHelp is the footer's hint line (help.KeyMap).
func (k KeyMap) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, h := range k.hints() {
		if h.binding.Enabled() {
			out = append(out, h.binding)
		}
	}
	return out
}

// FullHelp is the help overlay's key list, one column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	groups := k.Groups()
	out := make([][]key.Binding, len(groups))
	for i, g := range groups {
		out[i] = g.Keys
	}
	return out
}

// Groups lists the bindings by purpose, with titles for the help overlay.
func (k KeyMap) Groups() []KeyGroup {
	return []KeyGroup{
		{Title: "Panes", Keys: []key.Binding{k.Next, k.Prev, k.Focus, k.Zoom, k.Back}},
		{Title: "Lists", Keys: []key.Binding{k.Down, k.Up, k.Top, k.Bottom, k.Filter}},
		{Title: "Program", Keys: []key.Binding{k.Refresh, k.Help, k.Quit}},
	}
}
