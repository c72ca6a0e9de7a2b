package mlflow_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/mlflow"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestAuthFollowsMLflowsClient(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // Authorization header on every request
	}{
		{"nothing set: no header", nil, ""},
		// base64("alice:s3cret") = YWxpY2U6czNjcmV0
		{"username and password: basic", map[string]string{"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cret"}, "Basic YWxpY2U6czNjcmV0"},
		{"token: bearer", map[string]string{"MLFLOW_TRACKING_TOKEN": "tok-123"}, "Bearer tok-123"},
		{"basic wins over a token", map[string]string{
			"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": "s3cret", "MLFLOW_TRACKING_TOKEN": "tok-123"}, "Basic YWxpY2U6czNjcmV0"},
		{"a lone username falls back to the token", map[string]string{"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_TOKEN": "tok-123"}, "Bearer tok-123"},
		{"a lone password sends nothing", map[string]string{"MLFLOW_TRACKING_PASSWORD": "s3cret"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := registryFake(t)
			o, err := mlflow.OptionsFromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			o.BaseURL, o.Experiment = f.URL(), "recommendation-v3"
			c, err := mlflow.New(o)
			if err != nil {
				t.Fatal(err)
			}

			fetchTracking(t, c)
			if _, err := c.Version(context.Background()); err != nil {
				t.Fatal(err)
			}

			reqs := f.all()
			if len(reqs) < 5 {
				t.Fatalf("only %d requests", len(reqs))
			}
			for _, r := range reqs {
				if r.Auth != tc.want {
					t.Errorf("%s %s sent Authorization %q, want %q", r.Method, r.Path, r.Auth, tc.want)
				}
			}
		})
	}
}

func TestOptionsFromEnvTLS(t *testing.T) {
	for _, v := range []string{"true", "TRUE", "1", "True"} {
		o, err := mlflow.OptionsFromEnv(env(map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": v}))
		if err != nil || !o.InsecureTLS {
			t.Errorf("%q: insecure %v, err %v", v, o.InsecureTLS, err)
		}
	}
	for _, v := range []string{"false", "0", "FALSE", ""} {
		o, err := mlflow.OptionsFromEnv(env(map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": v}))
		if err != nil || o.InsecureTLS {
			t.Errorf("%q: insecure %v, err %v", v, o.InsecureTLS, err)
		}
	}
	if _, err := mlflow.OptionsFromEnv(env(map[string]string{"MLFLOW_TRACKING_INSECURE_TLS": "yes"})); err == nil ||
		err.Error() != `MLFLOW_TRACKING_INSECURE_TLS must be one of true, false, 1, 0 (any case), not "yes"` {
		t.Errorf("yes: %v", err)
	}
	o, err := mlflow.OptionsFromEnv(env(map[string]string{"MLFLOW_TRACKING_SERVER_CERT_PATH": "/etc/ssl/mlflow-ca.pem"}))
	if err != nil || o.CAFile != "/etc/ssl/mlflow-ca.pem" {
		t.Errorf("cert path: %+v %v", o, err)
	}
}

// caFile writes the test server's certificate as a PEM bundle.
func caFile(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSSettings(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintln(w, "2.17.2")
	}))
	t.Cleanup(srv.Close)
	version := func(o mlflow.Options) (string, error) {
		o.BaseURL, o.Experiment = srv.URL, "recommendation-v3"
		c, err := mlflow.New(o)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.Version(ctx)
	}

	if _, err := version(mlflow.Options{}); err == nil ||
		err.Error() != "mlflow "+srv.URL+": TLS certificate not trusted: set MLFLOW_TRACKING_SERVER_CERT_PATH to the server's CA bundle" {
		t.Errorf("untrusted certificate: %v", err)
	}
	if v, err := version(mlflow.Options{CAFile: caFile(t, srv)}); err != nil || v != "2.17.2" {
		t.Errorf("with the CA bundle: %q %v", v, err)
	}
	if v, err := version(mlflow.Options{InsecureTLS: true}); err != nil || v != "2.17.2" {
		t.Errorf("insecure: %q %v", v, err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := mlflow.Options{BaseURL: "http://mlflow:5000", Experiment: "e"}
	tests := []struct {
		name   string
		change func(*mlflow.Options)
		want   string
	}{
		{"no URL", func(o *mlflow.Options) { o.BaseURL = "" }, "mlflow: no URL set (mlflow.url)"},
		{"not http", func(o *mlflow.Options) { o.BaseURL = "databricks://profile" }, "mlflow: URL databricks://profile: the scheme must be http or https"},
		{"no host", func(o *mlflow.Options) { o.BaseURL = "http:///x" }, "mlflow: URL http:///x has no host"},
		{"API path included", func(o *mlflow.Options) { o.BaseURL = "http://u:pw-SECRET@mlflow:5000/api/2.0/mlflow/" },
			"mlflow: URL http://mlflow:5000/api/2.0/mlflow/: give the server's root, without the API path"},
		{"no experiment", func(o *mlflow.Options) { o.Experiment = " " }, "mlflow: no experiment set (mlflow.experiment)"},
		{"negative limit", func(o *mlflow.Options) { o.RunsLimit = -1 }, "mlflow: runs limit -1: must be at least 1 (mlflow.runs_limit)"},
		{"quote in a model name", func(o *mlflow.Options) { o.Models = []string{"bob's"} },
			`mlflow: registered model name "bob's" cannot be searched for (empty or with a single quote)`},
		{"control character in the token", func(o *mlflow.Options) { o.Token = "tok-SECRET\r\nX-Evil: 1" },
			"mlflow: MLFLOW_TRACKING_TOKEN contains a control character"},
		{"both TLS settings", func(o *mlflow.Options) { o.InsecureTLS, o.CAFile = true, "/ca.pem" },
			"mlflow: MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set: only one of them may be"},
		{"CA bundle missing", func(o *mlflow.Options) { o.CAFile = filepath.Join(dir, "missing.pem") },
			"mlflow: CA bundle (MLFLOW_TRACKING_SERVER_CERT_PATH): open " + filepath.Join(dir, "missing.pem") + ": no such file or directory"},
		{"CA bundle without a certificate", func(o *mlflow.Options) { o.CAFile = notPEM },
			"mlflow: CA bundle " + notPEM + " (MLFLOW_TRACKING_SERVER_CERT_PATH) holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.change(&o)
			c, err := mlflow.New(o)
			if err == nil || c != nil {
				t.Fatalf("New accepted %v", o)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %q\nwant %q", err, tc.want)
			}
		})
	}
	if _, err := mlflow.New(ok); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
}

func TestOptionsNeverPrintSecrets(t *testing.T) {
	o := mlflow.Options{BaseURL: "https://user:pw-SECRET@mlflow:5000/?token=q-SECRET", Experiment: "e",
		Username: "alice", Password: "pw-SECRET", Token: "tok-SECRET"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "mlflow", o)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "mlflow", o)
	for _, s := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), o.String(), logged.String()} {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret printed: %s", s)
		}
	}
	if s := o.String(); !strings.Contains(s, "Auth: basic") || !strings.Contains(s, "https://mlflow:5000/") {
		t.Errorf("String should still say which auth and which server: %s", s)
	}
}

func TestBaseURLPathAndQueryAreKept(t *testing.T) {
	f := registryFake(t)
	// A gateway that routes on a query parameter, given twice.
	c := newClient(t, f, func(o *mlflow.Options) { o.BaseURL = f.URL() + "/?tenant=ml&tenant=prod" })

	fetchTracking(t, c)

	for _, r := range f.all() {
		// The REST API, the server's version and the run artifact
		// endpoint (the doctor's MLmodel reads) all hang off the base.
		rest, _ := strings.CutPrefix(r.Path, proxyPrefix)
		if !strings.HasPrefix(rest, "/api/2.0/mlflow/") && rest != "/version" && rest != "/get-artifact" {
			t.Errorf("path %q is not under the base path", r.Path)
		}
		if got := r.Query["tenant"]; !reflect.DeepEqual(got, []string{"ml", "prod"}) {
			t.Errorf("%s: tenant=%v, want the base URL's [ml prod]", r.Path, got)
		}
	}
}

func TestVersion(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f, nil)

	v, err := c.Version(context.Background())

	if err != nil || v != "2.17.2" {
		t.Errorf("version %q, %v", v, err)
	}
	if calls := f.calls("version"); len(calls) != 1 || calls[0].Path != proxyPrefix+"/version" || calls[0].Method != http.MethodGet {
		t.Errorf("calls %+v", calls)
	}

	f.override["version"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprint(w, "<html><title>MLflow</title></html>")
	}
	if _, err := c.Version(context.Background()); err == nil ||
		err.Error() != "mlflow "+f.URL()+": /version did not answer a version: is the URL MLflow's?" {
		t.Errorf("an HTML page is not a version: %v", err)
	}
}
