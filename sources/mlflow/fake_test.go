package mlflow_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMLflow is an MLflow tracking server as far as mltop reads it. It
// writes the JSON itself (maps, not the adapter's types), so a wrong field
// name in the adapter cannot agree with a wrong one here: snake_case names,
// int64 milliseconds as numbers, versions as strings, empty fields left out,
// next_page_token only while more remains, MLflow's error bodies. It serves
// under a path prefix, as the Kubernetes service proxy does.
type fakeMLflow struct {
	srv    *httptest.Server
	prefix string

	mu          sync.Mutex
	requests    []recorded
	experiments []fakeExperiment
	runs        []fakeRun
	models      []fakeModel
	versions    []fakeVersion
	// pageCap caps every page below what the client asks for (0: no cap),
	// like a server or gateway with a smaller page limit.
	pageCap int
	// override answers one endpoint ("runs/search", "version", ...) instead
	// of the fake's own handler; a key starting with "/" is a path under
	// the base URL outside the REST API ("/get-artifact").
	override map[string]http.HandlerFunc
	// afterRunsPage runs after page n (from 1) of runs/search is served.
	afterRunsPage func(f *fakeMLflow, n int)
	runsPages     int
	serverVersion string
}

type recorded struct {
	Method string
	Path   string
	Query  url.Values
	Body   map[string]any
	Auth   string
}

type fakeExperiment struct {
	ID, Name string
	Deleted  bool
}

type fakeRun struct {
	ID, Name, Status, Experiment string
	Start, End                   int64 // ms; End 0 is left out
	Deleted                      bool
	Metrics                      []fakeMetric
	Tags                         [][2]string
}

type fakeMetric struct {
	Key   string
	Value any // a float64, or "NaN"/"Infinity" as protobuf JSON writes them
}

type fakeModel struct {
	Name    string
	Aliases [][2]string // alias, version
}

type fakeVersion struct {
	Model, Version, Stage, Status, RunID string
	Created                              int64
	Aliases                              []string
}

const proxyPrefix = "/api/v1/namespaces/ml/services/mlflow:5000/proxy"

func newFake(t testing.TB) *fakeMLflow {
	f := &fakeMLflow{prefix: proxyPrefix, override: map[string]http.HandlerFunc{}, serverVersion: "2.17.2"}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the base URL the client is given.
func (f *fakeMLflow) URL() string { return f.srv.URL + f.prefix }

func (f *fakeMLflow) calls(endpoint string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if strings.HasSuffix(r.Path, "/"+endpoint) {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeMLflow) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeMLflow) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization")}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &rec.Body); err != nil {
			writeError(w, 400, "MALFORMED_REQUEST", "Malformed request body: "+err.Error())
			return
		}
	}
	f.mu.Lock()
	f.requests = append(f.requests, rec)
	f.mu.Unlock()

	if r.URL.Path == f.prefix+"/version" {
		if h := f.override["version"]; h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, f.serverVersion)
		return
	}
	if h := f.override[strings.TrimPrefix(r.URL.Path, f.prefix)]; h != nil {
		h(w, r)
		return
	}
	endpoint, ok := strings.CutPrefix(r.URL.Path, f.prefix+"/api/2.0/mlflow/")
	if !ok {
		flaskNotFound(w)
		return
	}
	if h := f.override[endpoint]; h != nil {
		h(w, r)
		return
	}
	wantMethod := map[string]string{
		"experiments/get-by-name":  http.MethodGet,
		"runs/search":              http.MethodPost,
		"registered-models/search": http.MethodGet,
		"model-versions/search":    http.MethodGet,
		"runs/get":                 http.MethodGet,
	}[endpoint]
	switch {
	case wantMethod == "":
		flaskNotFound(w)
	case r.Method != wantMethod:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case endpoint == "experiments/get-by-name":
		f.getExperiment(w, r)
	case endpoint == "runs/search":
		f.searchRuns(w, rec.Body)
	case endpoint == "registered-models/search":
		f.searchModels(w, r)
	case endpoint == "model-versions/search":
		f.searchVersions(w, r)
	case endpoint == "runs/get":
		f.getRun(w, r)
	}
}

func (f *fakeMLflow) getRun(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("run_id")
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, run := range f.runs {
		if run.ID == id {
			writeJSON(w, map[string]any{"run": runsJSON([]fakeRun{run})[0]})
			return
		}
	}
	writeError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run '%s' not found", id))
}

// runIDFilter is the one filter the fake understands, as the doctor sends it.
var runIDFilter = regexp.MustCompile(`^attributes\.run_id IN \(('[^']*'(?:, '[^']*')*)\)$`)

func (f *fakeMLflow) getExperiment(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("experiment_name")
	f.mu.Lock()
	defer f.mu.Unlock()
	// An active experiment wins over a deleted one of the same name.
	var found *fakeExperiment
	for i, e := range f.experiments {
		if e.Name == name && (found == nil || found.Deleted) {
			found = &f.experiments[i]
		}
	}
	if found == nil {
		writeError(w, 404, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", name))
		return
	}
	stage := "active"
	if found.Deleted {
		stage = "deleted"
	}
	writeJSON(w, map[string]any{"experiment": map[string]any{
		"experiment_id":     found.ID,
		"name":              found.Name,
		"artifact_location": "s3://mlflow/" + found.ID,
		"lifecycle_stage":   stage,
		"last_update_time":  int64(1772000000000),
		"creation_time":     int64(1770000000000),
		"tags":              []any{map[string]any{"key": "mlflow.note.content", "value": "nightly retraining"}},
	}})
}

func (f *fakeMLflow) searchRuns(w http.ResponseWriter, body map[string]any) {
	ids, _ := body["experiment_ids"].([]any)
	if len(ids) == 0 {
		writeError(w, 400, "INVALID_PARAMETER_VALUE", "experiment_ids must be set")
		return
	}
	if v, ok := body["run_view_type"]; ok && v != "ACTIVE_ONLY" && v != "ALL" && v != "DELETED_ONLY" {
		writeError(w, 400, "INVALID_PARAMETER_VALUE", fmt.Sprintf("Invalid run_view_type %v", v))
		return
	}
	maxResults := 1000
	if v, ok := body["max_results"].(float64); ok {
		maxResults = int(v)
	}
	offset, ok := decodeToken(body["page_token"])
	if !ok {
		writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid page token")
		return
	}
	var onlyIDs map[string]bool
	if filter, _ := body["filter"].(string); filter != "" {
		m := runIDFilter.FindStringSubmatch(filter)
		if m == nil {
			writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid filter '"+filter+"'")
			return
		}
		onlyIDs = map[string]bool{}
		for _, q := range strings.Split(m[1], ", ") {
			onlyIDs[strings.Trim(q, "'")] = true
		}
	}
	f.mu.Lock()
	var match []fakeRun
	for _, r := range f.runs {
		inExp := false
		for _, id := range ids {
			inExp = inExp || id == r.Experiment
		}
		if onlyIDs != nil && !onlyIDs[r.ID] {
			continue
		}
		if inExp && (!r.Deleted || body["run_view_type"] != "ACTIVE_ONLY") {
			match = append(match, r)
		}
	}
	// MLflow's default and our order_by: start_time DESC, then run_id.
	sort.Slice(match, func(i, j int) bool {
		if match[i].Start != match[j].Start {
			return match[i].Start > match[j].Start
		}
		return match[i].ID < match[j].ID
	})
	page, next := f.page(len(match), offset, maxResults)
	out := map[string]any{}
	if runs := runsJSON(match[page[0]:page[1]]); len(runs) > 0 {
		out["runs"] = runs
	}
	if next != "" {
		out["next_page_token"] = next
	}
	f.runsPages++
	n, hook := f.runsPages, f.afterRunsPage
	f.mu.Unlock()
	writeJSON(w, out)
	if hook != nil {
		hook(f, n)
	}
}

var nameFilter = regexp.MustCompile(`^name = '([^']*)'$`)

func (f *fakeMLflow) searchModels(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	maxResults, offset, ok := pagingParams(w, q, 100)
	if !ok {
		return
	}
	filter := q.Get("filter")
	name := ""
	if filter != "" {
		m := nameFilter.FindStringSubmatch(filter)
		if m == nil {
			writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid filter '"+filter+"'")
			return
		}
		name = m[1]
	}
	f.mu.Lock()
	var match []fakeModel
	for _, m := range f.models {
		if name == "" || m.Name == name {
			match = append(match, m)
		}
	}
	sort.Slice(match, func(i, j int) bool { return match[i].Name < match[j].Name })
	page, next := f.page(len(match), offset, maxResults)
	var models []any
	for _, m := range match[page[0]:page[1]] {
		obj := map[string]any{
			"name":                   m.Name,
			"creation_timestamp":     int64(1770000000000),
			"last_updated_timestamp": int64(1772000000000),
		}
		var aliases []any
		for _, a := range m.Aliases {
			aliases = append(aliases, map[string]any{"alias": a[0], "version": a[1]})
		}
		if len(aliases) > 0 {
			obj["aliases"] = aliases
		}
		// latest_versions: the newest version per stage, as MLflow lists them.
		var latest []any
		byStage := map[string]fakeVersion{}
		for _, v := range f.versions {
			if v.Model == m.Name && atoi(v.Version) > atoi(byStage[v.Stage].Version) {
				byStage[v.Stage] = v
			}
		}
		for _, v := range byStage {
			latest = append(latest, versionJSON(v))
		}
		if len(latest) > 0 {
			obj["latest_versions"] = latest
		}
		models = append(models, obj)
	}
	f.mu.Unlock()
	out := map[string]any{}
	if len(models) > 0 {
		out["registered_models"] = models
	}
	if next != "" {
		out["next_page_token"] = next
	}
	writeJSON(w, out)
}

func (f *fakeMLflow) searchVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	maxResults, offset, ok := pagingParams(w, q, 10000)
	if !ok {
		return
	}
	m := nameFilter.FindStringSubmatch(q.Get("filter"))
	if m == nil {
		writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid filter '"+q.Get("filter")+"'")
		return
	}
	f.mu.Lock()
	var match []fakeVersion
	for _, v := range f.versions {
		if v.Model == m[1] {
			match = append(match, v)
		}
	}
	// MLflow's default order: last_updated_timestamp DESC; any order will do
	// for the client, which must not rely on it.
	sort.Slice(match, func(i, j int) bool { return match[i].Created > match[j].Created })
	page, next := f.page(len(match), offset, maxResults)
	var versions []any
	for _, v := range match[page[0]:page[1]] {
		versions = append(versions, versionJSON(v))
	}
	f.mu.Unlock()
	out := map[string]any{}
	if len(versions) > 0 {
		out["model_versions"] = versions
	}
	if next != "" {
		out["next_page_token"] = next
	}
	writeJSON(w, out)
}

// page is the [from, to) slice of n items for a request at offset asking
// for maxResults, and the token of the next page ("" on the last one).
// Called with f.mu held.
func (f *fakeMLflow) page(n, offset, maxResults int) ([2]int, string) {
	size := maxResults
	if f.pageCap > 0 && f.pageCap < size {
		size = f.pageCap
	}
	from := min(offset, n)
	to := min(from+size, n)
	if to >= n {
		return [2]int{from, to}, ""
	}
	return [2]int{from, to}, encodeToken(to)
}

// MLflow's SQL store page token: base64 of {"offset": n}.
func encodeToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"offset": %d}`, offset)))
}

func decodeToken(v any) (int, bool) {
	s, _ := v.(string)
	if s == "" {
		return 0, true
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	var tok struct {
		Offset *int `json:"offset"`
	}
	if json.Unmarshal(raw, &tok) != nil || tok.Offset == nil {
		return 0, false
	}
	return *tok.Offset, true
}

func pagingParams(w http.ResponseWriter, q url.Values, defaultMax int) (maxResults, offset int, ok bool) {
	maxResults = defaultMax
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid value for max_results")
			return 0, 0, false
		}
		maxResults = n
	}
	offset, ok = decodeToken(q.Get("page_token"))
	if !ok {
		writeError(w, 400, "INVALID_PARAMETER_VALUE", "Invalid page token")
	}
	return maxResults, offset, ok
}

func runsJSON(runs []fakeRun) []any {
	var out []any
	for _, r := range runs {
		info := map[string]any{
			"run_id":          r.ID,
			"run_uuid":        r.ID,
			"experiment_id":   r.Experiment,
			"user_id":         "pipeline-runner",
			"status":          r.Status,
			"start_time":      r.Start,
			"artifact_uri":    "s3://mlflow/" + r.Experiment + "/" + r.ID + "/artifacts",
			"lifecycle_stage": "active",
		}
		if r.Deleted {
			info["lifecycle_stage"] = "deleted"
		}
		if r.Name != "" {
			info["run_name"] = r.Name
		}
		if r.End != 0 {
			info["end_time"] = r.End
		}
		data := map[string]any{
			"params": []any{map[string]any{"key": "learning_rate", "value": "0.05"}},
		}
		var metrics []any
		for _, m := range r.Metrics {
			ts := r.End
			if ts == 0 {
				ts = r.Start
			}
			metrics = append(metrics, map[string]any{"key": m.Key, "value": m.Value, "timestamp": ts, "step": 0})
		}
		if len(metrics) > 0 {
			data["metrics"] = metrics
		}
		tags := []any{map[string]any{"key": "mlflow.user", "value": "pipeline-runner"}}
		for _, t := range r.Tags {
			tags = append(tags, map[string]any{"key": t[0], "value": t[1]})
		}
		data["tags"] = tags
		out = append(out, map[string]any{"info": info, "data": data, "inputs": map[string]any{}})
	}
	return out
}

func versionJSON(v fakeVersion) map[string]any {
	obj := map[string]any{
		"name":                   v.Model,
		"version":                v.Version,
		"creation_timestamp":     v.Created,
		"last_updated_timestamp": v.Created + 60000,
		"current_stage":          v.Stage,
		"source":                 "s3://mlflow/1/" + v.RunID + "/artifacts/model",
		"run_id":                 v.RunID,
		"status":                 v.Status,
	}
	if len(v.Aliases) > 0 {
		obj["aliases"] = v.Aliases
	}
	return obj
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as mlflow/server/handlers.py does for an MlflowException.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": message})
}

// flaskNotFound is the page Flask serves for a path it has no route for.
func flaskNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"+
		"<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n")
}

// ms is a UTC wall time as MLflow's int64 milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }
