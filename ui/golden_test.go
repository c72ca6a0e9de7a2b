package ui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/theme"
)

// The goldens hold the final View() string, not teatest's output stream.
// The stream depends on how many intermediate frames the renderer drew
// before the updates arrived (and on its line-diffing), which varies from
// run to run; the final View is a pure function of the model, so it is the
// stable thing to compare. The program still runs end to end: teatest
// starts it, the fake channel feeds it, and WaitFor watches the real output
// until the last update has been drawn. Regenerate with
//
//	go test ./ui -update
//
// Each golden is plain text (uncoloured theme), one file per screen in
// testdata/<TestName>/<case>.golden.

const (
	waitFor  = 3 * time.Second
	waitTick = 5 * time.Millisecond
)

// runProgram runs the dashboard under teatest, feeds it the incident through
// a channel, waits until the stale KFP source (the last update) is on
// screen, then applies keys and returns the final model.
func runProgram(t *testing.T, th theme.Theme, w, h int, keys ...string) Model {
	t.Helper()
	return runUpdates(t, th, w, h, incident(), keys...)
}

// runUpdates is runProgram fed other updates; the last must carry the
// stale KFP source.
func runUpdates(t *testing.T, th theme.Theme, w, h int, updates []sources.Update, keys ...string) Model {
	t.Helper()
	ch := make(chan sources.Update, len(updates))
	m := newModel(fixtureOptions(ch, th), testKit())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	for _, u := range updates {
		ch <- u
	}
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("kfp STALE"))
	}, teatest.WithDuration(waitFor), teatest.WithCheckInterval(waitTick))
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).(Model)
}

func TestGoldenDashboard(t *testing.T) {
	cases := []struct {
		name string
		th   theme.Theme
		w, h int
	}{
		{"80x24", plainTheme(), 80, 24},
		{"120x40", plainTheme(), 120, 40},
		{"160x48", plainTheme(), 160, 48},
		{"80x24_ascii", asciiTheme(), 80, 24},
		{"160x48_ascii", asciiTheme(), 160, 48},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := runProgram(t, c.th, c.w, c.h)
			view := m.View()
			checkFrame(t, view, c.w, c.h)
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// TestGoldenScreens are the other screens: help, zoom, filter, a moved
// selection, each reached by keys through the running program.
func TestGoldenScreens(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		keys []string
	}{
		{"help_80x24", 80, 24, []string{"?"}},
		{"help_160x48", 160, 48, []string{"?"}},
		{"zoom_canary_120x40", 120, 40, []string{"5", "enter"}},
		{"zoom_serving_80x24", 80, 24, []string{"enter"}},
		{"filter_typing_80x24", 80, 24, []string{"/", "i", "m"}},
		{"filter_kept_120x40", 120, 40, []string{"/", "r", "a", "enter"}},
		{"select_third_120x40", 120, 40, []string{"j", "j"}},
		{"focus_training_80x24", 80, 24, []string{"2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := runProgram(t, plainTheme(), c.w, c.h, c.keys...)
			view := m.View()
			checkFrame(t, view, c.w, c.h)
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// TestKeysStayResponsiveWhileUpdatesStream floods the channel with updates
// while keys arrive: the program must take the keys and quit promptly.
func TestKeysStayResponsiveWhileUpdatesStream(t *testing.T) {
	ch := make(chan sources.Update)
	m := newModel(fixtureOptions(ch, plainTheme()), testKit())
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40))

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := uint64(1); ; seq++ {
			u := promUpdate(seq)
			if seq%2 == 0 {
				u = kubeUpdate(seq)
			}
			select {
			case ch <- u:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()

	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains(b, []byte("prom ok"))
	}, teatest.WithDuration(waitFor), teatest.WithCheckInterval(waitTick))
	for _, k := range []string{"tab", "tab", "enter"} {
		tm.Send(keyMsg(k))
	}
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).(Model)
	if final.focus != 6 || !final.zoomed {
		t.Errorf("keys lost under the update stream: focus %d zoomed %v", final.focus, final.zoomed)
	}
	if got := final.snap.Source(sources.SourceProm).Seq; got < 1 {
		t.Errorf("no update applied (prom seq %d)", got)
	}
}

// TestGoldenStartup is the first screen, before any source has answered:
// every pane must say it is waiting rather than draw zeros.
func TestGoldenStartup(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			ch := make(chan sources.Update)
			tm := teatest.NewTestModel(t, newModel(fixtureOptions(ch, plainTheme()), testKit()),
				teatest.WithInitialTermSize(size[0], size[1]))
			teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
				return bytes.Contains(b, []byte("kfp wait"))
			}, teatest.WithDuration(waitFor), teatest.WithCheckInterval(waitTick))
			if err := tm.Quit(); err != nil {
				t.Fatal(err)
			}
			view := tm.FinalModel(t, teatest.WithFinalTimeout(waitFor)).View()
			checkFrame(t, view, size[0], size[1])
			golden.RequireEqual(t, []byte(view))
		})
	}
}
