package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake MLflow and Kubeflow Pipelines servers. Each writes its JSON by hand
// (maps, not the adapters' types), so a wrong field name in an adapter
// cannot agree with a wrong one here: apis.md §4 and §5 give the names.

// ---------------------------------------------------------------- MLflow

// mlflowRun is one run of the watched experiment.
type mlflowRun struct {
	id, name, status string
	start, end       time.Time // end zero: still running
	value            float64   // cv_f1_mean; NaN-free
	hasValue         bool
	kfpRunID         string
}

type mlflowVersion struct {
	model, version, stage, status string
	created                       time.Time
	aliases                       []string
	runID                         string
}

// mlflowFixture is what the fake MLflow holds.
type mlflowFixture struct {
	experimentID, experiment string
	runs                     []mlflowRun // newest first
	models                   map[string][][2]string
	versions                 []mlflowVersion
}

// newMLflowFixture is the recommendation-v3 experiment (cv_f1_mean rising
// to 0.842, then the latest finished run at 0.812, a drop of 0.030, and a
// run still training without the metric) and a registry where
// fraud-detector v5 is the champion, v6 has waited 30 h and v7 2 h, and
// recommender's v13 is still registering.
func newMLflowFixture(now time.Time) mlflowFixture {
	day := 24 * time.Hour
	run := func(i int, value float64) mlflowRun {
		start := now.Add(-time.Duration(7-i) * day)
		return mlflowRun{
			id: fmt.Sprintf("a1b2c3d4e5f6%020d", i), name: fmt.Sprintf("nightly-%d", i), status: "FINISHED",
			start: start, end: start.Add(47 * time.Minute), value: value, hasValue: true,
			kfpRunID: fmt.Sprintf("kfp-run-%03d", 200+i),
		}
	}
	runs := []mlflowRun{
		{id: "f00dfeed000000000000000000000007", name: "nightly-7", status: "RUNNING", start: now.Add(-20 * time.Minute), kfpRunID: "kfp-run-207"},
		run(6, 0.812),
		run(5, 0.842),
		run(4, 0.845),
		run(3, 0.838),
		run(2, 0.823),
		run(1, 0.801),
	}
	return mlflowFixture{
		experimentID: "17", experiment: "recommendation-v3", runs: runs,
		models: map[string][][2]string{
			"fraud-detector": {{"champion", "5"}},
			"recommender":    {{"champion", "12"}},
		},
		versions: []mlflowVersion{
			{model: "fraud-detector", version: "4", stage: "Archived", status: "READY", created: now.Add(-10 * day)},
			{model: "fraud-detector", version: "5", stage: "None", status: "READY", created: now.Add(-5 * day), aliases: []string{"champion"}},
			{model: "fraud-detector", version: "6", stage: "None", status: "READY", created: now.Add(-30 * time.Hour), runID: "run-fd-6"},
			{model: "fraud-detector", version: "7", stage: "None", status: "READY", created: now.Add(-2 * time.Hour), runID: "run-fd-7"},
			{model: "recommender", version: "12", stage: "Production", status: "READY", created: now.Add(-3 * day), aliases: []string{"champion"}},
			{model: "recommender", version: "13", stage: "None", status: "PENDING_REGISTRATION", created: now.Add(-10 * time.Minute)},
		},
	}
}

type fakeMLflow struct {
	server  *faultyServer
	fixture mlflowFixture
}

func startFakeMLflow(t testing.TB, fx mlflowFixture) *fakeMLflow {
	t.Helper()
	m := &fakeMLflow{fixture: fx}
	m.server = startFaulty(t, http.HandlerFunc(m.serve), func(w http.ResponseWriter, code int) {
		switch code {
		case http.StatusUnauthorized:
			// An authenticating proxy in front of MLflow answers in words.
			w.Header().Set("WWW-Authenticate", `Basic realm="mlflow"`)
			http.Error(w, "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html", code)
		case http.StatusForbidden:
			mlflowError(w, code, "PERMISSION_DENIED", "Permission denied")
		default:
			mlflowError(w, code, "INTERNAL_ERROR", "(psycopg2.OperationalError) connection to server at \"mlflow-db\" failed")
		}
	})
	return m
}

func (m *fakeMLflow) URL() string { return m.server.URL() }

func mlflowError(w http.ResponseWriter, code int, errorCode, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": errorCode, "message": message})
}

func (m *fakeMLflow) serve(w http.ResponseWriter, r *http.Request) {
	endpoint, ok := strings.CutPrefix(r.URL.Path, "/api/2.0/mlflow/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	fx := m.fixture
	q := r.URL.Query()
	switch {
	case endpoint == "experiments/get-by-name" && r.Method == http.MethodGet:
		if q.Get("experiment_name") != fx.experiment {
			mlflowError(w, http.StatusNotFound, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Could not find experiment with name '%s'", q.Get("experiment_name")))
			return
		}
		writeJSON(w, map[string]any{"experiment": map[string]any{
			"experiment_id": fx.experimentID, "name": fx.experiment, "artifact_location": "s3://mlflow/17",
			"lifecycle_stage": "active", "creation_time": 1750000000000, "last_update_time": 1750000000000,
		}})
	case endpoint == "runs/search" && r.Method == http.MethodPost:
		m.searchRuns(w, r)
	case endpoint == "registered-models/search" && r.Method == http.MethodGet:
		names := make([]string, 0, len(fx.models))
		for n := range fx.models {
			names = append(names, n)
		}
		sort.Strings(names)
		var models []map[string]any
		for _, n := range names {
			var aliases []map[string]any
			for _, a := range fx.models[n] {
				aliases = append(aliases, map[string]any{"alias": a[0], "version": a[1]})
			}
			models = append(models, map[string]any{"name": n, "creation_timestamp": 1740000000000, "last_updated_timestamp": 1750000000000, "aliases": aliases})
		}
		writeJSON(w, map[string]any{"registered_models": models})
	case endpoint == "model-versions/search" && r.Method == http.MethodGet:
		name, ok := strings.CutPrefix(q.Get("filter"), "name = '")
		name, ok2 := strings.CutSuffix(name, "'")
		if !ok || !ok2 || q.Get("max_results") == "" {
			mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid filter "+q.Get("filter"))
			return
		}
		var versions []map[string]any
		for _, v := range fx.versions {
			if v.model != name {
				continue
			}
			mv := map[string]any{
				"name": v.model, "version": v.version, "creation_timestamp": v.created.UnixMilli(),
				"last_updated_timestamp": v.created.UnixMilli(), "current_stage": v.stage, "status": v.status,
				"source": fmt.Sprintf("s3://mlflow/17/%s/artifacts/model", v.runID),
			}
			if v.runID != "" {
				mv["run_id"] = v.runID
			}
			if len(v.aliases) > 0 {
				mv["aliases"] = v.aliases
			}
			versions = append(versions, mv)
		}
		writeJSON(w, map[string]any{"model_versions": versions})
	default:
		mlflowError(w, http.StatusNotFound, "ENDPOINT_NOT_FOUND", "No API route for "+r.Method+" "+r.URL.Path)
	}
}

// searchRuns answers runs/search newest first, paging by offset tokens.
func (m *fakeMLflow) searchRuns(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ExperimentIDs []string `json:"experiment_ids"`
		MaxResults    int      `json:"max_results"`
		OrderBy       []string `json:"order_by"`
		PageToken     string   `json:"page_token"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		mlflowError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error())
		return
	}
	fx := m.fixture
	if len(req.ExperimentIDs) != 1 || req.ExperimentIDs[0] != fx.experimentID {
		writeJSON(w, map[string]any{})
		return
	}
	if len(req.OrderBy) != 1 || req.OrderBy[0] != "attributes.start_time DESC" {
		mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", fmt.Sprintf("this fake orders by start_time DESC only, not %q", req.OrderBy))
		return
	}
	limit := req.MaxResults
	if limit <= 0 {
		limit = 1000
	}
	offset := 0
	if req.PageToken != "" {
		n, err := strconv.Atoi(req.PageToken)
		if err != nil {
			mlflowError(w, http.StatusBadRequest, "INVALID_PARAMETER_VALUE", "Invalid page token")
			return
		}
		offset = n
	}
	end := min(offset+limit, len(fx.runs))
	var runs []map[string]any
	for _, run := range fx.runs[offset:end] {
		info := map[string]any{
			"run_id": run.id, "run_uuid": run.id, "run_name": run.name, "experiment_id": fx.experimentID,
			"user_id": "pipeline-runner", "status": run.status, "start_time": run.start.UnixMilli(),
			"artifact_uri": "s3://mlflow/17/" + run.id + "/artifacts", "lifecycle_stage": "active",
		}
		if !run.end.IsZero() {
			info["end_time"] = run.end.UnixMilli()
		}
		data := map[string]any{
			"params": []map[string]any{{"key": "learning_rate", "value": "0.05"}},
			"tags": []map[string]any{
				{"key": "mlflow.runName", "value": run.name},
				{"key": "kfp_run_id", "value": run.kfpRunID},
			},
		}
		if run.hasValue {
			data["metrics"] = []map[string]any{
				{"key": "cv_f1_mean", "value": run.value, "timestamp": run.end.UnixMilli(), "step": 0},
				{"key": "cv_f1_std", "value": 0.011, "timestamp": run.end.UnixMilli(), "step": 0},
			}
		}
		runs = append(runs, map[string]any{"info": info, "data": data, "inputs": map[string]any{}})
	}
	resp := map[string]any{"runs": runs}
	if end < len(fx.runs) {
		resp["next_page_token"] = strconv.Itoa(end)
	}
	writeJSON(w, resp)
}

// ---------------------------------------------------------------- KFP

// kfpRun is one pipeline run.
type kfpRun struct {
	id, name, state string
	created         time.Time
	finished        time.Time // zero: unfinished, sent as 1970-01-01T00:00:00Z
	errMsg          string
	pipelineID      string // a stored pipeline, named by lookup
	specName        string // or a pipeline spec submitted with the run
}

// kfpFixture is the last day of runs, newest first: one still running, then
// 114 finished ones created 12 minutes apart, of which every 11th from the
// fifth on failed after 4 minutes (10 failures) while the others succeeded
// after 10 minutes; and three runs from 30 h ago that the server's created_at
// filter must leave out.
//
// By hand: 104 succeeded, 10 failed, success rate 104/114 = 0.912280...,
// average duration (104 x 600 s + 10 x 240 s) / 114 = 64800 / 114 s.
func newKFPFixture(now time.Time) []kfpRun {
	runs := []kfpRun{{
		id: "run-000", name: "train-recommender-000", state: "RUNNING",
		created: now.Add(-2 * time.Minute), pipelineID: "pl-train",
	}}
	for i := 1; i <= 114; i++ {
		r := kfpRun{
			id: fmt.Sprintf("run-%03d", i), created: now.Add(-2*time.Minute - time.Duration(i)*12*time.Minute),
		}
		if i%2 == 0 {
			r.name, r.pipelineID = fmt.Sprintf("train-recommender-%03d", i), "pl-train"
		} else {
			r.name, r.specName = fmt.Sprintf("score-fraud-%03d", i), "score-fraud"
		}
		if i >= 5 && (i-5)%11 == 0 {
			r.state, r.finished = "FAILED", r.created.Add(4*time.Minute)
			r.errMsg = fmt.Sprintf("task 'train' failed: pod %s-train OOMKilled", r.name)
		} else {
			r.state, r.finished = "SUCCEEDED", r.created.Add(10*time.Minute)
		}
		runs = append(runs, r)
	}
	for i := 0; i < 3; i++ {
		created := now.Add(-30*time.Hour - time.Duration(i)*time.Hour)
		runs = append(runs, kfpRun{
			id: fmt.Sprintf("run-old-%d", i), name: fmt.Sprintf("train-recommender-old-%d", i), state: "FAILED",
			created: created, finished: created.Add(time.Minute), errMsg: "too old to count", pipelineID: "pl-train",
		})
	}
	return runs
}

type fakeKFP struct {
	server *faultyServer
	runs   []kfpRun

	mu    sync.Mutex
	pages int // ListRuns pages served
}

func startFakeKFP(t testing.TB, runs []kfpRun) *fakeKFP {
	t.Helper()
	k := &fakeKFP{runs: runs}
	k.server = startFaulty(t, http.HandlerFunc(k.serve), func(w http.ResponseWriter, code int) {
		switch code {
		case http.StatusUnauthorized:
			kfpError(w, code, 16, "Failed to authorize with API: Unauthenticated: Request header error: there is no user identity header")
		case http.StatusForbidden:
			kfpError(w, code, 7, `Failed to list runs: PermissionDenied: User 'oncall@example.com' is not authorized with reason:  (request: &ResourceAttributes{Namespace:kubeflow-user,Verb:list,Group:pipelines.kubeflow.org,Version:v1beta1,Resource:runs,})`)
		default:
			kfpError(w, code, 13, "Failed to list runs: InternalServerError: Failed to start transaction to list runs: dial tcp 10.96.0.12:3306: connect: connection refused")
		}
	})
	return k
}

func (k *fakeKFP) URL() string { return k.server.URL() }

func (k *fakeKFP) pagesServed() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pages
}

// kfpError is the grpc-gateway error body the KFP API server sends.
func kfpError(w http.ResponseWriter, httpCode, grpcCode int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpCode)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": message, "code": grpcCode, "message": message, "details": []any{}})
}

func (k *fakeKFP) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/apis/v2beta1/runs" && r.Method == http.MethodGet:
		k.listRuns(w, r)
	case strings.HasPrefix(r.URL.Path, "/apis/v2beta1/pipelines/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(r.URL.Path, "/apis/v2beta1/pipelines/")
		if id != "pl-train" {
			kfpError(w, http.StatusNotFound, 5, "Failed to get pipeline: ResourceNotFound: Pipeline "+id+" not found")
			return
		}
		writeJSON(w, map[string]any{"pipeline_id": id, "display_name": "train-recommender", "created_at": "2026-01-05T09:00:00Z", "namespace": ""})
	default:
		kfpError(w, http.StatusNotFound, 5, "Not Found")
	}
}

// listRuns applies the created_at filter, sorts by created_at desc and
// pages with tokens bound to the filter and sort, as the server does.
func (k *fakeKFP) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("sort_by") != "created_at desc" {
		kfpError(w, http.StatusBadRequest, 3, "this fake sorts by created_at desc only, not "+q.Get("sort_by"))
		return
	}
	var filter struct {
		Predicates []struct {
			Key            string `json:"key"`
			Operation      string `json:"operation"`
			TimestampValue string `json:"timestamp_value"`
		} `json:"predicates"`
	}
	var since time.Time
	if raw := q.Get("filter"); raw != "" {
		if err := json.Unmarshal([]byte(raw), &filter); err != nil {
			kfpError(w, http.StatusBadRequest, 3, "Invalid input error: failed to parse valid filter from \""+raw+"\": "+err.Error())
			return
		}
		for _, p := range filter.Predicates {
			t, err := time.Parse(time.RFC3339, p.TimestampValue)
			if p.Key != "created_at" || p.Operation != "GREATER_THAN" || err != nil {
				kfpError(w, http.StatusBadRequest, 3, fmt.Sprintf("this fake filters on created_at GREATER_THAN only, not %+v", p))
				return
			}
			since = t
		}
	}
	size := 20
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			kfpError(w, http.StatusBadRequest, 3, "Invalid input error: page_size "+s)
			return
		}
		size = min(n, 200)
	}
	var matching []kfpRun
	for _, run := range k.runs {
		if run.created.After(since) {
			matching = append(matching, run)
		}
	}
	sort.SliceStable(matching, func(i, j int) bool { return matching[i].created.After(matching[j].created) })

	// The token carries the offset and the query it belongs to; a token
	// sent with another filter or sort is refused, as the server does.
	binding := q.Get("filter") + "|" + q.Get("sort_by")
	offset := 0
	if tok := q.Get("page_token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		off, bound, found := strings.Cut(string(raw), "|")
		n, convErr := strconv.Atoi(off)
		if err != nil || !found || convErr != nil || bound != binding {
			kfpError(w, http.StatusBadRequest, 3, "Invalid input error: invalid page token")
			return
		}
		offset = n
	}
	end := min(offset+size, len(matching))
	runs := make([]map[string]any, 0, end-offset)
	for _, run := range matching[offset:end] {
		runs = append(runs, kfpRunJSON(run))
	}
	resp := map[string]any{"runs": runs, "total_size": len(matching)}
	if end < len(matching) {
		resp["next_page_token"] = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end) + "|" + binding))
	}
	k.mu.Lock()
	k.pages++
	k.mu.Unlock()
	writeJSON(w, resp)
}

func kfpRunJSON(run kfpRun) map[string]any {
	finished := "1970-01-01T00:00:00Z"
	if !run.finished.IsZero() {
		finished = run.finished.UTC().Format(time.RFC3339)
	}
	out := map[string]any{
		"experiment_id": "exp-nightly", "run_id": run.id, "display_name": run.name, "storage_state": "AVAILABLE",
		"service_account": "pipeline-runner", "created_at": run.created.UTC().Format(time.RFC3339),
		"scheduled_at": run.created.UTC().Format(time.RFC3339), "finished_at": finished, "state": run.state,
		"runtime_config": map[string]any{"parameters": map[string]any{"epochs": 20}, "pipeline_root": "s3://kfp/root"},
		"state_history": []map[string]any{
			{"update_time": run.created.UTC().Format(time.RFC3339), "state": "PENDING"},
			{"update_time": run.created.Add(time.Second).UTC().Format(time.RFC3339), "state": "RUNNING"},
		},
	}
	if run.pipelineID != "" {
		out["pipeline_version_reference"] = map[string]any{"pipeline_id": run.pipelineID, "pipeline_version_id": run.pipelineID + "-v3"}
	} else {
		out["pipeline_spec"] = map[string]any{"pipelineInfo": map[string]any{"name": run.specName}, "schemaVersion": "2.1.0", "sdkVersion": "kfp-2.9.0"}
	}
	if run.errMsg != "" {
		out["error"] = map[string]any{"code": 9, "message": run.errMsg, "details": []any{}}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
