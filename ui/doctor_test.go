package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/panes"
)

// doctorIncident is the incident with two more seams broken, so that the
// doctor's findings name three services:
//   - search-ranker (minReplicas 0) keeps its previous revision, which a
//     rollback would have to cold-start (rollback-unsafe, WARN);
//   - recommendation-classifier loads v6 while the registry's champion is
//     v7 (serving-drift, WARN);
//
// besides churn-model's storageUri without MLmodel (model-path, CRIT), the
// registry backlog and the pipeline success (WARN, no service) and the
// unknown versions (INFO).
func doctorIncident() []sources.Update {
	kube := kubeUpdate(1)
	for i, s := range kube.Part.Inventory.Services {
		switch s.Name {
		case "search-ranker":
			s.PreviousRevision = rev(s.Name, 11)
		case "recommendation-classifier":
			s.StorageURI = "s3://models/recommendation/6"
		}
		kube.Part.Inventory.Services[i] = s
	}
	mlflow := mlflowUpdate(1)
	reg := &mlflow.Part.Tracking.Registry
	reg.Promoted[0].Source = "s3://models/recommendation/7"
	served := reg.Promoted[0]
	served.Version, served.Aliases, served.Source = "6", nil, "s3://models/recommendation/6"
	served.Created = fixtureNow.AddDate(0, 0, -12)
	reg.Versions = []sources.ModelVersion{served, reg.Promoted[0]}
	return []sources.Update{kube, promUpdate(1), mlflow, kfpUpdate(1)}
}

// loadedDoctor is a dashboard that received the doctor incident.
func loadedDoctor(tb testing.TB, w, h int) Model {
	tb.Helper()
	m := newModel(fixtureOptions(nil, plainTheme()), testKit())
	return step(m, updatesMsg(doctorIncident()), sizeMsg([2]int{w, h}))
}

// findingIndex is the row of the finding of a check about an object.
func findingIndex(tb testing.TB, fs []health.Finding, check, object string) int {
	tb.Helper()
	for i, f := range fs {
		if f.Check == check && f.Object == object {
			return i
		}
	}
	tb.Fatalf("no %s finding about %s among %d findings", check, object, len(fs))
	return -1
}

// serviceRow is a service's row in the Serving list as shown.
func serviceRow(tb testing.TB, m Model, name string) int {
	tb.Helper()
	row, ok := m.visibleRow(svcKey(name))
	if !ok {
		tb.Fatalf("%s is not in the serving list", name)
	}
	return row
}

func TestDoctorFixtureBreaksTheSeams(t *testing.T) {
	m := loadedDoctor(t, 120, 40)
	var got []string
	for _, f := range m.findings {
		got = append(got, fmt.Sprintf("%s %s %s", f.Severity, f.Check, f.Object))
	}
	want := []string{
		"CRIT model-path churn-model",
		"WARN rollback-unsafe search-ranker",
		"WARN serving-drift recommendation-classifier",
		"WARN registry-backlog recommendation-classifier v8",
		"WARN pipeline-success pipelines",
		"INFO version-matrix versions",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDoctorViewOpensMovesJumpsAndCloses(t *testing.T) {
	m := loadedDoctor(t, 120, 40)
	m, canary := recordPane(m, panes.Canary)
	fs := m.findings
	if status := strings.Split(m.View(), "\n")[0]; !strings.Contains(status, "✗ doctor 1 CRIT 4 WARN") {
		t.Errorf("status line lacks the doctor's count: %q", status)
	}
	if !strings.Contains(lastLine(m.View()), "d doctor") {
		t.Errorf("footer lacks d doctor: %q", lastLine(m.View()))
	}
	startSelected, startRow := m.selected, m.cursors[panes.Serving]

	m, _ = press(m, "d")
	if !m.doctor.open || m.doctor.cursor != 0 {
		t.Fatalf("d: open=%v cursor=%d, want open on the first finding", m.doctor.open, m.doctor.cursor)
	}
	v := m.View()
	checkFrame(t, v, 120, 40)
	for _, want := range []string{
		"DOCTOR 6 findings: 1 CRIT, 4 WARN, 1 INFO",
		"▸ ✗ CRIT model-path", "churn-model cannot find its model's MLmodel file",
		"▲ WARN rollback-unsafe   search-ranker",
		"▲ WARN serving-drift     recommendation-classifier",
		"▲ WARN pipeline-success  pipelines",
		"● INFO version-matrix",
		"1 of 6: model-path",
		"service   ml-prod/churn-model",
		"evidence  " + fs[0].Evidence,
		"remedy    Point storageUri at the directory that holds MLmodel",
		"enter go to churn-model",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("findings view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "SERVING") || strings.Contains(v, "ALERTS") {
		t.Errorf("the dashboard shows through the findings view:\n%s", v)
	}
	if !strings.Contains(lastLine(v), "esc close doctor") || strings.Contains(lastLine(v), "d doctor") {
		t.Errorf("footer under the findings view: %q", lastLine(v))
	}

	// Keys of the dashboard do not reach it while the view is open.
	m, _ = press(m, "tab", "2", "/", "x", "r", "B", "space")
	if !m.doctor.open || m.focus != panes.Serving || m.filter.Active() || m.zoomed || m.helpOpen {
		t.Errorf("keys leaked: open=%v focus=%d filter=%q zoomed=%v help=%v",
			m.doctor.open, m.focus, m.filter.Value(), m.zoomed, m.helpOpen)
	}
	if m.selected != startSelected || m.cursors[panes.Serving] != startRow {
		t.Errorf("the Serving selection moved under the view: %v row %d", m.selected, m.cursors[panes.Serving])
	}

	// j and k move the cursor and the detail, bounded by the list.
	m, _ = press(m, "k")
	if m.doctor.cursor != 0 {
		t.Errorf("k at the top moved to %d", m.doctor.cursor)
	}
	m, _ = press(m, "j")
	if v := m.View(); m.doctor.cursor != 1 || !strings.Contains(v, "2 of 6: rollback-unsafe") ||
		!strings.Contains(v, "▸ ▲ WARN rollback-unsafe") || !strings.Contains(v, "enter go to search-ranker") {
		t.Errorf("j: cursor %d:\n%s", m.doctor.cursor, v)
	}
	m, _ = press(m, "G", "j", "down")
	if m.doctor.cursor != len(fs)-1 {
		t.Errorf("past the bottom: cursor %d, want %d", m.doctor.cursor, len(fs)-1)
	}
	m, _ = press(m, "up", "g")
	if m.doctor.cursor != 0 {
		t.Errorf("g: cursor %d", m.doctor.cursor)
	}

	// enter on the rollback finding goes to search-ranker: the Serving
	// pane takes the focus with its cursor on that row, and the Canary
	// pane is drawn for the new selection.
	m, _ = press(m, "j", "enter")
	if m.doctor.open {
		t.Fatal("enter on a finding with a service left the view open")
	}
	if m.focus != panes.Serving || m.selected != svcKey("search-ranker") || !m.userSelected ||
		m.cursors[panes.Serving] != serviceRow(t, m, "search-ranker") {
		t.Errorf("after the jump: focus %d selected %v row %d userSelected %v",
			m.focus, m.selected, m.cursors[panes.Serving], m.userSelected)
	}
	v = m.View()
	checkFrame(t, v, 120, 40)
	if canary.Selected != svcKey("search-ranker") {
		t.Errorf("the Canary pane drew for %v, want search-ranker", canary.Selected)
	}
	if !strings.Contains(v, "▸ ▲ search-ranker") {
		t.Errorf("the Serving cursor is not on search-ranker:\n%s", v)
	}
	// The selection is the user's now: an update does not move it back
	// to the worst alert's service.
	m = step(m, updatesMsg{kubeUpdate(2)})
	if m.selected != svcKey("search-ranker") {
		t.Errorf("an update moved the selection to %v", m.selected)
	}

	// d comes back on the finding just visited; esc and d close.
	m, _ = press(m, "d")
	if !m.doctor.open || m.doctor.cursor != 1 {
		t.Errorf("reopened: open=%v cursor=%d, want the visited finding", m.doctor.open, m.doctor.cursor)
	}
	m, _ = press(m, "esc")
	if m.doctor.open {
		t.Error("esc did not close the view")
	}
	m, _ = press(m, "d", "d")
	if m.doctor.open {
		t.Error("d did not close the view")
	}
}

func TestDoctorJumpClearsAFilterThatHidesTheService(t *testing.T) {
	m := loadedDoctor(t, 80, 24)
	m, _ = press(m, "/", "f", "r", "enter")
	if len(m.visible) != 1 {
		t.Fatalf("filter fr shows %d services", len(m.visible))
	}
	m, _ = press(m, "1", "d", "enter")
	if m.filter.Active() || len(m.visible) != 5 {
		t.Errorf("the filter hiding churn-model stayed: %q, %d visible", m.filter.Value(), len(m.visible))
	}
	if m.doctor.open || m.focus != panes.Serving || m.selected != svcKey("churn-model") ||
		m.cursors[panes.Serving] != serviceRow(t, m, "churn-model") {
		t.Errorf("after the jump: open=%v focus %d selected %v row %d",
			m.doctor.open, m.focus, m.selected, m.cursors[panes.Serving])
	}
	checkFrame(t, m.View(), 80, 24)

	// A filter that shows the service stays.
	m, _ = press(m, "/", "c", "h", "enter", "d", "enter")
	if m.filter.Value() != "ch" || m.selected != svcKey("churn-model") {
		t.Errorf("a filter showing the service was changed: %q, selected %v", m.filter.Value(), m.selected)
	}
}

func TestDoctorFindingWithoutServiceStaysOpen(t *testing.T) {
	m := loadedDoctor(t, 120, 40)
	i := findingIndex(t, m.findings, health.CheckPipelineSuccess, "pipelines")
	selected := m.selected
	m, _ = press(m, "d")
	m, _ = press(m, slices.Repeat([]string{"j"}, i)...)
	m, _ = press(m, "enter")
	if !m.doctor.open || m.selected != selected || m.focus != panes.Serving {
		t.Errorf("enter without a service: open=%v selected %v focus %d", m.doctor.open, m.selected, m.focus)
	}
	v := m.View()
	if !strings.Contains(lastLine(v), "no service to go to: this finding is about pipelines") {
		t.Errorf("no notice in the footer: %q", lastLine(v))
	}
	if strings.Contains(v, "enter go to") {
		t.Errorf("the view offers a jump for a finding without a service:\n%s", v)
	}
}

func TestDoctorHelpAndQuitFromTheView(t *testing.T) {
	m := loadedDoctor(t, 80, 24)
	m, _ = press(m, "d", "j", "?")
	if !m.helpOpen || !m.doctor.open {
		t.Fatalf("? from the view: help=%v doctor=%v", m.helpOpen, m.doctor.open)
	}
	v := m.View()
	checkFrame(t, v, 80, 24)
	if !strings.Contains(v, "doctor findings") {
		t.Errorf("the help does not list d:\n%s", v)
	}
	// Under the help, the view's keys are the help's.
	m, _ = press(m, "j", "esc")
	if m.helpOpen || !m.doctor.open || m.doctor.cursor != 1 {
		t.Errorf("esc from the help: help=%v doctor=%v cursor=%d, want back on the view at 1",
			m.helpOpen, m.doctor.open, m.doctor.cursor)
	}
	if _, cmd := press(m, "q"); !isQuit(cmd) {
		t.Error("q in the findings view does not quit")
	}
	// While the filter is being typed, d is text.
	m, _ = press(m, "esc", "/", "d")
	if m.doctor.open || m.filter.Value() != "d" {
		t.Errorf("d while filtering: doctor=%v filter=%q", m.doctor.open, m.filter.Value())
	}
}

// TestDoctorCursorFollowsThePickedFinding: when a new snapshot removes a
// finding above the one the user picked, the cursor stays on the picked
// one; before the user picks, it stays on the top row.
func TestDoctorCursorFollowsThePickedFinding(t *testing.T) {
	fixed := func() sources.Update {
		u := doctorIncident()[0]
		u.Status.Seq = 2
		for i, s := range u.Part.Inventory.Services {
			if s.Name == "churn-model" {
				// storageUri fixed: the model loads.
				s.Ready, s.Reason, s.Conditions, s.PodsReady, s.Restarts = true, "", nil, 1, 0
			}
			u.Part.Inventory.Services[i] = s
		}
		return u
	}
	m := loadedDoctor(t, 120, 40)
	m, _ = press(m, "d", "j", "j")
	picked := m.findings[m.doctor.cursor]
	m = step(m, updatesMsg{fixed()})
	if len(m.findings) != 5 {
		t.Fatalf("%d findings after the fix, want 5", len(m.findings))
	}
	if got := m.findings[m.doctor.cursor]; got.Check != picked.Check || got.Object != picked.Object {
		t.Errorf("cursor on %s %s, want the picked %s %s", got.Check, got.Object, picked.Check, picked.Object)
	}

	m = loadedDoctor(t, 120, 40)
	m, _ = press(m, "d")
	m = step(m, updatesMsg{fixed()})
	if m.doctor.cursor != 0 {
		t.Errorf("unpicked cursor moved to %d", m.doctor.cursor)
	}
}

// TestDoctorZeroConfigJudgesByTheAlertThresholds: Options without a
// FindingsConfig still run the checks, with the dashboard's thresholds.
func TestDoctorZeroConfigJudgesByTheAlertThresholds(t *testing.T) {
	o := fixtureOptions(nil, plainTheme())
	withConfig := step(newModel(o, testKit()), updatesMsg(doctorIncident())).findings
	o.Findings = health.FindingsConfig{}
	zero := step(newModel(o, testKit()), updatesMsg(doctorIncident())).findings
	// Without a matrix the version check is off; every other check
	// finds what it finds with the default thresholds.
	want := slices.DeleteFunc(withConfig, func(f health.Finding) bool { return f.Check == health.CheckVersionMatrix })
	if len(zero) != len(want) {
		t.Fatalf("zero config: %d findings, want the %d of the default thresholds", len(zero), len(want))
	}
	for i := range want {
		if zero[i].Check != want[i].Check || zero[i].Object != want[i].Object {
			t.Errorf("zero config finding %d: %s %s, want %s %s", i, zero[i].Check, zero[i].Object, want[i].Check, want[i].Object)
		}
	}
	if i := findingIndex(t, zero, health.CheckPipelineSuccess, "pipelines"); !strings.Contains(zero[i].What, "below 95%") {
		t.Errorf("zero config judged the pipelines by another limit: %q", zero[i].What)
	}
}

// TestGoldenDoctor is the findings view through the running program: the
// first finding at 80x24, the cursor on the rollback finding at 120x40.
func TestGoldenDoctor(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		keys []string
	}{
		{"doctor_80x24", 80, 24, []string{"d"}},
		{"doctor_120x40", 120, 40, []string{"d", "j"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := runUpdates(t, plainTheme(), c.w, c.h, doctorIncident(), c.keys...)
			view := m.View()
			checkFrame(t, view, c.w, c.h)
			golden.RequireEqual(t, []byte(view))
		})
	}
}
