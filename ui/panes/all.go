package panes

import (
	"io"

	"github.com/mltop/mltop/ui/theme"
)

// All returns the six panes in ID order. The panes hold no state (every
// frame's facts arrive in Input), so they are built fresh and cost nothing.
func All() []Pane {
	return []Pane{pipelinesPane{}, trainingPane{}, registryPane{}, servingPane{}, canaryPane{}, infraPane{}}
}

// themeOf returns the input's theme. A missing theme is a wiring mistake in
// the caller; drawing plain ASCII is kinder than a panic on every frame.
// The fallback writes nowhere so it never queries the terminal.
func themeOf(in Input) *theme.Theme {
	if in.Theme != nil {
		return in.Theme
	}
	t := theme.New(theme.Options{Color: false, ASCII: true, Output: io.Discard})
	return &t
}
