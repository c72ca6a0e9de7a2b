package prom_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/prom"
)

func fetchOK(t *testing.T, c *prom.Client) sources.Metrics {
	t.Helper()
	part, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if part.Metrics == nil || part.Inventory != nil || part.Tracking != nil || part.Pipelines != nil {
		t.Fatalf("Fetch must set exactly Metrics: %+v", part)
	}
	return *part.Metrics
}

func rev(ns, svc, revision string) map[string]string {
	return map[string]string{"namespace_name": ns, "service_name": svc + "-predictor", "revision_name": svc + "-predictor-" + revision}
}

func svc(ns, name string) map[string]string {
	return map[string]string{"namespace_name": ns, "service_name": name + "-predictor"}
}

// 0/0 and histogram_quantile's NaN are "no data", never 0 and never NaN.
func TestNoDataIsNotZero(t *testing.T) {
	f := newFakeProm(t,
		instant(`histogram_quantile(0.99, sum by (namespace_name, service_name, le)`, vector(
			sample(svc("ml-prod", "fraud"), "NaN"), sample(svc("ml-prod", "reco"), "250"))),
		instant(`histogram_quantile(0.5, sum by (namespace_name, service_name, le)`, vector(
			sample(svc("ml-prod", "fraud"), "NaN"), sample(svc("ml-prod", "reco"), "100"))),
		instant(`response_code_class="5xx"`, vector(sample(rev("ml-prod", "reco", "00002"), "0.5"))),
		instant("revision_request_count", vector(
			sample(rev("ml-prod", "fraud", "00001"), "0"), sample(rev("ml-prod", "reco", "00002"), "5"))),
	)
	m := fetchOK(t, newClient(t, f.URL, nil))
	fraud, reco := m.Services[key("ml-prod", "fraud")], m.Services[key("ml-prod", "reco")]
	if want := (sources.Traffic{}); fraud.Traffic != want {
		t.Errorf("idle fraud: %+v, want zero figures with HasErrors and HasP99 false", fraud.Traffic)
	}
	want := sources.Traffic{RPS: 5, ErrorRate: 0.1, HasErrors: true, P50: 100 * time.Millisecond, P99: 250 * time.Millisecond, HasP99: true,
		Requests: 5 * 300, Errors: 0.5 * 300} // the default window is 5m
	if reco.Traffic != want {
		t.Errorf("reco:\n got %+v\nwant %+v", reco.Traffic, want)
	}
	checkFinite(t, reflect.ValueOf(m))
}

func TestTrends(t *testing.T) {
	f := newFakeProm(t,
		ranged(`histogram_quantile(0.99, sum by (namespace_name, service_name, le)`, matrix(
			stream(svc("ml-prod", "reco"), "1750000000:250", "1750000060:NaN", "1750000120:400"))),
		ranged(`response_code_class="5xx"`, matrix(
			stream(rev("ml-prod", "reco", "00002"), "1750000000:1"),
			stream(rev("ml-prod", "reco", "00003"), "1750000000:1"))),
		ranged("revision_request_count", matrix(
			stream(rev("ml-prod", "reco", "00002"), "1750000000:5", "1750000060:0", "1750000120:4"),
			stream(rev("ml-prod", "reco", "00003"), "1750000000:5", "1750000060:0"))),
	)
	m := fetchOK(t, newClient(t, f.URL, nil))
	reco := m.Services[key("ml-prod", "reco")]
	at := func(sec int64) time.Time { return time.Unix(sec, 0) }
	checkPoints(t, "rps", reco.RPSTrend, []sources.Point{{T: at(1750000000), V: 10}, {T: at(1750000060), V: 0}, {T: at(1750000120), V: 4}})
	// 2 errors of 10 requests; no requests (no point); 4 requests and no 5xx series (0).
	checkPoints(t, "errors", reco.ErrTrend, []sources.Point{{T: at(1750000000), V: 0.2}, {T: at(1750000120), V: 0}})
	checkPoints(t, "p99 (s)", reco.P99Trend, []sources.Point{{T: at(1750000000), V: 0.25}, {T: at(1750000120), V: 0.4}})
	canary := m.Revisions[key("ml-prod", "reco-predictor-00003")]
	checkPoints(t, "revision errors", canary.ErrTrend, []sources.Point{{T: at(1750000000), V: 0.2}})
	if canary.Revision != "reco-predictor-00003" {
		t.Errorf("revision named %q", canary.Revision)
	}
}

// The trend ends on a step boundary so consecutive refreshes share points.
func TestTrendRangeIsAligned(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	srv := newFakeProm(t)
	c := newClient(t, srv.URL, func(o *prom.Options) {
		o.Now = func() time.Time { return time.Unix(1_750_000_037, 500) }
		o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/query_range") {
				// Read a copy of the form: the request must still carry its body.
				body, err := r.GetBody()
				if err != nil {
					return nil, err
				}
				raw, _ := io.ReadAll(body)
				form, _ := url.ParseQuery(string(raw))
				mu.Lock()
				got = append(got, form.Get("start")+" "+form.Get("end")+" "+form.Get("step"))
				mu.Unlock()
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	fetchOK(t, c)
	if len(got) == 0 {
		t.Fatal("no range queries")
	}
	for _, g := range got {
		if g != "1749996420 1750000020 60" {
			t.Errorf("range %q, want start 1749996420 end 1750000020 step 60 (the last hour, on minutes)", g)
		}
	}
}

func TestNamesAreCleanedAndMapped(t *testing.T) {
	f := newFakeProm(t,
		instant("revision_request_count", vector(
			sample(map[string]string{"namespace_name": "ml-prod", "service_name": "\x1b]0;pwned\x07evil-predictor", "revision_name": "evil-predictor-00001\x1b[2J"}, "1"),
			sample(map[string]string{"namespace_name": "", "service_name": "orphan-predictor", "revision_name": "orphan-predictor-00001"}, "1"),
		)),
	)
	m := fetchOK(t, newClient(t, f.URL, nil))
	if _, ok := m.Services[key("ml-prod", "evil")]; !ok || len(m.Services) != 1 {
		t.Errorf("services %v, want only ml-prod/evil (cleaned, suffix cut; no namespace: dropped)", keys(m.Services))
	}
	if _, ok := m.Revisions[key("ml-prod", "evil-predictor-00001")]; !ok {
		t.Errorf("revisions %v, want the cleaned evil-predictor-00001", keys(m.Revisions))
	}
}

func TestGPULabelStyles(t *testing.T) {
	f := newFakeProm(t,
		instant("DCGM_FI_DEV", vector(
			// --use-old-namespace names the pod labels pod_name/pod_namespace.
			sample(map[string]string{"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "UUID": "GPU-1", "modelName": "Tesla T4", "Hostname": "n1", "pod_name": "p1", "pod_namespace": "ml-prod", "job": "dcgm", "instance": "10.0.0.1:9400"}, "20"),
			// MIG instance; no hostname at all: the instance names the node.
			sample(map[string]string{"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "1", "UUID": "GPU-2", "GPU_I_ID": "3", "GPU_I_PROFILE": "1g.10gb", "modelName": "NVIDIA A100", "job": "dcgm", "instance": "10.0.0.2:9400"}, "55.5"),
			sample(map[string]string{"__name__": "DCGM_FI_DEV_FB_USED", "gpu": "1", "UUID": "GPU-2", "GPU_I_ID": "3", "GPU_I_PROFILE": "1g.10gb", "modelName": "NVIDIA A100", "job": "dcgm", "instance": "10.0.0.2:9400"}, "4000"),
			// Memory without utilisation is no GPU the pane can show.
			sample(map[string]string{"__name__": "DCGM_FI_DEV_FB_USED", "gpu": "7", "UUID": "GPU-7", "Hostname": "n9", "job": "dcgm", "instance": "10.0.0.9:9400"}, "1"),
			sample(map[string]string{"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "2", "UUID": "GPU-3", "Hostname": "n1", "job": "dcgm", "instance": "10.0.0.1:9400"}, "NaN"),
		)),
		ranged("DCGM_FI_DEV_GPU_UTIL", matrix(stream(map[string]string{}, "1750000000:37.75"))),
	)
	m := fetchOK(t, newClient(t, f.URL, nil))
	want := []sources.GPU{
		{Node: "10.0.0.2:9400", Device: "1 1g.10gb", Model: "NVIDIA A100", Util: 55.5, MemUsedMB: 4000},
		{Node: "n1", Device: "0", Model: "Tesla T4", Namespace: "ml-prod", Pod: "p1", Util: 20},
	}
	if !slices.Equal(m.GPUs, want) {
		t.Errorf("GPUs:\n got %+v\nwant %+v", m.GPUs, want)
	}
	checkPoints(t, "GPU trend", m.GPUTrend, []sources.Point{{T: time.Unix(1750000000, 0), V: 37.75}})
}

// kube-state-metrics scraped with honor_labels false: its namespace label
// is its own, the pod's arrives as exported_namespace.
func TestOOMKillsExportedLabels(t *testing.T) {
	ksm := func(ns, pod string) map[string]string {
		return map[string]string{"namespace": "monitoring", "pod": "kube-state-metrics-0", "exported_namespace": ns, "exported_pod": pod, "exported_container": "kserve-container", "reason": "OOMKilled"}
	}
	recent := fixedNow.Add(-3 * time.Hour)
	f := newFakeProm(t,
		instant("kube_pod_container_status_last_terminated_timestamp", vector(
			sample(ksm("ml-prod", "fraud-transformer-00001-deployment-1-2"), "1749989200"))),
		instant("kube_pod_container_status_last_terminated_reason", vector(
			sample(ksm("ml-prod", "fraud-transformer-00001-deployment-1-2"), "1"),
			sample(ksm("ml-dev", "fraud-predictor-00001-deployment-1-2"), "1"))),
	)
	m := fetchOK(t, newClient(t, f.URL, nil))
	want := []sources.OOMKill{{Namespace: "ml-prod", Pod: "fraud-transformer-00001-deployment-1-2", Container: "kserve-container", Service: "fraud", At: recent}}
	if len(m.OOMKills) != 1 || m.OOMKills[0].Pod != want[0].Pod || m.OOMKills[0].Service != "fraud" || !m.OOMKills[0].At.Equal(recent) || m.OOMKills[0].Namespace != "ml-prod" {
		t.Errorf("OOM kills:\n got %+v\nwant %+v", m.OOMKills, want)
	}
}

// probeFake answers the auto probe with counts per profile and counts probes.
func probeFake(t *testing.T, counts map[string]string) *fakeProm {
	var samples []string
	for name, n := range counts {
		samples = append(samples, sample(map[string]string{"mltop_profile": name}, n))
	}
	return newFakeProm(t, instant("mltop_profile", vector(samples...)))
}

func probes(f *fakeProm) int {
	n := 0
	for _, r := range f.seen() {
		if strings.Contains(r.query, "mltop_profile") {
			n++
		}
	}
	return n
}

func TestAutoPrefersStatusCodesThenSize(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]string
		want   string
	}{
		{map[string]string{"kserve": "400", "knative": "3"}, prom.ProfileKnative},
		{map[string]string{"knative": "3", "knative-otel": "5"}, prom.ProfileKnativeOTel},
		{map[string]string{"knative": "6", "knative-otel": "5"}, prom.ProfileKnative},
		{map[string]string{"knative": "5", "knative-otel": "5"}, prom.ProfileKnativeOTel},
		{map[string]string{"kserve": "4"}, prom.ProfileKServe},
		{map[string]string{}, prom.ProfileNone},
	} {
		f := probeFake(t, tc.counts)
		c := newClient(t, f.URL, func(o *prom.Options) { o.Profile = prom.ProfileAuto })
		if got := fetchOK(t, c).Profile; got != tc.want || c.Profile() != tc.want {
			t.Errorf("counts %v: profile %q (Profile() %q), want %q", tc.counts, got, c.Profile(), tc.want)
		}
	}
}

func TestAutoCachesItsChoice(t *testing.T) {
	f := probeFake(t, map[string]string{"seed": "2"})
	now := fixedNow
	c := newClient(t, f.URL, func(o *prom.Options) {
		o.Profile = prom.ProfileAuto
		o.ProbeEvery = 10 * time.Minute
		o.Now = func() time.Time { return now }
	})
	fetchOK(t, c)
	now = now.Add(9 * time.Minute)
	fetchOK(t, c)
	if n := probes(f); n != 1 {
		t.Errorf("%d probes within ProbeEvery, want 1", n)
	}
	now = now.Add(2 * time.Minute)
	fetchOK(t, c)
	if n := probes(f); n != 2 {
		t.Errorf("%d probes after ProbeEvery, want 2", n)
	}

	none := probeFake(t, map[string]string{})
	c = newClient(t, none.URL, func(o *prom.Options) { o.Profile = prom.ProfileAuto })
	fetchOK(t, c)
	fetchOK(t, c)
	if n := probes(none); n != 2 {
		t.Errorf("%d probes when nothing was found, want 2 (finding nothing is not kept)", n)
	}
}

func TestAutoProbeFailure(t *testing.T) {
	f := newFakeProm(t, failing("mltop_profile", http.StatusServiceUnavailable, apiError("unavailable", "TSDB not ready")))
	c := newClient(t, f.URL, func(o *prom.Options) { o.Profile = prom.ProfileAuto })
	err := fetchErr(t, c, 5*time.Second)
	wantParts(t, err, `503 Service Unavailable (query "profile probe"): TSDB not ready`)
}

func TestAutoKeepsLastChoiceWhenProbeFails(t *testing.T) {
	answers := []fakeAnswer{instant("mltop_profile", vector(sample(map[string]string{"mltop_profile": "seed"}, "1")))}
	f := newFakeProm(t, answers...)
	now := fixedNow
	c := newClient(t, f.URL, func(o *prom.Options) { o.Profile = prom.ProfileAuto; o.Now = func() time.Time { return now } })
	fetchOK(t, c)
	f.mu.Lock()
	f.answers = []fakeAnswer{failing("mltop_profile", http.StatusBadGateway, "bad gateway")}
	f.mu.Unlock()
	now = now.Add(time.Hour)
	if got := fetchOK(t, c).Profile; got != prom.ProfileSeed {
		t.Errorf("profile %q after a failed probe, want the last choice %q", got, prom.ProfileSeed)
	}
}

func TestKServeProfileHasNoErrorsOrRevisions(t *testing.T) {
	f := newFakeProm(t,
		instant("request_predict_seconds_count", vector(sample(map[string]string{"namespace": "ml-prod", "model_name": "fraud"}, "7"))),
	)
	m := fetchOK(t, newClient(t, f.URL, func(o *prom.Options) { o.Profile = prom.ProfileKServe }))
	fraud := m.Services[key("ml-prod", "fraud")]
	if fraud.RPS != 7 || fraud.HasErrors || fraud.ErrTrend != nil || len(m.Revisions) != 0 {
		t.Errorf("kserve: %+v, revisions %v", fraud, m.Revisions)
	}
	for _, r := range f.seen() {
		if strings.Contains(r.query, "5..") || strings.Contains(r.query, "revision") {
			t.Errorf("kserve profile sent %q", r.query)
		}
	}
}

func TestNamespaceMatcherInQueries(t *testing.T) {
	for _, tc := range []struct {
		namespaces []string
		want       string
	}{
		{nil, `namespace_name!=""`},
		{[]string{"ml-prod"}, `namespace_name="ml-prod"`},
		{[]string{"ml.prod", "a"}, `namespace_name=~"a|ml\\.prod"`},
	} {
		f := newFakeProm(t)
		fetchOK(t, newClient(t, f.URL, func(o *prom.Options) { o.Namespaces = tc.namespaces }))
		for _, r := range f.seen() {
			if strings.Contains(r.query, "revision_request") && !strings.Contains(r.query, tc.want) {
				t.Errorf("namespaces %v: query %s lacks %s", tc.namespaces, r.query, tc.want)
			}
		}
	}
}

func checkPoints(t *testing.T, what string, got, want []sources.Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s trend: got %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if !got[i].T.Equal(want[i].T) || math.Abs(got[i].V-want[i].V) > 1e-9 {
			t.Errorf("%s trend: got %v, want %v", what, got, want)
			return
		}
	}
}

// checkFinite fails on any NaN or infinity in a value.
func checkFinite(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0) {
			t.Errorf("non-finite value %v", v.Float())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				checkFinite(t, v.Field(i))
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			checkFinite(t, v.Index(i))
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			checkFinite(t, it.Value())
		}
	case reflect.Pointer:
		if !v.IsNil() {
			checkFinite(t, v.Elem())
		}
	}
}
