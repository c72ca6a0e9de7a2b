package prom_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/prom/promtest"
)

// The fixture: one real Prometheus scraping exporters that speak every
// profile, in a namespace each, at constant rates chosen so that every
// figure can be computed by hand (the expectations in real_test.go).

const (
	nsKnative = "kn-prod"
	nsKnDev   = "kn-dev"
	nsOTel    = "otel-prod"
	nsKServe  = "ks-prod"
	nsSeed    = "seed-prod"
	nsFleet   = "fleet"       // fleetSize services
	nsFleet5  = "fleet-small" // 5 services
	fleetSize = 500

	// testWindow is the rate window of the tests; the trend step is short
	// so that the last point of a trend is covered too.
	testWindow    = 10 * time.Second
	testTrendStep = 2 * time.Second
)

// Knative's OpenCensus latency buckets (ms) and the client libraries'
// default buckets (s), trimmed.
var (
	msBounds    = []float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}
	fleetBounds = []float64{25, 50, 100}
	secBounds   = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
)

// buckets returns per-bucket rates for bounds from a map upper bound ->
// rate (math.Inf for the overflow bucket is not needed by any fixture).
func buckets(bounds []float64, rates map[float64]float64) []float64 {
	out := make([]float64, len(bounds)+1)
	for i, b := range bounds {
		out[i] = rates[b]
	}
	return out
}

// fixture is the running server and what the exporters were told.
type fixture struct {
	srv       *promtest.Server
	ooms      oomTimes
	exporters []*promtest.Exporter
}

// oomTimes are the termination times the kube-state-metrics exporter reports.
type oomTimes struct{ recent, old, pipeline time.Time }

func (f *fixture) close() {
	if f.srv != nil {
		f.srv.Close()
	}
	for _, e := range f.exporters {
		e.Close()
	}
}

// startFixture starts every exporter and the server, and waits until the
// window plus two trend steps have been scraped.
func startFixture(tb testing.TB, withFleet bool) *fixture {
	tb.Helper()
	if _, err := promtest.Binary(); err != nil {
		tb.Fatal(err) // fail, not skip: `make test` installs it
	}
	origin := time.Now().Add(-time.Hour)
	f := &fixture{}
	var targets []promtest.Target
	serve := func(job string, labels map[string]string, s *promtest.Steady) {
		exp, err := promtest.NewExporter(s)
		if err != nil {
			f.close()
			tb.Fatal(err)
		}
		f.exporters = append(f.exporters, exp)
		targets = append(targets, promtest.Target{Job: job, Addr: exp.Addr(), Labels: labels})
	}
	must := func(err error) {
		if err != nil {
			f.close()
			tb.Fatal(err)
		}
	}

	if withFleet {
		fleet := promtest.NewSteady(origin)
		for _, ns := range []struct {
			name string
			n    int
		}{{nsFleet, fleetSize}, {nsFleet5, 5}} {
			for i := range ns.n {
				svc := fmt.Sprintf("model-%03d-predictor", i)
				l := map[string]string{"namespace_name": ns.name, "service_name": svc, "configuration_name": svc, "revision_name": svc + "-00001"}
				fleet.Counter("revision_request_count", with(l, "response_code", "200", "response_code_class", "2xx"), 10)
				fleet.Counter("revision_request_count", with(l, "response_code", "503", "response_code_class", "5xx"), 0.1)
				// Few buckets: the exporter must answer within the 1 s
				// scrape timeout even under the race detector.
				must(fleet.Histogram("revision_request_latencies", l, fleetBounds, []float64{5, 5, 0.1, 0}))
			}
		}
		serve("fleet-queue-proxy", nil, fleet)
	}

	// knative (<= 1.18): two revisions of fraud, one of reco, a Knative
	// service that is no predictor, and a second namespace.
	kn := promtest.NewSteady(origin)
	knLabels := func(ns, svc, rev, pod string) map[string]string {
		return map[string]string{"namespace_name": ns, "service_name": svc, "configuration_name": svc, "revision_name": rev, "pod_name": pod, "container_name": "queue-proxy"}
	}
	stableA := knLabels(nsKnative, "fraud-predictor", "fraud-predictor-00001", "fraud-predictor-00001-deployment-a")
	stableB := knLabels(nsKnative, "fraud-predictor", "fraud-predictor-00001", "fraud-predictor-00001-deployment-b")
	canary := knLabels(nsKnative, "fraud-predictor", "fraud-predictor-00002", "fraud-predictor-00002-deployment-c")
	reco := knLabels(nsKnative, "reco-predictor", "reco-predictor-00003", "reco-predictor-00003-deployment-d")
	ok, fail := []string{"response_code", "200", "response_code_class", "2xx"}, []string{"response_code", "500", "response_code_class", "5xx"}
	// Stable: 39 2xx/s over two pods, 1 5xx/s.
	kn.Counter("revision_request_count", with(stableA, ok...), 20)
	kn.Counter("revision_request_count", with(stableB, ok...), 19)
	kn.Counter("revision_request_count", with(stableA, fail...), 1)
	must(kn.Histogram("revision_request_latencies", with(stableA, ok...), msBounds, buckets(msBounds, map[float64]float64{25: 10, 50: 20, 100: 8, 250: 1})))
	must(kn.Histogram("revision_request_latencies", with(stableA, fail...), msBounds, buckets(msBounds, map[float64]float64{500: 1})))
	// Canary: 8 2xx/s, 2 5xx/s.
	kn.Counter("revision_request_count", with(canary, ok...), 8)
	kn.Counter("revision_request_count", with(canary, fail...), 2)
	must(kn.Histogram("revision_request_latencies", with(canary, ok...), msBounds, buckets(msBounds, map[float64]float64{50: 4, 100: 4})))
	must(kn.Histogram("revision_request_latencies", with(canary, fail...), msBounds, buckets(msBounds, map[float64]float64{1000: 2})))
	// reco: 20 2xx/s and no 5xx series at all.
	kn.Counter("revision_request_count", with(reco, ok...), 20)
	must(kn.Histogram("revision_request_latencies", with(reco, ok...), msBounds, buckets(msBounds, map[float64]float64{10: 10, 25: 10})))
	// Not a predictor: left out.
	other := knLabels(nsKnative, "dashboard", "dashboard-00001", "dashboard-00001-deployment-e")
	kn.Counter("revision_request_count", with(other, ok...), 100)
	must(kn.Histogram("revision_request_latencies", with(other, ok...), msBounds, buckets(msBounds, map[float64]float64{5: 100})))
	// Another namespace.
	dev := knLabels(nsKnDev, "fraud-predictor", "fraud-predictor-00009", "fraud-predictor-00009-deployment-f")
	kn.Counter("revision_request_count", with(dev, ok...), 5)
	must(kn.Histogram("revision_request_latencies", with(dev, ok...), msBounds, buckets(msBounds, map[float64]float64{5: 5})))
	serve("queue-proxy", nil, kn)

	// knative-otel (>= 1.19): one pod per scrape target, the revision on
	// target_info. The same traffic as knative, in seconds.
	otelPod := func(pod, svc, rev string, series func(s *promtest.Steady, scope map[string]string)) {
		s := promtest.NewSteady(origin)
		s.Gauge("target_info", map[string]string{
			"k8s_namespace_name": nsOTel, "kn_service_name": svc, "kn_configuration_name": svc, "kn_revision_name": rev,
			"service_name": svc, "service_instance_id": pod, "service_version": "v1.21.1",
		}, 1)
		series(s, map[string]string{"otel_scope_name": "knative.dev/serving/pkg/queue"})
		serve("otel-queue-proxy", nil, s)
	}
	otelHist := func(s *promtest.Steady, scope map[string]string, code string, rates map[float64]float64) {
		must(s.Histogram("kn_serving_invocation_duration_seconds", with(scope, "http_response_status_code", code), secBounds, buckets(secBounds, rates)))
	}
	otelPod("fraud-predictor-00001-deployment-a", "fraud-predictor", "fraud-predictor-00001", func(s *promtest.Steady, scope map[string]string) {
		otelHist(s, scope, "200", map[float64]float64{0.025: 10, 0.05: 20, 0.1: 8, 0.25: 1})
	})
	otelPod("fraud-predictor-00001-deployment-b", "fraud-predictor", "fraud-predictor-00001", func(s *promtest.Steady, scope map[string]string) {
		otelHist(s, scope, "503", map[float64]float64{0.5: 1})
	})
	otelPod("fraud-predictor-00002-deployment-c", "fraud-predictor", "fraud-predictor-00002", func(s *promtest.Steady, scope map[string]string) {
		otelHist(s, scope, "200", map[float64]float64{0.05: 4, 0.1: 4})
		otelHist(s, scope, "500", map[float64]float64{1: 2})
	})
	otelPod("dashboard-00001-deployment-e", "dashboard", "dashboard-00001", func(s *promtest.Steady, scope map[string]string) {
		otelHist(s, scope, "200", map[float64]float64{0.005: 100})
	})

	// kserve model server: no namespace of its own (the scrape adds it), no
	// status code, no revision.
	ksFraud := promtest.NewSteady(origin)
	must(ksFraud.Histogram("request_predict_seconds", map[string]string{"model_name": "fraud"}, secBounds, buckets(secBounds, map[float64]float64{0.05: 30, 0.075: 9, 0.25: 1})))
	serve("kserve-model", map[string]string{"namespace": nsKServe, "pod": "fraud-predictor-7c9d-x1"}, ksFraud)
	ksReco := promtest.NewSteady(origin)
	must(ksReco.Histogram("request_predict_seconds", map[string]string{"model_name": "reco"}, secBounds, buckets(secBounds, map[float64]float64{0.01: 10})))
	serve("kserve-model", map[string]string{"namespace": nsKServe, "pod": "reco-predictor-5f6a-y2"}, ksReco)

	// seed article's names.
	seed := promtest.NewSteady(origin)
	seedLabels := map[string]string{"service_name": "fraud", "namespace": nsSeed}
	seed.Counter("kserve_request_total", with(seedLabels, "response_code", "200"), 45)
	seed.Counter("kserve_request_total", with(seedLabels, "response_code", "500"), 5)
	must(seed.Histogram("kserve_request_duration_seconds", seedLabels, secBounds, buckets(secBounds, map[float64]float64{0.25: 25, 0.5: 25})))
	serve("seed-app", nil, seed)

	// dcgm-exporter, honor_labels style: pod and namespace as exported.
	gpuA := promtest.NewSteady(origin)
	a100 := map[string]string{"modelName": "NVIDIA A100-SXM4-80GB", "Hostname": "node-a", "device": "nvidia0", "pci_bus_id": "00000000:07:00.0", "DCGM_FI_DRIVER_VERSION": "550.54.15"}
	gpuA0 := with(a100, "gpu", "0", "UUID", "GPU-aaaa-0", "pod", "fraud-predictor-00002-deployment-c", "namespace", nsKnative, "container", "kserve-container")
	gpuA1 := with(a100, "gpu", "1", "UUID", "GPU-aaaa-1", "device", "nvidia1")
	gpuA.Gauge("DCGM_FI_DEV_GPU_UTIL", gpuA0, 87)
	gpuA.Gauge("DCGM_FI_DEV_FB_USED", gpuA0, 30000)
	gpuA.Gauge("DCGM_FI_DEV_FB_FREE", gpuA0, 50000)
	gpuA.Gauge("DCGM_FI_DEV_FB_RESERVED", gpuA0, 1000)
	gpuA.Gauge("DCGM_FI_DEV_GPU_UTIL", gpuA1, 3)
	serve("dcgm-exporter", nil, gpuA)
	// dcgm-exporter behind honor_labels false: the scrape's own pod and
	// namespace (the exporter's) push the GPU's into exported_pod and
	// exported_namespace; the HEAD version spells hostname in lower case.
	gpuB := promtest.NewSteady(origin)
	l4 := map[string]string{"modelName": "NVIDIA L4", "hostname": "node-b"}
	gpuB0 := with(l4, "gpu", "0", "UUID", "GPU-bbbb-0", "pod", "reco-predictor-00003-deployment-d", "namespace", nsKnative, "container", "kserve-container")
	gpuB1 := with(l4, "gpu", "1", "UUID", "GPU-bbbb-1")
	gpuB.Gauge("DCGM_FI_DEV_GPU_UTIL", gpuB0, 45)
	gpuB.Gauge("DCGM_FI_DEV_FB_USED", gpuB0, 12000)
	gpuB.Gauge("DCGM_FI_DEV_FB_FREE", gpuB0, 10000)
	gpuB.Gauge("DCGM_FI_DEV_GPU_UTIL", gpuB1, 0)
	serve("dcgm-exporter", map[string]string{"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-9xk2p"}, gpuB)

	// kube-state-metrics.
	now := time.Now()
	f.ooms = oomTimes{recent: now.Add(-time.Hour).Truncate(time.Second), old: now.Add(-30 * time.Hour).Truncate(time.Second), pipeline: now.Add(-2 * time.Hour).Truncate(time.Second)}
	ksm := promtest.NewSteady(origin)
	oom := func(ns, pod, container, reason string, at time.Time) {
		l := map[string]string{"namespace": ns, "pod": pod, "container": container, "uid": "uid-" + pod}
		ksm.Gauge("kube_pod_container_status_last_terminated_reason", with(l, "reason", reason), 1)
		if !at.IsZero() {
			ksm.Gauge("kube_pod_container_status_last_terminated_timestamp", l, float64(at.Unix()))
		}
	}
	oom(nsKnative, "fraud-predictor-00002-deployment-7d9f-abcde", "kserve-container", "OOMKilled", f.ooms.recent)
	oom(nsKnative, "reco-predictor-5d8f9c-xyz12", "kserve-container", "OOMKilled", time.Time{})
	oom(nsKnative, "old-predictor-00001-deployment-1-2", "kserve-container", "OOMKilled", f.ooms.old)
	oom(nsKnative, "pipeline-train-abc", "main", "OOMKilled", f.ooms.pipeline)
	oom(nsKnative, "fraud-predictor-00001-deployment-a", "queue-proxy", "Error", f.ooms.recent)
	oom("elsewhere", "x-predictor-00001-deployment-1-2", "kserve-container", "OOMKilled", f.ooms.recent)
	serve("kube-state-metrics", nil, ksm)

	srv, err := promtest.Start(promtest.Config{Targets: targets})
	if err != nil {
		f.close()
		tb.Fatal(err)
	}
	f.srv = srv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.WaitCovered(ctx, testWindow+testTrendStep); err != nil {
		f.close()
		tb.Fatal(err)
	}
	return f
}

// failedScrapes lists the targets with a failed scrape in the last minute,
// for failure messages: a failed scrape marks the target's series stale.
func (f *fixture) failedScrapes() string {
	vec, err := f.srv.Query(context.Background(), "min_over_time(up[1m]) == 0")
	if err != nil {
		return err.Error()
	}
	if len(vec) == 0 {
		return "none"
	}
	return vec.String()
}

// with returns a copy of labels with more name, value pairs.
func with(labels map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(labels)+len(kv)/2)
	for k, v := range labels {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// countingTransport counts the requests that reach the server.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(req)
}
