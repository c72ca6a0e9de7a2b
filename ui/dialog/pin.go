package dialog

import (
	"strconv"

	tea "github.com/charmbracelet/bubbletea"
)

// PinResult is what a key did to the minReplicas prompt.
type PinResult int

const (
	// PinTyping: the prompt stays open.
	PinTyping PinResult = iota
	// PinSet: enter; plan a pin to Value().
	PinSet
	// PinUnset: u; plan an unpin, restoring the recorded minReplicas.
	PinUnset
	// PinCancelled: esc; nothing is planned.
	PinCancelled
)

// maxPinDigits bounds the typed value: no InferenceService keeps a thousand
// replicas warm, and the preflight checks it against maxReplicas anyway.
const maxPinDigits = 3

// PinPrompt is the one-line prompt M opens in the footer: "minReplicas
// [1]:". Only digits are typed, and not a leading zero: pinning to 0 would
// be the scale-to-zero the pin exists to prevent.
type PinPrompt struct {
	digits string
}

// Update takes one key.
func (p PinPrompt) Update(msg tea.KeyMsg) (PinPrompt, PinResult) {
	switch msg.Type {
	case tea.KeyEnter:
		return p, PinSet
	case tea.KeyEsc:
		return PinPrompt{}, PinCancelled
	case tea.KeyBackspace:
		if p.digits != "" {
			p.digits = p.digits[:len(p.digits)-1]
		}
	case tea.KeyCtrlU:
		p.digits = ""
	case tea.KeyRunes:
		if msg.Alt {
			return p, PinTyping
		}
		for _, r := range msg.Runes {
			switch {
			case r == 'u':
				return p, PinUnset
			case r >= '0' && r <= '9' && len(p.digits) < maxPinDigits && (r != '0' || p.digits != ""):
				p.digits += string(r)
			}
		}
	}
	return p, PinTyping
}

// Typed is the digits typed so far.
func (p PinPrompt) Typed() string { return p.digits }

// Value is the minReplicas to pin: what was typed, or the default 1.
func (p PinPrompt) Value() int {
	n, err := strconv.Atoi(p.digits)
	if err != nil || n < 1 {
		return 1
	}
	return n
}
