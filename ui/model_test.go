package ui

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/ui/panes"
	"github.com/mltop/mltop/ui/theme"
)

// colourTheme is the coloured theme with a true-colour profile forced, so
// frames carry escape sequences whatever the test's output is.
func colourTheme() theme.Theme {
	th := theme.New(theme.Options{Color: true, Output: io.Discard})
	th.Renderer.SetColorProfile(termenv.TrueColor)
	return th
}

// TestViewIsExactlyTheTerminalSize draws every screen state at every size
// in every theme: each frame must be exactly w x h cells, never panic.
func TestViewIsExactlyTheTerminalSize(t *testing.T) {
	sizes := append(slices.Clone(layoutSizes), [][2]int{
		{59, 16}, {60, 15}, {20, 5}, {1, 1}, {2, 30}, {200, 3}, {10, 100},
	}...)
	states := map[string][]string{
		"dashboard":   nil,
		"zoom":        {"enter"},
		"zoom-infra":  {"6", "enter"},
		"help":        {"?"},
		"editing":     {"/", "f", "r"},
		"filtered":    {"/", "e", "r", "enter"},
		"no-match":    {"/", "z", "z", "z", "enter"},
		"doctor":      {"d"},
		"doctor-end":  {"d", "G"},
		"doctor-zoom": {"enter", "d", "j"},
		"doctor-help": {"d", "?"},
		"doctor-jump": {"d", "enter"},
	}
	themes := map[string]theme.Theme{"plain": plainTheme(), "ascii": asciiTheme(), "colour": colourTheme()}
	for thName, th := range themes {
		for state, keys := range states {
			for _, sz := range sizes {
				w, h := sz[0], sz[1]
				t.Run(fmt.Sprintf("%s/%s/%dx%d", thName, state, w, h), func(t *testing.T) {
					m, _ := press(loaded(t, th, w, h), keys...)
					checkFrame(t, m.View(), w, h)
				})
			}
		}
	}
}

func TestViewBeforeTheFirstSizeIsEmpty(t *testing.T) {
	m := newModel(fixtureOptions(nil, plainTheme()), testKit())
	if v := m.View(); v != "" {
		t.Errorf("view before any WindowSizeMsg = %q, want empty", v)
	}
}

func TestTooSmallSaysWhatIsNeeded(t *testing.T) {
	m := loaded(t, plainTheme(), 59, 20)
	if v := m.View(); !strings.Contains(v, "terminal too small: need 60x16, have 59x20") {
		t.Errorf("too-small screen:\n%s", v)
	}
	m = loaded(t, plainTheme(), 30, 10)
	v := m.View()
	for _, want := range []string{"terminal too small", "need 60x16", "have 30x10"} {
		if !strings.Contains(v, want) {
			t.Errorf("narrow too-small screen lacks %q:\n%s", want, v)
		}
	}
}

func TestFocusCycling(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	if m.focus != panes.Serving {
		t.Fatalf("initial focus %d, want Serving", m.focus)
	}
	var got []panes.ID
	for i := 0; i < 6; i++ {
		m, _ = press(m, "tab")
		got = append(got, m.focus)
	}
	want := []panes.ID{panes.Canary, panes.Infra, panes.Pipelines, panes.Training, panes.Registry, panes.Serving}
	if !slices.Equal(got, want) {
		t.Errorf("tab cycle %v, want %v", got, want)
	}
	m, _ = press(m, "1", "shift+tab")
	if m.focus != panes.Infra {
		t.Errorf("shift+tab from 1 focused %d, want Infra (6)", m.focus)
	}
	for _, id := range panes.IDs() {
		m, _ = press(m, fmt.Sprint(int(id)))
		if m.focus != id {
			t.Errorf("key %d focused %d", id, m.focus)
		}
		// Focus shows without colour: the title is bracketed.
		if v := m.View(); !strings.Contains(v, fmt.Sprintf("[%d ", id)) {
			t.Errorf("focused pane %d has no bracketed title:\n%s", id, v)
		}
	}
	m, _ = press(m, "7", "0")
	if m.focus != panes.Infra {
		t.Errorf("keys 7 and 0 changed focus to %d", m.focus)
	}
}

func TestZoomAndEscapeOrder(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	m, _ = press(m, "5", "enter")
	if !m.zoomed || m.focus != panes.Canary {
		t.Fatalf("enter on Canary: zoomed=%v focus=%d", m.zoomed, m.focus)
	}
	v := m.View()
	if !strings.Contains(v, "[5 ") || strings.Contains(v, "1 PIPELINES") || strings.Contains(v, "4 SERVING") {
		t.Errorf("zoomed view should show only the Canary pane:\n%s", v)
	}
	if !strings.Contains(lastLine(v), "esc back") {
		t.Errorf("zoomed footer lacks 'esc back': %q", lastLine(v))
	}
	// Keys keep working while zoomed: 4 zooms the Serving pane instead.
	m, _ = press(m, "4")
	if !m.zoomed || m.focus != panes.Serving {
		t.Errorf("4 while zoomed: zoomed=%v focus=%d", m.zoomed, m.focus)
	}

	// esc closes help, then the filter, then the zoom.
	m, _ = press(m, "/", "f", "enter", "?")
	if !m.helpOpen || m.filter.Value() != "f" || !m.zoomed {
		t.Fatalf("setup: help=%v filter=%q zoomed=%v", m.helpOpen, m.filter.Value(), m.zoomed)
	}
	m, _ = press(m, "esc")
	if m.helpOpen || m.filter.Value() != "f" || !m.zoomed {
		t.Errorf("first esc: help=%v filter=%q zoomed=%v; want only help closed", m.helpOpen, m.filter.Value(), m.zoomed)
	}
	m, _ = press(m, "esc")
	if m.filter.Active() || !m.zoomed {
		t.Errorf("second esc: filter=%q zoomed=%v; want the filter cleared", m.filter.Value(), m.zoomed)
	}
	m, _ = press(m, "esc")
	if m.zoomed {
		t.Errorf("third esc left the zoom on")
	}
	m, _ = press(m, "enter", "enter")
	if m.zoomed {
		t.Errorf("enter twice should zoom and come back")
	}
}

// recordingPane wraps a pane and keeps the last input it drew with.
type recordingPane struct {
	panes.Pane
	last *panes.Input
}

func (p recordingPane) Title(in panes.Input) string { *p.last = in; return p.Pane.Title(in) }
func (p recordingPane) Body(in panes.Input, w, h int) string {
	*p.last = in
	return p.Pane.Body(in, w, h)
}
func (p recordingPane) Summary(in panes.Input, w int) string {
	*p.last = in
	return p.Pane.Summary(in, w)
}

// recordPane replaces one pane of the model's kit with a recorder.
func recordPane(m Model, id panes.ID) (Model, *panes.Input) {
	last := &panes.Input{}
	kit := m.kit
	kit.panes = slices.Clone(kit.panes)
	kit.panes[id-1] = recordingPane{Pane: kit.pane(id), last: last}
	m.kit = kit
	return m, last
}

func TestSelectionMovesAndCanaryFollows(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		m := loaded(t, plainTheme(), size[0], size[1])
		m, canary := recordPane(m, panes.Canary)
		names := func() []string {
			var out []string
			for _, r := range m.visible {
				out = append(out, r.Name)
			}
			return out
		}()
		if len(names) != 5 {
			t.Fatalf("visible services %v, want 5", names)
		}
		check := func(step string, wantIndex int) {
			t.Helper()
			if m.cursors[panes.Serving] != wantIndex || m.selected != svcKey(names[wantIndex]) {
				t.Errorf("%v after %s: cursor %d selected %v, want %d %s",
					size, step, m.cursors[panes.Serving], m.selected, wantIndex, names[wantIndex])
			}
			m.View()
			if canary.Selected != m.selected {
				t.Errorf("%v after %s: canary pane drew %v, want the selection %v", size, step, canary.Selected, m.selected)
			}
		}
		// The selection opens on the service of the worst alert: the
		// fraud-detector canary breach, not the first row.
		check("start", 1)
		m, _ = press(m, "g")
		check("g", 0)
		m, _ = press(m, "j")
		check("j", 1)
		m, _ = press(m, "down", "down")
		check("down down", 3)
		m, _ = press(m, "k")
		check("k", 2)
		m, _ = press(m, "G")
		check("G", 4)
		m, _ = press(m, "j")
		check("j at the bottom", 4)
		m, _ = press(m, "g")
		check("g", 0)
		m, _ = press(m, "up")
		check("up at the top", 0)
	}
}

// TestCanaryPaneShowsTheSelectedCanary runs two canaries through the real
// panes: selecting the healthy one moves the Canary pane to it.
func TestCanaryPaneShowsTheSelectedCanary(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	u := kubeUpdate(2)
	for i, s := range u.Part.Inventory.Services {
		if s.Name == "recommendation-classifier" {
			s.CanaryPercent, s.HasCanaryPercent = 10, true
			s.CanaryRevision = rev(s.Name, 4)
			u.Part.Inventory.Services[i] = s
		}
	}
	m = step(m, updatesMsg{u})
	if len(m.snap.Canaries) != 2 {
		t.Fatalf("%d canaries, want 2", len(m.snap.Canaries))
	}
	canaryTitle := func() string {
		for _, l := range strings.Split(m.View(), "\n") {
			if i := strings.Index(l, "5 CANARY"); i >= 0 {
				return l[i:]
			}
		}
		return ""
	}
	for _, name := range []string{"recommendation-classifier", "fraud-detector"} {
		for i, r := range m.visible {
			if r.Name == name {
				m.setCursor(panes.Serving, 0)
				m, _ = press(m, slices.Repeat([]string{"j"}, i)...)
			}
		}
		if m.selected != svcKey(name) {
			t.Fatalf("could not select %s (selected %v)", name, m.selected)
		}
		if title := canaryTitle(); !strings.Contains(title, name) {
			t.Errorf("selected %s, canary pane title %q", name, title)
		}
	}
}

func TestSelectionFollowsTheServiceAcrossUpdates(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	target := m.visible[2].Key()
	m, _ = press(m, "g", "j", "j")

	// A new service sorting first shifts every row down by one.
	u := kubeUpdate(2)
	u.Part.Inventory.Services = append(u.Part.Inventory.Services, sources.Service{
		Namespace: ns, Name: "aaa-new-model", Mode: sources.ModeKnative, Ready: true, MinReplicas: 1,
	})
	m = step(m, updatesMsg{u})
	if m.selected != target {
		t.Errorf("selection moved to %v, want it to stay on %v", m.selected, target)
	}
	if got := m.visible[m.cursors[panes.Serving]].Key(); got != target {
		t.Errorf("cursor row holds %v, want %v", got, target)
	}
}

func TestFilterNarrowsLiveKeepsAndClears(t *testing.T) {
	m := loaded(t, plainTheme(), 80, 24)
	m, serving := recordPane(m, panes.Serving)
	m, _ = press(m, "1", "/")
	if !m.filter.editing || m.focus != panes.Serving {
		t.Fatalf("/ should open the filter on Serving: editing=%v focus=%d", m.filter.editing, m.focus)
	}
	m = typeText(m, "fr")
	if len(m.visible) != 1 || m.visible[0].Name != "fraud-detector" {
		t.Errorf("filter fr: %d services, want fraud-detector alone", len(m.visible))
	}
	v := m.View()
	if !strings.Contains(lastLine(v), "/ fr") || !strings.Contains(lastLine(v), "1 of 5 services") {
		t.Errorf("footer while typing: %q", lastLine(v))
	}
	if serving.Filter != "fr" {
		t.Errorf("serving pane drew with filter %q, want fr", serving.Filter)
	}
	if m.selected != svcKey("fraud-detector") {
		t.Errorf("selection %v, want the only match", m.selected)
	}

	// q is text while typing, not quit.
	m, cmd := press(m, "q")
	if isQuit(cmd) || m.filter.Value() != "frq" || len(m.visible) != 0 {
		t.Errorf("q while filtering: quit=%v filter=%q visible=%d", isQuit(cmd), m.filter.Value(), len(m.visible))
	}
	m, _ = press(m, "backspace", "enter")
	if m.filter.editing || m.filter.Value() != "fr" || len(m.visible) != 1 {
		t.Errorf("enter: editing=%v filter=%q visible=%d; want the filter kept", m.filter.editing, m.filter.Value(), len(m.visible))
	}
	if !strings.Contains(lastLine(m.View()), "filter fr") {
		t.Errorf("kept filter not shown in the footer: %q", lastLine(m.View()))
	}
	// The kept filter survives updates.
	m = step(m, updatesMsg{kubeUpdate(2)})
	if len(m.visible) != 1 {
		t.Errorf("filter lost on update: %d visible", len(m.visible))
	}
	m, _ = press(m, "esc")
	if m.filter.Active() || len(m.visible) != 5 {
		t.Errorf("esc: filter=%q visible=%d; want cleared", m.filter.Value(), len(m.visible))
	}
	// esc while typing clears too; ctrl+u and ctrl+w edit.
	m, _ = press(m, "/")
	m = typeText(m, "image-emb")
	m, _ = press(m, "ctrl+w")
	if m.filter.Value() != "image-" {
		t.Errorf("ctrl+w left %q, want image-", m.filter.Value())
	}
	m, _ = press(m, "ctrl+u")
	if m.filter.Value() != "" || !m.filter.editing {
		t.Errorf("ctrl+u left %q editing=%v", m.filter.Value(), m.filter.editing)
	}
	m = typeText(m, "search")
	m, _ = press(m, "esc")
	if m.filter.Active() || len(m.visible) != 5 {
		t.Errorf("esc while typing: filter=%q visible=%d", m.filter.Value(), len(m.visible))
	}
}

func TestHelpOpensAndCloses(t *testing.T) {
	for _, th := range []theme.Theme{plainTheme(), asciiTheme()} {
		m := loaded(t, th, 80, 24)
		m, _ = press(m, "?")
		if !m.helpOpen {
			t.Fatal("? did not open help")
		}
		v := m.View()
		for _, want := range []string{"shift+tab", "1-6", "filter services", "quit",
			th.Glyphs.Crit + " CRIT", th.Glyphs.Warn + " WARN", "STALE", "live", "kfp STALE 3m", "connection refused"} {
			if !strings.Contains(v, want) {
				t.Errorf("help lacks %q:\n%s", want, v)
			}
		}
		// Keys other than close and quit do nothing under the help.
		focus := m.focus
		m, _ = press(m, "tab", "j", "enter")
		if !m.helpOpen || m.focus != focus || m.zoomed {
			t.Errorf("keys leaked through the help: open=%v focus=%d zoomed=%v", m.helpOpen, m.focus, m.zoomed)
		}
		m, _ = press(m, "?")
		if m.helpOpen {
			t.Error("? did not close help")
		}
		m, _ = press(m, "?", "esc")
		if m.helpOpen {
			t.Error("esc did not close help")
		}
	}
}

func TestQuitKeys(t *testing.T) {
	m := loaded(t, plainTheme(), 80, 24)
	if _, cmd := press(m, "q"); !isQuit(cmd) {
		t.Error("q does not quit")
	}
	if _, cmd := press(m, "ctrl+c"); !isQuit(cmd) {
		t.Error("ctrl+c does not quit")
	}
	if _, cmd := press(m, "?", "q"); !isQuit(cmd) {
		t.Error("q under the help does not quit")
	}
	if _, cmd := press(m, "/", "ctrl+c"); !isQuit(cmd) {
		t.Error("ctrl+c while filtering does not quit")
	}
}

func TestNoTmuxCollidingBindings(t *testing.T) {
	for _, g := range DefaultKeyMap(true, ActionsAllowed).Groups() {
		for _, b := range g.Keys {
			for _, k := range b.Keys() {
				switch k {
				case "ctrl+h", "ctrl+j", "ctrl+k", "ctrl+l", "ctrl+b", "ctrl+a", "ctrl+d":
					t.Errorf("binding %q collides with tmux or is a destructive reflex key", k)
				}
			}
		}
	}
}

func TestRefreshAsksThePollerInACommand(t *testing.T) {
	var asked []sources.SourceID
	o := fixtureOptions(nil, plainTheme())
	o.Refresh = func(id sources.SourceID) { asked = append(asked, id) }
	m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 120, Height: 40})

	m, cmd := press(m, "r")
	if cmd == nil {
		t.Fatal("r returned no command")
	}
	if len(asked) != 0 {
		t.Fatal("Refresh was called inside Update, not in the command")
	}
	msg := cmd()
	want := []sources.SourceID{sources.SourceProm, sources.SourceKube, sources.SourceMLflow, sources.SourceKFP}
	if !slices.Equal(asked, want) {
		t.Errorf("refreshed %v, want %v", asked, want)
	}
	m = step(m, msg)
	if !strings.Contains(lastLine(m.View()), "refresh requested: prom, kube, mlflow, kfp") {
		t.Errorf("no refresh notice in the footer: %q", lastLine(m.View()))
	}

	// Without a Refresh function the key is neither bound nor advertised.
	o.Refresh = nil
	m = step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 160, Height: 48})
	if _, cmd := press(m, "r"); cmd != nil {
		t.Error("r without Refresh returned a command")
	}
	if strings.Contains(lastLine(m.View()), "refresh") {
		t.Errorf("footer advertises refresh without a Refresh function: %q", lastLine(m.View()))
	}
}

func TestClosedUpdatesChannelStopsThePump(t *testing.T) {
	ch := make(chan sources.Update, 4)
	for _, u := range incident() {
		ch <- u
	}
	close(ch)
	m := newModel(fixtureOptions(ch, plainTheme()), testKit())

	msg := waitForUpdates(ch)()
	batch, ok := msg.(updatesMsg)
	if !ok || len(batch) != 4 {
		t.Fatalf("first pump: %T with %d updates, want the 4 queued", msg, len(batch))
	}
	next, cmd := m.Update(batch)
	m = next.(Model)
	if cmd == nil {
		t.Fatal("no re-armed pump after an update")
	}
	if _, ok := cmd().(updatesClosedMsg); !ok {
		t.Fatal("the re-armed pump did not report the close")
	}
	next, cmd = m.Update(updatesClosedMsg{})
	m = next.(Model)
	if cmd != nil {
		t.Error("the model re-armed a pump on a closed channel")
	}
	if len(m.snap.Serving) != 5 {
		t.Error("data lost when the channel closed")
	}
	m = step(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	if !strings.Contains(lastLine(m.View()), "updates stopped") {
		t.Errorf("footer does not say updates stopped: %q", lastLine(m.View()))
	}
	if waitForUpdates(nil) != nil {
		t.Error("a nil channel got a pump that would block forever")
	}
}

func TestStaleSourceShowsStaleAndKeepsData(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	// MLflow starts failing: the poller publishes the status without a
	// new value.
	st := okStatus(sources.SourceMLflow, 2, 4*time.Minute, 30*time.Second)
	st.Health = sources.HealthStale
	st.Err = "mlflow: 503 Service Unavailable"
	st.Failures = 3
	m = step(m, updatesMsg{{Status: st}})

	if len(m.snap.Training.Runs) != 12 || len(m.snap.Registry.Waiting) != 3 {
		t.Errorf("training/registry data lost: %d runs, %d waiting", len(m.snap.Training.Runs), len(m.snap.Registry.Waiting))
	}
	status := strings.Split(m.View(), "\n")[0]
	if !strings.Contains(status, "mlflow STALE 4m") {
		t.Errorf("status line lacks 'mlflow STALE 4m': %q", status)
	}
}

func TestOlderUpdateIsIgnored(t *testing.T) {
	m := loaded(t, plainTheme(), 120, 40)
	newer := promUpdate(5)
	m = step(m, updatesMsg{newer})
	older := promUpdate(3)
	older.Status.Health = sources.HealthDown
	older.Part = sources.Part{Metrics: &sources.Metrics{}}
	m = step(m, updatesMsg{older})
	if got := m.snap.Source(sources.SourceProm); got.Health != sources.HealthOK || got.Seq != 5 {
		t.Errorf("prom %v seq %d after a late update, want ok seq 5", got.Health, got.Seq)
	}
	if !m.snap.Serving[0].HasMetrics && !m.snap.Serving[1].HasMetrics {
		t.Error("metrics replaced by a late update")
	}
}

func TestSnapshotIsComputedPerUpdateNotPerView(t *testing.T) {
	calls := 0
	o := fixtureOptions(nil, plainTheme())
	o.Now = func() time.Time { calls++; return fixtureNow }
	m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 160, Height: 48})
	before := calls
	for i := 0; i < 5; i++ {
		m.View()
	}
	if calls != before {
		t.Errorf("View read the clock %d times; it must draw the cached snapshot", calls-before)
	}
	m = step(m, tickMsg{})
	if calls != before+1 {
		t.Errorf("a tick read the clock %d times, want once", calls-before)
	}
}

func TestTickAgesTheData(t *testing.T) {
	now := fixtureNow
	o := fixtureOptions(nil, plainTheme())
	o.Now = func() time.Time { return now }
	m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 160, Height: 48})
	now = now.Add(2 * time.Minute)
	next, cmd := m.Update(tickMsg{})
	m = next.(Model)
	if cmd == nil {
		t.Fatal("tick not re-armed")
	}
	status := strings.Split(m.View(), "\n")[0]
	if !strings.Contains(status, "kfp STALE 5m") || !strings.Contains(status, "mlflow ok 2m") {
		t.Errorf("ages did not move with the clock: %q", status)
	}
}

func TestUntrustedTextCannotReachTheTerminal(t *testing.T) {
	o := fixtureOptions(nil, plainTheme())
	m := step(newModel(o, testKit()), updatesMsg(incident()), tea.WindowSizeMsg{Width: 160, Height: 48})
	u := kubeUpdate(2)
	u.Part.Inventory.Context = "prod\x1b]0;owned\x07\x1b[2J"
	u.Part.Inventory.Namespaces = []string{"ml-prod\x1b[31m"}
	st := kfpUpdate(2)
	st.Status.Err = "boom\x1b[1;1H\x9b2J"
	m = step(m, updatesMsg{u, st})
	for _, screen := range []string{"", "?"} {
		mm := m
		if screen != "" {
			mm, _ = press(m, screen)
		}
		v := mm.View()
		if strings.ContainsAny(v, "\x1b\x07\x9b") {
			t.Errorf("escape sequence reached the frame (%q screen):\n%q", screen, v)
		}
	}
	if status := strings.Split(m.View(), "\n")[0]; !strings.Contains(status, "ctx prod") {
		t.Errorf("cleaned context missing: %q", status)
	}
}

func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-1]
}

func TestHelpScrollsOnSmallTerminals(t *testing.T) {
	m := loaded(t, plainTheme(), 61, 20)
	m, _ = press(m, "?")
	top := m.View()
	if !strings.Contains(top, "Panes") || strings.Contains(top, "refused") {
		t.Fatalf("top of the help:\n%s", top)
	}
	if !strings.Contains(top, "j/k scroll 1-16 of") {
		t.Errorf("help title does not say it scrolls:\n%s", top)
	}
	m, _ = press(m, "G")
	bottom := m.View()
	if !strings.Contains(bottom, "refused") || strings.Contains(bottom, " Panes ") {
		t.Errorf("bottom of the help:\n%s", bottom)
	}
	end := m.helpScroll
	m, _ = press(m, "j")
	if m.helpScroll != end {
		t.Errorf("j past the end scrolled to %d, want %d", m.helpScroll, end)
	}
	m, _ = press(m, "k")
	if m.helpScroll != end-1 {
		t.Errorf("k scrolled to %d, want %d", m.helpScroll, end-1)
	}
	m, _ = press(m, "g")
	if m.helpScroll != 0 {
		t.Errorf("g scrolled to %d, want 0", m.helpScroll)
	}
	// Reopening starts at the top again.
	m, _ = press(m, "G", "esc", "?")
	if m.helpScroll != 0 {
		t.Errorf("reopened help at line %d", m.helpScroll)
	}
}

// TestKeyBurstsAreSplit: a burst of typed characters arrives as one message
// with several runes; each must act as its own key.
func TestKeyBurstsAreSplit(t *testing.T) {
	burst := func(s string, paste bool) tea.KeyMsg {
		return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s), Paste: paste}
	}
	m := loaded(t, plainTheme(), 120, 40)
	start := m.cursors[panes.Serving]
	m = step(m, burst("jj", false))
	if m.cursors[panes.Serving] != start+2 {
		t.Errorf("burst jj moved the cursor from %d to %d, want %d", start, m.cursors[panes.Serving], start+2)
	}
	m = step(m, burst("/fr", false))
	if !m.filter.editing || m.filter.Value() != "fr" {
		t.Errorf("burst /fr: editing=%v filter=%q", m.filter.editing, m.filter.Value())
	}
	m = step(m, burst("aud", true))
	if m.filter.Value() != "fraud" {
		t.Errorf("paste into the filter gave %q", m.filter.Value())
	}
	m, _ = press(m, "esc")

	// A paste outside the filter is ignored: it must not act as keys.
	next, cmd := m.Update(burst("q?j", true))
	if mm := next.(Model); isQuit(cmd) || mm.helpOpen || mm.cursors[panes.Serving] != m.cursors[panes.Serving] {
		t.Errorf("a paste acted as keys: quit=%v help=%v", isQuit(cmd), mm.helpOpen)
	}
	// Keys after q are not applied.
	next, cmd = m.Update(burst("jq?", false))
	mm := next.(Model)
	if !isQuit(cmd) || mm.helpOpen || mm.cursors[panes.Serving] != m.cursors[panes.Serving]+1 {
		t.Errorf("burst jq?: quit=%v help=%v cursor %d", isQuit(cmd), mm.helpOpen, mm.cursors[panes.Serving])
	}
}
