package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/prom/promtest"
)

// The metrics: a real Prometheus scraping an exporter of Knative
// queue-proxy series (the knative profile: revision_request_count and
// revision_request_latencies in ms) at constant rates, so every figure is
// computable by hand, plus one GPU of dcgm-exporter.
//
// Expected figures. histogram_quantile(q) finds the first bucket whose
// cumulative rate reaches rank = q x total and interpolates linearly in it:
// lower + (upper - lower) x (rank - below) / (in bucket).
//
//	fraud-detector stable 00001: 40/s (20 + 19 2xx over two pods, 1 5xx): errors 2.5 %
//	  buckets 25:10 50:20 100:8 250:1 500:1 (cumulative 10 30 38 39 40)
//	  p99 rank 39.6 in (250,500], 39 below, 1 in: 250 + 250 x 0.6 = 400 ms
//	fraud-detector canary 00002: 10/s (8 2xx, 2 5xx): errors 20 %
//	  buckets 50:4 100:4 1000:2 (cumulative 4 8 ... 10)
//	  p99 rank 9.9 in (500,1000], 8 below, 2 in: 500 + 500 x 1.9 / 2 = 975 ms
//	fraud-detector service: 50/s, 3 5xx: errors 6 %
//	  cumulative 25:10 50:34 100:46 250:47 500:48 1000:50
//	  p99 rank 49.5 in (500,1000], 48 below, 2 in: 500 + 500 x 1.5 / 2 = 875 ms
//	recommender 00003: 20/s, no 5xx series: errors 0
//	  buckets 10:10 25:10: p99 rank 19.8 in (10,25], 10 below: 10 + 15 x 9.8 / 10 = 24.7 ms
//	canary ratio 20 % / 2.5 % = 8.0 > 2: breached
const (
	// e2eWindow is the rate window the tests configure (prometheus.window):
	// the server must have scraped all of it before rates are exact.
	e2eWindow = 5 * time.Second
)

var msBounds = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

type promFixture struct {
	srv *promtest.Server
	exp *promtest.Exporter
}

// startPromFixture starts the exporter and the server and waits until the
// window has been scraped. It fails (not skips) without the binary: `make
// test` installs it.
func startPromFixture(t *testing.T) *promFixture {
	t.Helper()
	if _, err := promtest.Binary(); err != nil {
		t.Fatal(err)
	}
	steady := promtest.NewSteady(time.Now().Add(-time.Hour))
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	series := func(svc, rev, pod string, extra ...string) map[string]string {
		l := map[string]string{
			"namespace_name": e2eNamespace, "service_name": svc, "configuration_name": svc,
			"revision_name": rev, "pod_name": pod, "container_name": "queue-proxy",
		}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	ok := []string{"response_code", "200", "response_code_class", "2xx"}
	fail := []string{"response_code", "500", "response_code_class", "5xx"}
	hist := func(labels map[string]string, rates map[float64]float64) {
		perBucket := make([]float64, len(msBounds)+1)
		for i, b := range msBounds {
			perBucket[i] = rates[b]
		}
		must(steady.Histogram("revision_request_latencies", labels, msBounds, perBucket))
	}

	const fraud = "fraud-detector-predictor"
	stableA := func(extra ...string) map[string]string {
		return series(fraud, fraud+"-00001", fraud+"-00001-deployment-5d8f-a1b2c", extra...)
	}
	stableB := series(fraud, fraud+"-00001", fraud+"-00001-deployment-5d8f-x9y8z", ok...)
	canary := func(extra ...string) map[string]string {
		return series(fraud, fraud+"-00002", fraud+"-00002-deployment-6e9a-d3e4f", extra...)
	}
	steady.Counter("revision_request_count", stableA(ok...), 20)
	steady.Counter("revision_request_count", stableB, 19)
	steady.Counter("revision_request_count", stableA(fail...), 1)
	hist(stableA(ok...), map[float64]float64{25: 10, 50: 20, 100: 8, 250: 1})
	hist(stableA(fail...), map[float64]float64{500: 1})
	steady.Counter("revision_request_count", canary(ok...), 8)
	steady.Counter("revision_request_count", canary(fail...), 2)
	hist(canary(ok...), map[float64]float64{50: 4, 100: 4})
	hist(canary(fail...), map[float64]float64{1000: 2})

	const reco = "recommender-predictor"
	recoOK := series(reco, reco+"-00003", reco+"-00003-deployment-7c9d-fghij", ok...)
	steady.Counter("revision_request_count", recoOK, 20)
	hist(recoOK, map[float64]float64{10: 10, 25: 10})

	// dcgm-exporter with honor_labels: the pod using the GPU.
	steady.Gauge("DCGM_FI_DEV_GPU_UTIL", map[string]string{
		"gpu": "0", "UUID": "GPU-5e2a", "device": "nvidia0", "modelName": "NVIDIA L4", "Hostname": "gpu-node-1",
		"namespace": e2eNamespace, "pod": "recommender-predictor-00003-deployment-7c9d-abcde", "container": "kserve-container",
	}, 72)

	exp, err := promtest.NewExporter(steady)
	must(err)
	t.Cleanup(exp.Close)
	srv, err := promtest.Start(promtest.Config{Targets: []promtest.Target{{Job: "queue-proxy", Addr: exp.Addr()}}})
	must(err)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	if err := srv.WaitCovered(ctx, e2eWindow); err != nil {
		t.Fatal(err)
	}
	return &promFixture{srv: srv, exp: exp}
}

// covered waits until the server has every scrape of the last window
// again: a scrape missed under load would make rates short of the truth,
// so tests that compare figures call it just before reading them.
func (f *promFixture) covered(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := f.srv.WaitCovered(ctx, e2eWindow); err != nil {
		t.Fatal(err)
	}
}

// front is a proxy in front of the shared Prometheus whose faults only
// this test's dashboard sees.
func (f *promFixture) front(t testing.TB) *faultyServer {
	t.Helper()
	target, err := url.Parse(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return startFaulty(t, httputil.NewSingleHostReverseProxy(target), func(w http.ResponseWriter, code int) {
		switch code {
		case http.StatusUnauthorized, http.StatusForbidden:
			// The authenticating proxy in front of Prometheus answers in words.
			http.Error(w, http.StatusText(code), code)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "internal", "error": "opening storage failed: lock DB directory: resource temporarily unavailable"})
		}
	})
}
