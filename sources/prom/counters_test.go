package prom_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/prom"
	"github.com/mltop/mltop/sources/prom/promtest"
)

// The raw counters for the canary judge, against a real Prometheus. The
// exporters count at constant rates since an hour ago, and every series of
// one exporter is scraped at the same instant, so ratios between the
// counters of one pod are exact even though the values themselves depend
// on when the scrape happened.

const (
	nsJudgeKn      = "judge-kn"
	nsJudgeOTel    = "judge-otel"
	nsJudgeKS      = "judge-ks"
	nsJudgeFleet   = "judge-fleet"   // judgeFleetSize services in canary
	nsJudgeFive    = "judge-fleet-5" // five
	judgeFleetSize = 200

	stableRev = "fraud-predictor-00001"
	canaryRev = "fraud-predictor-00002"
)

var judgeBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500}

type judgeFixture struct {
	srv       *promtest.Server
	exporters []*promtest.Exporter
}

func (f *judgeFixture) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	for _, e := range f.exporters {
		e.Close()
	}
}

func startJudgeFixture(t *testing.T) *judgeFixture {
	t.Helper()
	if _, err := promtest.Binary(); err != nil {
		t.Fatal(err) // fail, not skip: `make test` installs it
	}
	origin := time.Now().Add(-time.Hour)
	f := &judgeFixture{}
	var targets []promtest.Target
	must := func(err error) {
		t.Helper()
		if err != nil {
			f.close()
			t.Fatal(err)
		}
	}
	serve := func(job string, labels map[string]string, s *promtest.Steady) {
		exp, err := promtest.NewExporter(s)
		must(err)
		f.exporters = append(f.exporters, exp)
		targets = append(targets, promtest.Target{Job: job, Addr: exp.Addr(), Labels: labels})
	}
	ok, fail := []string{"response_code", "200", "response_code_class", "2xx"}, []string{"response_code", "500", "response_code_class", "5xx"}

	// knative: fraud splits between a stable on two pods and a canary; solo
	// has one revision and is no canary.
	kn := promtest.NewSteady(origin)
	pod := func(ns, svc, rev, name string) map[string]string {
		return map[string]string{"namespace_name": ns, "service_name": svc, "configuration_name": svc, "revision_name": rev, "pod_name": name}
	}
	a := pod(nsJudgeKn, "fraud-predictor", stableRev, stableRev+"-deployment-aaaa-1")
	b := pod(nsJudgeKn, "fraud-predictor", stableRev, stableRev+"-deployment-aaaa-2")
	c := pod(nsJudgeKn, "fraud-predictor", canaryRev, canaryRev+"-deployment-cccc-1")
	solo := pod(nsJudgeKn, "solo-predictor", "solo-predictor-00001", "solo-predictor-00001-deployment-ssss-1")
	// Stable: pod a 20 2xx/s and 1 5xx/s, pod b 19 2xx/s; cumulative share
	// of its 40/s: 25ms .25, 50ms .725, 100ms .925, 250ms .9625, 500ms 1:
	// L90 is 100 ms and L99 500 ms.
	kn.Counter("revision_request_count", with(a, ok...), 20)
	kn.Counter("revision_request_count", with(a, fail...), 1)
	kn.Counter("revision_request_count", with(b, ok...), 19)
	must(kn.Histogram("revision_request_latencies", with(a, ok...), judgeBounds, buckets(judgeBounds, map[float64]float64{25: 5, 50: 10, 100: 4, 250: 0.5, 500: 0.5})))
	must(kn.Histogram("revision_request_latencies", with(a, fail...), judgeBounds, buckets(judgeBounds, map[float64]float64{500: 1})))
	must(kn.Histogram("revision_request_latencies", with(b, ok...), judgeBounds, buckets(judgeBounds, map[float64]float64{25: 5, 50: 9, 100: 4, 250: 1})))
	// Canary: 8 2xx/s within 100 ms, 2 5xx/s in (500, 1000].
	kn.Counter("revision_request_count", with(c, ok...), 8)
	kn.Counter("revision_request_count", with(c, fail...), 2)
	must(kn.Histogram("revision_request_latencies", with(c, ok...), judgeBounds, buckets(judgeBounds, map[float64]float64{50: 4, 100: 4})))
	must(kn.Histogram("revision_request_latencies", with(c, fail...), judgeBounds, buckets(judgeBounds, map[float64]float64{1000: 2})))
	kn.Counter("revision_request_count", with(solo, ok...), 5)
	must(kn.Histogram("revision_request_latencies", with(solo, ok...), judgeBounds, buckets(judgeBounds, map[float64]float64{5: 5})))
	serve("queue-proxy", nil, kn)

	// Fleets of canaries: two revisions, one pod each, few buckets.
	fleet := promtest.NewSteady(origin)
	few := []float64{50, 100}
	for _, ns := range []struct {
		name string
		n    int
	}{{nsJudgeFleet, judgeFleetSize}, {nsJudgeFive, 5}} {
		for i := range ns.n {
			svc := fmt.Sprintf("model-%03d-predictor", i)
			for r, rate := range []float64{9, 1} {
				rev := fmt.Sprintf("%s-%05d", svc, r+1)
				l := pod(ns.name, svc, rev, rev+"-deployment-x-1")
				fleet.Counter("revision_request_count", with(l, ok...), rate)
				must(fleet.Histogram("revision_request_latencies", with(l, ok...), few, []float64{rate, 0, 0}))
			}
		}
	}
	serve("fleet-queue-proxy", nil, fleet)

	// knative-otel: one scrape target per pod, the revision on target_info.
	otelPod := func(name, rev string, okRate, failRate float64) {
		s := promtest.NewSteady(origin)
		s.Gauge("target_info", map[string]string{"k8s_namespace_name": nsJudgeOTel, "kn_service_name": "fraud-predictor",
			"kn_revision_name": rev, "service_instance_id": name}, 1)
		secs := []float64{0.05, 0.1, 0.25, 0.5, 1}
		must(s.Histogram("kn_serving_invocation_duration_seconds", map[string]string{"http_response_status_code": "200"}, secs, []float64{okRate, 0, 0, 0, 0, 0}))
		if failRate > 0 {
			must(s.Histogram("kn_serving_invocation_duration_seconds", map[string]string{"http_response_status_code": "503"}, secs, []float64{0, 0, 0, 0, failRate, 0}))
		}
		serve("otel-queue-proxy", nil, s)
	}
	otelPod(stableRev+"-deployment-aaaa-1", stableRev, 30, 0)
	otelPod(canaryRev+"-deployment-cccc-1", canaryRev, 6, 4)

	// kserve model server: no status codes, no revision label; the
	// scrape's pod label carries Knative's pod name, which names the revision.
	for _, p := range []struct {
		pod  string
		rate float64
	}{{stableRev + "-deployment-5d8f9c7b6-x2k4p", 10}, {canaryRev + "-deployment-7c9d8e6f5-abcde", 5}} {
		s := promtest.NewSteady(origin)
		must(s.Histogram("request_predict_seconds", map[string]string{"model_name": "fraud"}, []float64{0.1, 1}, []float64{p.rate, 0, 0}))
		serve("kserve-model", map[string]string{"namespace": nsJudgeKS, "pod": p.pod}, s)
	}

	srv, err := promtest.Start(promtest.Config{Targets: targets})
	must(err)
	f.srv = srv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Two scrapes of every target: increase() over the hour needs two
	// samples. (Most of the wait is Prometheus's first target discovery.)
	must(srv.WaitCovered(ctx, 2*time.Second))
	return f
}

func (f *judgeFixture) client(t *testing.T, profile, ns string, transport http.RoundTripper) *prom.Client {
	t.Helper()
	o := prom.Options{BaseURL: f.srv.URL, Profile: profile, Namespaces: []string{ns}, Window: "10s",
		TrendRange: 10 * time.Second, TrendStep: 2 * time.Second}
	if transport != nil {
		o.HTTPClient = &http.Client{Transport: transport}
	}
	c, err := prom.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func countersBySeries(t *testing.T, m sources.Metrics) map[string]sources.SeriesCounter {
	t.Helper()
	if m.CountersErr != "" {
		t.Fatalf("counters failed: %s", m.CountersErr)
	}
	out := map[string]sources.SeriesCounter{}
	for _, c := range m.Counters {
		out[c.Revision+"/"+c.Series] = c
	}
	return out
}

// ratio checks part/whole against want to 1e-9: one scrape, exact.
func ratio(t *testing.T, what string, part, whole, want float64) {
	t.Helper()
	if whole <= 0 || math.Abs(part/whole-want) > 1e-9 {
		t.Errorf("%s: %v/%v = %v, want %v", what, part, whole, part/whole, want)
	}
}

func TestRawCountersForTheJudge(t *testing.T) {
	f := startJudgeFixture(t)
	defer f.close()

	t.Run("knative", func(t *testing.T) {
		counting := &countingTransport{next: http.DefaultTransport}
		c := f.client(t, prom.ProfileKnative, nsJudgeKn, counting)
		first := fetchWith(t, c)
		firstRequests := counting.n.Swap(0)
		got := countersBySeries(t, first)
		if len(got) != 3 {
			t.Fatalf("series %v, want fraud's three pods (solo has one revision: no canary)", keysOf(got))
		}
		pa, pb, pc := got[stableRev+"/"+stableRev+"-deployment-aaaa-1"], got[stableRev+"/"+stableRev+"-deployment-aaaa-2"], got[canaryRev+"/"+canaryRev+"-deployment-cccc-1"]
		if pa.Namespace != nsJudgeKn || pa.Requests <= 0 || pc.Requests <= 0 {
			t.Fatalf("counters %+v", got)
		}
		ratio(t, "pod a 5xx share", pa.Errors, pa.Requests, 1.0/21)
		ratio(t, "pod a within 100ms", pa.Buckets[100], pa.Requests, 19.0/21)
		ratio(t, "pod a within 500ms", pa.Buckets[500], pa.Requests, 1)
		ratio(t, "pod b within 25ms", pb.Buckets[25], pb.Requests, 5.0/19)
		if pb.Errors != 0 {
			t.Errorf("pod b has no 5xx series: errors %v, want 0", pb.Errors)
		}
		ratio(t, "canary 5xx share", pc.Errors, pc.Requests, 0.2)
		ratio(t, "canary within 100ms", pc.Buckets[100], pc.Requests, 0.8)
		ratio(t, "canary within 1000ms", pc.Buckets[1000], pc.Requests, 1)
		if len(pa.Buckets) != len(judgeBounds) {
			t.Errorf("buckets %v, want the %d finite bounds in ms", pa.Buckets, len(judgeBounds))
		}
		lb, ok := first.Bounds[key(nsJudgeKn, "fraud")]
		if !ok || lb != (sources.LatencyBounds{L90: 100 * time.Millisecond, L99: 500 * time.Millisecond, Known: true}) {
			t.Errorf("bounds %+v, want the stable's L90 100ms and L99 500ms", first.Bounds)
		}

		// A scrape later the counters have grown, and the bounds come from
		// the cache: one query fewer.
		time.Sleep(1100 * time.Millisecond)
		second := fetchWith(t, c)
		if n := counting.n.Load(); n != firstRequests-1 {
			t.Errorf("second refresh sent %d requests, the first %d: the bounds must be asked once", n, firstRequests)
		}
		if next := countersBySeries(t, second)[stableRev+"/"+stableRev+"-deployment-aaaa-1"]; next.Requests <= pa.Requests {
			t.Errorf("counter did not grow: %v then %v", pa.Requests, next.Requests)
		}
		if second.Bounds[key(nsJudgeKn, "fraud")] != lb {
			t.Errorf("cached bounds %+v", second.Bounds)
		}
	})

	t.Run("knative-otel", func(t *testing.T) {
		got := countersBySeries(t, fetchWith(t, f.client(t, prom.ProfileKnativeOTel, nsJudgeOTel, nil)))
		if len(got) != 2 {
			t.Fatalf("series %v, want one per pod", keysOf(got))
		}
		for _, sc := range got {
			if sc.Revision == canaryRev {
				ratio(t, "otel canary 5xx share", sc.Errors, sc.Requests, 0.4)
				ratio(t, "otel canary within 50ms (0.05 s)", sc.Buckets[50], sc.Requests, 0.6)
				ratio(t, "otel canary within 500ms", sc.Buckets[500], sc.Requests, 0.6)
				ratio(t, "otel canary within 1000ms", sc.Buckets[1000], sc.Requests, 1)
			}
			if sc.Series == "" || sc.Namespace != nsJudgeOTel {
				t.Errorf("series %+v: want the scrape target as its name", sc)
			}
		}
	})

	t.Run("kserve", func(t *testing.T) {
		m := fetchWith(t, f.client(t, prom.ProfileKServe, nsJudgeKS, nil))
		got := countersBySeries(t, m)
		if len(got) != 2 {
			t.Fatalf("series %v, want the revision read from each pod's name", keysOf(got))
		}
		for k, sc := range got {
			if !math.IsNaN(sc.Errors) {
				t.Errorf("%s: errors %v, want NaN: the model server has no status codes", k, sc.Errors)
			}
			if !strings.HasPrefix(sc.Series, sc.Revision+"-deployment-") {
				t.Errorf("%s: revision %q is not the pod's", k, sc.Revision)
			}
			ratio(t, k+" within 100ms", sc.Buckets[100], sc.Requests, 1)
		}
		if lb := m.Bounds[key(nsJudgeKS, "fraud")]; lb.L90 != 100*time.Millisecond || lb.L99 != 100*time.Millisecond {
			t.Errorf("kserve bounds %+v", m.Bounds)
		}
	})

	t.Run("cost does not grow with canaries", func(t *testing.T) {
		count := func(ns string) (int64, int) {
			counting := &countingTransport{next: http.DefaultTransport}
			c := f.client(t, prom.ProfileKnative, ns, counting)
			fetchWith(t, c) // asks the bounds once
			counting.n.Store(0)
			m := fetchWith(t, c)
			if len(m.Bounds) != len(countersBySeries(t, m))/2 {
				t.Errorf("%s: bounds for %d services, counters for %d series", ns, len(m.Bounds), len(m.Counters))
			}
			return counting.n.Load(), len(m.Counters)
		}
		small, nSmall := count(nsJudgeFive)
		large, nLarge := count(nsJudgeFleet)
		if nSmall != 10 || nLarge != 2*judgeFleetSize {
			t.Fatalf("series %d and %d, want 10 and %d", nSmall, nLarge, 2*judgeFleetSize)
		}
		if small != large {
			t.Errorf("%d requests for 5 canaries, %d for %d", small, large, judgeFleetSize)
		}
		t.Logf("%d requests per refresh (3 of them the judge's counters) for 5 and for %d canaries", small, judgeFleetSize)
	})
}

// TestCountersQueryFailure: a failed counters query fails neither the
// refresh nor the other figures; the judge is told.
func TestCountersQueryFailure(t *testing.T) {
	f := newFakeProm(t,
		failing("raw", http.StatusServiceUnavailable, apiError("unavailable", "too many samples")),
		failing("pod_name, le", http.StatusServiceUnavailable, apiError("unavailable", "too many samples")),
		instant("revision_request_count", vector(sample(map[string]string{"namespace_name": "ml-prod", "service_name": "fraud-predictor", "revision_name": "fraud-predictor-00001"}, "7"))),
	)
	m := fetchOK(t, newClient(t, f.URL, func(o *prom.Options) { o.Profile = prom.ProfileKnative }))
	if m.Services[key("ml-prod", "fraud")].RPS != 7 {
		t.Errorf("the service figures were lost: %+v", m.Services)
	}
	if m.CountersErr == "" || !strings.Contains(m.CountersErr, "too many samples") || m.Counters != nil {
		t.Errorf("CountersErr %q, counters %v", m.CountersErr, m.Counters)
	}
}

// TestCountersOfACustomProfile: a profile mltop does not know has no
// counter queries, and says so instead of judging on nothing.
func TestCountersOfACustomProfile(t *testing.T) {
	f := newFakeProm(t)
	profiles := prom.DefaultProfiles()
	custom := profiles[prom.ProfileKnative]
	custom.Name = "mine"
	profiles["mine"] = custom
	m := fetchOK(t, newClient(t, f.URL, func(o *prom.Options) { o.Profile = "mine"; o.Profiles = profiles }))
	if !strings.Contains(m.CountersErr, `profile "mine" has no raw-counter queries`) {
		t.Errorf("CountersErr %q", m.CountersErr)
	}
}

func keysOf(m map[string]sources.SeriesCounter) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
