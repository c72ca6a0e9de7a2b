package prom_test

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/prom"
)

func TestNewValidates(t *testing.T) {
	broken := prom.DefaultProfiles()
	p := broken[prom.ProfileKnative]
	p.Requests = `sum by ({{.By}}) (rate(revision_request_count{{{.Namespace}}}[{{.Window}}]))` // .Namespace: a typo
	broken[prom.ProfileKnative] = p
	noLabel := prom.DefaultProfiles()
	p = noLabel[prom.ProfileSeed]
	p.ServiceLabel = "service-name"
	noLabel[prom.ProfileSeed] = p

	for _, tc := range []struct {
		name string
		o    prom.Options
		want string
	}{
		{"no URL", prom.Options{}, "the URL is empty"},
		{"not http", prom.Options{BaseURL: "prometheus:9090"}, "is not an http(s) URL"},
		{"window", prom.Options{BaseURL: "http://p:9090", Window: "5 minutes"}, `window "5 minutes" is not a PromQL duration`},
		{"profile", prom.Options{BaseURL: "http://p:9090", Profile: "knative-2"}, `unknown profile "knative-2" (known: auto, knative, knative-otel, kserve, seed)`},
		{"trend", prom.Options{BaseURL: "http://p:9090", TrendRange: time.Second, TrendStep: time.Minute}, "must be at least one step"},
		{"trend points", prom.Options{BaseURL: "http://p:9090", TrendRange: 24 * time.Hour, TrendStep: time.Second}, "exceeds Prometheus's 11000 points"},
		{"placeholder", prom.Options{BaseURL: "http://p:9090", Profiles: broken}, `profile "knative", requests query: unknown placeholder {{.Namespace}} (use`},
		{"label", prom.Options{BaseURL: "http://p:9090", Profiles: noLabel}, `profile "seed": "service-name" is not a label name`},
		{"client and auth", prom.Options{BaseURL: "http://p:9090", HTTPClient: http.DefaultClient, BearerTokenFile: "/t"}, "apply to a direct URL only"},
		{"both auths", prom.Options{BaseURL: "http://p:9090", BearerTokenFile: "/t", Username: "u"}, "not both"},
		{"password alone", prom.Options{BaseURL: "http://p:9090", PasswordFile: "/p"}, "password_file is set without username"},
		{"ca missing", prom.Options{BaseURL: "https://p:9090", CAFile: "/nonexistent/ca.pem"}, "ca_file: open /nonexistent/ca.pem"},
		{"ca not pem", prom.Options{BaseURL: "https://p:9090", CAFile: writeFile(t, "ca.pem", "not a certificate")}, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := prom.New(tc.o)
			if err == nil {
				t.Fatalf("New accepted %+v", tc.o)
			}
			if c != nil {
				t.Error("New returned a client with its error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\n does not contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "prometheus") {
				t.Errorf("error %q does not name the source", err)
			}
		})
	}
}

func TestBearerTokenFileIsReadOnEveryRequest(t *testing.T) {
	f := newFakeProm(t)
	token := writeFile(t, "token", "first-token\n")
	c := newClient(t, f.URL, func(o *prom.Options) { o.BearerTokenFile = token })
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(token, []byte("rotated-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := f.seen()
	if len(seen) == 0 {
		t.Fatal("no requests")
	}
	if got := seen[0].auth; got != "Bearer first-token" {
		t.Errorf("first request Authorization %q", got)
	}
	if got := seen[len(seen)-1].auth; got != "Bearer rotated-token" {
		t.Errorf("after rotation Authorization %q", got)
	}

	if err := os.Remove(token); err != nil {
		t.Fatal(err)
	}
	err := fetchErr(t, c, 5*time.Second)
	wantParts(t, err, "cannot read a credential: check bearer_token_file: open "+token)
}

func TestBasicAuth(t *testing.T) {
	f := newFakeProm(t)
	password := writeFile(t, "password", "pa55word\n")
	c := newClient(t, f.URL, func(o *prom.Options) { o.Username, o.PasswordFile = "ops", password })
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.seen() {
		if !r.hasBasic || r.user != "ops" || r.password != "pa55word" {
			t.Fatalf("request %s %q: basic auth %v %q %q", r.method, r.query, r.hasBasic, r.user, r.password)
		}
	}
}

func TestCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/query_range") {
			w.Write([]byte(matrix()))
			return
		}
		w.Write([]byte(vector()))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	defer srv.Close()

	err := fetchErr(t, newClient(t, srv.URL, nil), 5*time.Second)
	wantParts(t, err, "certificate signed by an unknown authority: set prometheus.ca_file")

	ca := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))
	c := newClient(t, srv.URL, func(o *prom.Options) { o.CAFile = ca })
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
}

// The Kubernetes API server's service proxy puts the server under a path:
// API paths are appended to it, and the caller's client is used as is.
func TestBaseURLWithPath(t *testing.T) {
	f := newFakeProm(t)
	prefix := "/api/v1/namespaces/monitoring/services/prometheus-k8s:9090/proxy"
	var used atomic.Bool
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Store(true)
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := newClient(t, f.URL+prefix+"/", func(o *prom.Options) { o.HTTPClient = client })
	if _, err := c.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !used.Load() {
		t.Error("the given HTTPClient was not used")
	}
	for _, r := range f.seen() {
		if r.path != prefix+"/api/v1/query" && r.path != prefix+"/api/v1/query_range" {
			t.Errorf("request to %s, want under %s", r.path, prefix)
		}
		if r.method != http.MethodPost {
			t.Errorf("%s %s: queries are POSTed", r.method, r.path)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
