package kube

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mltop/mltop/sources"
)

func TestServiceFromFixtures(t *testing.T) {
	const failedMsg = `Revision "sentiment-predictor-00001" failed with message: Container failed with: ` +
		`mlserver.errors.InvalidModelURI: Invalid URI specified for model sentiment (/mnt/models/MLmodel).`
	cases := []struct {
		fixture    string
		want       sources.Service
		conditions int
		inCanary   bool
	}{
		{
			fixture: "knative-healthy",
			want: sources.Service{
				Namespace: "ml-prod", Name: "recommender", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 2, MaxReplicas: 6,
				StorageURI: "gs://ml-models/recommender/v7", ModelFormat: "pytorch", Runtime: "kserve-torchserve",
				StableRevision: "recommender-predictor-00003", PreviousRevision: "recommender-predictor-00002",
				Traffic: []sources.TrafficTarget{{Revision: "recommender-predictor-00003", Percent: 100, Latest: true}},
				GPU:     true, ResourceVersion: "771002",
			},
			conditions: 7,
		},
		{
			// Status (Standard) wins over the annotation (RawDeployment); the
			// ignored canaryTrafficPercent is reported as set, yet there is no
			// revision, no traffic and so no canary.
			fixture: "raw-deployment",
			want: sources.Service{
				Namespace: "ml-prod", Name: "churn-xgb", Mode: sources.ModeStandard, Ready: true,
				MinReplicas: 1, MaxReplicas: 3, CanaryPercent: 10, HasCanaryPercent: true,
				StorageURI: "s3://ml-models/churn/14/artifacts/model", ModelFormat: "xgboost", Runtime: "kserve-xgbserver",
				ResourceVersion: "772310",
			},
			conditions: 3,
		},
		{
			fixture: "knative-canary",
			want: sources.Service{
				Namespace: "ml-prod", Name: "fraud-model", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 1, MaxReplicas: 4, CanaryPercent: 20, HasCanaryPercent: true,
				StorageURI: "s3://models/fraud/2/artifacts/model", ModelFormat: "sklearn", Runtime: "kserve-sklearnserver",
				StableRevision: "fraud-model-predictor-00001", CanaryRevision: "fraud-model-predictor-00002",
				Traffic: []sources.TrafficTarget{
					{Revision: "fraud-model-predictor-00001", Percent: 80, Tag: "prev"},
					{Revision: "fraud-model-predictor-00002", Percent: 20, Latest: true},
				},
				ResourceVersion: "884213",
			},
			conditions: 7,
			inCanary:   true,
		},
		{
			fixture: "failed-load",
			want: sources.Service{
				Namespace: "ml-prod", Name: "sentiment", Mode: sources.ModeKnative, Ready: false, Reason: failedMsg,
				MinReplicas: 1, MaxReplicas: 2,
				StorageURI: "s3://ml-models/sentiment/3/artifacts", ModelFormat: "mlflow", Runtime: "kserve-mlserver",
				ResourceVersion: "901877",
			},
			conditions: 7,
		},
		{
			// KServe <= 0.15: Serverless is Knative, the legacy sklearn field
			// gives format and storage, minReplicas 0 stays 0 (scale to zero).
			fixture: "legacy-sklearn",
			want: sources.Service{
				Namespace: "ml-staging", Name: "sklearn-iris", Mode: sources.ModeKnative, Ready: true,
				MinReplicas: 0, MaxReplicas: 0,
				StorageURI: "gs://kfserving-examples/models/sklearn/1.0/model", ModelFormat: "sklearn",
				StableRevision:  "sklearn-iris-predictor-default-00001",
				Traffic:         []sources.TrafficTarget{{Revision: "sklearn-iris-predictor-default-00001", Percent: 100, Latest: true}},
				ResourceVersion: "51234",
			},
			conditions: 5,
		},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			got := ServiceFrom(loadFixture(t, tc.fixture))
			if len(got.Conditions) != tc.conditions {
				t.Errorf("%d conditions, want %d: %+v", len(got.Conditions), tc.conditions, got.Conditions)
			}
			conds := got.Conditions
			got.Conditions = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ServiceFrom:\n got %+v\nwant %+v", got, tc.want)
			}
			if got.InCanary() != tc.inCanary {
				t.Errorf("InCanary = %v, want %v", got.InCanary(), tc.inCanary)
			}
			ready, ok := findCondition(conds, "Ready")
			if !ok || (ready.Status == "True") != tc.want.Ready {
				t.Errorf("Ready condition %+v does not match Ready %v", ready, tc.want.Ready)
			}
		})
	}
}

func TestFailedLoadConditionsKeepReasonsAndMessages(t *testing.T) {
	got := ServiceFrom(loadFixture(t, "failed-load"))
	route, ok := findCondition(got.Conditions, "PredictorRouteReady")
	want := sources.Condition{Type: "PredictorRouteReady", Status: "False", Reason: "RevisionMissing",
		Message: `Configuration "sentiment-predictor" does not have any ready Revision.`}
	if !ok || route != want {
		t.Errorf("PredictorRouteReady = %+v, want %+v", route, want)
	}
}

func TestDeploymentMode(t *testing.T) {
	cases := []struct{ status, annotation, want string }{
		{"Knative", "", sources.ModeKnative},
		{"Serverless", "", sources.ModeKnative},
		{"RawDeployment", "", sources.ModeStandard},
		{"Standard", "", sources.ModeStandard},
		{"ModelMesh", "", sources.ModeModelMesh},
		{"", "Serverless", sources.ModeKnative},
		{"", "RawDeployment", sources.ModeStandard},
		{"", "Standard", sources.ModeStandard},
		{"", "rawdeployment", sources.ModeStandard},
		// Once status records a mode, KServe ignores the annotation.
		{"Knative", "RawDeployment", sources.ModeKnative},
		{"Standard", "Serverless", sources.ModeStandard},
		// An unknown status value does not hide a known annotation.
		{"Quantum", "Standard", sources.ModeStandard},
		{"", "", ""},
		{"Quantum", "", ""},
	}
	for _, tc := range cases {
		if got := deploymentMode(tc.status, tc.annotation); got != tc.want {
			t.Errorf("deploymentMode(%q, %q) = %q, want %q", tc.status, tc.annotation, got, tc.want)
		}
	}
}

// The canary is found by latestRevision and tag, whatever the order of
// the traffic entries.
func TestCanaryDoesNotDependOnTrafficOrder(t *testing.T) {
	u := loadFixture(t, "knative-canary")
	traffic, _, _ := unstructured.NestedSlice(u.Object, "status", "components", "predictor", "traffic")
	reversed := []any{traffic[1], traffic[0]}
	if err := unstructured.SetNestedSlice(u.Object, reversed, "status", "components", "predictor", "traffic"); err != nil {
		t.Fatal(err)
	}
	got := ServiceFrom(u)
	if got.StableRevision != "fraud-model-predictor-00001" || got.CanaryRevision != "fraud-model-predictor-00002" {
		t.Errorf("stable %q canary %q", got.StableRevision, got.CanaryRevision)
	}
	if got.Traffic[0].Revision != "fraud-model-predictor-00002" || got.Traffic[0].Percent != 20 || !got.Traffic[0].Latest {
		t.Errorf("traffic entries are not reported in status order: %+v", got.Traffic)
	}
}

func TestCanaryStates(t *testing.T) {
	cases := []struct {
		name          string
		canaryPercent any // nil: absent
		latestPercent int64
		rolledOut     string
		wantCanary    string
		wantInCanary  bool
	}{
		{"in progress", int64(20), 20, "fraud-model-predictor-00001", "fraud-model-predictor-00002", true},
		// Rolled back / pinned: latest at 0 % is still the canary revision,
		// but no canary receives traffic.
		{"pinned to previous", int64(0), 0, "fraud-model-predictor-00001", "fraud-model-predictor-00002", false},
		// Promoted: the latest takes everything.
		{"promoted", nil, 100, "fraud-model-predictor-00001", "", false},
		// Fully rolled out: latest ready is the rolled-out revision.
		{"rolled out", nil, 100, "fraud-model-predictor-00002", "", false},
		// First deploy: nothing rolled out yet, so nothing to compare with.
		{"first deploy", nil, 100, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := loadFixture(t, "knative-canary")
			if tc.canaryPercent == nil {
				unstructured.RemoveNestedField(u.Object, "spec", "predictor", "canaryTrafficPercent")
			} else {
				_ = unstructured.SetNestedField(u.Object, tc.canaryPercent, "spec", "predictor", "canaryTrafficPercent")
			}
			traffic := []any{map[string]any{"latestRevision": true, "percent": tc.latestPercent, "revisionName": "fraud-model-predictor-00002"}}
			if tc.latestPercent < 100 {
				traffic = append(traffic, map[string]any{"latestRevision": false, "percent": 100 - tc.latestPercent,
					"revisionName": "fraud-model-predictor-00001", "tag": "prev"})
			}
			_ = unstructured.SetNestedSlice(u.Object, traffic, "status", "components", "predictor", "traffic")
			_ = unstructured.SetNestedField(u.Object, tc.rolledOut, "status", "components", "predictor", "latestRolledoutRevision")
			got := ServiceFrom(u)
			if got.CanaryRevision != tc.wantCanary || got.InCanary() != tc.wantInCanary {
				t.Errorf("canary %q InCanary %v, want %q %v", got.CanaryRevision, got.InCanary(), tc.wantCanary, tc.wantInCanary)
			}
		})
	}
}

func TestFailureReasonPreference(t *testing.T) {
	cond := func(typ, status, reason, msg string) sources.Condition {
		return sources.Condition{Type: typ, Status: status, Reason: reason, Message: msg}
	}
	cases := []struct {
		name        string
		conds       []sources.Condition
		loadFailure string
		want        string
	}{
		{"predictor message first",
			[]sources.Condition{cond("Ready", "False", "", "ready says"), cond("PredictorReady", "False", "", "predictor says")},
			"load says", "predictor says"},
		{"load failure before Ready",
			[]sources.Condition{cond("Ready", "False", "", "ready says"), cond("PredictorReady", "False", "RevisionMissing", "")},
			"load says", "load says"},
		{"Ready when nothing better",
			[]sources.Condition{cond("IngressReady", "False", "", "ingress says"), cond("Ready", "False", "", "ready says")},
			"", "ready says"},
		{"another failing condition",
			[]sources.Condition{cond("IngressReady", "False", "", "ingress says"), cond("Ready", "False", "", "")},
			"", "ingress says"},
		{"False before Unknown",
			[]sources.Condition{cond("PredictorReady", "Unknown", "", "still rolling"), cond("IngressReady", "False", "", "no gateway")},
			"", "no gateway"},
		{"Unknown in progress",
			[]sources.Condition{cond("PredictorReady", "Unknown", "", "Waiting for the revision"), cond("Ready", "Unknown", "", "")},
			"", "Waiting for the revision"},
		{"reason when no message",
			[]sources.Condition{cond("Ready", "False", "RevisionMissing", "")},
			"", "Ready: RevisionMissing"},
		{"no status yet", nil, "", "no Ready condition yet: the KServe controller has not reported on it"},
		{"True conditions only", []sources.Condition{cond("Ready", "True", "", "")}, "", ""},
	}
	for _, tc := range cases {
		if got := failureReason(tc.conds, tc.loadFailure); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Everything from the cluster is cleaned: a message or name carrying escape
// sequences would otherwise move the cursor or retitle the terminal.
func TestServiceFromCleansText(t *testing.T) {
	u := loadFixture(t, "failed-load")
	hostile := "evil\x1b[2J\x1b]0;owned\x07name"
	u.SetName(hostile)
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m := c.(map[string]any)
		m["message"] = "bad\x1b[31m red\x1b[0m\nsecond line"
		m["reason"] = "Re\u009b1mason"
	}
	_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, "s3://b\x1b[1mx", "spec", "predictor", "model", "storageUri")
	_ = unstructured.SetNestedField(u.Object, "rev\x07-1", "status", "components", "predictor", "latestRolledoutRevision")

	got := ServiceFrom(u)
	checks := map[string]string{
		"name":    got.Name,
		"reason":  got.Reason,
		"storage": got.StorageURI,
		"stable":  got.StableRevision,
		"cond":    got.Conditions[0].Message,
		"creason": got.Conditions[0].Reason,
	}
	want := map[string]string{
		"name": "evilname", "reason": "bad red second line", "storage": "s3://bx", "stable": "rev-1",
		"cond": "bad red second line", "creason": "Reason",
	}
	for k, v := range checks {
		if v != want[k] {
			t.Errorf("%s = %q, want %q", k, v, want[k])
		}
	}
}

func TestGPUDetection(t *testing.T) {
	res := func(kind, name string, amount any) map[string]any {
		return map[string]any{"resources": map[string]any{kind: map[string]any{name: amount}}}
	}
	cases := []struct {
		name      string
		predictor map[string]any
		want      bool
	}{
		{"nvidia limit", map[string]any{"model": res("limits", "nvidia.com/gpu", "1")}, true},
		{"nvidia request as number", map[string]any{"model": res("requests", "nvidia.com/gpu", int64(2))}, true},
		{"amd", map[string]any{"model": res("limits", "amd.com/gpu", "1")}, true},
		{"mig slice", map[string]any{"model": res("limits", "nvidia.com/mig-1g.5gb", "1")}, true},
		{"zero gpus", map[string]any{"model": res("limits", "nvidia.com/gpu", "0")}, false},
		{"cpu only", map[string]any{"model": res("limits", "cpu", "4")}, false},
		{"legacy framework", map[string]any{"pytorch": res("limits", "nvidia.com/gpu", "1")}, true},
		{"custom container", map[string]any{"containers": []any{res("limits", "nvidia.com/gpu", "1")}}, true},
		{"worker spec", map[string]any{"workerSpec": res("limits", "nvidia.com/gpu", "1")}, true},
		{"garbage amount", map[string]any{"model": res("limits", "nvidia.com/gpu", "lots")}, false},
		{"nothing", map[string]any{}, false},
	}
	for _, tc := range cases {
		if got := requestsGPU(tc.predictor); got != tc.want {
			t.Errorf("%s: GPU = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An object with no spec fields and no status maps to KServe's defaults
// and says why it is not ready, without panicking.
func TestServiceFromBareObject(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "new", "namespace": "ml-dev"},
	}}
	got := ServiceFrom(u)
	want := sources.Service{Namespace: "ml-dev", Name: "new", MinReplicas: 1,
		Reason: "no Ready condition yet: the KServe controller has not reported on it"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// Objects decoded by encoding/json hold float64 numbers; they map the same.
func TestServiceFromFloatNumbers(t *testing.T) {
	raw, err := loadFixture(t, "knative-canary").MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		t.Fatal(err)
	}
	got := ServiceFrom(&unstructured.Unstructured{Object: obj})
	if got.MinReplicas != 1 || got.MaxReplicas != 4 || got.CanaryPercent != 20 || got.Traffic[0].Percent != 80 {
		t.Errorf("float decoding: %+v", got)
	}
}

// The cache keeps services without managed fields and kubectl's copy of
// the last applied object; what the pane reads is unchanged.
func TestTrimServiceKeepsWhatIsRead(t *testing.T) {
	u := loadFixture(t, "knative-canary")
	u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}})
	a := u.GetAnnotations()
	a[corev1.LastAppliedConfigAnnotation] = `{"apiVersion":"serving.kserve.io/v1beta1"}`
	u.SetAnnotations(a)
	before := ServiceFrom(u)
	out, err := trimService(u)
	if err != nil {
		t.Fatal(err)
	}
	trimmed := out.(*unstructured.Unstructured)
	if len(trimmed.GetManagedFields()) != 0 || trimmed.GetAnnotations()[corev1.LastAppliedConfigAnnotation] != "" {
		t.Error("managed fields or last-applied annotation kept")
	}
	if trimmed.GetAnnotations()[DeploymentModeAnnotation] != "Serverless" {
		t.Error("the deployment mode annotation was dropped")
	}
	if !reflect.DeepEqual(ServiceFrom(trimmed), before) {
		t.Error("trimming changed the service")
	}
}
