package panes

import (
	"strings"
	"testing"

	"github.com/mltop/mltop/sources"
)

// primaries is the source each pane cannot draw without.
func primaries() map[ID]sources.SourceID {
	return map[ID]sources.SourceID{
		Pipelines: sources.SourceKFP, Training: sources.SourceMLflow, Registry: sources.SourceMLflow,
		Serving: sources.SourceKube, Canary: sources.SourceKube, Infra: sources.SourceProm,
	}
}

func TestUnconfiguredSourceSaysHowToConfigureIt(t *testing.T) {
	for id, src := range primaries() {
		st := offStatus(src)
		in := fixtureInput(asciiTheme())
		in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{src: st})
		p := paneByID(id)
		body := p.Body(in, 80, 6)
		mustContain(t, body, string(src)+" not configured", st.Hint)
		mustContain(t, p.Title(in), "off")
		mustContain(t, p.Summary(in, 80), "off")
		if p.Rows(in) != 0 {
			t.Errorf("pane %d has %d rows without data", id, p.Rows(in))
		}
	}
}

func TestPendingSourceSaysItIsAwaited(t *testing.T) {
	for id, src := range primaries() {
		in := fixtureInput(asciiTheme())
		in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{src: pendingStatus(src)})
		p := paneByID(id)
		mustContain(t, p.Body(in, 80, 6), "waiting for "+string(src)+"...")
		mustContain(t, p.Title(in), "waiting")
	}
}

func TestDownSourceShowsTheErrorAndRetries(t *testing.T) {
	for id, src := range primaries() {
		in := fixtureInput(asciiTheme())
		in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{src: downStatus(src)})
		p := paneByID(id)
		body := p.Body(in, 80, 6)
		mustContain(t, body, "X "+string(src)+" unreachable: connection refused", "retrying (3 attempts failed), last try 4s ago")
		mustContain(t, p.Title(in), "DOWN")
		mustContain(t, p.Summary(in, 80), "DOWN")
	}
}

func TestStaleSourceKeepsItsDataAndSaysHowOld(t *testing.T) {
	// What each pane still shows from its old value.
	kept := map[ID]string{
		Pipelines: "91.2%", Training: "0.857", Registry: "v8", Serving: "fraud-detector", Canary: "4.00%", Infra: "73%",
	}
	for id, src := range primaries() {
		in := withSource(fixtureInput(asciiTheme()), staleStatus(src))
		p := paneByID(id)
		body := p.Body(in, 100, 14)
		mustContain(t, body, kept[id], "! "+string(src)+" STALE 3m: dial tcp 10.0.0.7:8888: i/o timeout")
		mustContain(t, p.Title(in), "STALE 3m")
		mustContain(t, p.Summary(in, 120), "STALE 3m")
	}
}

func TestServingWithoutPrometheusShowsRowsWithDashes(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{sources.SourceProm: downStatus(sources.SourceProm)})
	body := paneByID(Serving).Body(in, 100, 10)
	mustContain(t, body, "X prom unreachable: connection refused")
	row := lineWith(t, body, "recommendation-classifier")
	if fields := strings.Fields(row); len(fields) < 4 || fields[len(fields)-1] != "-" || fields[len(fields)-2] != "-" {
		t.Errorf("metrics of a row without Prometheus should read -: %q", row)
	}
	mustNotContain(t, row, "0.00", "0ms")
	mustContain(t, paneByID(Serving).Title(in), "prom DOWN")

	in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{sources.SourceProm: offStatus(sources.SourceProm)})
	mustContain(t, paneByID(Serving).Body(in, 100, 10), "prom not configured: figures show -")
	mustContain(t, paneByID(Canary).Body(in, 100, 10), "verdict: no per-revision metrics (prom off)")
}

func TestInfraKeepsOOMKillsWhenPrometheusIsOff(t *testing.T) {
	in := fixtureInput(asciiTheme())
	in.Snap = fixtureSnapshotWith(map[sources.SourceID]sources.SourceStatus{sources.SourceProm: offStatus(sources.SourceProm)})
	body := paneByID(Infra).Body(in, 100, 8)
	mustContain(t, body, "prom not configured", "OOM 24h: 1 ! > 0", "image-embedder")
	mustContain(t, paneByID(Infra).Summary(in, 80), "gpu off", "OOM 1 !")
}

// lineWith returns the first line of s that contains sub (styling removed).
func lineWith(t *testing.T, s, sub string) string {
	t.Helper()
	for _, l := range strings.Split(plain(s), "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	t.Fatalf("no line with %q in:\n%s", sub, plain(s))
	return ""
}

// cursorLine returns the one line that starts with the ASCII cursor glyph.
func cursorLine(t *testing.T, s string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(plain(s), "\n") {
		if strings.HasPrefix(l, "> ") {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d cursor lines in:\n%s", len(found), plain(s))
	}
	return found[0]
}
