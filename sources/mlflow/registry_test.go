package mlflow_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/mlflow"
)

// day is a time on 2026-02-DD (or 03-01 as day 29), UTC.
func day(d, hour int) time.Time { return time.Date(2026, 2, d, hour, 0, 0, 0, time.UTC) }

func fv(model, version, stage, status string, created time.Time, aliases ...string) fakeVersion {
	return fakeVersion{Model: model, Version: version, Stage: stage, Status: status, Created: ms(created),
		RunID: model + "-run-" + version, Aliases: aliases}
}

// mv is the value the adapter must produce for a version, written out.
func mv(model, version, stage string, created time.Time, aliases ...string) sources.ModelVersion {
	runID := model + "-run-" + version
	if len(aliases) == 0 {
		aliases = nil
	}
	return sources.ModelVersion{Model: model, Version: version, Stage: stage, Aliases: aliases, Status: "READY",
		Created: created, Source: "s3://mlflow/1/" + runID + "/artifacts/model", RunID: runID}
}

// registryFake holds five models that between them cover every rule.
func registryFake(t *testing.T) *fakeMLflow {
	f := newFake(t)
	f.pageCap = 2
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	f.models = []fakeModel{
		{Name: "fraud-detector", Aliases: [][2]string{{"champion", "7"}, {"challenger", "8"}}},
		{Name: "recommendation-classifier"},
		{Name: "churn-model"},
		{Name: "image-embedder"},
		// The alias only on the registered model, not on the version.
		{Name: "search-ranker", Aliases: [][2]string{{"champion", "2"}}},
	}
	f.versions = []fakeVersion{
		fv("fraud-detector", "5", "Archived", "READY", day(29, 1)),
		fv("fraud-detector", "6", "None", "READY", day(29, 2)),
		fv("fraud-detector", "7", "None", "READY", day(29, 3), "champion"),
		fv("fraud-detector", "8", "None", "READY", day(29, 4), "challenger"),
		fv("fraud-detector", "9", "None", "PENDING_REGISTRATION", day(29, 5)),
		fv("fraud-detector", "10", "Staging", "READY", day(29, 6)),
		fv("fraud-detector", "11", "Archived", "READY", day(29, 7)),

		// No alias: the newest Production version is promoted ("10" > "9").
		fv("recommendation-classifier", "1", "Archived", "READY", day(28, 10)),
		fv("recommendation-classifier", "9", "Production", "READY", day(28, 11)),
		fv("recommendation-classifier", "10", "Production", "READY", day(28, 12)),
		fv("recommendation-classifier", "11", "None", "READY", day(29, 0)),

		// Nothing promoted: every READY, non-archived version waits.
		fv("churn-model", "1", "None", "READY", day(27, 9)),
		fv("churn-model", "2", "Archived", "READY", day(27, 10)),
		fv("churn-model", "3", "None", "FAILED_REGISTRATION", day(27, 11)),

		fv("image-embedder", "1", "None", "READY", day(26, 0)),
		fv("image-embedder", "2", "None", "READY", day(26, 12), "champion"),
		fv("image-embedder", "3", "None", "READY", day(29, 8)),

		// The alias wins over the stage: v1 in Production is not promoted,
		// and being in Production it does not wait either.
		fv("search-ranker", "1", "Production", "READY", day(20, 0)),
		fv("search-ranker", "2", "None", "READY", day(21, 0)),
		fv("search-ranker", "3", "None", "READY", day(29, 9)),
	}
	return f
}

func TestRegistryPromotedAndWaitingVersions(t *testing.T) {
	f := registryFake(t)
	c := newClient(t, f, nil)

	got := fetchTracking(t, c).Registry

	want := sources.Registry{
		PromotedAlias: "champion",
		Promoted: []sources.ModelVersion{
			mv("fraud-detector", "7", "None", day(29, 3), "champion"),
			mv("image-embedder", "2", "None", day(26, 12), "champion"),
			mv("recommendation-classifier", "10", "Production", day(28, 12)),
			mv("search-ranker", "2", "None", day(21, 0), "champion"),
		},
		Waiting: []sources.ModelVersion{
			mv("churn-model", "1", "None", day(27, 9)),
			mv("recommendation-classifier", "11", "None", day(29, 0)),
			mv("fraud-detector", "8", "None", day(29, 4), "challenger"),
			mv("fraud-detector", "10", "Staging", day(29, 6)),
			mv("image-embedder", "3", "None", day(29, 8)),
			mv("search-ranker", "3", "None", day(29, 9)),
		},
	}
	got.Versions = nil // what the doctor reads; doctor_test.go checks it
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("registry:\n got %+v\nwant %+v", got, want)
	}
}

func TestRegistryPagesThroughModelsAndVersions(t *testing.T) {
	f := registryFake(t)
	c := newClient(t, f, nil)

	fetchTracking(t, c)

	// 5 models in pages of 2: three calls, each token the one the server sent.
	models := f.calls("registered-models/search")
	wantModelQueries := []url.Values{
		{"max_results": {"100"}},
		{"max_results": {"100"}, "page_token": {"eyJvZmZzZXQiOiAyfQ=="}},
		{"max_results": {"100"}, "page_token": {"eyJvZmZzZXQiOiA0fQ=="}},
	}
	if len(models) != len(wantModelQueries) {
		t.Fatalf("registered-models/search called %d times, want 3", len(models))
	}
	for i, r := range models {
		if !reflect.DeepEqual(r.Query, wantModelQueries[i]) {
			t.Errorf("registered-models/search call %d: %v, want %v", i+1, r.Query, wantModelQueries[i])
		}
	}

	// fraud-detector's 7 versions in pages of 2: four calls.
	var fraud []url.Values
	for _, r := range f.calls("model-versions/search") {
		if r.Query.Get("filter") == "name = 'fraud-detector'" {
			fraud = append(fraud, r.Query)
		}
	}
	wantTokens := []string{"", "eyJvZmZzZXQiOiAyfQ==", "eyJvZmZzZXQiOiA0fQ==", "eyJvZmZzZXQiOiA2fQ=="}
	if len(fraud) != len(wantTokens) {
		t.Fatalf("fraud-detector versions searched %d times, want 4: %v", len(fraud), fraud)
	}
	for i, q := range fraud {
		// Every parameter once: a page token appended on every page, or the
		// filter repeated, would change the query.
		want := url.Values{"filter": {"name = 'fraud-detector'"}, "max_results": {"1000"}}
		if wantTokens[i] != "" {
			want["page_token"] = []string{wantTokens[i]}
		}
		if !reflect.DeepEqual(q, want) {
			t.Errorf("fraud-detector versions call %d: %v, want %v", i+1, q, want)
		}
	}
	if n := len(f.calls("model-versions/search")); n != 4+2+2+2+2 {
		t.Errorf("model-versions/search called %d times, want 12 (pages of 2 per model)", n)
	}
}

func TestRegistryLimitedToConfiguredModels(t *testing.T) {
	f := registryFake(t)
	c := newClient(t, f, func(o *mlflow.Options) { o.Models = []string{"search-ranker", "churn-model"} })

	got := fetchTracking(t, c).Registry

	want := sources.Registry{
		PromotedAlias: "champion",
		Promoted:      []sources.ModelVersion{mv("search-ranker", "2", "None", day(21, 0), "champion")},
		Waiting: []sources.ModelVersion{
			mv("churn-model", "1", "None", day(27, 9)),
			mv("search-ranker", "3", "None", day(29, 9)),
		},
	}
	got.Versions = nil // what the doctor reads; doctor_test.go checks it
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("registry:\n got %+v\nwant %+v", got, want)
	}
	var filters []string
	for _, r := range f.calls("registered-models/search") {
		filters = append(filters, r.Query.Get("filter"))
	}
	if want := []string{"name = 'search-ranker'", "name = 'churn-model'"}; !reflect.DeepEqual(filters, want) {
		t.Errorf("registered-models filters %q, want %q", filters, want)
	}
	for _, r := range f.calls("model-versions/search") {
		if !strings.Contains(r.Query.Get("filter"), "search-ranker") && !strings.Contains(r.Query.Get("filter"), "churn-model") {
			t.Errorf("versions of an unconfigured model were searched: %v", r.Query)
		}
	}
}

func TestRegistryOtherPromotedAlias(t *testing.T) {
	f := registryFake(t)
	c := newClient(t, f, func(o *mlflow.Options) {
		o.PromotedAlias = "challenger"
		o.Models = []string{"fraud-detector"}
	})

	got := fetchTracking(t, c).Registry

	// challenger is v8; v9 is pending, v10 waits, v11 is archived. v7 is
	// older than the promoted version, so it does not wait.
	want := sources.Registry{
		PromotedAlias: "challenger",
		Promoted:      []sources.ModelVersion{mv("fraud-detector", "8", "None", day(29, 4), "challenger")},
		Waiting:       []sources.ModelVersion{mv("fraud-detector", "10", "Staging", day(29, 6))},
	}
	got.Versions = nil // what the doctor reads; doctor_test.go checks it
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("registry:\n got %+v\nwant %+v", got, want)
	}
}

func TestAnEmptyRegistry(t *testing.T) {
	f := newFake(t)
	f.experiments = []fakeExperiment{{ID: "1", Name: "recommendation-v3"}}
	c := newClient(t, f, nil)

	got := fetchTracking(t, c).Registry

	if !reflect.DeepEqual(got, sources.Registry{PromotedAlias: "champion"}) {
		t.Errorf("registry %+v", got)
	}
	if len(f.calls("model-versions/search")) != 0 {
		t.Errorf("no model, no version search")
	}
}
