package kfp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kfp"
)

// now is the injected clock of every test: 2026-08-10 12:00 UTC.
var now = time.Date(2026, 8, 10, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

// ago is an RFC 3339 timestamp d before now.
func ago(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }

// finishedRun is a run created `created` ago that ran for `took`.
func finishedRun(id, name, state string, created, took time.Duration) wireRun {
	return wireRun{
		ExperimentID:   "b2c4f1e0-exp",
		RunID:          id,
		DisplayName:    name,
		StorageState:   "AVAILABLE",
		ServiceAccount: "pipeline-runner",
		CreatedAt:      ago(created),
		ScheduledAt:    ago(created),
		FinishedAt:     ago(created - took),
		State:          state,
		StateHistory: []wireStateChange{
			{UpdateTime: ago(created), State: "PENDING"},
			{UpdateTime: ago(created - time.Minute), State: "RUNNING"},
			{UpdateTime: ago(created - took), State: state},
		},
	}
}

func newClient(t *testing.T, o kfp.Options) *kfp.Client {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedNow
	}
	c, err := kfp.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func fetchPipelines(t *testing.T, c *kfp.Client) sources.Pipelines {
	t.Helper()
	part, err := c.Fetch(context.Background())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if part.Pipelines == nil || part.Inventory != nil || part.Metrics != nil || part.Tracking != nil {
		t.Fatalf("Fetch must set exactly the Pipelines part, got %+v", part)
	}
	return *part.Pipelines
}

// eightRuns are 8 runs in the last 24 hours (5 succeeded, 2 failed, 1
// running) and one older run the window must leave out.
func eightRuns() []wireRun {
	running := finishedRun("r1", "recommendation-training 11:00", "RUNNING", time.Hour, 0)
	running.FinishedAt = unfinished
	running.StateHistory = running.StateHistory[:2]
	failedOOM := finishedRun("r3", "recommendation-training 09:00", "FAILED", 3*time.Hour, 5*time.Minute)
	failedOOM.Error = &wireStatus{Code: 9, Message: "train-model: OOMKilled (exit code 137)"}
	failedNoErr := finishedRun("r6", "recommendation-training 06:00", "FAILED", 6*time.Hour, 15*time.Minute)
	failedNoErr.StateHistory = []wireStateChange{
		{UpdateTime: ago(6 * time.Hour), State: "PENDING"},
		{UpdateTime: ago(6*time.Hour - time.Minute), State: "RUNNING", Error: &wireStatus{Code: 14, Message: "driver retrying: connection reset"}},
		{UpdateTime: ago(6*time.Hour - 15*time.Minute), State: "FAILED", Error: &wireStatus{Code: 9,
			Message: "preprocess-data: FileNotFoundError: no parquet files under gs://ml-data/recommendation/2026-08-10/"}},
	}
	old := finishedRun("r0", "recommendation-training yesterday", "SUCCEEDED", 25*time.Hour, 10*time.Minute)
	// Served oldest first, so the client's sort_by is what orders them.
	return []wireRun{
		old,
		finishedRun("r8", "recommendation-training 04:00", "SUCCEEDED", 8*time.Hour, 50*time.Minute),
		finishedRun("r7", "recommendation-training 05:00", "SUCCEEDED", 7*time.Hour, 40*time.Minute),
		failedNoErr,
		finishedRun("r5", "recommendation-training 07:00", "SUCCEEDED", 5*time.Hour, 30*time.Minute),
		finishedRun("r4", "recommendation-training 08:00", "SUCCEEDED", 4*time.Hour, 20*time.Minute),
		failedOOM,
		finishedRun("r2", "recommendation-training 10:00", "SUCCEEDED", 2*time.Hour, 10*time.Minute),
		running,
	}
}

func TestFetchPagesAndFeedsStats(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns()}
	srv := fake.start()
	c := newClient(t, kfp.Options{BaseURL: srv.URL, PageSize: 5})

	p := fetchPipelines(t, c)

	if p.Window != 24*time.Hour {
		t.Errorf("Window = %s, want 24h", p.Window)
	}
	var ids []string
	for _, r := range p.Runs {
		ids = append(ids, r.ID)
	}
	if got, want := strings.Join(ids, ","), "r1,r2,r3,r4,r5,r6,r7,r8"; got != want {
		t.Fatalf("runs = %s, want %s (newest first, r0 outside the window)", got, want)
	}
	st := p.Stats()
	if st.Total != 8 || st.Succeeded != 5 || st.Failed != 2 || st.Running != 1 || st.Other != 0 {
		t.Errorf("counts = total %d ok %d fail %d run %d other %d, want 8 5 2 1 0", st.Total, st.Succeeded, st.Failed, st.Running, st.Other)
	}
	if !st.HasRate || st.SuccessRate != 5.0/7.0 {
		t.Errorf("success rate = %v (has %v), want 5/7", st.SuccessRate, st.HasRate)
	}
	// Finished durations: 10+5+20+30+15+40+50 = 170 minutes over 7 runs;
	// the running run (finished_at 1970) is left out.
	if want := 170 * time.Minute / 7; st.AvgDuration != want {
		t.Errorf("avg duration = %s, want %s", st.AvgDuration, want)
	}
	if st.P95Duration != 50*time.Minute {
		t.Errorf("p95 duration = %s, want 50m", st.P95Duration)
	}
	if st.LastFailure == nil || st.LastFailure.ID != "r3" || st.LastFailure.Error != "train-model: OOMKilled (exit code 137)" {
		t.Errorf("last failure = %+v, want r3 with its error", st.LastFailure)
	}
	if r := p.Runs[0]; !r.Finished.IsZero() || r.State != sources.RunRunning {
		t.Errorf("running run = %+v, want no finish time", r)
	}
	if r := p.Runs[5]; r.Error != "preprocess-data: FileNotFoundError: no parquet files under gs://ml-data/recommendation/2026-08-10/" {
		t.Errorf("r6 error = %q, want the newest state_history error", r.Error)
	}
	if r := p.Runs[1]; r.Created != now.Add(-2*time.Hour) || r.Finished != now.Add(-2*time.Hour+10*time.Minute) || r.Error != "" {
		t.Errorf("r2 = %+v, want created 10:00, finished 10:10, no error", r)
	}

	reqs := fake.RunListRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d list requests, want 2 (5 + 3 runs)", len(reqs))
	}
	for i, r := range reqs {
		if got := r.Query.Get("sort_by"); got != "created_at desc" {
			t.Errorf("request %d sort_by = %q", i, got)
		}
		if got := r.Query.Get("page_size"); got != "5" {
			t.Errorf("request %d page_size = %q", i, got)
		}
		var f struct {
			Predicates []map[string]string `json:"predicates"`
		}
		if err := json.Unmarshal([]byte(r.Query.Get("filter")), &f); err != nil {
			t.Fatalf("request %d filter %q: %v", i, r.Query.Get("filter"), err)
		}
		want := []map[string]string{{"key": "created_at", "operation": "GREATER_THAN", "timestamp_value": "2026-08-09T12:00:00Z"}}
		if fmt.Sprint(f.Predicates) != fmt.Sprint(want) {
			t.Errorf("request %d predicates = %v, want %v", i, f.Predicates, want)
		}
		if r.Query.Has("namespace") || r.Query.Has("experiment_id") {
			t.Errorf("request %d sent namespace or experiment_id without options: %v", i, r.Query)
		}
	}
	if reqs[0].Query.Has("page_token") {
		t.Errorf("first request sent a page token")
	}
	if reqs[1].Query.Get("page_token") == "" || reqs[1].Query.Get("filter") != reqs[0].Query.Get("filter") {
		t.Errorf("second request must send the page token with the same filter: %v", reqs[1].Query)
	}
}

// TestFakeServerRejectsBarePageToken proves the fake is as strict as KFP, so
// the paging test above would fail if the client dropped sort_by or filter.
func TestFakeServerRejectsBarePageToken(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns()}
	srv := fake.start()
	c := newClient(t, kfp.Options{BaseURL: srv.URL, PageSize: 5})
	fetchPipelines(t, c)
	first := fake.RunListRequests()[0].Query
	resp, err := http.Get(srv.URL + "/apis/v2beta1/runs?" + url.Values{"page_size": {"5"}, "filter": first["filter"]}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		NextPageToken string `json:"next_page_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || page.NextPageToken == "" {
		t.Fatalf("no page token from the fake: %v", err)
	}
	for name, q := range map[string]url.Values{
		"no filter or sort": {"page_token": {page.NextPageToken}},
		"other sort":        {"page_token": {page.NextPageToken}, "filter": first["filter"], "sort_by": {"created_at desc"}},
	} {
		resp, err := http.Get(srv.URL + "/apis/v2beta1/runs?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, resp.StatusCode)
		}
	}
}

func TestRunMapping(t *testing.T) {
	withSpec := finishedRun("spec", "adhoc eval", "SUCCEEDED", time.Hour, 10*time.Minute)
	withSpec.PipelineSpec = map[string]any{
		"pipelineInfo":  map[string]any{"name": "fraud-eval"},
		"schemaVersion": "2.1.0", "sdkVersion": "kfp-2.7.0",
		"root": map[string]any{"dag": map[string]any{"tasks": map[string]any{"eval": map[string]any{}}}},
	}
	wrapped := finishedRun("wrapped", "adhoc gpu eval", "SUCCEEDED", 2*time.Hour, 10*time.Minute)
	wrapped.PipelineSpec = map[string]any{
		"pipeline_spec": map[string]any{"pipelineInfo": map[string]any{"name": "gpu-eval"}},
		"platform_spec": map[string]any{"platforms": map[string]any{"kubernetes": map[string]any{}}},
	}
	byRef := finishedRun("ref", "", "FAILED", 3*time.Hour, 10*time.Minute)
	byRef.PipelineVersionReference = &wireVersionRef{PipelineID: "p-rec", PipelineVersionID: "v-7"}
	byRef.Error = &wireStatus{Code: 9, Message: "step failed:\n\x1b[31mOOMKilled\x1b[0m\t(exit  137)\x07"}
	unknownRef := finishedRun("gone", "orphan", "CANCELED", 4*time.Hour, 10*time.Minute)
	unknownRef.PipelineVersionReference = &wireVersionRef{PipelineID: "p-deleted", PipelineVersionID: "v-1"}
	runningWithTime := finishedRun("running", "\x1b]0;pwned\x07nightly\u202e", "running", 5*time.Hour, time.Minute)
	noFinish := finishedRun("nofinish", "pending", "PENDING", 6*time.Hour, 0)
	noFinish.FinishedAt = ""
	noState := finishedRun("nostate", "mystery", "", 7*time.Hour, time.Minute)
	// A run can fail before it starts (a bad spec): final state, no finish time.
	failedEarly := finishedRun("early", "bad spec", "FAILED", 8*time.Hour, 0)
	failedEarly.FinishedAt = unfinished
	failedEarly.StateHistory = []wireStateChange{{UpdateTime: ago(8 * time.Hour), State: "FAILED",
		Error: &wireStatus{Code: 3, Message: "Failed to compile: unknown component \"train-modle\""}}}

	fake := &fakeKFP{t: t, Runs: []wireRun{withSpec, wrapped, byRef, unknownRef, runningWithTime, noFinish, noState, failedEarly},
		Pipelines: map[string]string{"p-rec": "recommendation-training"}}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL})
	p := fetchPipelines(t, c)

	want := []sources.PipelineRun{
		{ID: "spec", Name: "adhoc eval", Pipeline: "fraud-eval", State: "SUCCEEDED", Created: now.Add(-time.Hour), Finished: now.Add(-50 * time.Minute)},
		{ID: "wrapped", Name: "adhoc gpu eval", Pipeline: "gpu-eval", State: "SUCCEEDED", Created: now.Add(-2 * time.Hour), Finished: now.Add(-110 * time.Minute)},
		{ID: "ref", Name: "", Pipeline: "recommendation-training", State: "FAILED", Created: now.Add(-3 * time.Hour), Finished: now.Add(-170 * time.Minute),
			Error: "step failed: OOMKilled (exit 137)"},
		{ID: "gone", Name: "orphan", Pipeline: "p-deleted", State: "CANCELED", Created: now.Add(-4 * time.Hour), Finished: now.Add(-230 * time.Minute)},
		// A running run's finished_at is not a finish time, whatever it says.
		{ID: "running", Name: "nightly", State: "RUNNING", Created: now.Add(-5 * time.Hour)},
		{ID: "nofinish", Name: "pending", State: "PENDING", Created: now.Add(-6 * time.Hour)},
		{ID: "nostate", Name: "mystery", State: "RUNTIME_STATE_UNSPECIFIED", Created: now.Add(-7 * time.Hour)},
		{ID: "early", Name: "bad spec", State: "FAILED", Created: now.Add(-8 * time.Hour), Error: `Failed to compile: unknown component "train-modle"`},
	}
	if len(p.Runs) != len(want) {
		t.Fatalf("%d runs, want %d", len(p.Runs), len(want))
	}
	for i := range want {
		got := p.Runs[i]
		if got.ID != want[i].ID || got.Name != want[i].Name || got.Pipeline != want[i].Pipeline || got.State != want[i].State ||
			!got.Created.Equal(want[i].Created) || !got.Finished.Equal(want[i].Finished) || got.Error != want[i].Error {
			t.Errorf("run %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
}

func TestPipelineNamesAreCachedAndRefusalsRetriedLater(t *testing.T) {
	run := func(id, pipelineID string) wireRun {
		r := finishedRun(id, id, "SUCCEEDED", time.Hour, time.Minute)
		r.PipelineVersionReference = &wireVersionRef{PipelineID: pipelineID, PipelineVersionID: "v"}
		return r
	}
	fake := &fakeKFP{t: t, Runs: []wireRun{run("a", "p1"), run("b", "p1"), run("c", "p-missing")},
		Pipelines: map[string]string{"p1": "churn-training"}}
	srv := fake.start()
	clock := now
	c := newClient(t, kfp.Options{BaseURL: srv.URL, Now: func() time.Time { return clock }})
	lookups := func() (n int) {
		for _, r := range fake.Requests() {
			if strings.HasPrefix(r.Path, "/apis/v2beta1/pipelines/") {
				n++
			}
		}
		return n
	}

	p := fetchPipelines(t, c)
	if p.Runs[0].Pipeline != "churn-training" || p.Runs[1].Pipeline != "churn-training" || p.Runs[2].Pipeline != "p-missing" {
		t.Errorf("pipelines = %q %q %q", p.Runs[0].Pipeline, p.Runs[1].Pipeline, p.Runs[2].Pipeline)
	}
	if n := lookups(); n != 2 {
		t.Errorf("%d lookups on the first fetch, want 2 (p1 once, p-missing once)", n)
	}
	fetchPipelines(t, c)
	if n := lookups(); n != 2 {
		t.Errorf("%d lookups after the second fetch, want still 2 (names cached, refusal remembered)", n)
	}
	clock = now.Add(11 * time.Minute)
	fetchPipelines(t, c)
	if n := lookups(); n != 3 {
		t.Errorf("%d lookups 11 minutes later, want 3 (the refused ID asked again)", n)
	}
}

func TestPipelineLookupsPerFetchAreBounded(t *testing.T) {
	var runs []wireRun
	names := map[string]string{}
	for i := range 20 {
		id := fmt.Sprintf("p-%02d", i)
		r := finishedRun(fmt.Sprintf("run-%02d", i), "", "SUCCEEDED", time.Duration(i+1)*time.Minute, 0)
		r.PipelineVersionReference = &wireVersionRef{PipelineID: id, PipelineVersionID: "v"}
		runs = append(runs, r)
		names[id] = "pipeline " + id
	}
	fake := &fakeKFP{t: t, Runs: runs, Pipelines: names}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL})
	named := func(p sources.Pipelines) (n int) {
		for _, r := range p.Runs {
			if strings.HasPrefix(r.Pipeline, "pipeline ") {
				n++
			}
		}
		return n
	}
	if n := named(fetchPipelines(t, c)); n != 16 {
		t.Errorf("first fetch named %d runs, want 16 (the per-fetch bound)", n)
	}
	if n := named(fetchPipelines(t, c)); n != 20 {
		t.Errorf("second fetch named %d runs, want all 20", n)
	}
	lookups := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/apis/v2beta1/pipelines/") {
			lookups++
		}
	}
	if lookups != 20 {
		t.Errorf("%d lookups, want 20 (each pipeline once)", lookups)
	}
}

func TestFetchPassesNamespaceExperimentAndPipelineFilter(t *testing.T) {
	runs := eightRuns()
	runs[2].DisplayName = "fraud-detector-train 05:00"
	fake := &fakeKFP{t: t, Runs: runs, MultiUser: true, Namespaces: []string{"ml-prod"}}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL, Namespace: "ml-prod", ExperimentID: "exp-42",
		Pipeline: "Recommendation", Window: 6 * time.Hour})
	p := fetchPipelines(t, c)

	// Within 6h: r1..r6 created 1..6h ago; r6 at exactly 6h is not after the
	// bound, so r1..r5 remain, none of them the fraud run.
	var ids []string
	for _, r := range p.Runs {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "r1,r2,r3,r4,r5" {
		t.Errorf("runs = %s, want r1,r2,r3,r4,r5", got)
	}
	q := fake.RunListRequests()[0].Query
	if q.Get("namespace") != "ml-prod" || q.Get("experiment_id") != "exp-42" {
		t.Errorf("namespace/experiment = %q/%q", q.Get("namespace"), q.Get("experiment_id"))
	}
	var f struct {
		Predicates []map[string]string `json:"predicates"`
	}
	if err := json.Unmarshal([]byte(q.Get("filter")), &f); err != nil {
		t.Fatal(err)
	}
	want := []map[string]string{
		{"key": "created_at", "operation": "GREATER_THAN", "timestamp_value": "2026-08-10T06:00:00Z"},
		{"key": "display_name", "operation": "IS_SUBSTRING", "string_value": "Recommendation"},
	}
	if fmt.Sprint(f.Predicates) != fmt.Sprint(want) {
		t.Errorf("predicates = %v, want %v", f.Predicates, want)
	}
}

func TestMaxRunsKeepsNewestAndNarrowsWindow(t *testing.T) {
	var runs []wireRun
	for i := range 25 {
		created := 10*time.Minute + time.Duration(i)*30*time.Minute
		runs = append(runs, finishedRun(fmt.Sprintf("run-%02d", i), "nightly", "SUCCEEDED", created, 5*time.Minute))
	}
	fake := &fakeKFP{t: t, Runs: runs}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL, PageSize: 4, MaxRuns: 10})
	p := fetchPipelines(t, c)

	if len(p.Runs) != 10 || p.Runs[0].ID != "run-00" || p.Runs[9].ID != "run-09" {
		t.Fatalf("kept %d runs from %s to %s, want the newest 10", len(p.Runs), p.Runs[0].ID, p.Runs[len(p.Runs)-1].ID)
	}
	// run-09 was created 10m + 9*30m = 4h40m ago.
	if p.Window != 4*time.Hour+40*time.Minute {
		t.Errorf("window = %s, want 4h40m (the span the kept runs cover)", p.Window)
	}
	if n := len(fake.RunListRequests()); n != 3 {
		t.Errorf("%d requests, want 3 (4 + 4 + 2 of 4)", n)
	}

	// Exactly MaxRuns in the window is complete: the window stays.
	exact := &fakeKFP{t: t, Runs: runs[:10]}
	c = newClient(t, kfp.Options{BaseURL: exact.start().URL, PageSize: 5, MaxRuns: 10})
	if p := fetchPipelines(t, c); len(p.Runs) != 10 || p.Window != 24*time.Hour {
		t.Errorf("exact: %d runs, window %s, want 10 and 24h", len(p.Runs), p.Window)
	}
}

func TestBaseURLForms(t *testing.T) {
	const proxy = "/api/v1/namespaces/kubeflow/services/ml-pipeline:8888/proxy"
	for name, tc := range map[string]struct{ prefix, suffix string }{
		"service":              {"", ""},
		"trailing slash":       {"", "/"},
		"api root pasted":      {"", "/apis/v2beta1/"},
		"service proxy":        {proxy, ""},
		"gateway":              {"/pipeline", ""},
		"proxy with api root":  {proxy, "/apis/v2beta1"},
		"gateway with a query": {"/pipeline", "?tenant=a"},
	} {
		t.Run(name, func(t *testing.T) {
			fake := &fakeKFP{t: t, Prefix: tc.prefix, Runs: eightRuns()[1:3]}
			srv := fake.start()
			c := newClient(t, kfp.Options{BaseURL: srv.URL + tc.prefix + tc.suffix})
			if p := fetchPipelines(t, c); len(p.Runs) != 2 {
				t.Errorf("%d runs, want 2", len(p.Runs))
			}
			r := fake.RunListRequests()
			if len(r) != 1 {
				t.Fatalf("%d list requests at the expected path; got %+v", len(r), fake.Requests())
			}
			if strings.Contains(tc.suffix, "tenant=a") && r[0].Query.Get("tenant") != "a" {
				t.Errorf("the base URL's query was dropped: %v", r[0].Query)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, tc := range map[string]struct {
		o    kfp.Options
		want string
	}{
		"no url":        {kfp.Options{}, "no URL; set kfp.url"},
		"no scheme":     {kfp.Options{BaseURL: "ml-pipeline:8888"}, "must start with http:// or https://"},
		"no host":       {kfp.Options{BaseURL: "http:///pipeline"}, "has no host"},
		"password":      {kfp.Options{BaseURL: "ftp://me:secret@host"}, "ftp://me:xxxxx@host"},
		"window":        {kfp.Options{BaseURL: "http://h", Window: -time.Hour}, "window -1h0m0s is negative"},
		"page size":     {kfp.Options{BaseURL: "http://h", PageSize: 500}, "page size 500 is out of range; use 1 to 200"},
		"max runs":      {kfp.Options{BaseURL: "http://h", MaxRuns: -1}, "max runs -1 is negative"},
		"bad url chars": {kfp.Options{BaseURL: "http://h/%zz"}, "does not parse"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := kfp.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("the password leaked: %v", err)
			}
		})
	}
}

func TestHealthz(t *testing.T) {
	fake := &fakeKFP{t: t, Healthz: map[string]any{
		"commit_sha": "f8a4f9c", "tag_name": "2.5.0", "multi_user": true, "pipeline_store": "database",
	}}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL})
	h, err := c.Healthz(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h != (kfp.Healthz{CommitSHA: "f8a4f9c", TagName: "2.5.0", MultiUser: true}) {
		t.Errorf("healthz = %+v", h)
	}
	fake.Healthz = map[string]any{"commit_sha": "0b1c", "tag_name": "2.17.0"}
	if h, err := c.Healthz(context.Background()); err != nil || h.MultiUser || h.TagName != "2.17.0" {
		t.Errorf("single-user healthz = %+v, %v", h, err)
	}
}

// ---------------------------------------------------------------- tokens

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTokenFileIsReadOnEveryFetch(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns(), Token: "token-one"}
	srv := fake.start()
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, "token-one\n")
	c := newClient(t, kfp.Options{BaseURL: srv.URL, TokenFile: path})

	fetchPipelines(t, c)
	fake.Token = "token-two" // the server now only accepts the rotated token
	writeFile(t, path, "token-two")
	fetchPipelines(t, c)

	var auths []string
	for _, r := range fake.RunListRequests() {
		auths = append(auths, r.Auth)
	}
	if got := strings.Join(auths, "|"); got != "Bearer token-one|Bearer token-two" {
		t.Errorf("Authorization headers = %s", got)
	}
}

// TestProjectedTokenRotation rotates the token the way the kubelet does: a
// new timestamped directory and an atomic swap of the ..data symlink.
func TestProjectedTokenRotation(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"..2026_08_10_11_00_00.1", "..2026_08_10_11_50_00.2"} {
		if err := os.Mkdir(filepath.Join(dir, v), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "..2026_08_10_11_00_00.1", "token"), "old-sa-token")
	writeFile(t, filepath.Join(dir, "..2026_08_10_11_50_00.2", "token"), "new-sa-token")
	if err := os.Symlink("..2026_08_10_11_00_00.1", filepath.Join(dir, "..data")); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := os.Symlink(filepath.Join("..data", "token"), filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	fake := &fakeKFP{t: t, Runs: eightRuns(), Token: "old-sa-token"}
	c := newClient(t, kfp.Options{BaseURL: fake.start().URL, TokenFile: filepath.Join(dir, "token")})
	fetchPipelines(t, c)

	if err := os.Symlink("..2026_08_10_11_50_00.2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	fake.Token = "new-sa-token"
	fetchPipelines(t, c)
}

func TestOptionsFromEnv(t *testing.T) {
	env := map[string]string{"KF_PIPELINES_SA_TOKEN_PATH": " /var/run/secrets/kubeflow/pipelines/token\n"}
	o := kfp.OptionsFromEnv(func(k string) string { return env[k] })
	if o.TokenFile != "/var/run/secrets/kubeflow/pipelines/token" {
		t.Errorf("TokenFile = %q", o.TokenFile)
	}
	if o := kfp.OptionsFromEnv(func(string) string { return "" }); o.TokenFile != "" {
		t.Errorf("TokenFile without the variable = %q", o.TokenFile)
	}
}

func TestTokenFileProblems(t *testing.T) {
	dir := t.TempDir()
	fake := &fakeKFP{t: t, Runs: eightRuns()}
	srv := fake.start()
	writeFile(t, filepath.Join(dir, "empty"), " \n")
	writeFile(t, filepath.Join(dir, "two"), "sa-token-1 sa-token-2\n")
	writeFile(t, filepath.Join(dir, "huge"), strings.Repeat("x", 70<<10))
	for name, want := range map[string]string{
		"missing": "does not exist: fix kfp.token_file or KF_PIPELINES_SA_TOKEN_PATH",
		"empty":   "is empty",
		"two":     "does not hold a single token",
		"huge":    "larger than 64 KiB",
	} {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, kfp.Options{BaseURL: srv.URL, TokenFile: filepath.Join(dir, name)})
			_, err := c.Fetch(context.Background())
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Join(dir, name)) {
				t.Fatalf("err = %v, want the path and %q", err, want)
			}
			if strings.Contains(err.Error(), "sa-token") {
				t.Errorf("the token leaked: %v", err)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests went out without a usable token", n)
	}
}

// ---------------------------------------------------------------- errors

func fetchErr(t *testing.T, c *kfp.Client) error {
	t.Helper()
	_, err := c.Fetch(context.Background())
	if err == nil {
		t.Fatal("Fetch succeeded, want an error")
	}
	if strings.ContainsAny(err.Error(), "\n\x1b") {
		t.Errorf("error is not one clean line: %q", err)
	}
	return err
}

func TestUnauthorized(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns(), Token: "the-right-token"}
	srv := fake.start()
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, "a-stale-token")

	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: srv.URL, TokenFile: path}))
	want := "kfp " + srv.URL + ": 401 Unauthorized: check the token file " + path +
		" (kfp.token_file or KF_PIPELINES_SA_TOKEN_PATH): it must hold a valid service-account token with audience pipelines.kubeflow.org"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant prefix %s", err, want)
	}
	if strings.Contains(err.Error(), "a-stale-token") {
		t.Errorf("the token leaked: %v", err)
	}
	var apiErr *kfp.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != 16 {
		t.Errorf("APIError = %+v", apiErr)
	}

	err = fetchErr(t, newClient(t, kfp.Options{BaseURL: srv.URL}))
	if !strings.Contains(err.Error(), "401 Unauthorized: no token is configured: set kfp.token_file or KF_PIPELINES_SA_TOKEN_PATH") {
		t.Errorf("without a token: %v", err)
	}
}

func TestMultiUserModeNeedsNamespace(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns(), MultiUser: true}
	srv := fake.start()
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: srv.URL}))
	if want := "kfp " + srv.URL + ": Kubeflow Pipelines is in multi-user mode: set kfp.namespace"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant prefix %s", err, want)
	}
	var apiErr *kfp.APIError
	if !errors.As(err, &apiErr) || !apiErr.NeedsNamespace || apiErr.StatusCode != 400 || apiErr.Code != 3 {
		t.Errorf("APIError = %+v", apiErr)
	}
	if p := fetchPipelines(t, newClient(t, kfp.Options{BaseURL: srv.URL, Namespace: "ml-prod"})); len(p.Runs) != 8 {
		t.Errorf("with a namespace: %d runs, want 8", len(p.Runs))
	}
}

func TestForbiddenNamesTheNamespace(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns(), MultiUser: true, Namespaces: []string{"team-a"}}
	srv := fake.start()
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, "sa-token")
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: srv.URL, Namespace: "ml-prod", TokenFile: path}))
	want := "kfp " + srv.URL + ": 403 Forbidden: in multi-user mode the token's service account needs list on runs.pipelines.kubeflow.org in namespace ml-prod (server: Failed to list runs"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant prefix %s", err, want)
	}
}

func TestWrongBaseURLIs404(t *testing.T) {
	fake := &fakeKFP{t: t, Prefix: "/pipeline", Runs: eightRuns()}
	srv := fake.start()
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: srv.URL}))
	want := "kfp " + srv.URL + ": 404 Not Found: no KFP API at " + srv.URL +
		"/apis/v2beta1: is the URL the ml-pipeline service (port 8888) or the Kubeflow gateway with /pipeline?"
	if err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// answering serves one canned answer to every request.
func answering(t *testing.T, status int, contentType, body string) string {
	t.Helper()
	fake := &fakeKFP{t: t}
	srv := fake.start()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
	return srv.URL
}

func TestServerErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		status      int
		contentType string
		body        string
		want        string
	}{
		"500 with a KFP body": {500, "application/json",
			`{"error":"Failed to list runs: InternalServerError: Failed to list runs: dial tcp 10.0.0.7:3306: connect: connection refused\n\u001b[2J",` +
				`"code":13,"message":"Failed to list runs: InternalServerError: Failed to list runs: dial tcp 10.0.0.7:3306: connect: connection refused\n\u001b[2J","details":[]}`,
			": 500 Internal Server Error: Failed to list runs: InternalServerError: Failed to list runs: dial tcp 10.0.0.7:3306: connect: connection refused"},
		"503 grpc-gateway v2 body": {503, "application/json", `{"code":14,"message":"upstream connect error","details":[]}`,
			": 503 Service Unavailable: upstream connect error"},
		"502 from a proxy in plain text": {502, "text/plain", "upstream connect error or disconnect/reset before headers\n",
			": 502 Bad Gateway: upstream connect error or disconnect/reset before headers"},
		"500 HTML page": {500, "text/html", "<html><body><h1>Internal Server Error</h1><script>x()</script></body></html>",
			": 500 Internal Server Error"},
		"400 bad filter": {400, "application/json", `{"code":3,"message":"Invalid input error: Invalid sorting field"}`,
			": 400 Bad Request: Invalid input error: Invalid sorting field"},
	} {
		t.Run(name, func(t *testing.T) {
			base := answering(t, tc.status, tc.contentType, tc.body)
			err := fetchErr(t, newClient(t, kfp.Options{BaseURL: base}))
			if want := "kfp " + base + tc.want; err.Error() != want {
				t.Errorf("err = %q\nwant %q", err, want)
			}
		})
	}
}

func TestLongServerMessageIsShortened(t *testing.T) {
	base := answering(t, 500, "application/json", `{"code":13,"message":"`+strings.Repeat("deadlock found; ", 40)+`"}`)
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: base}))
	msg := strings.TrimPrefix(err.Error(), "kfp "+base+": 500 Internal Server Error: ")
	if n := len([]rune(msg)); n != 160 || !strings.HasSuffix(msg, "…") {
		t.Errorf("server message of %d runes (%q), want 160 ending in …", n, msg)
	}
}

func TestMalformedAnswers(t *testing.T) {
	for name, tc := range map[string]struct {
		contentType, body, want string
	}{
		"truncated": {"application/json", `{"runs":[{"run_id":"a"`,
			": malformed JSON from /apis/v2beta1/runs: unexpected end of input at byte 22"},
		"wrong type": {"application/json", `{"runs":[{"run_id":7}]}`,
			": malformed JSON from /apis/v2beta1/runs: runs.run_id is a JSON number, expected a string, at byte 20"},
		"login page": {"text/html; charset=utf-8", `<!DOCTYPE html><html><title>Dex</title></html>`,
			": got an HTML page instead of JSON from /apis/v2beta1/runs (a login page?"},
	} {
		t.Run(name, func(t *testing.T) {
			base := answering(t, 200, tc.contentType, tc.body)
			err := fetchErr(t, newClient(t, kfp.Options{BaseURL: base}))
			if want := "kfp " + base + tc.want; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("err = %q\nwant prefix %q", err, want)
			}
		})
	}
}

func TestPagingThatDoesNotAdvance(t *testing.T) {
	page := `{"runs":[{"run_id":"a","display_name":"a","created_at":"2026-08-10T11:00:00Z","state":"RUNNING"}],` +
		`"total_size":50,"next_page_token":"same"}`
	base := answering(t, 200, "application/json", page)
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: base}))
	if want := "kfp " + base + ": the server's paging does not advance"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	fake := &fakeKFP{t: t}
	srv := fake.start()
	base := srv.URL
	srv.Close() // nothing listens there any more
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: base}))
	if want := "kfp " + base + ": connection refused: is the server running and the URL right?"; err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestErrorsHideURLSecrets(t *testing.T) {
	base := answering(t, 500, "application/json", `{"code":13,"message":"boom"}`)
	withSecrets := strings.Replace(base, "http://", "http://oncall:hunter2@", 1) + "/?access_token=s3cret"
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: withSecrets}))
	want := "kfp " + strings.Replace(base, "http://", "http://oncall:xxxxx@", 1) + ": 500 Internal Server Error: boom"
	if err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestTimeout(t *testing.T) {
	fake := &fakeKFP{t: t}
	srv := fake.start()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers; released when the client gives up
	})
	c := newClient(t, kfp.Options{BaseURL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx)
	if err == nil {
		t.Fatal("no error")
	}
	if want := "kfp " + srv.URL + ": timed out waiting for the server"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err does not wrap context.DeadlineExceeded: %v", err)
	}
}

func TestUnresolvableHost(t *testing.T) {
	// The resolver's answer is injected: a test must not depend on DNS.
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
	c := newClient(t, kfp.Options{BaseURL: "http://ml-pipeline.kubeflow:8888", HTTPClient: hc})
	err := fetchErr(t, c)
	if want := `kfp http://ml-pipeline.kubeflow:8888: cannot resolve host "ml-pipeline.kubeflow": is the URL right?`; err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestTLSProblems(t *testing.T) {
	fake := &fakeKFP{t: t, Runs: eightRuns()}
	tlsSrv := httptest.NewUnstartedServer(fake)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	err := fetchErr(t, newClient(t, kfp.Options{BaseURL: tlsSrv.URL}))
	if want := "kfp " + tlsSrv.URL + ": TLS certificate not accepted: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("untrusted certificate: %v", err)
	}
	// The test server's own client trusts its certificate.
	if p := fetchPipelines(t, newClient(t, kfp.Options{BaseURL: tlsSrv.URL, HTTPClient: tlsSrv.Client()})); len(p.Runs) != 8 {
		t.Errorf("trusted: %d runs", len(p.Runs))
	}

	plain := fake.start()
	httpsToPlain := strings.Replace(plain.URL, "http://", "https://", 1)
	err = fetchErr(t, newClient(t, kfp.Options{BaseURL: httpsToPlain}))
	if want := "kfp " + httpsToPlain + ": the server does not speak TLS: use http:// instead of https://?"; err.Error() != want {
		t.Errorf("https to a plain server: %v", err)
	}
}
