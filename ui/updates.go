package ui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/mltop/mltop/sources"
)

// updatesMsg carries every update the poller had published when the pump
// woke up, oldest first.
type updatesMsg []sources.Update

// updatesClosedMsg says the poller closed its channel: nothing more will come.
type updatesClosedMsg struct{}

// tickMsg ages the data on screen; it carries no time because the model
// reads its injected clock.
type tickMsg struct{}

// refreshedMsg reports that refresh requests were handed to the poller.
type refreshedMsg struct{ sources []sources.SourceID }

// maxBatch bounds how many queued updates one message carries, so a flood
// of updates still lets key presses through between batches.
const maxBatch = 64

// waitForUpdates is the channel pump (bubbletea's realtime example): it
// blocks for one update, then takes whatever else is already queued so a
// burst costs one recompute instead of one per update. The model re-arms it
// after each message. It reads only the channel it was given.
func waitForUpdates(ch <-chan sources.Update) tea.Cmd {
	if ch == nil {
		// Receiving from a nil channel blocks forever: no pump at all.
		return nil
	}
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return updatesClosedMsg{}
		}
		batch := updatesMsg{u}
		for len(batch) < maxBatch {
			select {
			case u, ok := <-ch:
				if !ok {
					// The close is seen again by the next pump.
					return batch
				}
				batch = append(batch, u)
			default:
				return batch
			}
		}
		return batch
	}
}

// tick schedules the next aging of the data. It fires once; the model
// re-arms it on every tickMsg, and only there, so the cadence never doubles.
func tick(every time.Duration) tea.Cmd {
	return tea.Tick(every, func(time.Time) tea.Msg { return tickMsg{} })
}

// requestRefresh asks the poller for an immediate fetch of each source. It
// runs as a command because the poller's function may block briefly; ids
// and refresh are copies, never the model's fields.
func requestRefresh(refresh func(sources.SourceID), ids []sources.SourceID) tea.Cmd {
	if refresh == nil || len(ids) == 0 {
		return nil
	}
	return func() tea.Msg {
		for _, id := range ids {
			refresh(id)
		}
		return refreshedMsg{sources: ids}
	}
}
