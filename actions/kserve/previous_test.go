package kserve

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/mltop/mltop/sources"
)

func revision(name, uri string) *unstructured.Unstructured {
	r := &unstructured.Unstructured{}
	r.SetAPIVersion("serving.knative.dev/v1")
	r.SetKind("Revision")
	r.SetNamespace("ml-prod")
	r.SetName(name)
	if uri != "" {
		r.SetAnnotations(map[string]string{StorageURIAnnotation: uri})
	}
	return r
}

func revisionClient(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{knativeRevisions(): "RevisionList"}, objs...)
}

func TestRevisionModel(t *testing.T) {
	ctx := context.Background()
	dyn := revisionClient(
		revision("fraud-detector-predictor-00001", "gs://models/fraud/1/model"),
		revision("fraud-detector-predictor-00002", "gs://models/fraud/2/model"),
		revision("fraud-detector-predictor-00003", "gs://models/fraud/3/model"),
	)
	find := RevisionModel(dyn)

	// A canary in progress: the stable revision still serves the previous model.
	canary := sources.Service{Namespace: "ml-prod", Name: "fraud-detector", StorageURI: "gs://models/fraud/3/model",
		StableRevision: "fraud-detector-predictor-00002", CanaryRevision: "fraud-detector-predictor-00003",
		PreviousRevision: "fraud-detector-predictor-00001", CanaryPercent: 20, HasCanaryPercent: true}
	if uri, err := find(ctx, canary); err != nil || uri != "gs://models/fraud/2/model" {
		t.Fatalf("canary: %q, %v", uri, err)
	}

	// Promoted all the way: the rolled-out revision serves the current model,
	// so the previously rolled-out one holds the previous model.
	promoted := sources.Service{Namespace: "ml-prod", Name: "fraud-detector", StorageURI: "gs://models/fraud/3/model",
		StableRevision: "fraud-detector-predictor-00003", PreviousRevision: "fraud-detector-predictor-00002"}
	if uri, err := find(ctx, promoted); err != nil || uri != "gs://models/fraud/2/model" {
		t.Fatalf("promoted: %q, %v", uri, err)
	}

	// Nothing but the current model: a clear reason, naming what was read.
	only := sources.Service{Namespace: "ml-prod", Name: "fraud-detector", StorageURI: "gs://models/fraud/3/model",
		StableRevision: "fraud-detector-predictor-00003"}
	if _, err := find(ctx, only); err == nil || !strings.Contains(err.Error(), "fraud-detector-predictor-00003") {
		t.Fatalf("only the current model: %v", err)
	}
	if _, err := find(ctx, sources.Service{Namespace: "ml-prod", Name: "raw"}); err == nil ||
		!strings.Contains(err.Error(), "no previous revision") {
		t.Fatalf("no revisions: %v", err)
	}
	// A revision that is gone is reported, not fatal to the search.
	gone := promoted
	gone.PreviousRevision = "fraud-detector-predictor-00009"
	if _, err := find(ctx, gone); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing revision: %v", err)
	}
}
