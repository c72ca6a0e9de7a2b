// Package panes draws the dashboard's six panes and its alert strip. Every
// function here is pure: it turns an Input (plain values) and a size into a
// string, so panes are tested and benchmarked without a terminal.
package panes

import (
	"time"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/theme"
)

// ID numbers the panes as the keys 1-6 select them.
type ID int

const (
	Pipelines ID = iota + 1
	Training
	Registry
	Serving
	Canary
	Infra
)

// IDs lists the panes in key order.
func IDs() []ID { return []ID{Pipelines, Training, Registry, Serving, Canary, Infra} }

// Input is everything a pane needs to draw. The root model builds it once per
// frame from its state; panes never hold on to it.
type Input struct {
	Snap       sources.Snapshot
	Alerts     []health.Alert
	Thresholds config.Thresholds
	Theme      *theme.Theme
	Now        time.Time
	// Focused is true for the pane that has the keyboard.
	Focused bool
	// Zoomed is true when the pane fills the screen.
	Zoomed bool
	// Selected is the service the user selected in the Serving list; the
	// Canary pane follows it (falling back to the first canary).
	Selected sources.ServiceKey
	// Cursor is the focused pane's list cursor (rows of Serving after the
	// filter, versions of Registry, runs of Pipelines...).
	Cursor int
	// Filter narrows the Serving list (case-insensitive substring of the name).
	Filter string
	// Verdicts are the canary judge's current verdicts by service; a
	// service without one shows the dashboard's error-ratio rule instead.
	Verdicts map[sources.ServiceKey]canary.Verdict
}

// Pane is one of the six panes.
type Pane interface {
	ID() ID
	// Title is the border title, e.g. "SERVING ml-prod 5 services"; the root
	// prefixes the key number.
	Title(in Input) string
	// Body draws the content inside the border: exactly w cells wide and h
	// lines tall.
	Body(in Input, w, h int) string
	// Summary is one line of at most w cells for the compact (80x24) layout,
	// e.g. "pipelines 91.2% ! < 95%".
	Summary(in Input, w int) string
	// Rows is how many selectable rows the pane has for the input, so the
	// root can bound the cursor (0 for panes without a list).
	Rows(in Input) int
}
