package kfp_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/kfp"
)

// TestFetchReportsTheServerVersion: the doctor's version check reads the
// API server's release from healthz, asked once per lifetime of the
// answer; a server that does not answer healthz leaves it unknown without
// failing the fetch.
func TestFetchReportsTheServerVersion(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns(), Healthz: map[string]any{"commit_sha": "f8a4f9c", "tag_name": "2.3.0", "multi_user": false}}
	clock := now
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL, Now: func() time.Time { return clock }})
	healthz := func() (n int) {
		for _, r := range fake.Requests() {
			if r.Path == "/apis/v2beta1/healthz" {
				n++
			}
		}
		return n
	}
	if p := fetchPipelines(t, c); p.ServerVersion != "2.3.0" || len(p.Runs) == 0 {
		t.Fatalf("version %q, %d runs", p.ServerVersion, len(p.Runs))
	}
	fake.Healthz = map[string]any{"tag_name": "2.4.0"}
	clock = clock.Add(5 * time.Minute)
	if p := fetchPipelines(t, c); p.ServerVersion != "2.3.0" || healthz() != 1 {
		t.Errorf("within the lifetime: version %q after %d healthz calls", p.ServerVersion, healthz())
	}
	clock = clock.Add(10 * time.Minute)
	if p := fetchPipelines(t, c); p.ServerVersion != "2.4.0" || healthz() != 2 {
		t.Errorf("after the lifetime: version %q after %d healthz calls", p.ServerVersion, healthz())
	}
}

func TestServerVersionUnknownWithoutHealthz(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns()}
	// A gateway that routes the runs API only.
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/apis/v2beta1/healthz" {
			http.NotFound(w, r)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(gateway.Close)
	c := newClient(t, kfp.Options{BaseURL: gateway.URL})
	p := fetchPipelines(t, c)
	if p.ServerVersion != "" || len(p.Runs) == 0 {
		t.Errorf("version %q, %d runs", p.ServerVersion, len(p.Runs))
	}
}
