package kfp_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// unfinished is what KFP reports as finished_at for a run that has not
// finished: a zero unix time formatted by the API converter.
const unfinished = "1970-01-01T00:00:00Z"

// wireRun is a v2beta1 Run as the API server marshals it: proto field
// names, enums as strings, timestamps as RFC 3339 strings.
type wireRun struct {
	ExperimentID             string            `json:"experiment_id,omitempty"`
	RunID                    string            `json:"run_id"`
	DisplayName              string            `json:"display_name"`
	StorageState             string            `json:"storage_state,omitempty"`
	Description              string            `json:"description,omitempty"`
	PipelineVersionReference *wireVersionRef   `json:"pipeline_version_reference,omitempty"`
	PipelineSpec             map[string]any    `json:"pipeline_spec,omitempty"`
	RuntimeConfig            *wireRuntimeConf  `json:"runtime_config,omitempty"`
	ServiceAccount           string            `json:"service_account,omitempty"`
	CreatedAt                string            `json:"created_at,omitempty"`
	ScheduledAt              string            `json:"scheduled_at,omitempty"`
	FinishedAt               string            `json:"finished_at,omitempty"`
	State                    string            `json:"state,omitempty"`
	Error                    *wireStatus       `json:"error,omitempty"`
	RunDetails               *wireRunDetails   `json:"run_details,omitempty"`
	RecurringRunID           string            `json:"recurring_run_id,omitempty"`
	StateHistory             []wireStateChange `json:"state_history,omitempty"`
}

type wireVersionRef struct {
	PipelineID        string `json:"pipeline_id"`
	PipelineVersionID string `json:"pipeline_version_id"`
}

type wireRuntimeConf struct {
	Parameters   map[string]any `json:"parameters,omitempty"`
	PipelineRoot string         `json:"pipeline_root,omitempty"`
}

type wireStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details,omitempty"`
}

type wireRunDetails struct {
	TaskDetails []map[string]any `json:"task_details,omitempty"`
}

type wireStateChange struct {
	UpdateTime string      `json:"update_time"`
	State      string      `json:"state"`
	Error      *wireStatus `json:"error,omitempty"`
}

// recorded is one request the fake server received.
type recorded struct {
	Path  string
	Query url.Values
	Auth  string
}

// fakeKFP is an API server that behaves like KFP's for ListRuns, GetPipeline
// and healthz: it applies the filter, sorts, pages with tokens that are only
// valid with the same sort_by and filter, authenticates, and requires a
// namespace in multi-user mode. It answers errors with grpc-gateway bodies.
type fakeKFP struct {
	t *testing.T
	// Prefix is the path the API is mounted under (a service proxy or the
	// gateway's /pipeline); empty for the ml-pipeline service itself.
	Prefix string
	// Token, when set, is the only bearer token accepted.
	Token string
	// MultiUser makes the namespace required.
	MultiUser bool
	// Namespaces the caller may list in (multi-user mode); nil: any.
	Namespaces []string
	Runs       []wireRun
	// Pipelines maps pipeline_id to display_name for GetPipeline.
	Pipelines map[string]string
	Healthz   map[string]any

	mu       sync.Mutex
	requests []recorded
}

func (f *fakeKFP) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv
}

// Requests returns a copy of what the server received.
func (f *fakeKFP) Requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// RunListRequests returns the ListRuns requests.
func (f *fakeKFP) RunListRequests() []recorded {
	var out []recorded
	for _, r := range f.Requests() {
		if r.Path == "/apis/v2beta1/runs" {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeKFP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, f.Prefix)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Path: path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization")})
	f.mu.Unlock()
	if !ok || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if path == "/apis/v2beta1/healthz" {
		writeJSON(w, http.StatusOK, f.Healthz)
		return
	}
	if f.Token != "" && r.Header.Get("Authorization") != "Bearer "+f.Token {
		writeGatewayError(w, http.StatusUnauthorized, 16,
			"Failed to list runs: Failed to authorize with API: Unauthenticated: Request header error: there is no user identity header.: Request header error: there is no user identity header.")
		return
	}
	switch {
	case path == "/apis/v2beta1/runs":
		f.listRuns(w, r.URL.Query())
	case strings.HasPrefix(path, "/apis/v2beta1/pipelines/"):
		id := strings.TrimPrefix(path, "/apis/v2beta1/pipelines/")
		name, found := f.Pipelines[id]
		if !found {
			writeGatewayError(w, http.StatusNotFound, 5,
				"Failed to get a pipeline with id "+id+": ResourceNotFoundError: Pipeline "+id+" not found")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"pipeline_id": id, "display_name": name, "created_at": "2026-01-05T10:00:00Z"})
	default:
		// grpc-gateway's answer to an unknown path.
		writeGatewayError(w, http.StatusNotFound, 5, "Not Found")
	}
}

// pageToken is the fake's page token: like KFP's, it records the sort and
// filter it was issued for.
type pageToken struct {
	Offset int    `json:"offset"`
	SortBy string `json:"sort_by"`
	Filter string `json:"filter"`
}

type fakePredicate struct {
	Key            string `json:"key"`
	Operation      string `json:"operation"`
	TimestampValue string `json:"timestamp_value"`
	StringValue    string `json:"string_value"`
}

func (f *fakeKFP) listRuns(w http.ResponseWriter, q url.Values) {
	const invalid = http.StatusBadRequest
	ns := q.Get("namespace")
	if f.MultiUser && ns == "" && q.Get("experiment_id") == "" {
		writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to list runs due to authorization error. "+
			"Check if you have permission to access namespace : Invalid input error: A run cannot have an empty namespace in multi-user mode")
		return
	}
	if f.MultiUser && f.Namespaces != nil && !slices.Contains(f.Namespaces, ns) {
		writeGatewayError(w, http.StatusForbidden, 7, "Failed to list runs: Failed to list runs due to authorization error. "+
			"Check if you have permission to access namespace "+ns+": PermissionDenied: User 'system:serviceaccount:kubeflow:mltop' "+
			"is not authorized with reason:  (request: &ResourceAttributes{Namespace:"+ns+",Verb:list,Group:pipelines.kubeflow.org,Resource:runs})")
		return
	}
	sortBy, filterText := q.Get("sort_by"), q.Get("filter")
	offset := 0
	if raw := q.Get("page_token"); raw != "" {
		var tok pageToken
		decoded, err := base64.StdEncoding.DecodeString(raw)
		if err == nil {
			err = json.Unmarshal(decoded, &tok)
		}
		if err != nil {
			writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to create list options: Invalid input error: Invalid package token.")
			return
		}
		if tok.SortBy != sortBy || tok.Filter != filterText {
			writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to create list options: Invalid input error: "+
				"page token does not match the request's sort_by and filter: send the same sort_by and filter with page_token")
			return
		}
		offset = tok.Offset
	}
	pageSize := 20
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeGatewayError(w, invalid, 3, "invalid page_size")
			return
		}
		if n > 0 {
			pageSize = min(n, 200)
		}
	}
	desc := false
	switch sortBy {
	case "", "created_at", "created_at asc":
	case "created_at desc":
		desc = true
	default:
		writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to create list options: Invalid input error: Invalid sorting field: "+sortBy)
		return
	}
	var preds []fakePredicate
	if filterText != "" {
		var fl struct {
			Predicates []fakePredicate `json:"predicates"`
		}
		dec := json.NewDecoder(strings.NewReader(filterText))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&fl); err != nil {
			writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to create list options: Invalid input error: failed to parse valid filter from \""+filterText+"\": "+err.Error())
			return
		}
		preds = fl.Predicates
	}
	var matched []wireRun
	for _, run := range f.Runs {
		keep, msg := matches(run, preds)
		if msg != "" {
			writeGatewayError(w, invalid, 3, "Failed to list runs: Failed to create list options: Invalid input error: "+msg)
			return
		}
		if keep {
			matched = append(matched, run)
		}
	}
	slices.SortStableFunc(matched, func(a, b wireRun) int {
		c := strings.Compare(a.CreatedAt, b.CreatedAt) // RFC 3339 UTC sorts as text
		if desc {
			return -c
		}
		return c
	})
	resp := map[string]any{"total_size": len(matched)}
	end := min(offset+pageSize, len(matched))
	if offset < len(matched) {
		resp["runs"] = matched[offset:end]
	}
	if end < len(matched) {
		tok, _ := json.Marshal(pageToken{Offset: end, SortBy: sortBy, Filter: filterText})
		resp["next_page_token"] = base64.StdEncoding.EncodeToString(tok)
	}
	writeJSON(w, http.StatusOK, resp)
}

// matches applies the predicates the fake supports; an unsupported one is
// an invalid filter, as on the real server.
func matches(run wireRun, preds []fakePredicate) (bool, string) {
	for _, p := range preds {
		switch {
		case p.Key == "created_at" && p.Operation == "GREATER_THAN":
			since, err := time.Parse(time.RFC3339, p.TimestampValue)
			if err != nil {
				return false, "bad timestamp_value " + strconv.Quote(p.TimestampValue)
			}
			created, err := time.Parse(time.RFC3339, run.CreatedAt)
			if err != nil || !created.After(since) {
				return false, ""
			}
		case p.Key == "display_name" && p.Operation == "IS_SUBSTRING":
			if p.StringValue == "" {
				return false, "IS_SUBSTRING needs a string_value"
			}
			// MySQL's default collation compares case-insensitively.
			if !strings.Contains(strings.ToLower(run.DisplayName), strings.ToLower(p.StringValue)) {
				return false, ""
			}
		default:
			return false, "unsupported predicate " + p.Key + " " + p.Operation
		}
	}
	return true, ""
}

// writeGatewayError answers like grpc-gateway v1 in the KFP API server.
func writeGatewayError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{
		"error":   msg,
		"code":    code,
		"message": msg,
		"details": []any{map[string]any{
			"@type":         "type.googleapis.com/google.rpc.Status",
			"error_message": msg,
			"error_details": msg,
		}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
