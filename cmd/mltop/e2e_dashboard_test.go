package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"github.com/mltop/mltop/ui"
)

// testDashboard runs the dashboard as `mltop` does (the live platform, its
// poller and the model runTUI draws) under teatest at 160x48 without
// colour, and checks that the true numbers are on screen.
func testDashboard(t *testing.T, pf *promFixture) {
	w := newWorld(t, pf)
	pf.covered(t)
	cfg, p := livePlatform(t, writeConfig(t, pollConfig()), append(w.args(), "--no-color")...)
	poller := runPoller(t, p)
	tm := teatest.NewTestModel(t, dashboardModel(cfg, p, poller, io.Discard), teatest.WithInitialTermSize(160, 48))

	// The stream is the renderer's, redrawing changed lines whole: once
	// every source is ok and the slowest figures are drawn, the final View
	// holds them all.
	began := time.Now()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		for _, s := range []string{"prom ok", "kube ok", "mlflow ok", "kfp ok", "91.2%", "0.812", "875ms"} {
			if !bytes.Contains(b, []byte(s)) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	t.Logf("dashboard showed every source in %s", time.Since(began).Round(time.Millisecond))
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(ui.Model).View()

	// Each pattern is one screen line's worth of a pane; columns are
	// matched loosely (\s+) so the test follows figures, not layout.
	for _, want := range []string{
		// status bar
		`ctx e2e\s+ns ml-prod\s+prom ok \d+s\s+kube ok live\s+mlflow ok \d+s\s+kfp ok \d+s`,
		// alerts
		`CRIT fraud-detector canary 5xx 20\.0% vs stable 2\.50% \(8\.0x\) > 2x`,
		`CRIT fraud-detector errors 6\.00% > 1\.00%`,
		`WARN fraud-detector p99 875ms > 500ms`,
		`WARN recommender OOM killed x1 in 24h`,
		`WARN pipelines success 91\.2% < 95% \(104/114 finished, 24h\)`,
		`WARN cv_f1_mean 0\.812 is 0\.030 below previous 0\.842`,
		`WARN fraud-detector v6 waits 30h > 24h for promotion`,
		// serving and canary: what the figures are read from below
		`fraud-detector\s+c20%\s+KN\s+yes\s`,
		`recommender\s+oom1 gpu\s+KN\s+yes\s`,
		`churn-xgb\s+STD\s+yes\s+-\s+-\s+-`,
		`CANARY fraud-detector 20% -> 00002`,
		// pipelines: avg 568 s and p95 600 s, in whole minutes
		`success 91\.2%`,
		`runs 115\s+ok 104\s+fail 10\s+running 1`,
		`duration avg 9m\s+p95 10m`,
		// training
		`cv_f1_mean 0\.812\s+-0\.030 vs prev`,
		// registry
		`waiting 2\s+oldest 30h`,
		`fraud-detector\s+champion v5`,
		`recommender\s+champion v12`,
		// infra
		`gpu-node-1/0 .*72%`,
		`OOM 24h: 1`,
	} {
		if !regexp.MustCompile(want).MatchString(view) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	// Rates come from Prometheus's extrapolation over scrapes a few
	// milliseconds off their second, so they are read back within 2 %:
	// RPS, error %, p99 of each service, and each revision's requests per
	// minute, error % and p99.
	screenFigures(t, view, `fraud-detector\s+c20%\s+KN\s+yes\s+([\d.]+)\s+([\d.]+)!\s+(\d+)ms`, 50, 6, 875)
	screenFigures(t, view, `recommender\s+oom1 gpu\s+KN\s+yes\s+([\d.]+)\s+([\d.]+)\s+(\d+)ms`, 20, 0, 25)
	screenFigures(t, view, `req/min\s+([\d,]+)\s+([\d,]+)`, 40*60, 10*60)
	screenFigures(t, view, `5xx\s+([\d.]+)%\s+([\d.]+)%\s+. 8\.0x > 2x`, 2.5, 20)
	screenFigures(t, view, `p50 / p99 \d+ / (\d+)ms\s+\d+ / (\d+)ms`, 400, 975)
	if strings.Contains(view, "STALE") || strings.Contains(view, "DOWN") {
		t.Error("a source is shown as failing")
	}
	if t.Failed() {
		t.Logf("final view:\n%s", view)
	}
}

// screenFigures finds pattern on screen and checks that its groups read,
// as numbers, the wanted figures within 2 %.
func screenFigures(t *testing.T, view, pattern string, want ...float64) {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(view)
	if m == nil {
		t.Errorf("the dashboard lacks %q", pattern)
		return
	}
	for i, w := range want {
		got, err := strconv.ParseFloat(strings.ReplaceAll(m[i+1], ",", ""), 64)
		if err != nil {
			t.Errorf("%q: figure %d is %q: %v", pattern, i+1, m[i+1], err)
			continue
		}
		within(t, fmt.Sprintf("screen figure %d of %q", i+1, pattern), got, w)
	}
}
