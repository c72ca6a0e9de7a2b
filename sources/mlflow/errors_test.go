package mlflow_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/mlflow"
)

// fetchErr runs one Fetch that must fail, and checks that a failure never
// comes with a half value.
func fetchErr(t *testing.T, c *mlflow.Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	part, err := c.Fetch(ctx)
	if err == nil {
		t.Fatalf("Fetch succeeded, want an error; got %+v", part.Tracking)
	}
	if part.Tracking != nil {
		t.Errorf("a failed Fetch returned a value: %+v", part.Tracking)
	}
	return err
}

func healthyFake(t *testing.T) *fakeMLflow {
	f := registryFake(t)
	f.runs = []fakeRun{{ID: "a1", Name: "a1", Status: "FINISHED", Experiment: "1", Start: ms(at(9, 0)), End: ms(at(9, 20))}}
	return f
}

func TestErrorsAreOneClearLine(t *testing.T) {
	nginx502 := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n")
	}
	tests := []struct {
		name     string
		endpoint string
		handler  http.HandlerFunc
		opts     func(*mlflow.Options)
		want     string // the message after "mlflow BASE: " unless it starts with "mlflow:"
		status   int
		code     string
	}{
		{
			name:     "experiment missing",
			endpoint: "experiments/get-by-name",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'recommendation-v3'")
			},
			want:   `mlflow: experiment "recommendation-v3" not found on BASE`,
			status: 404, code: "RESOURCE_DOES_NOT_EXIST",
		},
		{
			name:     "unauthorized without credentials",
			endpoint: "experiments/get-by-name",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.")
			},
			want:   "401 unauthorized: set MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN",
			status: 401,
		},
		{
			name:     "unauthorized with a token",
			endpoint: "experiments/get-by-name",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
			opts:     func(o *mlflow.Options) { o.Token = "tok-SECRET" },
			want:     "401 unauthorized: the server rejected MLFLOW_TRACKING_TOKEN",
			status:   401,
		},
		{
			name:     "unauthorized with half a basic pair",
			endpoint: "experiments/get-by-name",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) },
			opts:     func(o *mlflow.Options) { o.Username = "alice" },
			want:     "401 unauthorized: set both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (only one is set)",
			status:   401,
		},
		{
			name:     "permission denied on the runs",
			endpoint: "runs/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, 403, "PERMISSION_DENIED", "Permission denied")
			},
			opts:   func(o *mlflow.Options) { o.Username, o.Password = "alice", "pw-SECRET" },
			want:   `permission denied: the MLflow user needs READ on experiment "recommendation-v3"`,
			status: 403, code: "PERMISSION_DENIED",
		},
		{
			name:     "permission denied on a model, no credentials",
			endpoint: "model-versions/search",
			handler:  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) },
			opts:     func(o *mlflow.Options) { o.Models = []string{"churn-model"} },
			want:     `permission denied on registered model "churn-model": set MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN`,
			status:   403,
		},
		{
			name:     "server error with MLflow's message",
			endpoint: "runs/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, 500, "INTERNAL_ERROR", "(sqlite3.OperationalError) database is locked\n[SQL: SELECT runs.run_uuid FROM runs]")
			},
			want:   "500 Internal Server Error from runs/search: INTERNAL_ERROR: (sqlite3.OperationalError) database is locked [SQL: SELECT runs.run_uuid FROM runs]",
			status: 500, code: "INTERNAL_ERROR",
		},
		{
			name:     "server error, long message shortened",
			endpoint: "registered-models/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, 503, "TEMPORARILY_UNAVAILABLE", strings.Repeat("x", 500))
			},
			want:   "503 Service Unavailable from registered-models/search: TEMPORARILY_UNAVAILABLE: " + strings.Repeat("x", 119) + "…",
			status: 503, code: "TEMPORARILY_UNAVAILABLE",
		},
		{
			name:     "a proxy's HTML error page",
			endpoint: "runs/search",
			handler:  nginx502,
			want:     "502 Bad Gateway from runs/search (an HTML page: from a proxy in front of MLflow?)",
			status:   502,
		},
		{
			name:     "an HTML error page without a title",
			endpoint: "model-versions/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusGatewayTimeout)
				// 24 + 5 x 10 + 5 = 79 runes of text, then the ellipsis.
				_, _ = io.WriteString(w, "<html><body><h1>upstream request timeout</h1><p>"+strings.Repeat("more text ", 40)+"</p></body></html>")
			},
			want:   "504 Gateway Timeout from model-versions/search: upstream request timeout more text more text more text more text more text more… (an HTML page: from a proxy in front of MLflow?)",
			status: 504,
		},
		{
			name:     "a path MLflow does not serve",
			endpoint: "experiments/get-by-name",
			handler:  func(w http.ResponseWriter, r *http.Request) { flaskNotFound(w) },
			want:     "404 Not Found from experiments/get-by-name: is the URL the MLflow server's root?",
			status:   404,
		},
		{
			name:     "truncated JSON",
			endpoint: "runs/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"runs": [{"info": `) // 19 bytes
			},
			want:   "malformed JSON from runs/search: unexpected end of JSON input at byte 19",
			status: 200,
		},
		{
			name:     "JSON of the wrong shape",
			endpoint: "registered-models/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, `{"registered_models": {"name": "x"}}`)
			},
			want:   "malformed JSON from registered-models/search: registered_models holds an unexpected JSON object at byte 23",
			status: 200,
		},
		{
			name:     "a login page instead of JSON",
			endpoint: "experiments/get-by-name",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, "<!DOCTYPE html><html><head><title>Sign in</title></head><body>...</body></html>")
			},
			want:   "experiments/get-by-name answered with an HTML page, not JSON: is the URL MLflow's, or a login proxy in front of it?",
			status: 200,
		},
		{
			name:     "a server that never stops paging",
			endpoint: "model-versions/search",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, map[string]any{"model_versions": []any{}, "next_page_token": "same"})
			},
			want:   "model-versions/search keeps answering the same page: paging stopped",
			status: 200,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthyFake(t)
			f.override[tc.endpoint] = tc.handler
			c := newClient(t, f, tc.opts)

			err := fetchErr(t, c)

			want := tc.want
			if !strings.HasPrefix(want, "mlflow:") {
				want = "mlflow BASE: " + want
			}
			want = strings.ReplaceAll(want, "BASE", f.URL())
			if err.Error() != want {
				t.Errorf("error\n got %q\nwant %q", err, want)
			}
			var e *mlflow.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *mlflow.Error", err)
			}
			if e.Status != tc.status || e.Code != tc.code || e.Endpoint != tc.endpoint || e.Server != f.URL() {
				t.Errorf("fields: status %d code %q endpoint %q server %q; want %d %q %q %q",
					e.Status, e.Code, e.Endpoint, e.Server, tc.status, tc.code, tc.endpoint, f.URL())
			}
			for _, secret := range []string{"tok-SECRET", "pw-SECRET"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows a credential: %q", err)
				}
			}
		})
	}
}

func TestDeletedExperimentCountsAsNotFound(t *testing.T) {
	f := healthyFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3", Deleted: true}}
	c := newClient(t, f, nil)

	err := fetchErr(t, c)

	want := `mlflow: experiment "recommendation-v3" not found on ` + f.URL() +
		": it is deleted (restore it, or set mlflow.experiment to an active one)"
	if err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
	var e *mlflow.Error
	if !errors.As(err, &e) || !e.NotFound() {
		t.Errorf("a deleted experiment must be NotFound: %#v", err)
	}
	if len(f.calls("runs/search")) != 0 {
		t.Errorf("the runs of a deleted experiment were searched")
	}
}

func TestConfiguredModelMissing(t *testing.T) {
	f := healthyFake(t)
	c := newClient(t, f, func(o *mlflow.Options) { o.Models = []string{"fraud-detector", "fraud-detecter"} })

	err := fetchErr(t, c)

	if want := `mlflow: registered model "fraud-detecter" not found on ` + f.URL(); err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
}

func TestRegistryFailureFailsTheFetchEvenWhenRunsSucceed(t *testing.T) {
	f := healthyFake(t)
	f.override["model-versions/search"] = func(w http.ResponseWriter, r *http.Request) {
		writeError(w, 500, "INTERNAL_ERROR", "registry store unavailable")
	}
	c := newClient(t, f, nil)

	err := fetchErr(t, c)

	if !strings.Contains(err.Error(), "500 Internal Server Error from model-versions/search: INTERNAL_ERROR: registry store unavailable") {
		t.Errorf("error %q", err)
	}
	// The training half alone works: the failure is the registry's.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if tr, err := c.Training(ctx); err != nil || len(tr.Runs) != 1 {
		t.Errorf("Training alone: %+v, %v", tr, err)
	}
}

func TestConnectionRefused(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	base := closed.URL
	closed.Close() // nothing listens on the port any more
	c, err := mlflow.New(mlflow.Options{BaseURL: base, Experiment: "recommendation-v3"})
	if err != nil {
		t.Fatal(err)
	}

	err = fetchErr(t, c)

	if want := "mlflow " + base + ": connection refused: is the server running and the URL right?"; err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // answers nothing until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	c, err := mlflow.New(mlflow.Options{BaseURL: hung.URL, Experiment: "recommendation-v3"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err = c.Fetch(ctx)

	if err == nil {
		t.Fatal("a server that never answers must fail the fetch")
	}
	// Both halves wait on the hung server; either may report first.
	if !strings.HasPrefix(err.Error(), "mlflow "+hung.URL+": no answer to ") || !strings.HasSuffix(err.Error(), " in time: is the server or the network slow?") {
		t.Errorf("error %q", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the timeout must stay visible to errors.Is: %#v", err)
	}
}

func TestCancelledFetchSaysSo(t *testing.T) {
	f := healthyFake(t)
	c := newClient(t, f, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := c.Fetch(ctx)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled fetch must wrap context.Canceled (the poller tells stopping from failing by it): %v", err)
	}
}

// failingTransport fails every request with err, for network failures a
// test cannot cause for real (DNS without a resolver).
type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

func TestHostNotFound(t *testing.T) {
	c, err := mlflow.New(mlflow.Options{
		BaseURL:    "http://mlflow.ml.svc:5000",
		Experiment: "recommendation-v3",
		HTTPClient: &http.Client{Transport: failingTransport{&net.DNSError{Err: "no such host", Name: "mlflow.ml.svc", IsNotFound: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}

	err = fetchErr(t, c)

	if want := `mlflow http://mlflow.ml.svc:5000: host "mlflow.ml.svc" not found: is the URL right?`; err.Error() != want {
		t.Errorf("error\n got %q\nwant %q", err, want)
	}
}

func TestErrorsNeverShowURLCredentials(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	withSecrets := strings.Replace(closed.URL, "http://", "http://bob:pw-SECRET@", 1) + "/mlflow?token=tok-SECRET"
	c, err := mlflow.New(mlflow.Options{BaseURL: withSecrets, Experiment: "recommendation-v3"})
	if err != nil {
		t.Fatal(err)
	}

	err = fetchErr(t, c)

	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "bob") {
		t.Errorf("the error shows the URL's credentials: %q", err)
	}
	if want := "mlflow " + closed.URL + "/mlflow: connection refused"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to start with %q", err, want)
	}
}
