package mlflow_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/mlflow"
)

// mlmodel is an MLmodel file as log_model writes it; the signature's
// inputs and outputs are JSON text inside the YAML.
func mlmodel(withSignature bool) string {
	s := `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.9
  sklearn:
    sklearn_version: 1.5.1
mlflow_version: 2.17.2
model_uuid: 3f1c
run_id: abc
utc_time_created: '2026-03-03 09:12:44.123456'
`
	if withSignature {
		s += `signature:
  inputs: '[{"type": "double", "name": "age", "required": true}, {"type": "long", "name": "visits", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1]}}]'
  params: null
`
	}
	return s
}

// doctorFake is a registry of one model whose versions come from runs of
// the watched experiment (1) and of another one (2); the tracking server
// serves run artifacts for some of them.
func doctorFake(t *testing.T) *fakeMLflow {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}, {ID: "2", Name: "backfill"}}
	metric := func(v float64) []fakeMetric { return []fakeMetric{{Key: "cv_f1_mean", Value: v}} }
	f.runs = []fakeRun{
		{ID: "reco-run-9", Experiment: "1", Status: "FINISHED", Start: ms(at(8, 0)), End: ms(at(8, 30)), Metrics: metric(0.857)},
		{ID: "reco-run-8", Experiment: "1", Status: "FINISHED", Start: ms(at(6, 0)), End: ms(at(6, 30)), Metrics: metric(0.887)},
		{ID: "reco-run-7", Experiment: "1", Status: "FINISHED", Start: ms(at(4, 0)), End: ms(at(4, 30)), Metrics: metric(0.881)},
		{ID: "reco-run-6", Experiment: "2", Status: "FINISHED", Start: ms(at(2, 0)), End: ms(at(2, 30)), Metrics: metric(0.879)},
	}
	f.models = []fakeModel{{Name: "reco", Aliases: [][2]string{{"champion", "7"}}}}
	f.versions = []fakeVersion{
		fv("reco", "5", "Archived", "READY", day(20, 0)),
		fv("reco", "6", "None", "READY", day(21, 0)),
		fv("reco", "7", "None", "READY", day(22, 0), "champion"),
		fv("reco", "8", "None", "READY", day(23, 0)),
		fv("reco", "9", "None", "READY", day(24, 0)),
	}
	// The run artifact endpoint: v7 and v9 have a signature, v8 has none,
	// v6's artifacts are not readable by the server.
	f.override["/get-artifact"] = func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("path") != "model/MLmodel" {
			http.Error(w, "no such file", http.StatusNotFound)
			return
		}
		switch q.Get("run_uuid") {
		case "reco-run-7", "reco-run-9":
			fmt.Fprint(w, mlmodel(true))
		case "reco-run-8":
			fmt.Fprint(w, mlmodel(false))
		default:
			writeError(w, 500, "INTERNAL_ERROR", "The following failures occurred while downloading one or more artifacts")
		}
	}
	return f
}

func versionOf(t *testing.T, r sources.Registry, version string) sources.ModelVersion {
	t.Helper()
	for _, v := range r.Versions {
		if v.Version == version {
			return v
		}
	}
	t.Fatalf("v%s is not in Registry.Versions %+v", version, r.Versions)
	return sources.ModelVersion{}
}

func TestDoctorDetails(t *testing.T) {
	f := doctorFake(t)
	// Only the newest run is fetched for the Training pane, so the other
	// versions' metrics need their own lookup.
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 1 })

	tr := fetchTracking(t, c)
	if tr.ServerVersion != "2.17.2" {
		t.Errorf("server version %q", tr.ServerVersion)
	}
	reg := tr.Registry
	var order []string
	for _, v := range reg.Versions {
		order = append(order, v.Version)
	}
	if strings.Join(order, ",") != "9,8,7,6,5" {
		t.Errorf("Versions %v, want every version newest first", order)
	}
	for version, want := range map[string]struct {
		metric float64
		has    bool
		sig    sources.Signature
	}{
		"9": {0.857, true, sources.SignaturePresent}, // newest, from the Training runs
		"8": {0.887, true, sources.SignatureMissing}, // newest but one, waiting
		"7": {0.881, true, sources.SignaturePresent}, // the champion
		"6": {0, false, sources.SignatureUnknown},    // not detailed: neither promoted, waiting nor among the two newest
		"5": {0, false, sources.SignatureUnknown},
	} {
		v := versionOf(t, reg, version)
		if v.HasMetric != want.has || v.Metric != want.metric || v.Signature != want.sig {
			t.Errorf("v%s: metric %v (%v) signature %v, want %v (%v) %v", version, v.Metric, v.HasMetric, v.Signature, want.metric, want.has, want.sig)
		}
	}
	if p := reg.Promoted[0]; p.Version != "7" || !p.HasMetric || p.Signature != sources.SignaturePresent {
		t.Errorf("promoted %+v: details missing", p)
	}
	for _, w := range reg.Waiting {
		if w.Version == "8" && (w.Signature != sources.SignatureMissing || !w.HasMetric) {
			t.Errorf("waiting %+v: details missing", w)
		}
	}

	// One batched search for the runs the Training pane did not have.
	var byID []recorded
	for _, r := range f.calls("runs/search") {
		if r.Body["filter"] != nil {
			byID = append(byID, r)
		}
	}
	if len(byID) != 1 || byID[0].Body["filter"] != "attributes.run_id IN ('reco-run-7', 'reco-run-8')" &&
		byID[0].Body["filter"] != "attributes.run_id IN ('reco-run-8', 'reco-run-7')" {
		t.Errorf("run searches by id: %+v", byID)
	}

	// A second fetch asks nothing the cache knows: the version, the finished
	// runs' metrics and the MLmodel files that were read.
	before := len(f.all())
	fetchTracking(t, c)
	var again []string
	for _, r := range f.all()[before:] {
		if !strings.HasSuffix(r.Path, "/experiments/get-by-name") && !strings.HasSuffix(r.Path, "/registered-models/search") &&
			!strings.HasSuffix(r.Path, "/model-versions/search") && !(strings.HasSuffix(r.Path, "/runs/search") && r.Body["filter"] == nil) {
			again = append(again, r.Path)
		}
	}
	if len(again) != 0 {
		t.Errorf("the second fetch repeated %v", again)
	}
}

func TestDoctorDetailsReadRunsOfOtherExperiments(t *testing.T) {
	f := doctorFake(t)
	// The champion is v6, whose run lives in another experiment.
	f.models = []fakeModel{{Name: "reco", Aliases: [][2]string{{"champion", "6"}}}}
	f.versions[1].Aliases, f.versions[2].Aliases = []string{"champion"}, nil
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 1 })
	reg := fetchTracking(t, c).Registry
	v6 := versionOf(t, reg, "6")
	if !v6.HasMetric || v6.Metric != 0.879 {
		t.Errorf("v6 metric %v (%v), want 0.879 from runs/get", v6.Metric, v6.HasMetric)
	}
	if v6.Signature != sources.SignatureUnknown {
		t.Errorf("v6's artifacts are not served, signature %v", v6.Signature)
	}
	if got := f.calls("runs/get"); len(got) != 1 || got[0].Query.Get("run_id") != "reco-run-6" {
		t.Errorf("runs/get calls %+v", got)
	}
}

func TestDoctorDetailsNeverFailTheFetch(t *testing.T) {
	f := doctorFake(t)
	for _, endpoint := range []string{"version", "/get-artifact"} {
		f.override[endpoint] = func(w http.ResponseWriter, _ *http.Request) { flaskNotFound(w) }
	}
	f.override["runs/get"] = func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, 403, "PERMISSION_DENIED", "no")
	}
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 1 })
	tr := fetchTracking(t, c) // fails the test on an error
	if tr.ServerVersion != "" {
		t.Errorf("version %q from a server without /version", tr.ServerVersion)
	}
	for _, v := range tr.Registry.Versions {
		if v.Signature != sources.SignatureUnknown {
			t.Errorf("v%s signature %v without an artifact endpoint", v.Version, v.Signature)
		}
	}
	if len(tr.Registry.Promoted) != 1 || len(tr.Registry.Waiting) != 2 || len(tr.Training.Runs) != 1 {
		t.Errorf("the panes' data suffered: %+v", tr)
	}
}
