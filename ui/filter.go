package ui

import (
	"unicode"

	tea "github.com/charmbracelet/bubbletea"
)

// filterEditor is the one-line editor "/" opens in the footer. The filter is
// a case-insensitive substring of the service name, so a small editor that
// appends, deletes and clears is all it needs: typing narrows the list live,
// enter keeps the filter, esc clears it.
//
// (bubbles/textinput would do, but it pulls github.com/atotto/clipboard,
// which is not in go.sum.)
type filterEditor struct {
	value   []rune
	editing bool
}

// maxFilterRunes bounds the filter: no service name is longer than a DNS
// label (63 characters).
const maxFilterRunes = 63

// filterResult says what a key did to the filter.
type filterResult int

const (
	filterKept    filterResult = iota // the key changed nothing
	filterChanged                     // the value changed: recompute the list
	filterClosed                      // enter: editing ends, the value stays
	filterCleared                     // esc: editing ends, the value is gone
)

// Value is the current filter.
func (f filterEditor) Value() string { return string(f.value) }

// Active reports whether the list is filtered or being filtered.
func (f filterEditor) Active() bool { return f.editing || len(f.value) > 0 }

// open starts editing, keeping the current value so "/" refines a kept filter.
func (f filterEditor) open() filterEditor {
	f.editing = true
	return f
}

// clear drops the filter and stops editing.
func (f filterEditor) clear() filterEditor {
	return filterEditor{}
}

// handle applies one key while editing.
func (f filterEditor) handle(msg tea.KeyMsg) (filterEditor, filterResult) {
	switch msg.Type {
	case tea.KeyEnter:
		f.editing = false
		return f, filterClosed
	case tea.KeyEsc:
		return f.clear(), filterCleared
	case tea.KeyBackspace:
		if len(f.value) == 0 {
			return f, filterKept
		}
		f.value = f.value[:len(f.value)-1]
		return f, filterChanged
	case tea.KeyCtrlU:
		if len(f.value) == 0 {
			return f, filterKept
		}
		f.value = nil
		return f, filterChanged
	case tea.KeyCtrlW:
		return f.deleteWord()
	case tea.KeySpace:
		// Service names have no spaces; a space would only hide every row.
		return f, filterKept
	case tea.KeyRunes:
		changed := false
		for _, r := range msg.Runes {
			if !unicode.IsPrint(r) || unicode.IsSpace(r) || len(f.value) >= maxFilterRunes {
				continue
			}
			// A copy keeps earlier models' editors unchanged: the rune
			// slice would otherwise be shared between model values.
			f.value = append(append([]rune(nil), f.value...), r)
			changed = true
		}
		if changed {
			return f, filterChanged
		}
	}
	return f, filterKept
}

// deleteWord removes the last dash- or dot-separated part, the way ctrl+w
// removes a word in a shell: "fraud-detector" becomes "fraud-".
func (f filterEditor) deleteWord() (filterEditor, filterResult) {
	if len(f.value) == 0 {
		return f, filterKept
	}
	i := len(f.value)
	for i > 0 && isNameSeparator(f.value[i-1]) {
		i--
	}
	for i > 0 && !isNameSeparator(f.value[i-1]) {
		i--
	}
	f.value = append([]rune(nil), f.value[:i]...)
	return f, filterChanged
}

func isNameSeparator(r rune) bool { return r == '-' || r == '.' || r == '_' || r == '/' }
