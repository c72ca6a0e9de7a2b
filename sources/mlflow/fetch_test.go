package mlflow_test

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/mlflow"
)

func newClient(t testing.TB, f *fakeMLflow, mutate func(*mlflow.Options)) *mlflow.Client {
	t.Helper()
	o := mlflow.Options{BaseURL: f.URL(), Experiment: "recommendation-v3"}
	if mutate != nil {
		mutate(&o)
	}
	c, err := mlflow.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func fetchTracking(t *testing.T, c *mlflow.Client) sources.Tracking {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	part, err := c.Fetch(ctx)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if part.Tracking == nil || part.Inventory != nil || part.Metrics != nil || part.Pipelines != nil {
		t.Fatalf("Fetch must set exactly Part.Tracking, got %+v", part)
	}
	return *part.Tracking
}

// at is a time on 2026-03-04, UTC.
func at(hour, minute int) time.Time { return time.Date(2026, 3, 4, hour, minute, 0, 0, time.UTC) }

func TestTrainingPagesThroughTheNewestRunsAndListsThemOldestFirst(t *testing.T) {
	f := newFake(t)
	f.pageCap = 2 // 5 runs wanted: pages of 2, 2 and 1
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}, {ID: "2", Name: "fraud-v1"}}
	f.runs = []fakeRun{
		{ID: "a0", Name: "dapper-koi-900", Status: "FINISHED", Experiment: "1", Start: ms(at(8, 0)), End: ms(at(8, 30)),
			Metrics: []fakeMetric{{"cv_f1_mean", 0.80}}, Tags: [][2]string{{"kfp_run_id", "kfp-0"}}},
		{ID: "a1", Name: "brave-owl-417", Status: "FINISHED", Experiment: "1", Start: ms(at(9, 0)), End: ms(at(9, 27)),
			Metrics: []fakeMetric{{"loss", 0.3}, {"cv_f1_mean", 0.85}}, Tags: [][2]string{{"kfp_run_id", "kfp-1"}}},
		// Failed before logging the metric.
		{ID: "a2", Name: "calm-fox-220", Status: "FAILED", Experiment: "1", Start: ms(at(10, 0)), End: ms(at(10, 10)),
			Metrics: []fakeMetric{{"loss", 0.9}}, Tags: [][2]string{{"kfp_run_id", "kfp-2"}}},
		// No run_name (older server): the mlflow.runName tag names it; no KFP tag.
		{ID: "a3", Status: "FINISHED", Experiment: "1", Start: ms(at(11, 0)), End: ms(at(11, 40)),
			Metrics: []fakeMetric{{"cv_f1_mean", 0.87}}, Tags: [][2]string{{"mlflow.runName", "old-style-run"}}},
		{ID: "a4", Name: "eager-lynx-101", Status: "FINISHED", Experiment: "1", Start: ms(at(12, 0)), End: ms(at(12, 31)),
			Metrics: []fakeMetric{{"cv_f1_mean", 0.857}}, Tags: [][2]string{{"kfp_run_id", "kfp-4"}}},
		// Still running: no end_time yet.
		{ID: "a5", Name: "nimble-wren-530", Status: "RUNNING", Experiment: "1", Start: ms(at(13, 0)),
			Tags: [][2]string{{"kfp_run_id", "kfp-5"}}},
		// Neither a deleted run nor another experiment's run may show.
		{ID: "d1", Name: "deleted-run", Status: "FINISHED", Experiment: "1", Start: ms(at(12, 30)), End: ms(at(12, 50)), Deleted: true,
			Metrics: []fakeMetric{{"cv_f1_mean", 0.99}}},
		{ID: "o1", Name: "other-exp", Status: "FINISHED", Experiment: "2", Start: ms(at(12, 45)), End: ms(at(12, 55)),
			Metrics: []fakeMetric{{"cv_f1_mean", 0.5}}},
	}
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 5 })

	got := fetchTracking(t, c).Training

	want := sources.Training{Experiment: "recommendation-v3", Metric: "cv_f1_mean", Runs: []sources.TrainingRun{
		{ID: "a1", Name: "brave-owl-417", Status: "FINISHED", Start: at(9, 0), End: at(9, 27), Value: 0.85, HasValue: true, KFPRunID: "kfp-1"},
		{ID: "a2", Name: "calm-fox-220", Status: "FAILED", Start: at(10, 0), End: at(10, 10), KFPRunID: "kfp-2"},
		{ID: "a3", Name: "old-style-run", Status: "FINISHED", Start: at(11, 0), End: at(11, 40), Value: 0.87, HasValue: true},
		{ID: "a4", Name: "eager-lynx-101", Status: "FINISHED", Start: at(12, 0), End: at(12, 31), Value: 0.857, HasValue: true, KFPRunID: "kfp-4"},
		{ID: "a5", Name: "nimble-wren-530", Status: "RUNNING", Start: at(13, 0), KFPRunID: "kfp-5"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("training:\n got %+v\nwant %+v", got, want)
	}
	if d := got.Runs[3].Duration(); d != 31*time.Minute {
		t.Errorf("training time of a4 = %s, want 31m", d)
	}
	if d := got.Runs[4].Duration(); d != 0 {
		t.Errorf("a running run has no training time yet, got %s", d)
	}

	exp := f.calls("experiments/get-by-name")
	if len(exp) != 1 || exp[0].Method != http.MethodGet ||
		exp[0].Path != proxyPrefix+"/api/2.0/mlflow/experiments/get-by-name" ||
		!reflect.DeepEqual(map[string][]string(exp[0].Query), map[string][]string{"experiment_name": {"recommendation-v3"}}) {
		t.Errorf("get-by-name requests: %+v", exp)
	}
	search := f.calls("runs/search")
	wantBodies := []map[string]any{
		{"experiment_ids": []any{"1"}, "run_view_type": "ACTIVE_ONLY", "order_by": []any{"attributes.start_time DESC"}, "max_results": 5.0},
		{"experiment_ids": []any{"1"}, "run_view_type": "ACTIVE_ONLY", "order_by": []any{"attributes.start_time DESC"}, "max_results": 3.0,
			"page_token": "eyJvZmZzZXQiOiAyfQ=="}, // base64 of {"offset": 2}, as the server issued it
		{"experiment_ids": []any{"1"}, "run_view_type": "ACTIVE_ONLY", "order_by": []any{"attributes.start_time DESC"}, "max_results": 1.0,
			"page_token": "eyJvZmZzZXQiOiA0fQ=="}, // {"offset": 4}
	}
	if len(search) != len(wantBodies) {
		t.Fatalf("runs/search was called %d times, want %d: %+v", len(search), len(wantBodies), search)
	}
	for i, r := range search {
		if r.Method != http.MethodPost || len(r.Query) != 0 || !reflect.DeepEqual(r.Body, wantBodies[i]) {
			t.Errorf("runs/search call %d: %s ?%v body %v, want POST body %v", i+1, r.Method, r.Query, r.Body, wantBodies[i])
		}
	}
}

func TestTrainingAsksForPagesOfAtMostAThousandRuns(t *testing.T) {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	for i := range 2600 {
		f.runs = append(f.runs, fakeRun{ID: "r" + itoa(i), Status: "FINISHED", Experiment: "1",
			Start: ms(at(0, 0).Add(time.Duration(i) * time.Minute))})
	}
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 2500 })

	got := fetchTracking(t, c).Training

	if len(got.Runs) != 2500 {
		t.Fatalf("got %d runs, want 2500", len(got.Runs))
	}
	// The newest 2500 of 2600 are r100..r2599, oldest first.
	if got.Runs[0].ID != "r100" || got.Runs[2499].ID != "r2599" {
		t.Errorf("runs span %s..%s, want r100..r2599", got.Runs[0].ID, got.Runs[2499].ID)
	}
	var asked []any
	for _, r := range f.calls("runs/search") {
		asked = append(asked, r.Body["max_results"])
	}
	if want := []any{1000.0, 1000.0, 500.0}; !reflect.DeepEqual(asked, want) {
		t.Errorf("max_results asked %v, want %v", asked, want)
	}
}

func TestTrainingDropsARunRepeatedWhenANewRunShiftsThePages(t *testing.T) {
	f := newFake(t)
	f.pageCap = 2
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	for i, h := range []int{9, 10, 11, 12, 13, 14} {
		f.runs = append(f.runs, fakeRun{ID: "r" + itoa(i+1), Status: "FINISHED", Experiment: "1", Start: ms(at(h, 0)), End: ms(at(h, 20))})
	}
	// A run starts after the first page: MLflow's offset token then serves
	// the last run of page 1 again at the top of page 2.
	f.afterRunsPage = func(f *fakeMLflow, n int) {
		if n == 1 {
			f.mu.Lock()
			f.runs = append(f.runs, fakeRun{ID: "r7", Status: "RUNNING", Experiment: "1", Start: ms(at(15, 0))})
			f.mu.Unlock()
		}
	}
	c := newClient(t, f, func(o *mlflow.Options) { o.RunsLimit = 4 })

	got := fetchTracking(t, c).Training

	// Page 1: r6 r5. Page 2 (offset 2 of r7 r6 r5 r4 ...): r5 again, r4.
	// Page 3 asks for the one missing run at offset 4: r3.
	var ids []string
	for _, r := range got.Runs {
		ids = append(ids, r.ID)
	}
	if want := []string{"r3", "r4", "r5", "r6"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("runs %v, want %v", ids, want)
	}
}

func TestTrainingReadsVerbatimMLflowJSON(t *testing.T) {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	// Written as mlflow server 2.17 answers: run_uuid next to run_id, inputs
	// with dataset_inputs, non-finite doubles as protobuf JSON strings.
	f.override["runs/search"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"runs": [
 {"info": {"run_uuid": "5b1f0e7a9c3d4e2f8a6b7c8d9e0f1a2b", "experiment_id": "1", "run_name": "resumed-run", "user_id": "root",
   "status": "RUNNING", "start_time": 1772618400000, "end_time": 1772619000000,
   "artifact_uri": "s3://mlflow/1/5b1f0e7a9c3d4e2f8a6b7c8d9e0f1a2b/artifacts", "lifecycle_stage": "active",
   "run_id": "5b1f0e7a9c3d4e2f8a6b7c8d9e0f1a2b"},
  "data": {"metrics": [{"key": "cv_f1_mean", "value": "NaN", "timestamp": 1772618900000, "step": 3}],
   "tags": [{"key": "kfp_run_id", "value": "2f0c\u001b[31m-red"}]},
  "inputs": {}},
 {"info": {"run_uuid": "0a9b8c7d6e5f40312a3b4c5d6e7f8091", "experiment_id": "1", "run_name": "gentle-hawk-733", "user_id": "root",
   "status": "FINISHED", "start_time": 1772614800000, "end_time": 1772616420000,
   "artifact_uri": "s3://mlflow/1/0a9b8c7d6e5f40312a3b4c5d6e7f8091/artifacts", "lifecycle_stage": "active",
   "run_id": "0a9b8c7d6e5f40312a3b4c5d6e7f8091"},
  "data": {"metrics": [{"key": "cv_f1_std", "value": "Infinity", "timestamp": 1772616400000, "step": 0},
                       {"key": "cv_f1_mean", "value": 0.8871, "timestamp": 1772616400000, "step": 0}],
   "params": [{"key": "max_depth", "value": "8"}],
   "tags": [{"key": "mlflow.runName", "value": "gentle-hawk-733"}, {"key": "kfp_run_id", "value": "e3c1d6a2-1111-4c2e-9d0e-7f6a5b4c3d2e"}]},
  "inputs": {"dataset_inputs": [{"tags": [{"key": "mlflow.data.context", "value": "training"}],
   "dataset": {"name": "dataset", "digest": "a1b2c3d4", "source_type": "s3", "source": "{\"uri\": \"s3://data/train.parquet\"}"}}]}}
]}`))
	}
	c := newClient(t, f, nil)

	got := fetchTracking(t, c).Training

	want := []sources.TrainingRun{
		// 1772614800000 ms is 2026-03-04 09:00 UTC; the end is 27 minutes later.
		{ID: "0a9b8c7d6e5f40312a3b4c5d6e7f8091", Name: "gentle-hawk-733", Status: "FINISHED", Start: at(9, 0), End: at(9, 27),
			Value: 0.8871, HasValue: true, KFPRunID: "e3c1d6a2-1111-4c2e-9d0e-7f6a5b4c3d2e"},
		// Resumed: RUNNING again with the end_time of its first attempt,
		// which is not an end. Its NaN metric cannot be plotted. The escape
		// sequence in the tag never reaches the terminal.
		{ID: "5b1f0e7a9c3d4e2f8a6b7c8d9e0f1a2b", Name: "resumed-run", Status: "RUNNING", Start: at(10, 0), KFPRunID: "2f0c-red"},
	}
	if !reflect.DeepEqual(got.Runs, want) {
		t.Fatalf("runs:\n got %+v\nwant %+v", got.Runs, want)
	}
}

func TestTrainingUsesTheConfiguredMetricAndKFPTag(t *testing.T) {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "9", Name: "ranker"}}
	f.runs = []fakeRun{{ID: "x", Name: "x", Status: "FINISHED", Experiment: "9", Start: ms(at(9, 0)), End: ms(at(9, 5)),
		Metrics: []fakeMetric{{"cv_f1_mean", 0.9}, {"ndcg_at_10", 0.41}},
		Tags:    [][2]string{{"kfp_run_id", "wrong"}, {"pipeline_run", "kfp-77"}}}}
	c := newClient(t, f, func(o *mlflow.Options) {
		o.Experiment, o.Metric, o.KFPRunTag = "ranker", "ndcg_at_10", "pipeline_run"
	})

	got := fetchTracking(t, c).Training

	if got.Experiment != "ranker" || got.Metric != "ndcg_at_10" || len(got.Runs) != 1 ||
		got.Runs[0].Value != 0.41 || !got.Runs[0].HasValue || got.Runs[0].KFPRunID != "kfp-77" {
		t.Errorf("training %+v", got)
	}
}

func TestAnEmptyExperimentHasNoRuns(t *testing.T) {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	c := newClient(t, f, nil)

	got := fetchTracking(t, c)

	if len(got.Training.Runs) != 0 || got.Training.Experiment != "recommendation-v3" {
		t.Errorf("training %+v", got.Training)
	}
	if len(f.calls("runs/search")) != 1 {
		t.Errorf("an answer without next_page_token must end the paging")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
