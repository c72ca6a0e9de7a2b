package sim

import (
	"context"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

// parts is one fetch of every source.
type parts struct {
	inv sources.Inventory
	met sources.Metrics
	trk sources.Tracking
	kfp sources.Pipelines
}

func fetchAll(t testing.TB, p *Platform) parts {
	t.Helper()
	var out parts
	for id, f := range p.Fetchers() {
		part, err := f(context.Background())
		if err != nil {
			t.Fatalf("fetch %s: %v", id, err)
		}
		switch id {
		case sources.SourceKube:
			out.inv = *part.Inventory
		case sources.SourceProm:
			out.met = *part.Metrics
		case sources.SourceMLflow:
			out.trk = *part.Tracking
		case sources.SourceKFP:
			out.kfp = *part.Pipelines
		}
	}
	return out
}

func newPlatform(t testing.TB, o Options) *Platform {
	t.Helper()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFetchersCoverEverySourceWithItsOwnPart(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	f := p.Fetchers()
	if len(f) != len(sources.AllSources()) {
		t.Fatalf("got %d fetchers, want one per source", len(f))
	}
	for _, id := range sources.AllSources() {
		part, err := f[id](context.Background())
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		set := map[sources.SourceID]bool{
			sources.SourceKube:   part.Inventory != nil,
			sources.SourceProm:   part.Metrics != nil,
			sources.SourceMLflow: part.Tracking != nil,
			sources.SourceKFP:    part.Pipelines != nil,
		}
		for other, isSet := range set {
			if isSet != (other == id) {
				t.Errorf("fetcher %s: part field of %s set=%v", id, other, isSet)
			}
		}
	}
}

func TestFetchHonoursCancelledContext(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for id, f := range p.Fetchers() {
		if _, err := f(ctx); err == nil {
			t.Errorf("%s: fetch with a cancelled context succeeded", id)
		}
	}
}

func TestSameOptionsAndHistoryGiveIdenticalValues(t *testing.T) {
	a := newPlatform(t, Options{Seed: 42})
	b := newPlatform(t, Options{Seed: 42})
	for _, p := range []*Platform{a, b} {
		p.Advance(90 * time.Second)
		if err := p.SetMinReplicas(demoNamespace, "search-ranker", 1); err != nil {
			t.Fatal(err)
		}
		p.Advance(7 * time.Minute)
		zero := 0
		if err := p.SetCanaryPercent(demoNamespace, "fraud-detector", &zero); err != nil {
			t.Fatal(err)
		}
		p.Advance(2 * time.Second)
	}
	if !reflect.DeepEqual(fetchAll(t, a), fetchAll(t, b)) {
		t.Fatal("two platforms with the same seed and history differ")
	}
}

func TestFetchingTwiceOrInAnyOrderChangesNothing(t *testing.T) {
	a := newPlatform(t, Options{Seed: 7})
	b := newPlatform(t, Options{Seed: 7})
	a.Advance(4 * time.Minute)
	b.Advance(4 * time.Minute)
	first := fetchAll(t, a)
	if second := fetchAll(t, a); !reflect.DeepEqual(first, second) {
		t.Fatal("fetching twice at the same simulated time gave different values")
	}
	// b fetches in reverse order, each source several times.
	ids := sources.AllSources()
	f := b.Fetchers()
	var got parts
	for i := len(ids) - 1; i >= 0; i-- {
		for range 3 {
			part, err := f[ids[i]](context.Background())
			if err != nil {
				t.Fatal(err)
			}
			switch ids[i] {
			case sources.SourceKube:
				got.inv = *part.Inventory
			case sources.SourceProm:
				got.met = *part.Metrics
			case sources.SourceMLflow:
				got.trk = *part.Tracking
			case sources.SourceKFP:
				got.kfp = *part.Pipelines
			}
		}
	}
	if !reflect.DeepEqual(first, got) {
		t.Fatal("fetch order or repetition changed the values")
	}
}

func TestDifferentSeedsGiveDifferentValues(t *testing.T) {
	a := fetchAll(t, newPlatform(t, Options{Seed: 1}))
	b := fetchAll(t, newPlatform(t, Options{Seed: 2}))
	if a.kfp.Runs[0].ID == b.kfp.Runs[0].ID {
		t.Error("KFP run ids do not depend on the seed")
	}
	if a.trk.Training.Runs[0].ID == b.trk.Training.Runs[0].ID {
		t.Error("MLflow run ids do not depend on the seed")
	}
	k := sources.ServiceKey{Namespace: demoNamespace, Name: "fraud-detector"}
	if a.met.Services[k].RPS == b.met.Services[k].RPS {
		t.Error("traffic does not depend on the seed")
	}
	if a.inv.Services[0].StorageURI == b.inv.Services[0].StorageURI {
		t.Error("artifact paths do not depend on the seed")
	}
}

func TestUnknownScenarioListsTheValidNames(t *testing.T) {
	_, err := New(Options{Scenario: "chaos"})
	if err == nil {
		t.Fatal("unknown scenario accepted")
	}
	for _, name := range Scenarios() {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name scenario %q", err, name)
		}
	}
	for _, name := range Scenarios() {
		if _, err := New(Options{Scenario: name}); err != nil {
			t.Errorf("scenario %s: %v", name, err)
		}
	}
	if p := newPlatform(t, Options{}); p.Scenario() != ScenarioIncident || !p.Now().Equal(DefaultStart()) {
		t.Errorf("defaults: scenario %q at %v", p.Scenario(), p.Now())
	}
}

func TestWallClockDrivesSimulatedTimeAtSpeed(t *testing.T) {
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return wall }
	p := newPlatform(t, Options{Wall: now, Speed: 10})
	mu.Lock()
	wall = wall.Add(3 * time.Second)
	mu.Unlock()
	if got, want := p.Now(), DefaultStart().Add(30*time.Second); !got.Equal(want) {
		t.Fatalf("after 3 s of wall time at speed 10: %v, want %v", got, want)
	}
	p.Advance(time.Minute)
	p.Advance(-time.Hour) // ignored: the past is fixed
	if got, want := p.Now(), DefaultStart().Add(90*time.Second); !got.Equal(want) {
		t.Fatalf("after Advance: %v, want %v", got, want)
	}
	frozen := newPlatform(t, Options{Wall: now})
	mu.Lock()
	wall = wall.Add(time.Hour)
	mu.Unlock()
	if !frozen.Now().Equal(DefaultStart()) {
		t.Errorf("speed 0 moved with the wall clock: %v", frozen.Now())
	}
	if _, err := New(Options{Speed: -1}); err == nil {
		t.Error("negative speed accepted")
	}
}

func TestChartsMoveALittleEachMinute(t *testing.T) {
	p := newPlatform(t, Options{Seed: 3, Scenario: ScenarioCalm})
	k := sources.ServiceKey{Namespace: demoNamespace, Name: "recommendation-classifier"}
	before := fetchAll(t, p).met
	p.Advance(time.Minute)
	after := fetchAll(t, p).met
	a, b := before.Services[k], after.Services[k]
	if a.RPS == b.RPS || a.P99 == b.P99 || a.ErrorRate == b.ErrorRate {
		t.Fatalf("figures did not move in a minute: %+v -> %+v", a.Traffic, b.Traffic)
	}
	if rel := (b.RPS - a.RPS) / a.RPS; rel > 0.1 || rel < -0.1 {
		t.Errorf("RPS jumped %.0f%% in a minute: %.1f -> %.1f", 100*rel, a.RPS, b.RPS)
	}
	// The chart slid by one point: the old second point is the new first.
	if len(b.RPSTrend) != trendPoints || !b.RPSTrend[0].T.Equal(a.RPSTrend[1].T) || b.RPSTrend[0].V != a.RPSTrend[1].V {
		t.Errorf("trend did not slide by one minute")
	}
	// Smooth, not white noise: second to second the figures barely move.
	prev := after.Services[k]
	for range 10 {
		p.Advance(time.Second)
		cur := fetchAll(t, p).met.Services[k]
		if rel := math.Abs(cur.RPS-prev.RPS) / prev.RPS; rel > 0.005 {
			t.Fatalf("RPS jumped %.2f%% in one second", 100*rel)
		}
		prev = cur
	}
	if before.GPUs[0].Util == after.GPUs[0].Util {
		t.Error("GPU utilisation did not move")
	}
}

func TestTrendsEndAtTheCurrentValues(t *testing.T) {
	p := newPlatform(t, Options{Seed: 5})
	p.Advance(6 * time.Minute)
	m := fetchAll(t, p).met
	for k, s := range m.Services {
		if n := len(s.RPSTrend); n != trendPoints {
			t.Fatalf("%s: %d RPS points, want %d", k, n, trendPoints)
		}
		last := s.RPSTrend[len(s.RPSTrend)-1]
		if !last.T.Equal(p.Now()) || last.V != s.RPS {
			t.Errorf("%s: last RPS point %v, current %.2f at %v", k, last, s.RPS, p.Now())
		}
		switch {
		case !s.HasP99 && len(s.P99Trend) > 0:
			t.Errorf("%s: a p99 trend without requests", k)
		case !s.HasP99:
			// A service that never came up (churn-model in the incident)
			// has no latency to end at.
		case s.P99Trend[len(s.P99Trend)-1].V != s.P99.Seconds():
			t.Errorf("%s: last p99 point %.4f s, current %v", k, s.P99Trend[len(s.P99Trend)-1].V, s.P99)
		}
		if s.HasErrors && s.ErrTrend[len(s.ErrTrend)-1].V != s.ErrorRate {
			t.Errorf("%s: last error point differs from the current rate", k)
		}
		for i := 1; i < len(s.RPSTrend); i++ {
			if d := s.RPSTrend[i].T.Sub(s.RPSTrend[i-1].T); d != time.Minute {
				t.Fatalf("%s: trend step %v", k, d)
			}
		}
	}
	if n := len(m.GPUTrend); n != trendPoints {
		t.Errorf("GPU trend has %d points", n)
	}
}

func TestNewPipelineRunsAppearAsTimePasses(t *testing.T) {
	p := newPlatform(t, Options{Seed: 9})
	before := fetchAll(t, p).kfp
	p.Advance(time.Hour)
	after := fetchAll(t, p).kfp
	seen := map[string]bool{}
	for _, r := range before.Runs {
		seen[r.ID] = true
	}
	var fresh int
	for _, r := range after.Runs {
		if !seen[r.ID] {
			fresh++
			if r.Created.Before(DefaultStart()) || r.Created.After(p.Now()) {
				t.Errorf("new run %s created at %v, outside the hour", r.ID, r.Created)
			}
		}
	}
	if fresh < 2 || fresh > 3 {
		t.Errorf("%d new runs in an hour of a 24-minute schedule", fresh)
	}
	for i := 1; i < len(after.Runs); i++ {
		if after.Runs[i].Created.After(after.Runs[i-1].Created) {
			t.Fatal("runs are not newest first")
		}
	}
	// A run that was running an hour ago has finished by now.
	for _, r := range after.Runs {
		if r.ID == before.Runs[1].ID && !r.Done() {
			t.Errorf("run %s still %s an hour later", r.ID, r.State)
		}
	}
}

func TestConcurrentFetchesAndActions(t *testing.T) {
	p := newPlatform(t, Options{Seed: 11})
	var wg sync.WaitGroup
	for _, f := range p.Fetchers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := f(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 5 {
			p.Advance(time.Second)
			if err := p.SetMinReplicas(demoNamespace, "recommendation-classifier", 2+i%3); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
}

func TestBoardComposesServingRowsAndTheCanary(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	p.Advance(5 * time.Minute)
	board := sources.NewBoard(nil)
	for i, id := range sources.AllSources() {
		part, err := p.Fetchers()[id](context.Background())
		if err != nil {
			t.Fatal(err)
		}
		board.Apply(sources.Update{
			Status: sources.SourceStatus{ID: id, Health: sources.HealthOK, Configured: true, FetchedAt: p.Now(), Seq: uint64(i + 1)},
			Part:   part,
		})
	}
	snap := board.Snapshot(p.Now())
	if snap.Context != demoContext || len(snap.Serving) != 5 {
		t.Fatalf("context %q, %d serving rows", snap.Context, len(snap.Serving))
	}
	for _, r := range snap.Serving {
		// churn-model never came up in the incident: Prometheus has its
		// series, without a request.
		if !r.HasMetrics || r.Metrics.RPS <= 0 != (r.Name == "churn-model") {
			t.Errorf("%s: metrics on the row %v, RPS %.1f", r.Name, r.HasMetrics, r.Metrics.RPS)
		}
	}
	if len(snap.Canaries) != 1 {
		t.Fatalf("%d canaries, want 1", len(snap.Canaries))
	}
	c := snap.Canaries[0]
	if c.Key.Name != "fraud-detector" || c.Percent != 20 || !c.HasMetrics {
		t.Fatalf("canary view %+v", c)
	}
	if c.Stable.Revision != "fraud-detector-predictor-00001" || c.Canary.Revision != "fraud-detector-predictor-00002" {
		t.Errorf("revisions %s / %s", c.Stable.Revision, c.Canary.Revision)
	}
	if c.Stable.RPS <= 0 || c.Canary.RPS <= 0 || !c.Stable.HasErrors || !c.Canary.HasErrors || len(c.Canary.ErrTrend) == 0 {
		t.Errorf("revision figures missing: stable %+v canary %+v", c.Stable.Traffic, c.Canary.Traffic)
	}
	if len(snap.Infra.OOMKills) != 1 || len(snap.Infra.GPUs) != 4 {
		t.Errorf("infra: %d OOM kills, %d GPUs", len(snap.Infra.OOMKills), len(snap.Infra.GPUs))
	}
}

func BenchmarkFetchAll(b *testing.B) {
	p := newPlatform(b, Options{Seed: 1})
	f := p.Fetchers()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p.Advance(time.Second)
		for _, id := range sources.AllSources() {
			if _, err := f[id](ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
