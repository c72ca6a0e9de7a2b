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
	Doctor  key.Binding // the doctor's findings view
	Back    key.Binding
	Filter  key.Binding
	Refresh key.Binding
	Help    key.Binding
	Quit    key.Binding

	// The actions on the selected service. They are enabled only when an
	// executor may change the cluster.
	Promote  key.Binding
	Rollback key.Binding
	Pin      key.Binding
	// Refused holds the same keys in read-only mode: they are answered
	// with a notice saying why nothing happens, and never advertised.
	Refused key.Binding

	// GoTo jumps from the doctor's selected finding to its service. It is
	// only answered inside the findings view, whose own hint line names
	// it, so neither the footer nor the help lists it.
	GoTo key.Binding
}

// ActionAccess says what the action keys may do.
type ActionAccess int

const (
	// ActionsNone: no executor; the keys do not exist.
	ActionsNone ActionAccess = iota
	// ActionsReadOnly: the keys are refused with a notice.
	ActionsReadOnly
	// ActionsAllowed: the keys start an action.
	ActionsAllowed
)

// KeyGroup is a titled group of bindings, as the help overlay lists them.
type KeyGroup struct {
	Title string
	Keys  []key.Binding
}

// DefaultKeyMap returns the dashboard's bindings. Refresh is disabled (and so
// hidden from help) when canRefresh is false, and the action keys unless
// access allows them: a key that does nothing should not be advertised.
//
// The action keys are capitals, a deliberate reach: a lower-case slip while
// moving through the list must not start a change to production.
func DefaultKeyMap(canRefresh bool, access ActionAccess) KeyMap {
	km := KeyMap{
		Next:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		Prev:    key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Focus:   key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6"), key.WithHelp("1-6", "focus pane by number")),
		Down:    key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("j/down", "next row")),
		Up:      key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("k/up", "previous row")),
		Top:     key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "first row")),
		Bottom:  key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "last row")),
		Zoom:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "zoom pane / back")),
		Doctor:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "doctor findings")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help, filter, zoom")),
		Filter:  key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter services")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh all sources now")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:    key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

		Promote:  key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "promote the canary")),
		Rollback: key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "roll back the canary")),
		Pin:      key.NewBinding(key.WithKeys("M"), key.WithHelp("M", "pin or unpin minReplicas")),
		Refused:  key.NewBinding(key.WithKeys("P", "B", "M")),

		GoTo: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go to the finding's service")),
	}
	km.Refresh.SetEnabled(canRefresh)
	for _, b := range []*key.Binding{&km.Promote, &km.Rollback, &km.Pin} {
		b.SetEnabled(access == ActionsAllowed)
	}
	km.Refused.SetEnabled(access == ActionsReadOnly)
	return km
}

// hint is a footer hint: a binding (or a few shown as one item), when it
// goes as the footer narrows, and whether it sits at the right edge.
type hint struct {
	binding key.Binding
	// also are bindings shown in the same item: "P promote  B roll back".
	also []key.Binding
	// short names the item's purpose once the footer squeezes it to its
	// keys alone ("P B M actions"), from shortAt on; empty: no short form.
	short   string
	shortAt int
	dropAt  int
	right   bool
}

// bindings are the hint's enabled bindings in order.
func (h hint) bindings() []key.Binding {
	var out []key.Binding
	for _, b := range append([]key.Binding{h.binding}, h.also...) {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}

// hints are the footer's key hints in reading order. Help and quit stay
// longest: with them a user can find everything else.
func (k KeyMap) hints() []hint {
	focus := key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/1-6", "focus"))
	zoom := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "zoom"))
	move := key.NewBinding(key.WithKeys("j", "k"), key.WithHelp("j/k", "select"))
	refresh := key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh"))
	refresh.SetEnabled(k.Refresh.Enabled())
	footerKey := func(b key.Binding, desc string) key.Binding {
		out := key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, desc))
		out.SetEnabled(b.Enabled())
		return out
	}
	return []hint{
		{binding: focus, dropAt: 60},
		{binding: zoom, dropAt: 50},
		{binding: move, dropAt: 30},
		{binding: k.Filter, dropAt: 40},
		{binding: refresh, dropAt: 20},
		// The actions outlast the navigation hints: during an incident
		// they are what the footer is for.
		{binding: footerKey(k.Promote, "promote"),
			also:  []key.Binding{footerKey(k.Rollback, "roll back"), footerKey(k.Pin, "pin")},
			short: "actions", shortAt: 25, dropAt: 75},
		// The doctor finds what no single pane shows; its count is on the
		// status line, and this is the way in.
		{binding: footerKey(k.Doctor, "doctor"), dropAt: 70},
		{binding: k.Help, dropAt: 90, right: true},
		{binding: k.Quit, dropAt: 80, right: true},
	}
}

// ShortHelp is the footer's hint line (help.KeyMap).
func (k KeyMap) ShortHelp() []key.Binding {
	var out []key.Binding
	for _, h := range k.hints() {
		out = append(out, h.bindings()...)
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
	groups := []KeyGroup{
		{Title: "Panes", Keys: []key.Binding{k.Next, k.Prev, k.Focus, k.Zoom, k.Doctor, k.Back}},
		{Title: "Lists", Keys: []key.Binding{k.Down, k.Up, k.Top, k.Bottom, k.Filter}},
	}
	if k.Promote.Enabled() || k.Rollback.Enabled() || k.Pin.Enabled() {
		groups = append(groups, KeyGroup{Title: "Actions", Keys: []key.Binding{k.Promote, k.Rollback, k.Pin}})
	}
	return append(groups, KeyGroup{Title: "Program", Keys: []key.Binding{k.Refresh, k.Help, k.Quit}})
}
