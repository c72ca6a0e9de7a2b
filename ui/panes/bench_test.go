package panes

import "testing"

// BenchmarkServingBody draws the table of 500 services in a 120x30 pane, the
// cost paid every second for a large cluster.
func BenchmarkServingBody(b *testing.B) {
	in := fixtureInput(colourTheme())
	in.Snap = manyServices(500)
	in.Focused, in.Cursor = true, 250
	p := paneByID(Serving)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Body(in, 120, 30)
	}
}

// BenchmarkAllPanes draws one 160x48 frame's worth of panes: the alert strip
// on top, Serving and Canary side by side, the other four along the bottom
// (the sketch's proportions), each with its title and summary.
func BenchmarkAllPanes(b *testing.B) {
	in := fixtureInput(colourTheme())
	sizes := map[ID][2]int{
		Serving: {94, 22}, Canary: {62, 22},
		Pipelines: {38, 14}, Training: {38, 14}, Registry: {38, 14}, Infra: {38, 14},
	}
	panes := All()
	b.ReportAllocs()
	for b.Loop() {
		_ = AlertStrip(in, 156, 3)
		for _, p := range panes {
			sz := sizes[p.ID()]
			_ = p.Title(in)
			_ = p.Summary(in, 40)
			_ = p.Body(in, sz[0], sz[1])
		}
	}
}

// BenchmarkZoomedCharts draws the Training and Canary panes zoomed on a
// 160x48 screen: the largest ntcharts charts the dashboard builds, once per
// frame.
func BenchmarkZoomedCharts(b *testing.B) {
	in := fixtureInput(colourTheme())
	in.Focused, in.Zoomed = true, true
	training, canary := paneByID(Training), paneByID(Canary)
	b.ReportAllocs()
	for b.Loop() {
		_ = training.Body(in, 158, 44)
		_ = canary.Body(in, 158, 44)
	}
}
