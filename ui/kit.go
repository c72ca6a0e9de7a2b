package ui

import (
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/panes"
)

// drawKit is what the model draws with: the six panes, the alert strip and
// the serving filter. New uses the real ones from package panes; tests may
// pass recording fakes to see exactly what the root hands to a pane.
type drawKit struct {
	panes           []panes.Pane // indexed by ID-1
	alertStrip      func(in panes.Input, w, h int) string
	visibleServices func(s sources.Snapshot, filter string) []sources.ServiceRow
}

// paneKit returns the real panes.
func paneKit() drawKit {
	return newDrawKit(panes.All(), panes.AlertStrip, panes.VisibleServices)
}

// newDrawKit orders the panes by ID so the model can index them by key
// number whatever order they come in.
func newDrawKit(all []panes.Pane, strip func(panes.Input, int, int) string,
	visible func(sources.Snapshot, string) []sources.ServiceRow) drawKit {
	k := drawKit{panes: make([]panes.Pane, paneCount), alertStrip: strip, visibleServices: visible}
	for _, p := range all {
		if id := p.ID(); id >= 1 && int(id) <= paneCount {
			k.panes[id-1] = p
		}
	}
	return k
}

// pane returns the pane with the given ID, or nil when the kit lacks it.
func (k drawKit) pane(id panes.ID) panes.Pane {
	if id < 1 || int(id) > len(k.panes) {
		return nil
	}
	return k.panes[id-1]
}
