package ui

import (
	"bytes"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/sources"
)

func BenchmarkViewFull160x48(b *testing.B) {
	m := loaded(b, plainTheme(), 160, 48)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

func BenchmarkViewFull160x48Colour(b *testing.B) {
	m := loaded(b, colourTheme(), 160, 48)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

func BenchmarkView80x24(b *testing.B) {
	m := loaded(b, plainTheme(), 80, 24)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkUpdateApply is one poller update: apply it to the board, compose
// the snapshot, evaluate the alerts, re-filter the serving list.
func BenchmarkUpdateApply(b *testing.B) {
	m := loaded(b, plainTheme(), 160, 48)
	u := promUpdate(2)
	b.ReportAllocs()
	for b.Loop() {
		u.Status.Seq++
		next, _ := m.Update(updatesMsg{u})
		m = next.(Model)
	}
}

// BenchmarkTimeToFirstFrame starts the program, feeds it the incident and
// waits until the last update is on screen: what a user waits for after
// the data arrives (program start, four updates, first full render).
func BenchmarkTimeToFirstFrame(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ch := make(chan sources.Update, 8)
		for _, u := range incident() {
			ch <- u
		}
		tm := teatest.NewTestModel(b, newModel(fixtureOptions(ch, plainTheme()), testKit()),
			teatest.WithInitialTermSize(160, 48))
		teatest.WaitFor(b, tm.Output(), func(out []byte) bool {
			return bytes.Contains(out, []byte("kfp STALE"))
		}, teatest.WithDuration(waitFor), teatest.WithCheckInterval(200*time.Microsecond))
		if err := tm.Quit(); err != nil {
			b.Fatal(err)
		}
		tm.WaitFinished(b, teatest.WithFinalTimeout(waitFor))
	}
}
