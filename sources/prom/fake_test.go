package prom_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeProm is an httptest server speaking Prometheus's HTTP API with canned
// answers, for the failure modes and edge cases a real server will not
// produce on demand.
type fakeProm struct {
	*httptest.Server
	mu       sync.Mutex
	answers  []fakeAnswer
	requests []fakeRequest
}

// fakeAnswer answers every query containing match (the first match wins),
// instant and range queries alike unless only says "query" or "query_range".
type fakeAnswer struct {
	match  string
	only   string
	status int
	body   string
}

type fakeRequest struct {
	method, path, query, auth string
	user, password            string
	hasBasic                  bool
}

func newFakeProm(t *testing.T, answers ...fakeAnswer) *fakeProm {
	t.Helper()
	f := &fakeProm{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	user, password, hasBasic := r.BasicAuth()
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{method: r.Method, path: r.URL.Path, query: q, auth: r.Header.Get("Authorization"), user: user, password: password, hasBasic: hasBasic})
	answers := f.answers
	f.mu.Unlock()
	isRange := strings.HasSuffix(r.URL.Path, "/query_range")
	endpoint := "query"
	if isRange {
		endpoint = "query_range"
	}
	for _, a := range answers {
		if strings.Contains(q, a.match) && (a.only == "" || a.only == endpoint) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(a.status)
			fmt.Fprint(w, a.body)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if isRange {
		fmt.Fprint(w, matrix())
	} else {
		fmt.Fprint(w, vector())
	}
}

func (f *fakeProm) seen() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...)
}

// instant and ranged answer instant or range queries with status 200.
func instant(match, body string) fakeAnswer {
	return fakeAnswer{match: match, only: "query", status: http.StatusOK, body: body}
}

func ranged(match, body string) fakeAnswer {
	return fakeAnswer{match: match, only: "query_range", status: http.StatusOK, body: body}
}

// failing answers every matching query with status and body.
func failing(match string, status int, body string) fakeAnswer {
	return fakeAnswer{match: match, status: status, body: body}
}

// sample is one element of a vector: labels and a value as Prometheus
// writes it (a string: "NaN" and "+Inf" are possible).
func sample(labels map[string]string, value string) string {
	l, _ := json.Marshal(labels)
	return fmt.Sprintf(`{"metric":%s,"value":[1750000000,%q]}`, l, value)
}

func vector(samples ...string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(samples, ",") + `]}}`
}

// stream is one element of a matrix; points are "ts:value" pairs.
func stream(labels map[string]string, points ...string) string {
	l, _ := json.Marshal(labels)
	vals := make([]string, len(points))
	for i, p := range points {
		ts, v, _ := strings.Cut(p, ":")
		vals[i] = fmt.Sprintf("[%s,%q]", ts, v)
	}
	return fmt.Sprintf(`{"metric":%s,"values":[%s]}`, l, strings.Join(vals, ","))
}

func matrix(streams ...string) string {
	return `{"status":"success","data":{"resultType":"matrix","result":[` + strings.Join(streams, ",") + `]}}`
}

// apiError is Prometheus's error envelope.
func apiError(errorType, msg string) string {
	b, _ := json.Marshal(map[string]string{"status": "error", "errorType": errorType, "error": msg})
	return string(b)
}
