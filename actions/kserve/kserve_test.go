package kserve

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/sources"
)

// withPin marks a fixture as pinned by mltop from the given value.
func withPin(obj *unstructured.Unstructured, pinnedFrom string, minReplicas int64) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	ann := obj.GetAnnotations()
	ann[PinnedFromAnnotation] = pinnedFrom
	obj.SetAnnotations(ann)
	_ = unstructured.SetNestedField(obj.Object, minReplicas, "spec", "predictor", "minReplicas")
	return obj
}

func withMinReplicas(obj *unstructured.Unstructured, n int64) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	_ = unstructured.SetNestedField(obj.Object, n, "spec", "predictor", "minReplicas")
	return obj
}

func previousModelOf(uri string, err error) func(context.Context, sources.Service) (string, error) {
	return func(context.Context, sources.Service) (string, error) { return uri, err }
}

// TestEachActionSendsItsExactMergePatchAfterADryRun runs every action
// through plan, preflight and execute against the fake API server and checks
// the requests on the wire: the access review, then the dry run of the exact
// patch, then the same patch for real, as a JSON merge patch carrying the
// observed resourceVersion; and that the service ends in the intended state.
func TestEachActionSendsItsExactMergePatchAfterADryRun(t *testing.T) {
	cases := []struct {
		name    string
		fixture *unstructured.Unstructured
		req     actions.Request
		prev    string
		body    string
		summary string
		after   func(t *testing.T, obj *unstructured.Unstructured)
	}{{
		name:    "promote removes canaryTrafficPercent",
		fixture: loadFixture(t, "knative-canary"),
		req:     actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"},
		body:    `{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"canaryTrafficPercent":null}}}`,
		summary: "canaryTrafficPercent 20 -> removed: all traffic to fraud-model-predictor-00002",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "predictor", "canaryTrafficPercent"); found {
				t.Error("canaryTrafficPercent still set")
			}
		},
	}, {
		name:    "rollback sets canaryTrafficPercent 0",
		fixture: loadFixture(t, "knative-canary"),
		req:     actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"},
		body:    `{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"canaryTrafficPercent":0}}}`,
		summary: "canaryTrafficPercent 20 -> 0: all traffic to fraud-model-predictor-00001",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if n, _ := intAt(obj.Object, "spec", "predictor", "canaryTrafficPercent"); n != 0 {
				t.Errorf("canaryTrafficPercent %d", n)
			}
		},
	}, {
		name:    "rollback to the previous model sets storageUri and 0",
		fixture: loadFixture(t, "knative-canary"),
		req:     actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model", ToPreviousModel: true},
		prev:    "s3://models/fraud/1/artifacts/model",
		body:    `{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"canaryTrafficPercent":0,"model":{"storageUri":"s3://models/fraud/1/artifacts/model"}}}}`,
		summary: "canaryTrafficPercent 20 -> 0: all traffic to fraud-model-predictor-00001; storageUri -> s3://models/fraud/1/artifacts/model (a new revision, 0 % until promoted)",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if got := stringAt(obj.Object, "spec", "predictor", "model", "storageUri"); got != "s3://models/fraud/1/artifacts/model" {
				t.Errorf("storageUri %q", got)
			}
		},
	}, {
		name:    "rollback to the previous model in a legacy framework field, no canary",
		fixture: loadFixture(t, "legacy-sklearn"),
		req:     actions.Request{Kind: actions.Rollback, Namespace: "ml-staging", Name: "sklearn-iris", ToPreviousModel: true},
		prev:    "gs://kfserving-examples/models/sklearn/0.9/model",
		body:    `{"metadata":{"resourceVersion":"51234"},"spec":{"predictor":{"sklearn":{"storageUri":"gs://kfserving-examples/models/sklearn/0.9/model"}}}}`,
		summary: "storageUri gs://kfserving-examples/models/sklearn/1.0/model -> gs://kfserving-examples/models/sklearn/0.9/model: a new revision serves the previous model and takes all traffic once Ready",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if got := stringAt(obj.Object, "status", "components", "predictor", "latestReadyRevision"); got != "sklearn-iris-predictor-default-00002" {
				t.Errorf("the new revision should serve: latest ready %q", got)
			}
		},
	}, {
		name:    "pin records the previous minReplicas",
		fixture: loadFixture(t, "legacy-sklearn"),
		req:     actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris"},
		body:    `{"metadata":{"annotations":{"mltop.io/pinned-from-min-replicas":"0"},"resourceVersion":"51234"},"spec":{"predictor":{"minReplicas":1}}}`,
		summary: "minReplicas 0 -> 1 (annotation mltop.io/pinned-from-min-replicas keeps 0 for --unpin)",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if n, _ := intAt(obj.Object, "spec", "predictor", "minReplicas"); n != 1 {
				t.Errorf("minReplicas %d", n)
			}
			if got := obj.GetAnnotations()[PinnedFromAnnotation]; got != "0" {
				t.Errorf("annotation %q", got)
			}
		},
	}, {
		name:    "pin of an unset minReplicas records absent",
		fixture: loadFixture(t, "raw-deployment"),
		req:     actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "churn-xgb", MinReplicas: 2},
		body:    `{"metadata":{"annotations":{"mltop.io/pinned-from-min-replicas":"absent"},"resourceVersion":"772310"},"spec":{"predictor":{"minReplicas":2}}}`,
		summary: "minReplicas unset -> 2 (annotation mltop.io/pinned-from-min-replicas keeps absent for --unpin)",
	}, {
		name:    "unpin restores the recorded value",
		fixture: withPin(loadFixture(t, "legacy-sklearn"), "0", 1),
		req:     actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris", Unpin: true},
		body:    `{"metadata":{"annotations":{"mltop.io/pinned-from-min-replicas":null},"resourceVersion":"51234"},"spec":{"predictor":{"minReplicas":0}}}`,
		summary: "minReplicas 1 -> 0 (restored: the value before mltop pinned it)",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if _, pinned := obj.GetAnnotations()[PinnedFromAnnotation]; pinned {
				t.Error("annotation still set")
			}
		},
	}, {
		name:    "unpin of an unset minReplicas removes it",
		fixture: withPin(loadFixture(t, "raw-deployment"), PinnedFromAbsent, 2),
		req:     actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "churn-xgb", Unpin: true},
		body:    `{"metadata":{"annotations":{"mltop.io/pinned-from-min-replicas":null},"resourceVersion":"772310"},"spec":{"predictor":{"minReplicas":null}}}`,
		summary: "minReplicas 2 -> unset (KServe's default) (restored: the value before mltop pinned it)",
		after: func(t *testing.T, obj *unstructured.Unstructured) {
			if _, found, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "predictor", "minReplicas"); found {
				t.Error("minReplicas still set")
			}
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := revisionPods(tc.fixture.GetNamespace(), "fraud-model-predictor-00001", 2, 2)
			f := newFakeCluster(t, []*unstructured.Unstructured{tc.fixture}, pods...)
			f.reconcile = kserveController
			o := f.options()
			if tc.prev != "" {
				o.PreviousModel = previousModelOf(tc.prev, nil)
			}
			e := f.executor(o)
			ctx := context.Background()

			p, err := e.Plan(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(p.Patch) != tc.body {
				t.Errorf("plan patch\n got %s\nwant %s", p.Patch, tc.body)
			}
			if p.Summary != tc.summary {
				t.Errorf("summary\n got %q\nwant %q", p.Summary, tc.summary)
			}
			if len(f.recorded()) != 1 || f.recorded()[0] != "get inferenceservices" {
				t.Errorf("plan should only read the service: %v", f.recorded())
			}
			pre := e.Preflight(ctx, p)
			if pre.Blocked() {
				t.Fatalf("blocked: %+v", pre.Checks)
			}
			var stages []actions.Stage
			out := e.Execute(ctx, p, pre, func(pr actions.Progress) {
				if pr.PlanID != p.ID {
					t.Errorf("progress for plan %q, want %q", pr.PlanID, p.ID)
				}
				stages = append(stages, pr.Stage)
			})
			if out.Result != actions.Succeeded {
				t.Fatalf("outcome %+v", out)
			}
			if !slices.Contains(stages, actions.StageApply) || !slices.Contains(stages, actions.StageVerify) || stages[len(stages)-1] != actions.StageDone {
				t.Errorf("stages %v", stages)
			}

			sent := f.sentPatches()
			if len(sent) != 2 {
				t.Fatalf("want a dry run and a patch, got %+v", sent)
			}
			for i, s := range sent {
				if s.Type != types.MergePatchType {
					t.Errorf("patch %d type %s, want %s", i, s.Type, types.MergePatchType)
				}
				if s.Body != tc.body {
					t.Errorf("patch %d body\n got %s\nwant %s", i, s.Body, tc.body)
				}
				if s.FieldManager != "mltop" {
					t.Errorf("patch %d field manager %q", i, s.FieldManager)
				}
			}
			if !slices.Equal(sent[0].DryRun, []string{metav1.DryRunAll}) || sent[1].DryRun != nil {
				t.Errorf("dry runs %v then %v, want [All] then none", sent[0].DryRun, sent[1].DryRun)
			}
			order := f.recorded()
			ssar := slices.Index(order, "create selfsubjectaccessreviews")
			dry := slices.Index(order, "patch inferenceservices (dry run)")
			real := slices.Index(order, "patch inferenceservices")
			if ssar < 0 || dry < ssar || real < dry {
				t.Errorf("request order %v: want the access review, then the dry run, then the patch", order)
			}
			if tc.after != nil {
				tc.after(t, f.get(tc.fixture.GetNamespace(), tc.fixture.GetName()))
			}
		})
	}
}

func TestPlanDescribesTheChangeForTheDiff(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "legacy-sklearn")})
	o := f.options()
	o.Protected = []string{"ml-prod"}
	o.PreviousModel = previousModelOf("s3://models/fraud/1/artifacts/model", nil)
	e := f.executor(o)
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model", ToPreviousModel: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []actions.Change{
		{Path: "spec.predictor.canaryTrafficPercent", From: "20", To: "0"},
		{Path: "spec.predictor.model.storageUri", From: "s3://models/fraud/2/artifacts/model", To: "s3://models/fraud/1/artifacts/model"},
	}
	if !slices.Equal(p.Changes, want) {
		t.Errorf("changes %+v\nwant %+v", p.Changes, want)
	}
	if !p.Protected || p.Context != "prod-gke" || p.ResourceVersion != "884213" || p.Service.Name != "fraud-model" {
		t.Errorf("plan %+v", p)
	}
	if p.Intent.CanaryPercent == nil || *p.Intent.CanaryPercent != 0 || p.Intent.CanaryTraffic == nil || *p.Intent.CanaryTraffic != 0 ||
		p.Intent.StorageURI != "s3://models/fraud/1/artifacts/model" {
		t.Errorf("intent %+v", p.Intent)
	}

	pin, err := e.Plan(context.Background(), actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris", MinReplicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantPin := []actions.Change{
		{Path: "spec.predictor.minReplicas", From: "0", To: "2"},
		{Path: `metadata.annotations["mltop.io/pinned-from-min-replicas"]`, FromAbsent: true, To: "0"},
	}
	if !slices.Equal(pin.Changes, wantPin) {
		t.Errorf("pin changes %+v\nwant %+v", pin.Changes, wantPin)
	}
	if pin.Protected {
		t.Error("ml-staging is not protected")
	}
	if pin.ID == p.ID {
		t.Errorf("plan IDs repeat: %s", p.ID)
	}
}

func TestPlanIDsAreUniqueEvenAtTheSameInstant(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	o := f.options()
	o.Now = func() time.Time { return time.Date(2026, 8, 20, 3, 12, 0, 0, time.UTC) }
	e := f.executor(o)
	seen := map[string]bool{}
	for range 5 {
		p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.ID] {
			t.Fatalf("repeated plan ID %s", p.ID)
		}
		seen[p.ID] = true
	}
}

func TestAStaleResourceVersionReplansAndOverwritesNothing(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.reconcile = kserveController
	e := f.executor(f.options())
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, p)
	if pre.Blocked() {
		t.Fatalf("blocked: %+v", pre.Checks)
	}

	// A colleague raises the canary to 50 % while the dialog is open.
	obj := f.get("ml-prod", "fraud-model")
	_ = unstructured.SetNestedField(obj.Object, int64(50), "spec", "predictor", "canaryTrafficPercent")
	f.update(obj)
	changedRV := f.get("ml-prod", "fraud-model").GetResourceVersion()

	out := e.Execute(ctx, p, pre, nil)
	if out.Result != actions.Conflict {
		t.Fatalf("outcome %+v", out)
	}
	wantMsg := "canaryTrafficPercent is now 50 (was 20 when planned); nothing was changed"
	if out.Message != wantMsg {
		t.Errorf("message %q, want %q", out.Message, wantMsg)
	}
	if out.Replanned == nil {
		t.Fatal("no fresh plan")
	}
	if out.Replanned.ResourceVersion != changedRV || out.Replanned.ID == p.ID ||
		out.Replanned.Summary != "canaryTrafficPercent 50 -> 0: all traffic to fraud-model-predictor-00001" {
		t.Errorf("fresh plan %+v", out.Replanned)
	}
	if real := f.realPatches(); len(real) != 1 {
		t.Errorf("want exactly the one refused patch, got %d: the write must never be retried blindly", len(real))
	}
	after := f.get("ml-prod", "fraud-model")
	if n, _ := intAt(after.Object, "spec", "predictor", "canaryTrafficPercent"); n != 50 || after.GetResourceVersion() != changedRV {
		t.Errorf("the colleague's change was overwritten: canary %d, rv %s", n, after.GetResourceVersion())
	}
}

func TestAStalePlanFailsTheDryRun(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 1)...)
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	f.update(f.get("ml-prod", "fraud-model"))
	pre := e.Preflight(context.Background(), p)
	c := check(t, pre, CheckDryRun)
	if c.Status != actions.CheckFail || !strings.Contains(c.Detail, "changed since the plan") || c.Remedy == "" {
		t.Errorf("dry-run check %+v", c)
	}
}

func TestADeniedAccessReviewRefusesWithItsReasonAndSendsNoPatch(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.allowed = false
	f.reason = `RBAC: role "ml-viewer" does not allow patch`
	auditLog, path := openAudit(t)
	o := f.options()
	o.Audit = auditLog
	e := f.executor(o)
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, p)
	access := check(t, pre, CheckAccess)
	if access.Status != actions.CheckFail || !strings.Contains(access.Detail, `RBAC: role "ml-viewer" does not allow patch`) || access.Remedy == "" {
		t.Errorf("access check %+v", access)
	}
	if dry := check(t, pre, CheckDryRun); dry.Status != actions.CheckSkip {
		t.Errorf("dry-run check %+v, want skipped after a denial", dry)
	}
	out := e.Execute(ctx, p, pre, nil)
	if out.Result != actions.Refused || !strings.Contains(out.Message, "RBAC: role") || !strings.Contains(out.Message, "nothing was sent") {
		t.Errorf("outcome %+v", out)
	}
	if sent := f.sentPatches(); len(sent) != 0 {
		t.Errorf("patches were sent: %+v", sent)
	}
	entries, err := audit.Read(path)
	if err != nil || len(entries) != 1 || entries[0].Result != actions.Refused {
		t.Fatalf("audit %+v, %v", entries, err)
	}
}

func TestAFailedAccessReviewOnlyWarnsBecauseTheDryRunAsksTheSame(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "legacy-sklearn")})
	f.typed.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("authorizer down")
	})
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(context.Background(), p)
	if c := check(t, pre, CheckAccess); c.Status != actions.CheckWarn || !strings.Contains(c.Detail, "authorizer down") {
		t.Errorf("access %+v", c)
	}
	if c := check(t, pre, CheckDryRun); c.Status != actions.CheckPass {
		t.Errorf("dry run %+v", c)
	}
}

func TestTheDryRunRejectionIsShown(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 1)...)
	f.dyn.PrependReactor("patch", "inferenceservices", func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(inferenceServices().GroupResource(), "fraud-model",
			errors.New(`admission webhook "freeze.example.com" denied the request: change freeze until 06:00`))
	})
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(context.Background(), p)
	if c := check(t, pre, CheckDryRun); c.Status != actions.CheckFail || !strings.Contains(c.Detail, "change freeze until 06:00") {
		t.Errorf("dry run %+v", c)
	}
	if !pre.Blocked() {
		t.Error("not blocked")
	}
}

func TestPreviousRevisionWithoutReadyPodsFailsWithTheRemedy(t *testing.T) {
	fixture := loadFixture(t, "knative-canary")
	f := newFakeCluster(t, []*unstructured.Unstructured{fixture}, revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 0)...)
	o := f.options()
	o.PreviousModel = previousModelOf("s3://models/fraud/1/artifacts/model", nil)
	e := f.executor(o)
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, p)
	c := check(t, pre, CheckPreviousRevision)
	if c.Status != actions.CheckFail || !strings.Contains(c.Detail, "fraud-model-predictor-00001 has no ready pods (0/1)") ||
		!strings.Contains(c.Detail, "cold start") {
		t.Errorf("previous-revision check %+v", c)
	}
	if !strings.Contains(c.Remedy, "pin minReplicas first") || !strings.Contains(c.Remedy, "--to-previous-model") {
		t.Errorf("remedy %q", c.Remedy)
	}
	if out := e.Execute(ctx, p, pre, nil); out.Result != actions.Refused || !strings.Contains(out.Message, "previous-revision") {
		t.Errorf("outcome %+v", out)
	}

	// The remedy it names is accepted: by model, the cold revision warns.
	byModel, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model", ToPreviousModel: true})
	if err != nil {
		t.Fatal(err)
	}
	pre = e.Preflight(ctx, byModel)
	if c := check(t, pre, CheckPreviousRevision); c.Status != actions.CheckWarn {
		t.Errorf("previous-revision check by model %+v", c)
	}
	if pre.Blocked() {
		t.Errorf("rollback by model blocked: %+v", pre.Checks)
	}
	if real := f.realPatches(); len(real) != 0 {
		t.Errorf("patched: %+v", real)
	}
}

func TestPreviousRevisionReadyPasses(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")},
		append(revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2), revisionPods("ml-prod", "fraud-model-predictor-00002", 3, 0)...)...)
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(context.Background(), p)
	if c := check(t, pre, CheckPreviousRevision); c.Status != actions.CheckPass || c.Detail != "previous revision fraud-model-predictor-00001 Ready, 2/2 pods ready" {
		t.Errorf("previous-revision check %+v", c)
	}
	if c := check(t, pre, CheckMinReplicas); c.Status != actions.CheckPass {
		t.Errorf("min-replicas check %+v", c)
	}
}

func TestPreviousRevisionNotReadyFails(t *testing.T) {
	revision := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": "fraud-model-predictor-00001", "namespace": "ml-prod"},
		"status": map[string]any{"conditions": []any{map[string]any{
			"type": "Ready", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "Initial scale was never achieved",
		}}},
	}}
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 1)...)
	if err := f.dyn.Tracker().Add(revision); err != nil {
		t.Fatal(err)
	}
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	c := check(t, e.Preflight(context.Background(), p), CheckPreviousRevision)
	if c.Status != actions.CheckFail || !strings.Contains(c.Detail, "is not Ready: Initial scale was never achieved") {
		t.Errorf("previous-revision check %+v", c)
	}
}

func TestMinReplicasZeroWarnsOfColdStarts(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{withMinReplicas(loadFixture(t, "knative-canary"), 0)},
		revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 1)...)
	e := f.executor(f.options())
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(context.Background(), p)
	c := check(t, pre, CheckMinReplicas)
	if c.Status != actions.CheckWarn || !strings.Contains(c.Detail, "cold-start risk: the previous revision may have scaled to zero") || !strings.Contains(c.Remedy, "pin") {
		t.Errorf("min-replicas check %+v", c)
	}
	if pre.Blocked() {
		t.Errorf("a warning must not block: %+v", pre.Checks)
	}
}

func TestStandardModeExplainsAndRefusesTrafficActionsButPins(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "raw-deployment")})
	f.reconcile = func(obj *unstructured.Unstructured) {
		_ = unstructured.SetNestedField(obj.Object, obj.GetGeneration(), "status", "observedGeneration")
	}
	e := f.executor(f.options())
	ctx := context.Background()
	for _, kind := range []actions.Kind{actions.Promote, actions.Rollback} {
		p, err := e.Plan(ctx, actions.Request{Kind: kind, Namespace: "ml-prod", Name: "churn-xgb"})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "Knative-mode feature") {
			t.Errorf("%s notes %q", kind, p.Notes)
		}
		pre := e.Preflight(ctx, p)
		c := check(t, pre, CheckMode)
		if c.Status != actions.CheckFail || !strings.Contains(c.Detail, "canary traffic (canaryTrafficPercent) is a Knative-mode feature") ||
			!strings.Contains(c.Remedy, "pin minReplicas") {
			t.Errorf("%s mode check %+v", kind, c)
		}
		if kind == actions.Rollback && !strings.Contains(c.Remedy, "--to-previous-model") {
			t.Errorf("rollback remedy %q", c.Remedy)
		}
		if out := e.Execute(ctx, p, pre, nil); out.Result != actions.Refused {
			t.Errorf("%s outcome %+v", kind, out)
		}
	}
	if real := f.realPatches(); len(real) != 0 {
		t.Fatalf("patched: %+v", real)
	}

	pin, err := e.Plan(ctx, actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "churn-xgb"})
	if err == nil {
		t.Fatalf("pinning an unset minReplicas at the default 1 should be refused, got %+v", pin)
	}
	pin, err = e.Plan(ctx, actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "churn-xgb", MinReplicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, pin)
	if pre.Blocked() {
		t.Fatalf("pin blocked: %+v", pre.Checks)
	}
	if out := e.Execute(ctx, pin, pre, nil); out.Result != actions.Succeeded || out.Message != "minReplicas pinned at 2" {
		t.Errorf("pin outcome %+v", out)
	}
}

func TestStandardModeWithoutCanaryExplainsInThePlanError(t *testing.T) {
	obj := loadFixture(t, "raw-deployment")
	unstructured.RemoveNestedField(obj.Object, "spec", "predictor", "canaryTrafficPercent")
	f := newFakeCluster(t, []*unstructured.Unstructured{obj})
	e := f.executor(f.options())
	_, err := e.Plan(context.Background(), actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "churn-xgb"})
	if err == nil || !strings.Contains(err.Error(), "Standard (RawDeployment) mode: canary traffic (canaryTrafficPercent) is a Knative-mode feature") {
		t.Errorf("promote error %v", err)
	}
	_, err = e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "churn-xgb"})
	if err == nil || !strings.Contains(err.Error(), "--to-previous-model") {
		t.Errorf("rollback error %v", err)
	}
}

func TestRollbackByModelInStandardModeLeavesCanaryTrafficAlone(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "raw-deployment")})
	o := f.options()
	o.PreviousModel = previousModelOf("s3://ml-models/churn/13/artifacts/model", nil)
	e := f.executor(o)
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "churn-xgb", ToPreviousModel: true})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"metadata":{"resourceVersion":"772310"},"spec":{"predictor":{"model":{"storageUri":"s3://ml-models/churn/13/artifacts/model"}}}}`
	if string(p.Patch) != want {
		t.Errorf("patch %s\nwant %s", p.Patch, want)
	}
	pre := e.Preflight(context.Background(), p)
	if pre.Blocked() {
		t.Errorf("blocked: %+v", pre.Checks)
	}
	if c := check(t, pre, CheckPreviousRevision); c.Status != actions.CheckSkip {
		t.Errorf("previous-revision %+v", c)
	}
}

func TestPreviousModelProblemsFailTheCheckNotThePlan(t *testing.T) {
	cases := []struct {
		name   string
		lookup func(context.Context, sources.Service) (string, error)
		want   string
	}{
		{"no registry", nil, "no source for the previous model"},
		{"lookup fails", previousModelOf("", errors.New("MLflow: model fraud-model has no version before 2")), "MLflow: model fraud-model has no version before 2"},
		{"mlflow URI", previousModelOf("models:/fraud/1", nil), "KServe does not accept the storage URI models:/fraud/1"},
		{"same model", previousModelOf("s3://models/fraud/2/artifacts/model", nil), "is the one already deployed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 1, 1)...)
			o := f.options()
			o.PreviousModel = tc.lookup
			e := f.executor(o)
			p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model", ToPreviousModel: true})
			if err != nil {
				t.Fatalf("plan failed: %v", err)
			}
			if strings.Contains(string(p.Patch), "storageUri") {
				t.Errorf("patch sets a storageUri: %s", p.Patch)
			}
			pre := e.Preflight(context.Background(), p)
			c := check(t, pre, CheckPreviousModel)
			if c.Status != actions.CheckFail || !strings.Contains(c.Detail, tc.want) {
				t.Errorf("previous-model check %+v, want %q", c, tc.want)
			}
			if out := e.Execute(context.Background(), p, pre, nil); out.Result != actions.Refused {
				t.Errorf("outcome %+v", out)
			}
		})
	}
}

func TestClearErrors(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "knative-healthy"), loadFixture(t, "legacy-sklearn")},
		namespaces("ml-prod", "ml-staging", "empty")...)
	e := f.executor(f.options())
	ctx := context.Background()
	cases := []struct {
		name string
		req  actions.Request
		want string
	}{
		{"missing service", actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "xyz"},
			`no InferenceService "xyz" in namespace ml-prod; it has fraud-model, recommender`},
		{"wrong namespace", actions.Request{Kind: actions.Rollback, Namespace: "ml-prd", Name: "fraud-model"},
			`namespace "ml-prd" does not exist, so it has no InferenceService "fraud-model"; an InferenceService "fraud-model" exists in ml-prod`},
		{"service in another namespace", actions.Request{Kind: actions.Rollback, Namespace: "empty", Name: "fraud-model"},
			`no InferenceService "fraud-model" in namespace empty (it has no InferenceServices); an InferenceService "fraud-model" exists in ml-prod`},
		{"promote without canary", actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "recommender"},
			"recommender has no canary in progress (canaryTrafficPercent is not set)"},
		{"rollback without canary", actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "recommender"},
			"no canary to roll back: recommender has no canaryTrafficPercent set; use --to-previous-model to restore the previous model by storageUri"},
		{"unpin what mltop did not pin", actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "recommender", Unpin: true},
			"recommender was not pinned by mltop"},
		{"pin at the current value", actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "recommender", MinReplicas: 2},
			"recommender's minReplicas is already 2: nothing to pin"},
		{"pin above maxReplicas", actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "recommender", MinReplicas: 7},
			"cannot pin minReplicas at 7: recommender's maxReplicas is 6"},
		{"unknown kind", actions.Request{Kind: "scale", Namespace: "ml-prod", Name: "recommender"}, `unknown action "scale"`},
		{"option of another kind", actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "recommender", ToPreviousModel: true}, "rollback option"},
		{"unpin with a value", actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "recommender", Unpin: true, MinReplicas: 2}, "takes no --min"},
		{"no name", actions.Request{Kind: actions.Pin, Namespace: "ml-prod"}, "needs a service name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Plan(ctx, tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	if real := f.sentPatches(); len(real) != 0 {
		t.Errorf("plans patched: %+v", real)
	}
}

func TestAlreadyRolledBackSaysSo(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	obj := f.get("ml-prod", "fraud-model")
	_ = unstructured.SetNestedField(obj.Object, int64(0), "spec", "predictor", "canaryTrafficPercent")
	f.update(obj)
	_, err := f.executor(f.options()).Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err == nil || !strings.Contains(err.Error(), "already 0") {
		t.Errorf("error %v", err)
	}
}

func TestForbiddenAndMissingKServeAreExplained(t *testing.T) {
	f := newFakeCluster(t, nil, namespaces("ml-prod")...)
	f.dyn.PrependReactor("get", "inferenceservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(inferenceServices().GroupResource(), "fraud-model", errors.New(`User "bob" cannot get resource`))
	})
	_, err := f.executor(f.options()).Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err == nil || !strings.Contains(err.Error(), `you may not read InferenceService "fraud-model" in namespace ml-prod`) || !strings.Contains(err.Error(), `User "bob"`) {
		t.Errorf("forbidden: %v", err)
	}

	g := newFakeCluster(t, nil, namespaces("ml-prod")...)
	notServed := func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(inferenceServices().GroupResource(), "")
	}
	g.dyn.PrependReactor("list", "inferenceservices", notServed)
	_, err = g.executor(g.options()).Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err == nil || !strings.Contains(err.Error(), "is KServe installed?") {
		t.Errorf("no KServe: %v", err)
	}
}

func TestPinningTwiceKeepsTheFirstRecord(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{withPin(loadFixture(t, "legacy-sklearn"), "0", 1)})
	p, err := f.executor(f.options()).Plan(context.Background(), actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris", MinReplicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"metadata":{"resourceVersion":"51234"},"spec":{"predictor":{"minReplicas":3}}}`; string(p.Patch) != want {
		t.Errorf("patch %s\nwant %s", p.Patch, want)
	}
	if len(p.Notes) == 0 || !strings.Contains(p.Notes[0], "--unpin still restores minReplicas 0") {
		t.Errorf("notes %q", p.Notes)
	}
}

func TestVerifySucceedsWhenTheControllerCatchesUpWhileWatching(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.reconcile = kserveController
	f.reconcileOnWatch = true
	e := f.executor(f.options())
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	var messages []string
	out := e.Execute(ctx, p, e.Preflight(ctx, p), func(pr actions.Progress) {
		if pr.Stage == actions.StageVerify {
			messages = append(messages, pr.Message)
		}
	})
	if out.Result != actions.Succeeded || out.Message != "rolled back: all traffic to fraud-model-predictor-00001" {
		t.Fatalf("outcome %+v", out)
	}
	if len(messages) < 2 || !strings.HasPrefix(messages[0], "patched, waiting for traffic 0/100 (now: ") || !strings.Contains(messages[0], "traffic 20/80") ||
		messages[len(messages)-1] != "patched, traffic 0/100 reached" {
		t.Errorf("progress %q", messages)
	}
	if out.Service == nil || out.Service.CanaryPercent != 0 || !out.Service.HasCanaryPercent {
		t.Errorf("final service %+v", out.Service)
	}
	if !slices.Contains(f.recorded(), "watch inferenceservices") {
		t.Errorf("verify did not watch: %v", f.recorded())
	}
}

func TestVerifyPollsWhenTheWatchIsRefused(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	f.dyn.PrependWatchReactor("inferenceservices", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, apierrors.NewForbidden(inferenceServices().GroupResource(), "", errors.New("watch not allowed"))
	})
	e := f.executor(f.options())
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, p)
	// The controller catches up after a few polls.
	gets := 0
	f.dyn.PrependReactor("get", "inferenceservices", func(k8stesting.Action) (bool, runtime.Object, error) {
		gets++
		if gets == 3 {
			f.reconcileWith(kserveController, "ml-prod", "fraud-model")
		}
		return false, nil, nil
	})
	out := e.Execute(ctx, p, pre, nil)
	if out.Result != actions.Succeeded || out.Message != "promoted: all traffic to fraud-model-predictor-00002" {
		t.Fatalf("outcome %+v", out)
	}
	if gets < 3 {
		t.Errorf("%d GETs: verify did not poll", gets)
	}
}

// reconcileWith runs a controller step from inside a reactor, where the
// fake's tracker may be used but its reactor chain must not be re-entered.
func (f *fakeCluster) reconcileWith(step func(*unstructured.Unstructured), namespace, name string) {
	obj := f.get(namespace, name)
	step(obj)
	f.update(obj)
}

func TestVerifyTimesOutWhenTheServiceNeverGetsThere(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	auditLog, path := openAudit(t)
	o := f.options()
	o.VerifyTimeout = 50 * time.Millisecond
	o.Audit = auditLog
	e := f.executor(o)
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	out := e.Execute(ctx, p, e.Preflight(ctx, p), nil)
	if out.Result != actions.TimedOut || !strings.Contains(out.Message, "did not reach the intended state within 50ms: ") || !strings.Contains(out.Message, "traffic 20/80") {
		t.Fatalf("outcome %+v", out)
	}
	entries, err := audit.Read(path)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit %+v %v", entries, err)
	}
	if entries[0].Result != actions.TimedOut || entries[0].Message != out.Message {
		t.Errorf("audit entry %+v", entries[0])
	}
	events, _ := f.typed.CoreV1().Events("ml-prod").List(ctx, metav1.ListOptions{})
	if len(events.Items) != 1 || events.Items[0].Type != corev1.EventTypeWarning {
		t.Errorf("events %+v", events.Items)
	}
}

func TestAuditLinesForSuccessFailureAndDecline(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary"), loadFixture(t, "legacy-sklearn")},
		revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.reconcile = kserveController
	auditLog, path := openAudit(t)
	o := f.options()
	o.Audit = auditLog
	o.Verdict = func(namespace, name string) string {
		return "ROLLBACK at 3m: canary 5xx 4.0% (48/1200) vs stable 0.5% (24/4800)"
	}
	e := f.executor(o)
	ctx := context.Background()

	// Success.
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(ctx, p)
	ok := e.Execute(ctx, p, pre, nil)
	if ok.Result != actions.Succeeded {
		t.Fatalf("outcome %+v", ok)
	}

	// Failure: the API server refuses the write itself.
	pin, err := e.Plan(ctx, actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris"})
	if err != nil {
		t.Fatal(err)
	}
	pinPre := e.Preflight(ctx, pin)
	f.dyn.PrependReactor("patch", "inferenceservices", func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	failed := e.Execute(ctx, pin, pinPre, nil)
	if failed.Result != actions.Failed || !strings.Contains(failed.Message, "etcdserver: request timed out") {
		t.Fatalf("outcome %+v", failed)
	}

	// Declined in the dialog.
	declined, err := e.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	declinedPre := e.Preflight(ctx, declined)
	e.Record(ctx, declined, declinedPre, actions.Outcome{Result: actions.Declined, Message: "declined in the dialog", Duration: 3 * time.Second})

	entries, notes, err := audit.ReadWithNotes(path)
	if err != nil || len(notes) != 0 {
		t.Fatalf("audit: %v %v", err, notes)
	}
	if len(entries) != 3 {
		t.Fatalf("want 3 audit lines, got %d: %+v", len(entries), entries)
	}
	first := entries[0]
	if first.User != "alice@example.com" || first.Context != "prod-gke" || first.Namespace != "ml-prod" || first.Service != "fraud-model" ||
		first.Action != actions.Rollback || first.PlanID != p.ID || first.Result != actions.Succeeded || first.Message != ok.Message ||
		first.ResourceVersion != "884213" || first.Summary != p.Summary || first.DurationMS <= 0 ||
		!strings.HasPrefix(first.Verdict, "ROLLBACK at 3m") || string(first.Patch) != string(p.Patch) || len(first.Checks) != len(pre.Checks) {
		t.Errorf("success line %+v", first)
	}
	if first.Time.IsZero() || first.Time.Year() != 2026 {
		t.Errorf("time from the injected clock: %v", first.Time)
	}
	second := entries[1]
	if second.Action != actions.Pin || second.MinReplicas != 1 || second.Result != actions.Failed || !strings.Contains(second.Message, "etcdserver") {
		t.Errorf("failure line %+v", second)
	}
	third := entries[2]
	if third.Action != actions.Promote || third.Result != actions.Declined || third.DurationMS != 3000 || third.PlanID != declined.ID ||
		third.Message != "declined in the dialog" {
		t.Errorf("declined line %+v", third)
	}
	if c := check(t, declinedPre, CheckVerdict); c.Status != actions.CheckWarn || !strings.Contains(c.Detail, "does not recommend promoting") {
		t.Errorf("verdict check on a promote against ROLLBACK %+v", c)
	}
	// The user is asked once per executor.
	reviews := 0
	for _, r := range f.recorded() {
		if r == "create selfsubjectreviews" {
			reviews++
		}
	}
	if reviews != 1 {
		t.Errorf("%d SelfSubjectReviews, want 1", reviews)
	}
}

func TestAnUnknownUserIsAuditedAsUnknown(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "legacy-sklearn")})
	f.typed.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(metav1.SchemeGroupVersion.WithResource("selfsubjectreviews").GroupResource(), "")
	})
	auditLog, path := openAudit(t)
	o := f.options()
	o.Audit = auditLog
	e := f.executor(o)
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Pin, Namespace: "ml-staging", Name: "sklearn-iris"})
	if err != nil {
		t.Fatal(err)
	}
	e.Record(context.Background(), p, actions.Preflight{PlanID: p.ID}, actions.Outcome{Result: actions.Declined})
	entries, err := audit.Read(path)
	if err != nil || len(entries) != 1 || entries[0].User != "unknown" {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

func TestSuccessRecordsAnEvent(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.reconcile = kserveController
	e := f.executor(f.options())
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	if out := e.Execute(ctx, p, e.Preflight(ctx, p), nil); out.Result != actions.Succeeded {
		t.Fatalf("outcome %+v", out)
	}
	events, err := f.typed.CoreV1().Events("ml-prod").List(ctx, metav1.ListOptions{})
	if err != nil || len(events.Items) != 1 {
		t.Fatalf("events %+v %v", events, err)
	}
	ev := events.Items[0]
	if ev.Reason != "MltopRollback" || ev.Type != corev1.EventTypeNormal || ev.InvolvedObject.Kind != "InferenceService" ||
		ev.InvolvedObject.Name != "fraud-model" || ev.InvolvedObject.APIVersion != "serving.kserve.io/v1beta1" ||
		!strings.Contains(ev.Message, "alice@example.com") || !strings.Contains(ev.Message, p.ID) {
		t.Errorf("event %+v", ev)
	}
}

func TestAFailingEventNeverChangesTheOutcome(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	f.reconcile = kserveController
	f.typed.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("events"), "", errors.New("no events for you"))
	})
	e := f.executor(f.options())
	ctx := context.Background()
	p, err := e.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	if out := e.Execute(ctx, p, e.Preflight(ctx, p), nil); out.Result != actions.Succeeded {
		t.Fatalf("outcome %+v", out)
	}
}

func TestOneActionAtATimePerService(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	o := f.options()
	o.VerifyTimeout = time.Minute // never reached: the test cancels
	e := f.executor(o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	firstPre := e.Preflight(ctx, first)

	verifying := make(chan struct{})
	var once sync.Once
	done := make(chan actions.Outcome)
	go func() {
		done <- e.Execute(ctx, first, firstPre, func(pr actions.Progress) {
			if pr.Stage == actions.StageVerify {
				once.Do(func() { close(verifying) })
			}
		})
	}()
	<-verifying

	second, err := e.Plan(context.Background(), actions.Request{Kind: actions.Pin, Namespace: "ml-prod", Name: "fraud-model", MinReplicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	secondPre := e.Preflight(context.Background(), second)
	c := check(t, secondPre, CheckInFlight)
	if c.Status != actions.CheckFail || !strings.Contains(c.Detail, first.ID) {
		t.Errorf("in-flight check %+v", c)
	}
	// Even with checks from before the first started, Execute refuses.
	secondPre.Checks = slices.DeleteFunc(secondPre.Checks, func(c actions.Check) bool { return c.Name == CheckInFlight })
	if out := e.Execute(context.Background(), second, secondPre, nil); out.Result != actions.Refused || !strings.Contains(out.Message, "another action") {
		t.Errorf("second outcome %+v", out)
	}
	cancel()
	if out := <-done; out.Result != actions.TimedOut || !strings.Contains(out.Message, "mltop stopped waiting") {
		t.Errorf("first outcome %+v", out)
	}
	if c := check(t, e.Preflight(context.Background(), second), CheckInFlight); c.Status != actions.CheckPass {
		t.Errorf("in-flight after the first ended %+v", c)
	}
}

func TestExecuteRefusesPreflightOfAnotherPlan(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	e := f.executor(f.options())
	ctx := context.Background()
	a, _ := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	b, _ := e.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if out := e.Execute(ctx, b, e.Preflight(ctx, a), nil); out.Result != actions.Refused {
		t.Errorf("outcome %+v", out)
	}
	if real := f.realPatches(); len(real) != 0 {
		t.Errorf("patched %+v", real)
	}
}

func TestAPlanForAnotherContextIsRefused(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	staging := f.options()
	staging.Context = "staging-gke"
	planner := f.executor(staging)
	ctx := context.Background()
	p, err := planner.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	prod := f.executor(f.options())
	pre := prod.Preflight(ctx, p)
	pre.PlanID = p.ID
	if out := prod.Execute(ctx, p, pre, nil); out.Result != actions.Refused || !strings.Contains(out.Message, `made for context "staging-gke"`) {
		t.Errorf("outcome %+v", out)
	}
	if real := f.realPatches(); len(real) != 0 {
		t.Errorf("patched %+v", real)
	}
}

func TestVerdictCheckNeverBlocks(t *testing.T) {
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")}, revisionPods("ml-prod", "fraud-model-predictor-00001", 2, 2)...)
	e := f.executor(f.options())
	ctx := context.Background()
	p, _ := e.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	pre := e.Preflight(ctx, p)
	if pre.Verdict != "no verdict available" {
		t.Errorf("verdict %q", pre.Verdict)
	}
	if c := check(t, pre, CheckVerdict); c.Status != actions.CheckWarn {
		t.Errorf("promote without a verdict %+v", c)
	}
	o := f.options()
	o.Verdict = func(string, string) string { return "PROMOTE at 6m: canary 5xx 0.4% vs stable 0.5%" }
	e2 := f.executor(o)
	rb, _ := e2.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	pre = e2.Preflight(ctx, rb)
	if c := check(t, pre, CheckVerdict); c.Status != actions.CheckWarn || pre.Blocked() {
		t.Errorf("rollback against PROMOTE %+v, blocked %v", c, pre.Blocked())
	}
	pr, _ := e2.Plan(ctx, actions.Request{Kind: actions.Promote, Namespace: "ml-prod", Name: "fraud-model"})
	if c := check(t, e2.Preflight(ctx, pr), CheckVerdict); c.Status != actions.CheckPass {
		t.Errorf("promote with PROMOTE %+v", c)
	}
}

func TestPatchesValidAgainstTheCRD(t *testing.T) {
	// The fake server rejects objects the CRD would: prove it does, so the
	// other tests' acceptance means something.
	f := newFakeCluster(t, []*unstructured.Unstructured{loadFixture(t, "knative-canary")})
	_, err := f.dyn.Resource(inferenceServices()).Namespace("ml-prod").Patch(context.Background(), "fraud-model", types.MergePatchType,
		[]byte(`{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"minReplicas":"one"}}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("a string minReplicas was accepted: %v", err)
	}
	_, err = f.dyn.Resource(inferenceServices()).Namespace("ml-prod").Patch(context.Background(), "fraud-model", types.MergePatchType,
		[]byte(`{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"canaryTrafficPercnt":0}}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
	if !apierrors.IsInvalid(err) {
		t.Errorf("a misspelt field was accepted: %v", err)
	}
}

func TestNewChecksItsOptions(t *testing.T) {
	f := newFakeCluster(t, nil)
	if _, err := New(Options{Typed: f.typed}); err == nil {
		t.Error("no dynamic client accepted")
	}
	if _, err := New(Options{Dynamic: f.dyn}); err == nil {
		t.Error("no typed client accepted")
	}
	if _, err := New(Options{Dynamic: f.dyn, Typed: f.typed, VerifyTimeout: -time.Second}); err == nil {
		t.Error("negative timeout accepted")
	}
	e, err := New(Options{Dynamic: f.dyn, Typed: f.typed, ReadOnly: true})
	if err != nil || !e.ReadOnly() || e.o.VerifyTimeout != DefaultVerifyTimeout || e.o.FieldManager != "mltop" {
		t.Errorf("defaults %+v %v", e, err)
	}
	var _ actions.Executor = e
}

func TestTextFromTheClusterIsCleaned(t *testing.T) {
	obj := loadFixture(t, "knative-canary")
	_ = unstructured.SetNestedField(obj.Object, "fraud-model-predictor-00001\x1b[2J", "status", "components", "predictor", "latestRolledoutRevision")
	f := newFakeCluster(t, []*unstructured.Unstructured{obj})
	o := f.options()
	o.Verdict = func(string, string) string { return "ROLLBACK\x1b]0;pwned\x07 now" }
	e := f.executor(o)
	p, err := e.Plan(context.Background(), actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	pre := e.Preflight(context.Background(), p)
	texts := []string{p.Summary, pre.Verdict}
	for _, c := range pre.Checks {
		texts = append(texts, c.Detail, c.Remedy)
	}
	for _, s := range texts {
		if strings.ContainsAny(s, "\x1b\x07") {
			t.Errorf("escape reached the plan: %q", s)
		}
	}
	if !strings.Contains(p.Summary, "all traffic to fraud-model-predictor-00001") {
		t.Errorf("summary %q", p.Summary)
	}
}
