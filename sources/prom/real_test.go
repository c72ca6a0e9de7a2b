package prom_test

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/prom"
)

// Expected figures, computed by hand from the rates fixture_test.go
// injects. histogram_quantile(q) finds the first bucket whose cumulative
// rate reaches rank = q x total and interpolates linearly inside it:
// lower + (upper - lower) x (rank - below) / (in bucket).
type want struct {
	rps, errRate float64
	hasErrors    bool
	p50, p99     float64 // seconds
}

var (
	// knative, ms buckets 5,10,25,50,100,250,500,1000.
	// fraud stable 00001: 40/s, 1 5xx (2.5 %); buckets 25:10 50:20 100:8 250:1 500:1
	//   p99 rank 39.6 in (250,500] with 39 below: 250+250x0.6/1 = 400 ms
	//   p50 rank 20 in (25,50] with 10 below, 20 in: 25+25x10/20 = 37.5 ms
	// fraud canary 00002: 10/s, 2 5xx (20 %); buckets 50:4 100:4 1000:2
	//   p99 rank 9.9 in (500,1000], 8 below: 500+500x1.9/2 = 975 ms
	//   p50 rank 5 in (50,100], 4 below, 4 in: 50+50x1/4 = 62.5 ms
	// fraud service: 50/s, 3 5xx (6 %); cumulative 25:10 50:34 100:46 250:47 500:48 1000:50
	//   p99 rank 49.5 in (500,1000], 48 below: 500+500x1.5/2 = 875 ms
	//   p50 rank 25 in (25,50], 10 below, 24 in: 25+25x15/24 = 40.625 ms
	// reco 00003: 20/s, no 5xx series (0 %); buckets 10:10 25:10
	//   p99 rank 19.8 in (10,25], 10 below: 10+15x9.8/10 = 24.7 ms; p50 rank 10 at 10 ms
	knativeServices = map[string]want{
		"fraud": {rps: 50, errRate: 0.06, hasErrors: true, p50: 0.040625, p99: 0.875},
		"reco":  {rps: 20, errRate: 0, hasErrors: true, p50: 0.010, p99: 0.0247},
	}
	knativeRevisions = map[string]want{
		"fraud-predictor-00001": {rps: 40, errRate: 0.025, hasErrors: true, p50: 0.0375, p99: 0.400},
		"fraud-predictor-00002": {rps: 10, errRate: 0.2, hasErrors: true, p50: 0.0625, p99: 0.975},
		"reco-predictor-00003":  {rps: 20, errRate: 0, hasErrors: true, p50: 0.010, p99: 0.0247},
	}
	// knative-otel: the same traffic in seconds buckets, which add 0.075
	// and 0.75, so the canary differs:
	// canary cumulative .05:4 .075:4 .1:8 ... .75:8 1:10
	//   p99 rank 9.9 in (0.75,1]: 0.75+0.25x1.9/2 = 0.9875; p50 rank 5 in (0.075,0.1]: 0.075+0.025x1/4 = 0.08125
	// service cumulative .025:10 .05:34 .1:46 .25:47 .5:48 .75:48 1:50
	//   p99 rank 49.5 in (0.75,1]: 0.75+0.25x1.5/2 = 0.9375; p50 as knative
	otelServices = map[string]want{
		"fraud": {rps: 50, errRate: 0.06, hasErrors: true, p50: 0.040625, p99: 0.9375},
	}
	otelRevisions = map[string]want{
		"fraud-predictor-00001": {rps: 40, errRate: 0.025, hasErrors: true, p50: 0.0375, p99: 0.400},
		"fraud-predictor-00002": {rps: 10, errRate: 0.2, hasErrors: true, p50: 0.08125, p99: 0.9875},
	}
	// kserve model server: no status codes.
	// fraud 40/s; buckets .05:30 .075:9 .25:1: p99 rank 39.6 in (0.1,0.25], 39 below: 0.1+0.15x0.6 = 0.19
	//   p50 rank 20 in (0.025,0.05], 0 below, 30 in: 0.025+0.025x20/30
	// reco 10/s in (0.005,0.01]: p99 0.005+0.005x9.9/10 = 0.00995, p50 0.0075
	kserveServices = map[string]want{
		"fraud": {rps: 40, p50: 0.025 + 0.025*20/30, p99: 0.19},
		"reco":  {rps: 10, p50: 0.0075, p99: 0.00995},
	}
	// seed: 50/s, 5 500s (10 %); buckets .25:25 .5:25
	//   p99 rank 49.5 in (0.25,0.5], 25 below: 0.25+0.25x24.5/25 = 0.495; p50 rank 25 at 0.25
	seedServices = map[string]want{
		"fraud": {rps: 50, errRate: 0.1, hasErrors: true, p50: 0.25, p99: 0.495},
	}
)

// TestRealPrometheus runs every profile, the GPU and OOM readings, auto
// detection and the cost of a refresh against one real Prometheus.
func TestRealPrometheus(t *testing.T) {
	f := startFixture(t, true)
	defer f.close()

	t.Run("knative", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKnative, Namespaces: []string{nsKnative}})
		checkServices(t, m, nsKnative, knativeServices)
		checkRevisions(t, m, nsKnative, knativeRevisions)
		fraud := m.Services[sources.ServiceKey{Namespace: nsKnative, Name: "fraud"}]
		within(t, "fraud requests in the window", fraud.Requests, 50*testWindow.Seconds())
		within(t, "fraud 5xx in the window", fraud.Errors, 3*testWindow.Seconds())
		checkTrends(t, fraud, knativeServices["fraud"])
		canary := m.Revisions[sources.ServiceKey{Namespace: nsKnative, Name: "fraud-predictor-00002"}]
		if len(canary.ErrTrend) == 0 {
			t.Fatal("canary has no error trend")
		}
		within(t, "canary error trend, last point", canary.ErrTrend[len(canary.ErrTrend)-1].V, 0.2)
	})

	t.Run("knative two namespaces", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKnative, Namespaces: []string{nsKnDev, nsKnative}})
		if got := len(m.Services); got != 3 {
			t.Fatalf("services = %v, want fraud and reco in %s and fraud in %s", keys(m.Services), nsKnative, nsKnDev)
		}
		within(t, "kn-dev fraud rps", m.Services[sources.ServiceKey{Namespace: nsKnDev, Name: "fraud"}].RPS, 5)
	})

	t.Run("knative-otel", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKnativeOTel, Namespaces: []string{nsOTel}})
		checkServices(t, m, nsOTel, otelServices)
		checkRevisions(t, m, nsOTel, otelRevisions)
		checkTrends(t, m.Services[sources.ServiceKey{Namespace: nsOTel, Name: "fraud"}], otelServices["fraud"])
	})

	t.Run("kserve", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKServe, Namespaces: []string{nsKServe}})
		checkServices(t, m, nsKServe, kserveServices)
		if len(m.Revisions) != 0 {
			t.Errorf("the model server has no revisions, got %v", m.Revisions)
		}
		fraud := m.Services[sources.ServiceKey{Namespace: nsKServe, Name: "fraud"}]
		if fraud.ErrTrend != nil {
			t.Errorf("no status codes, yet an error trend: %v", fraud.ErrTrend)
		}
		checkTrends(t, fraud, kserveServices["fraud"])
	})

	t.Run("seed", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileSeed, Namespaces: []string{nsSeed}})
		checkServices(t, m, nsSeed, seedServices)
		checkTrends(t, m.Services[sources.ServiceKey{Namespace: nsSeed, Name: "fraud"}], seedServices["fraud"])
	})

	t.Run("auto", func(t *testing.T) {
		for _, tc := range []struct {
			namespaces []string
			want       string
		}{
			{[]string{nsKnative}, prom.ProfileKnative},
			{[]string{nsOTel}, prom.ProfileKnativeOTel},
			{[]string{nsKServe}, prom.ProfileKServe},
			{[]string{nsSeed}, prom.ProfileSeed},
			// Both families present: the one with status codes wins (the
			// order by counts is TestAutoPrefersStatusCodesThenSize's).
			{[]string{nsKnative, nsKServe}, prom.ProfileKnative},
			{[]string{"nothing-here"}, prom.ProfileNone},
		} {
			m := fetch(t, f, prom.Options{Namespaces: tc.namespaces})
			if m.Profile != tc.want {
				t.Errorf("namespaces %v: profile %q, want %q", tc.namespaces, m.Profile, tc.want)
			}
		}
		m := fetch(t, f, prom.Options{Namespaces: []string{nsKServe}})
		checkServices(t, m, nsKServe, kserveServices)
		none := fetch(t, f, prom.Options{Namespaces: []string{"nothing-here"}})
		if len(none.Services) != 0 || len(none.GPUs) != 4 {
			t.Errorf("no serving series: services %v (want none), %d GPUs (want 4: they are cluster-wide)", keys(none.Services), len(none.GPUs))
		}
	})

	t.Run("gpus", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKnative, Namespaces: []string{nsKnative}})
		wantGPUs := []sources.GPU{
			{Node: "node-a", Device: "0", Model: "NVIDIA A100-SXM4-80GB", Namespace: nsKnative, Pod: "fraud-predictor-00002-deployment-c", Util: 87, MemUsedMB: 30000, MemTotMB: 81000},
			{Node: "node-a", Device: "1", Model: "NVIDIA A100-SXM4-80GB", Util: 3},
			// honor_labels false: exported_pod, not the exporter's own pod.
			{Node: "node-b", Device: "0", Model: "NVIDIA L4", Namespace: nsKnative, Pod: "reco-predictor-00003-deployment-d", Util: 45, MemUsedMB: 12000, MemTotMB: 22000},
			{Node: "node-b", Device: "1", Model: "NVIDIA L4", Util: 0},
		}
		if !slices.Equal(m.GPUs, wantGPUs) {
			t.Errorf("GPUs:\n got %+v\nwant %+v", m.GPUs, wantGPUs)
		}
		if len(m.GPUTrend) == 0 {
			t.Fatal("no GPU trend")
		}
		within(t, "GPU mean, last point", m.GPUTrend[len(m.GPUTrend)-1].V, (87+3+45+0)/4.0)
	})

	t.Run("oom kills", func(t *testing.T) {
		m := fetch(t, f, prom.Options{Profile: prom.ProfileKnative, Namespaces: []string{nsKnative}})
		wantKills := []sources.OOMKill{
			{Namespace: nsKnative, Pod: "fraud-predictor-00002-deployment-7d9f-abcde", Container: "kserve-container", Service: "fraud", At: f.ooms.recent},
			{Namespace: nsKnative, Pod: "pipeline-train-abc", Container: "main", At: f.ooms.pipeline},
			// kube-state-metrics without the timestamp series: kept, time unknown.
			{Namespace: nsKnative, Pod: "reco-predictor-5d8f9c-xyz12", Container: "kserve-container", Service: "reco"},
		}
		if len(m.OOMKills) != len(wantKills) {
			t.Fatalf("OOM kills:\n got %+v\nwant %+v", m.OOMKills, wantKills)
		}
		for i, k := range m.OOMKills {
			w := wantKills[i]
			if k.Namespace != w.Namespace || k.Pod != w.Pod || k.Container != w.Container || k.Service != w.Service || !k.At.Equal(w.At) {
				t.Errorf("kill %d:\n got %+v\nwant %+v", i, k, w)
			}
		}
	})

	t.Run("cost does not grow with services", func(t *testing.T) {
		count := func(ns string, profile string) (int64, int) {
			counter := &countingTransport{next: http.DefaultTransport}
			c, err := prom.New(prom.Options{BaseURL: f.srv.URL, HTTPClient: &http.Client{Transport: counter}, Profile: profile,
				Namespaces: []string{ns}, Window: "10s", TrendRange: 10 * time.Second, TrendStep: testTrendStep})
			if err != nil {
				t.Fatal(err)
			}
			m := fetchWith(t, c) // auto probes here
			counter.n.Store(0)
			m = fetchWith(t, c)
			return counter.n.Load(), len(m.Services)
		}
		for _, profile := range []string{prom.ProfileKnative, prom.ProfileAuto} {
			small, nSmall := count(nsFleet5, profile)
			large, nLarge := count(nsFleet, profile)
			if nSmall != 5 || nLarge != fleetSize {
				t.Logf("targets whose scrapes failed lately (their series went stale): %s", f.failedScrapes())
				t.Fatalf("%s: services %d and %d, want 5 and %d", profile, nSmall, nLarge, fleetSize)
			}
			if small != large {
				t.Errorf("%s: %d requests for 5 services, %d for %d", profile, small, large, fleetSize)
			}
			t.Logf("%s: %d requests per refresh for 5 and for %d services", profile, small, fleetSize)
		}
	})
}

// BenchmarkFetch500 measures one refresh of 500 services against a real
// server (the whole fixture is scraped meanwhile).
func BenchmarkFetch500(b *testing.B) {
	f := startFixture(b, true)
	defer f.close()
	c, err := prom.New(prom.Options{BaseURL: f.srv.URL, Profile: prom.ProfileKnative, Namespaces: []string{nsFleet}, Window: "10s"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		part, err := c.Fetch(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n := len(part.Metrics.Services); n != fleetSize {
			b.Fatalf("%d services, want %d", n, fleetSize)
		}
	}
}

func fetch(t *testing.T, f *fixture, o prom.Options) sources.Metrics {
	t.Helper()
	o.BaseURL = f.srv.URL
	o.Window = "10s"
	o.TrendRange = 10 * time.Second
	o.TrendStep = testTrendStep
	c, err := prom.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return fetchWith(t, c)
}

func fetchWith(t *testing.T, c *prom.Client) sources.Metrics {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	part, err := c.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if part.Metrics == nil {
		t.Fatal("Fetch returned no Metrics")
	}
	return *part.Metrics
}

func checkServices(t *testing.T, m sources.Metrics, ns string, wants map[string]want) {
	t.Helper()
	if len(m.Services) != len(wants) {
		t.Errorf("services %v, want %d in %s", keys(m.Services), len(wants), ns)
	}
	for name, w := range wants {
		sm, ok := m.Services[sources.ServiceKey{Namespace: ns, Name: name}]
		if !ok {
			t.Errorf("no metrics for %s/%s; have %v", ns, name, keys(m.Services))
			continue
		}
		checkTraffic(t, ns+"/"+name, sm.Traffic, w)
	}
}

func checkRevisions(t *testing.T, m sources.Metrics, ns string, wants map[string]want) {
	t.Helper()
	if len(m.Revisions) != len(wants) {
		t.Errorf("revisions %v, want %d in %s", keys(m.Revisions), len(wants), ns)
	}
	for name, w := range wants {
		rm, ok := m.Revisions[sources.ServiceKey{Namespace: ns, Name: name}]
		if !ok {
			t.Errorf("no metrics for revision %s/%s; have %v", ns, name, keys(m.Revisions))
			continue
		}
		if rm.Revision != name {
			t.Errorf("revision %s is named %q", name, rm.Revision)
		}
		checkTraffic(t, "revision "+name, rm.Traffic, w)
	}
}

func checkTraffic(t *testing.T, what string, got sources.Traffic, w want) {
	t.Helper()
	within(t, what+" rps", got.RPS, w.rps)
	if got.HasErrors != w.hasErrors {
		t.Errorf("%s: HasErrors %v, want %v", what, got.HasErrors, w.hasErrors)
	}
	within(t, what+" error rate", got.ErrorRate, w.errRate)
	if !got.HasP99 {
		t.Errorf("%s: no p99", what)
	}
	within(t, what+" p99 (s)", got.P99.Seconds(), w.p99)
	within(t, what+" p50 (s)", got.P50.Seconds(), w.p50)
}

// checkTrends compares the last point of each trend, the one whose window
// the fixture covered.
func checkTrends(t *testing.T, sm sources.ServiceMetrics, w want) {
	t.Helper()
	last := func(name string, ps []sources.Point) float64 {
		if len(ps) == 0 {
			t.Errorf("no %s trend", name)
			return math.NaN()
		}
		if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].T.Before(ps[j].T) }) {
			t.Errorf("%s trend is not oldest first", name)
		}
		return ps[len(ps)-1].V
	}
	within(t, "rps trend", last("rps", sm.RPSTrend), w.rps)
	within(t, "p99 trend (s)", last("p99", sm.P99Trend), w.p99)
	if w.hasErrors {
		within(t, "error trend", last("error", sm.ErrTrend), w.errRate)
	}
}

// within checks got against want to 2 %; zero must be exact.
func within(t *testing.T, what string, got, want float64) {
	t.Helper()
	if want == 0 {
		if got != 0 {
			t.Errorf("%s = %v, want 0", what, got)
		}
		return
	}
	if math.IsNaN(got) || math.Abs(got-want) > 0.02*math.Abs(want) {
		t.Errorf("%s = %v, want %v (within 2 %%)", what, got, want)
	}
}

func keys[V any](m map[sources.ServiceKey]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k.String())
	}
	sort.Strings(out)
	return out
}
