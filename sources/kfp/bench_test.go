package kfp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/kfp"
)

// compiledSpec is a pipeline spec of the size the KFP SDK writes for a
// five-step training pipeline (about 8 KB of JSON).
func compiledSpec() map[string]any {
	steps := []string{"validate-data", "preprocess-data", "train-model", "evaluate-model", "register-model"}
	components, executors, tasks := map[string]any{}, map[string]any{}, map[string]any{}
	for i, s := range steps {
		components["comp-"+s] = map[string]any{
			"executorLabel": "exec-" + s,
			"inputDefinitions": map[string]any{"parameters": map[string]any{
				"data_path": map[string]any{"parameterType": "STRING"}, "epochs": map[string]any{"parameterType": "NUMBER_INTEGER"},
			}},
			"outputDefinitions": map[string]any{"artifacts": map[string]any{
				"output": map[string]any{"artifactType": map[string]any{"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}},
			}},
		}
		executors["exec-"+s] = map[string]any{"container": map[string]any{
			"image":   "europe-docker.pkg.dev/ml-platform/pipelines/recommendation:2026.08.1",
			"command": []string{"sh", "-c", "python3 -m pip install --quiet --no-warn-script-location 'kfp==2.7.0' && \"$0\" \"$@\"", "sh", "-ec"},
			"args":    []string{"--executor_input", "{{$}}", "--function_to_execute", s},
			"resources": map[string]any{"cpuLimit": 4, "memoryLimit": 16, "accelerator": map[string]any{
				"type": "nvidia.com/gpu", "count": "1"}},
		}}
		task := map[string]any{
			"componentRef": map[string]any{"name": "comp-" + s},
			"taskInfo":     map[string]any{"name": s},
			"inputs": map[string]any{"parameters": map[string]any{
				"data_path": map[string]any{"componentInputParameter": "data_path"},
				"epochs":    map[string]any{"runtimeValue": map[string]any{"constant": 10}},
			}},
		}
		if i > 0 {
			task["dependentTasks"] = []string{steps[i-1]}
		}
		tasks[s] = task
	}
	return map[string]any{
		"pipelineInfo":        map[string]any{"name": "recommendation-training"},
		"schemaVersion":       "2.1.0",
		"sdkVersion":          "kfp-2.7.0",
		"components":          components,
		"deploymentSpec":      map[string]any{"executors": executors},
		"root":                map[string]any{"dag": map[string]any{"tasks": tasks}},
		"defaultPipelineRoot": "gs://ml-pipelines/root",
	}
}

// benchRuns are n runs over the last day, newest first, as KFP lists them:
// 90% succeeded, some failed with errors, a few running.
func benchRuns(n int, withSpec bool) []wireRun {
	spec := compiledSpec()
	runs := make([]wireRun, n)
	step := 24 * time.Hour / time.Duration(n+1)
	for i := range runs {
		state, took := "SUCCEEDED", 20*time.Minute+time.Duration(i%13)*time.Minute
		switch {
		case i%10 == 3:
			state = "FAILED"
		case i < 3:
			state = "RUNNING"
		}
		r := finishedRun(fmt.Sprintf("9b1c3d2e-%04d-4f6a-8b7c-1d2e3f4a5b6c", i), fmt.Sprintf("recommendation-training %04d", i),
			state, time.Duration(i+1)*step, took)
		r.RecurringRunID = "5e7f9a1b-rec"
		r.RuntimeConfig = &wireRuntimeConf{Parameters: map[string]any{"data_path": "gs://ml-data/recommendation/2026-08-10/", "epochs": 10},
			PipelineRoot: "gs://ml-pipelines/root"}
		if state == "RUNNING" {
			r.FinishedAt = unfinished
		}
		if state == "FAILED" {
			r.Error = &wireStatus{Code: 9, Message: "train-model: OOMKilled (exit code 137)"}
		}
		if withSpec {
			r.PipelineSpec = spec
		} else {
			r.PipelineVersionReference = &wireVersionRef{PipelineID: "p-rec", PipelineVersionID: "v-7"}
		}
		runs[i] = r
	}
	return runs
}

// pagedServer serves pre-encoded pages so the benchmark measures the
// client, not the fake's filtering and encoding.
func pagedServer(b *testing.B, runs []wireRun, pageSize int) (string, int) {
	pages := map[string][]byte{}
	bytesTotal := 0
	for start := 0; start < len(runs); start += pageSize {
		end := min(start+pageSize, len(runs))
		resp := map[string]any{"runs": runs[start:end], "total_size": len(runs)}
		if end < len(runs) {
			resp["next_page_token"] = fmt.Sprintf("page-%d", end)
		}
		body, err := json.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		token := ""
		if start > 0 {
			token = fmt.Sprintf("page-%d", start)
		}
		pages[token] = body
		bytesTotal += len(body)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/apis/v2beta1/pipelines/p-rec" {
			_, _ = w.Write([]byte(`{"pipeline_id":"p-rec","display_name":"recommendation-training"}`))
			return
		}
		q := r.URL.Query()
		body, ok := pages[q.Get("page_token")]
		if !ok || q.Get("filter") == "" || q.Get("sort_by") != "created_at desc" {
			http.Error(w, `{"code":3,"message":"bad page request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv.URL, bytesTotal
}

func benchmarkFetch(b *testing.B, withSpec bool) {
	const n = 2000
	base, size := pagedServer(b, benchRuns(n, withSpec), kfp.DefaultPageSize)
	c, err := kfp.New(kfp.Options{BaseURL: base, Now: fixedNow})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		part, err := c.Fetch(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if got := len(part.Pipelines.Runs); got != n {
			b.Fatalf("%d runs, want %d", got, n)
		}
	}
}

// BenchmarkFetch2000Runs: 20 pages of runs started from an uploaded
// pipeline (pipeline_version_reference; names cached after the first fetch).
func BenchmarkFetch2000Runs(b *testing.B) { benchmarkFetch(b, false) }

// BenchmarkFetch2000RunsWithSpecs: the same runs, each carrying its full
// compiled pipeline spec, as runs submitted from a notebook do.
func BenchmarkFetch2000RunsWithSpecs(b *testing.B) { benchmarkFetch(b, true) }
