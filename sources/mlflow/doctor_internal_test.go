package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

func TestSignatureOf(t *testing.T) {
	for name, tc := range map[string]struct {
		mlmodel string
		want    sources.Signature
	}{
		"with signature":  {"flavors:\n  sklearn: {}\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\"}]'\n  outputs: null\n", sources.SignaturePresent},
		"tensor spec":     {"flavors:\n  pytorch: {}\nsignature:\n  inputs: '[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1, 3]}}]'\n", sources.SignaturePresent},
		"no signature":    {"artifact_path: model\nflavors:\n  sklearn: {}\nmlflow_version: 2.9.2\n", sources.SignatureMissing},
		"empty inputs":    {"flavors:\n  sklearn: {}\nsignature:\n  outputs: '[]'\n", sources.SignatureMissing},
		"inputs not json": {"flavors:\n  sklearn: {}\nsignature:\n  inputs: '[{oops'\n", sources.SignatureUnknown},
		"a login page":    {"<!doctype html><title>Sign in</title>", sources.SignatureUnknown},
		"other yaml":      {"apiVersion: v1\nkind: ConfigMap\n", sources.SignatureUnknown},
	} {
		if got := signatureOf([]byte(tc.mlmodel)); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestMLmodelURL(t *testing.T) {
	c, err := New(Options{BaseURL: "https://mlflow.example/prefix?tenant=a", Experiment: "e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		source, run, want string
	}{
		{"s3://b/3/r1/artifacts/model", "r1", "https://mlflow.example/prefix/get-artifact?path=model%2FMLmodel&run_uuid=r1&tenant=a"},
		{"gs://b/3/r1/artifacts/deep/model/", "r1", "https://mlflow.example/prefix/get-artifact?path=deep%2Fmodel%2FMLmodel&run_uuid=r1&tenant=a"},
		{"runs:/r1/model", "r1", "https://mlflow.example/prefix/get-artifact?path=model%2FMLmodel&run_uuid=r1&tenant=a"},
		{"mlflow-artifacts:/3/r1/artifacts/model", "r1", "https://mlflow.example/prefix/api/2.0/mlflow-artifacts/artifacts/3/r1/artifacts/model/MLmodel?tenant=a"},
		{"mlflow-artifacts://mlflow:5000/3/r1/artifacts/model", "", "https://mlflow.example/prefix/api/2.0/mlflow-artifacts/artifacts/3/r1/artifacts/model/MLmodel?tenant=a"},
		// No way to tell the artifact path from a layout mltop does not know.
		{"s3://b/models/fraud/7", "r1", ""},
		{"s3://b/3/r1/artifacts/model", "", ""},
		{"mlflow-artifacts:", "", ""},
	} {
		got, ok := c.mlmodelURL(sources.ModelVersion{Source: tc.source, RunID: tc.run})
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s (run %q): %q %v, want %q", tc.source, tc.run, got, ok, tc.want)
		}
	}
}

func TestKeptVersionsAreBounded(t *testing.T) {
	var vs []numberedVersion
	for n := int64(1); n <= versionsPerModel+10; n++ {
		vs = append(vs, numberedVersion{modelVersion: modelVersion{Name: "m", Version: strconv.FormatInt(n, 10)}, number: n})
	}
	got := keptVersions(vs, 2) // v3 is promoted, far below the newest
	if len(got) != versionsPerModel+1 || got[0].Version != strconv.Itoa(versionsPerModel+10) || got[len(got)-1].Version != "3" {
		t.Errorf("kept %d versions, first %s last %s", len(got), got[0].Version, got[len(got)-1].Version)
	}
}

// TestDoctorCacheExpires: the server's version is asked again after its
// lifetime, and an MLmodel that could not be read is tried again after a
// while, not on every refresh.
func TestDoctorCacheExpires(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/version":
			fmt.Fprint(w, "2.16.2")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Experiment: "e"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	c.doctor.now = func() time.Time { return now }
	v := sources.ModelVersion{Model: "m", Version: "1", Source: "s3://b/1/r1/artifacts/model", RunID: "r1"}
	tr := &sources.Tracking{Registry: sources.Registry{Versions: []sources.ModelVersion{v}, Promoted: []sources.ModelVersion{v}}}
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}
	ctx := context.Background()

	c.addDoctorDetails(ctx, tr)
	if tr.ServerVersion != "2.16.2" || count("/version") != 1 || count("/get-artifact") != 1 {
		t.Fatalf("first: version %q, hits %v", tr.ServerVersion, hits)
	}
	now = now.Add(time.Minute)
	c.addDoctorDetails(ctx, tr)
	if count("/version") != 1 || count("/get-artifact") != 1 {
		t.Errorf("within the lifetimes: hits %v", hits)
	}
	now = now.Add(serverVersionTTL)
	c.addDoctorDetails(ctx, tr)
	if count("/version") != 2 || count("/get-artifact") != 2 {
		t.Errorf("after the lifetimes: hits %v", hits)
	}
	if tr.Registry.Versions[0].Signature != sources.SignatureUnknown {
		t.Errorf("signature %v from a 404", tr.Registry.Versions[0].Signature)
	}
}
