package mlflow_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mltop/mltop/sources/mlflow"
)

// BenchmarkFetch1000Runs200Versions measures one Fetch of 1000 runs (four
// metrics and three tags each, one page) and 10 models of 20 versions each,
// over loopback HTTP: JSON encoding on the fake's side is included.
func BenchmarkFetch1000Runs200Versions(b *testing.B) {
	f := newFake(b)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 1000 {
		s := start.Add(time.Duration(i) * time.Hour)
		f.runs = append(f.runs, fakeRun{
			ID: "run-" + strconv.Itoa(i), Name: "run-" + strconv.Itoa(i), Status: "FINISHED", Experiment: "1",
			Start: ms(s), End: ms(s.Add(27 * time.Minute)),
			Metrics: []fakeMetric{{"cv_f1_mean", 0.8 + float64(i%50)/1000}, {"cv_f1_std", 0.01}, {"loss", 0.3}, {"auc", 0.9}},
			Tags:    [][2]string{{"kfp_run_id", "kfp-" + strconv.Itoa(i)}, {"mlflow.source.type", "JOB"}, {"team", "recsys"}},
		})
	}
	for m := range 10 {
		name := "model-" + strconv.Itoa(m)
		f.models = append(f.models, fakeModel{Name: name, Aliases: [][2]string{{"champion", "15"}}})
		for v := 1; v <= 20; v++ {
			f.versions = append(f.versions, fv(name, strconv.Itoa(v), "None", "READY", start.Add(time.Duration(v)*time.Hour)))
		}
	}
	c, err := mlflow.New(mlflow.Options{BaseURL: f.URL(), Experiment: "recommendation-v3", RunsLimit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	part, err := c.Fetch(ctx)
	if err != nil || len(part.Tracking.Training.Runs) != 1000 || len(part.Tracking.Registry.Waiting) != 10*5 {
		b.Fatalf("setup: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Fetch(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
