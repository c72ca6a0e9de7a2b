package prom_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/mltop/mltop/sources/prom"
)

var fixedNow = time.Unix(1_750_000_000, 0)

// newClient builds a client of the fake with fixed time and the knative profile.
func newClient(t *testing.T, url string, mod func(*prom.Options)) *prom.Client {
	t.Helper()
	o := prom.Options{BaseURL: url, Profile: prom.ProfileKnative, Namespaces: []string{"ml-prod"}, Now: func() time.Time { return fixedNow }}
	if mod != nil {
		mod(&o)
	}
	c, err := prom.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fetchErr runs one Fetch that must fail and returns its message.
func fetchErr(t *testing.T, c *prom.Client, timeout time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	part, err := c.Fetch(ctx)
	if err == nil {
		t.Fatalf("Fetch succeeded with %+v, want an error", part.Metrics)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error spans lines: %q", err)
	}
	return err
}

func wantParts(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q\n does not contain %q", err, p)
		}
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	err = fetchErr(t, newClient(t, "http://"+addr, nil), 5*time.Second)
	wantParts(t, err, "prometheus http://"+addr+": connection refused: is the server running and the URL right?")
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	err := fetchErr(t, newClient(t, srv.URL, nil), 200*time.Millisecond)
	wantParts(t, err, "prometheus "+srv.URL+": timed out", "raise prometheus.timeout")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Fetch took %v after a 200ms deadline", d)
	}
}

func TestHTTPStatusErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"401", http.StatusUnauthorized, "Unauthorized", []string{"401 Unauthorized: check bearer_token_file"}},
		{"403", http.StatusForbidden, "forbidden: User \"system:anonymous\" cannot post", []string{"403 Forbidden: check bearer_token_file"}},
		{"404", http.StatusNotFound, "404 page not found", []string{"404 Not Found", "is the URL the server's root"}},
		// A query that outlives the server's own limit: Prometheus answers 503
		// with errorType timeout, which the Go client reports as server_error.
		{"503 timeout", http.StatusServiceUnavailable, apiError("timeout", "query timed out in expression evaluation"),
			[]string{`503 Service Unavailable (query "request rate"): query timed out in expression evaluation`}},
		{"502 html", http.StatusBadGateway, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
			[]string{`502 Bad Gateway (query "request rate"): 502 Bad Gateway 502 Bad Gateway nginx`}},
		{"500 internal", http.StatusInternalServerError, apiError("internal", "expanding series: context canceled"),
			[]string{"500 Internal Server Error", "expanding series: context canceled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeProm(t, failing("", tc.status, tc.body))
			err := fetchErr(t, newClient(t, f.URL, nil), 5*time.Second)
			wantParts(t, err, append([]string{"prometheus " + f.URL + ": "}, tc.want...)...)
			var apiErr *v1.Error
			if !errors.As(err, &apiErr) {
				t.Errorf("%v does not wrap the client's *v1.Error", err)
			}
		})
	}
}

func TestMalformedBody(t *testing.T) {
	f := newFakeProm(t, instant("", `{"status":"success","data":{"resultType":"vector","result":[`))
	err := fetchErr(t, newClient(t, f.URL, nil), 5*time.Second)
	wantParts(t, err, `malformed response to query "request rate": unexpected end of JSON input`, "is the URL a Prometheus server?")

	html := newFakeProm(t, instant("", "<!doctype html><title>Grafana</title>"))
	err = fetchErr(t, newClient(t, html.URL, nil), 5*time.Second)
	wantParts(t, err, "malformed response", "invalid character '<'")
}

func TestBadData(t *testing.T) {
	f := newFakeProm(t, failing("", http.StatusBadRequest, apiError("bad_data", `invalid parameter "query": 1:27: parse error: unexpected "}" in label matching`)))
	err := fetchErr(t, newClient(t, f.URL, nil), 5*time.Second)
	wantParts(t, err, `query "request rate" rejected (bad_data): invalid parameter "query": 1:27: parse error`, "check the metric profile's template")
	var perr *prom.Error
	if !errors.As(err, &perr) || perr.Query != "request rate" {
		t.Errorf("%v is not a *prom.Error naming the query", err)
	}
}

func TestResultOfWrongType(t *testing.T) {
	f := newFakeProm(t, instant("", `{"status":"success","data":{"resultType":"scalar","result":[1750000000,"1"]}}`))
	err := fetchErr(t, newClient(t, f.URL, nil), 5*time.Second)
	wantParts(t, err, `query "request rate"`, "a scalar, not a vector", "check the metric profile's template")
}

// A failed figure leaves that figure out, is logged, and the rest arrives.
func TestPartialFailureIsLoggedNotFatal(t *testing.T) {
	f := newFakeProm(t,
		failing("DCGM_FI_DEV", http.StatusUnprocessableEntity, apiError("execution", "many-to-many matching not allowed")),
		instant(`response_code_class="5xx"`, vector()),
		instant("revision_request_count", vector(sample(map[string]string{"namespace_name": "ml-prod", "service_name": "fraud-predictor", "revision_name": "fraud-predictor-00001"}, "12.5"))),
	)
	var logs bytes.Buffer
	c := newClient(t, f.URL, func(o *prom.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	part, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatalf("a failed GPU query failed the refresh: %v", err)
	}
	m := part.Metrics
	if m.GPUs != nil || m.GPUTrend != nil {
		t.Errorf("GPUs %v, trend %v: want none when their query failed", m.GPUs, m.GPUTrend)
	}
	if got := m.Services[key("ml-prod", "fraud")].RPS; got != 12.5 {
		t.Errorf("fraud rps %v, want 12.5", got)
	}
	for _, want := range []string{`query="GPU utilisation"`, `query="GPU trend"`, "many-to-many matching not allowed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// When every service-level query fails the refresh fails, even if the
// GPUs answered: the Serving pane would otherwise show "no traffic".
func TestAllCoreQueriesFailing(t *testing.T) {
	f := newFakeProm(t,
		instant("DCGM_FI_DEV", vector()),
		instant("kube_pod_container", vector()),
		failing("", http.StatusUnprocessableEntity, apiError("execution", "query processing would load too many samples into memory")),
	)
	err := fetchErr(t, newClient(t, f.URL, nil), 5*time.Second)
	wantParts(t, err, `failed (execution): query processing would load too many samples`)
}

func TestNoSecretsInErrors(t *testing.T) {
	f := newFakeProm(t, failing("", http.StatusUnauthorized, "Unauthorized"))
	token := writeFile(t, "token", "s3cr3t-t0ken\n")
	err := fetchErr(t, newClient(t, f.URL+"?apikey=hunter2", func(o *prom.Options) { o.BearerTokenFile = token }), 5*time.Second)
	for _, secret := range []string{"s3cr3t-t0ken", "hunter2"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows a secret", err)
		}
	}
	for _, o := range []prom.Options{
		{BaseURL: "http://admin:pa55word@prometheus:9090", Window: "bad"},
		{BaseURL: "ftp://admin:pa55word@prometheus:9090"},
	} {
		if _, err := prom.New(o); err == nil || strings.Contains(err.Error(), "pa55word") {
			t.Errorf("New(%+v): error %v, want one without the password", o.Window, err)
		}
	}
	u := "http://alice:pa55word@127.0.0.1:1"
	err = fetchErr(t, newClient(t, u, nil), 5*time.Second)
	if strings.Contains(err.Error(), "pa55word") {
		t.Errorf("error %q shows the URL's password", err)
	}
}
