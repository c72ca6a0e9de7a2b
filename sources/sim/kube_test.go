package sim

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"

	"github.com/mltop/mltop/actions/kserve"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
	"github.com/mltop/mltop/sources/kube/crdschema"
)

// loadCRD is the published CRD's v1beta1 schema, checked as the API server
// checks objects (see crdschema).
func loadCRD(t *testing.T) *crdschema.Schema {
	t.Helper()
	s, err := crdschema.InferenceServices()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// demoStates drives a platform through the states the demo can reach:
// the start, the regression, a rollback, a promotion, a model that cannot
// load, a pin to zero, a Standard-mode service given a canary field, and a
// completed rollout rolled back. check runs at each.
func demoStates(t *testing.T, scenario string, check func(state string, p *Platform, c *KubeCluster)) {
	t.Helper()
	p := newPlatform(t, Options{Seed: 7, Scenario: scenario})
	c := p.KubeCluster(KubeOptions{})
	check("start", p, c)
	p.Advance(5 * time.Minute)
	check("regressed", p, c)
	must(t, p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)))
	p.Advance(5 * time.Second)
	check("rolled back", p, c)
	must(t, p.SetCanaryPercent(demoNamespace, "fraud-detector", nil))
	check("promoted", p, c)
	must(t, p.SetStorageURI(demoNamespace, "recommendation-classifier", "gs://mlflow-artifacts/3/0123/artifacts"))
	check("failed load", p, c)
	must(t, p.SetMinReplicas(demoNamespace, "search-ranker", 0))
	must(t, p.SetStorageURI(demoNamespace, "churn-model", "gs://mlflow-artifacts/7/bad"))
	check("standard failed", p, c)
	patchService(t, c, "churn-model", `{"spec":{"predictor":{"canaryTrafficPercent":10}}}`)
	must(t, p.SetCanaryPercent(demoNamespace, "image-embedder", intp(0)))
	p.Advance(time.Minute)
	check("completed rollout rolled back", p, c)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func services(t *testing.T, c *KubeCluster, ns string) []unstructured.Unstructured {
	t.Helper()
	list, err := c.Dynamic().Resource(kube.InferenceServices()).Namespace(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func getService(t *testing.T, c *KubeCluster, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := c.Dynamic().Resource(kube.InferenceServices()).Namespace(demoNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func patchService(t *testing.T, c *KubeCluster, name, body string) *unstructured.Unstructured {
	t.Helper()
	obj, err := tryPatch(c, name, types.MergePatchType, body, false)
	if err != nil {
		t.Fatalf("patch %s %s: %v", name, body, err)
	}
	return obj
}

func tryPatch(c *KubeCluster, name string, pt types.PatchType, body string, dryRun bool) (*unstructured.Unstructured, error) {
	opts := metav1.PatchOptions{FieldManager: "mltop"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	return c.Dynamic().Resource(kube.InferenceServices()).Namespace(demoNamespace).Patch(context.Background(), name, pt, []byte(body), opts)
}

// withoutPods drops what the cluster reports through pods, not through
// the InferenceService.
func withoutPods(s sources.Service) sources.Service {
	s.PodsReady, s.PodsTotal, s.Restarts = 0, 0, 0
	return s
}

func TestKubeObjectsMatchTheCRD(t *testing.T) {
	crd := loadCRD(t)
	for _, scenario := range Scenarios() {
		demoStates(t, scenario, func(state string, _ *Platform, c *KubeCluster) {
			items := services(t, c, demoNamespace)
			if len(items) != 5 {
				t.Fatalf("%s/%s: %d InferenceServices, want 5", scenario, state, len(items))
			}
			for i := range items {
				if p := crd.Problems(&items[i]); len(p) > 0 {
					t.Errorf("%s/%s: %s is not a valid InferenceService:\n  %s", scenario, state, items[i].GetName(), strings.Join(p, "\n  "))
				}
			}
		})
	}
	// The validator is real: a string where an integer belongs is caught.
	p := newPlatform(t, Options{Seed: 7})
	bad := getService(t, p.KubeCluster(KubeOptions{}), "fraud-detector")
	_ = unstructured.SetNestedField(bad.Object, "two", "spec", "predictor", "minReplicas")
	if len(crd.Problems(bad)) == 0 {
		t.Error("minReplicas \"two\" passed validation")
	}
}

func TestServiceFromGivesTheFetchersService(t *testing.T) {
	demoStates(t, ScenarioIncident, func(state string, p *Platform, c *KubeCluster) {
		inv := fetchAll(t, p).inv
		for _, want := range inv.Services {
			got := kube.ServiceFrom(getService(t, c, want.Name))
			if !reflect.DeepEqual(got, withoutPods(want)) {
				t.Errorf("%s: %s\n got  %+v\n want %+v", state, want.Name, got, withoutPods(want))
			}
		}
	})
}

// The real Kubernetes source, informers and all, reads the same inventory
// from the demo cluster as the platform's own fetcher gives, pods and OOM
// kills included.
func TestKubeSourceOverTheDemoClusterMatchesTheFetcher(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	p.Advance(5 * time.Minute)
	c := p.KubeCluster(KubeOptions{})
	src, err := kube.New(kube.Options{Dynamic: c.Dynamic(), Typed: c.Typed(), Context: demoContext,
		Namespaces: []string{demoNamespace}, Now: p.Now, SyncWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	src.Start(context.Background())
	defer src.Stop()

	check := func(state string) {
		t.Helper()
		want := fetchAll(t, p).inv
		var got sources.Inventory
		deadline := time.Now().Add(10 * time.Second)
		for {
			part, err := src.Fetch(context.Background())
			if err != nil {
				t.Fatalf("%s: fetch: %v", state, err)
			}
			got = *part.Inventory
			if reflect.DeepEqual(got, want) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the Kubernetes source reads\n %+v\nthe fetcher gives\n %+v", state, got, want)
		}
	}
	check("regressed")
	if !containsOOM(fetchAll(t, p).inv.OOMKills, "image-embedder") {
		t.Fatal("the scenario has no OOM kill to compare")
	}
	// A change through the clients reaches the informers' watch.
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":0,"minReplicas":2}}}`)
	check("rolled back and pinned")
}

func containsOOM(kills []sources.OOMKill, service string) bool {
	for _, k := range kills {
		if k.Service == service {
			return true
		}
	}
	return false
}

func TestRevisionPodsAddUpToTheServicesPods(t *testing.T) {
	demoStates(t, ScenarioIncident, func(state string, p *Platform, _ *KubeCluster) {
		w, now := p.view()
		for _, s := range w.services {
			wantReady, wantTotal := s.pods(now)
			ready, total := 0, 0
			for _, rp := range s.revisionPods(now) {
				ready += rp.ready
				total += rp.ready
				if rp.crashing {
					total++
				}
			}
			if ready != wantReady || total != wantTotal {
				t.Errorf("%s: %s revision pods %d/%d, service pods %d/%d", state, s.name, ready, total, wantReady, wantTotal)
			}
		}
	})
}

func TestPodsCarryTheirRevision(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	svc := serviceOf(t, p, "fraud-detector")
	pods, err := c.Typed().CoreV1().Pods(demoNamespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: "serving.knative.dev/revision=" + svc.StableRevision})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Fatal("the stable revision has no pods")
	}
	for _, pod := range pods.Items {
		if pod.Labels[kube.ServiceLabel] != "fraud-detector" || !strings.HasPrefix(pod.Name, svc.StableRevision+"-deployment-") {
			t.Errorf("pod %s labels %v", pod.Name, pod.Labels)
		}
		if pod.Status.Phase != corev1.PodRunning || pod.Status.Conditions[0].Status != corev1.ConditionTrue {
			t.Errorf("pod %s is not running and ready: %+v", pod.Name, pod.Status)
		}
	}

	// A model that cannot load leaves one pod of the new revision crash-looping.
	must(t, p.SetStorageURI(demoNamespace, "fraud-detector", "gs://mlflow-artifacts/5/nope"))
	failed := serviceOf(t, p, "fraud-detector")
	var latest string
	for _, c := range failed.Conditions {
		if c.Status == "False" {
			latest = c.Message
		}
	}
	pods, err = c.Typed().CoreV1().Pods(demoNamespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: "serving.knative.dev/revision=fraud-detector-predictor-00003"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Status.Conditions[0].Status != corev1.ConditionFalse ||
		pods.Items[0].Status.ContainerStatuses[0].State.Waiting == nil || latest == "" {
		t.Errorf("failed revision's pods: %+v", pods.Items)
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{AdvanceOnWrite: 10 * time.Second})
	before := serviceOf(t, p, "fraud-detector")
	now := p.Now()
	got, err := tryPatch(c, "fraud-detector", types.MergePatchType,
		`{"metadata":{"resourceVersion":"`+before.ResourceVersion+`"},"spec":{"predictor":{"canaryTrafficPercent":0}}}`, true)
	if err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedInt64(got.Object, "spec", "predictor", "canaryTrafficPercent"); v != 0 {
		t.Errorf("the dry run answered canaryTrafficPercent %d, want the would-be 0", v)
	}
	if after := serviceOf(t, p, "fraud-detector"); !reflect.DeepEqual(after, before) {
		t.Errorf("a dry run changed the service:\n before %+v\n after  %+v", before, after)
	}
	if !p.Now().Equal(now) {
		t.Error("a dry run moved the clock")
	}
	if rv := getService(t, c, "fraud-detector").GetResourceVersion(); rv != before.ResourceVersion {
		t.Errorf("resourceVersion %s after a dry run, was %s", rv, before.ResourceVersion)
	}

	// A dry run is validated like the real thing.
	_, err = tryPatch(c, "fraud-detector", types.MergePatchType, `{"spec":{"predictor":{"model":{"storageUri":"runs:/abc/model"}}}}`, true)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "admission webhook") {
		t.Errorf("dry run of a bad storageUri: %v", err)
	}
}

func TestStaleResourceVersionIsAConflict(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	old := getService(t, c, "fraud-detector").GetResourceVersion()
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"minReplicas":2}}}`)
	before := serviceOf(t, p, "fraud-detector")
	for _, dryRun := range []bool{true, false} {
		_, err := tryPatch(c, "fraud-detector", types.MergePatchType,
			`{"metadata":{"resourceVersion":"`+old+`"},"spec":{"predictor":{"canaryTrafficPercent":0}}}`, dryRun)
		if !apierrors.IsConflict(err) {
			t.Errorf("dry run %v: a stale resourceVersion gave %v, want 409 Conflict", dryRun, err)
		}
	}
	if after := serviceOf(t, p, "fraud-detector"); !reflect.DeepEqual(after, before) {
		t.Errorf("a conflicting patch changed the service")
	}
}

func TestMergePatchesChangeThePlatform(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	p.Advance(5 * time.Minute)
	start := getService(t, c, "fraud-detector")
	startGen := start.GetGeneration()

	// Rollback, with the precondition.
	got := patchService(t, c, "fraud-detector",
		`{"metadata":{"resourceVersion":"`+start.GetResourceVersion()+`"},"spec":{"predictor":{"canaryTrafficPercent":0}}}`)
	svc := serviceOf(t, p, "fraud-detector")
	if !svc.HasCanaryPercent || svc.CanaryPercent != 0 || svc.Traffic[0].Percent != 0 || svc.Traffic[1].Percent != 100 {
		t.Errorf("after rollback: %+v", svc)
	}
	if got.GetResourceVersion() == start.GetResourceVersion() || got.GetResourceVersion() != svc.ResourceVersion {
		t.Errorf("resourceVersion %s -> %s, the platform says %s", start.GetResourceVersion(), got.GetResourceVersion(), svc.ResourceVersion)
	}
	if got.GetGeneration() != startGen+1 {
		t.Errorf("generation %d -> %d", startGen, got.GetGeneration())
	}
	if !reflect.DeepEqual(kube.ServiceFrom(got), withoutPods(svc)) {
		t.Errorf("the patch answered %+v, the platform has %+v", kube.ServiceFrom(got), svc)
	}

	// Pin with a recorded annotation; the annotation survives later reads
	// and changes.
	patchService(t, c, "fraud-detector", `{"metadata":{"annotations":{"mltop.io/pinned-min-replicas":"1"}},"spec":{"predictor":{"minReplicas":3}}}`)
	if svc := serviceOf(t, p, "fraud-detector"); svc.MinReplicas != 3 {
		t.Errorf("minReplicas %d after pin", svc.MinReplicas)
	}
	p.Advance(time.Minute)
	ann := getService(t, c, "fraud-detector").GetAnnotations()
	if ann["mltop.io/pinned-min-replicas"] != "1" || ann[kube.DeploymentModeAnnotation] != "Serverless" {
		t.Errorf("annotations after pin: %v", ann)
	}
	patchService(t, c, "fraud-detector", `{"metadata":{"annotations":{"mltop.io/pinned-min-replicas":null}},"spec":{"predictor":{"minReplicas":1}}}`)
	ann = getService(t, c, "fraud-detector").GetAnnotations()
	if _, ok := ann["mltop.io/pinned-min-replicas"]; ok || serviceOf(t, p, "fraud-detector").MinReplicas != 1 {
		t.Errorf("after unpin: annotations %v", ann)
	}

	// Promote removes the field.
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":null}}}`)
	svc = serviceOf(t, p, "fraud-detector")
	if svc.HasCanaryPercent || svc.StableRevision != "fraud-detector-predictor-00002" {
		t.Errorf("after promote: %+v", svc)
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(getService(t, c, "fraud-detector").Object, "spec", "predictor", "canaryTrafficPercent"); ok {
		t.Error("the object still has canaryTrafficPercent after promote")
	}

	// A new model becomes a new revision.
	uri := "gs://mlflow-artifacts/5/0123456789abcdef0123456789abcdef/artifacts/model"
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"model":{"storageUri":"`+uri+`"}}}}`)
	svc = serviceOf(t, p, "fraud-detector")
	if svc.StorageURI != uri || svc.StableRevision != "fraud-detector-predictor-00003" {
		t.Errorf("after storageUri: %s, stable %s", svc.StorageURI, svc.StableRevision)
	}

	// A no-op patch writes nothing.
	rv := svc.ResourceVersion
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"minReplicas":1}}}`)
	if serviceOf(t, p, "fraud-detector").ResourceVersion != rv {
		t.Error("a patch that changed nothing took a new resourceVersion")
	}
}

// Rolling back to the previous model in one patch: the new revision takes
// the canary's share, 0 %, and the old model keeps serving until promoted.
func TestCanaryAndModelInOnePatch(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	stable := serviceOf(t, p, "fraud-detector")
	w, _ := p.view()
	oldModel := w.service("fraud-detector").revision(1).storageURI
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":null,"model":{"storageUri":"`+oldModel+`"}}}}`)
	svc := serviceOf(t, p, "fraud-detector")
	if svc.StorageURI != oldModel || svc.HasCanaryPercent || svc.StableRevision != "fraud-detector-predictor-00003" ||
		svc.PreviousRevision != stable.StableRevision || len(svc.Traffic) != 1 {
		t.Errorf("after restoring the old model without a canary: %+v", svc)
	}
	if rv := serviceOf(t, p, "fraud-detector").ResourceVersion; rv == stable.ResourceVersion {
		t.Error("no new resourceVersion")
	}
}

func TestWritesTheAPIServerWouldRefuse(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	before := fetchAll(t, p).inv

	_, err := tryPatch(c, "fraud-detector", types.StrategicMergePatchType, `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`, false)
	if !apierrors.IsUnsupportedMediaType(err) {
		t.Errorf("strategic merge patch: %v, want 415", err)
	}
	_, err = tryPatch(c, "fraud-detector", types.MergePatchType, `{"spec":{"predictor":{"minReplicas":9}}}`, false)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "greater than maxReplicas") {
		t.Errorf("minReplicas above maxReplicas: %v", err)
	}
	_, err = tryPatch(c, "fraud-detector", types.MergePatchType, `{"spec":{"predictor":{"canaryTrafficPercent":"20"}}}`, false)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "canaryTrafficPercent") {
		t.Errorf("canaryTrafficPercent as a string: %v", err)
	}
	_, err = tryPatch(c, "fraud-detector", types.MergePatchType, `{"spec":{"predictor":{"maxReplicas":9}}}`, false)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.predictor.maxReplicas") {
		t.Errorf("a field the demo does not model: %v", err)
	}
	_, err = c.Dynamic().Resource(kube.InferenceServices()).Namespace("other").Patch(context.Background(), "fraud-detector",
		types.MergePatchType, []byte(`{"spec":{"predictor":{"canaryTrafficPercent":0}}}`), metav1.PatchOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("patch in another namespace: %v", err)
	}
	_, err = tryPatch(c, "nope", types.MergePatchType, `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`, false)
	if !apierrors.IsNotFound(err) {
		t.Errorf("patch of a missing service: %v", err)
	}
	err = c.Dynamic().Resource(kube.InferenceServices()).Namespace(demoNamespace).Delete(context.Background(), "fraud-detector", metav1.DeleteOptions{})
	if !apierrors.IsMethodNotSupported(err) {
		t.Errorf("delete: %v", err)
	}
	if after := fetchAll(t, p).inv; !reflect.DeepEqual(after, before) {
		t.Error("a refused write changed the platform")
	}
}

// Standard mode takes canaryTrafficPercent and ignores it, as KServe does.
func TestStandardModeKeepsTheCanaryFieldAndIgnoresIt(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	before := serviceOf(t, p, "churn-model")
	patchService(t, c, "churn-model", `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`)
	after := serviceOf(t, p, "churn-model")
	if !after.HasCanaryPercent || after.CanaryPercent != 0 {
		t.Errorf("the field was not kept: %+v", after)
	}
	after.CanaryPercent, after.HasCanaryPercent, after.ResourceVersion = before.CanaryPercent, before.HasCanaryPercent, before.ResourceVersion
	if !reflect.DeepEqual(after, before) {
		t.Errorf("Standard mode acted on canaryTrafficPercent:\n before %+v\n after  %+v", before, after)
	}
}

func TestJSONPatchWorksToo(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	_, err := tryPatch(c, "fraud-detector", types.JSONPatchType, `[{"op":"remove","path":"/spec/predictor/canaryTrafficPercent"}]`, false)
	if err != nil {
		t.Fatal(err)
	}
	if serviceOf(t, p, "fraud-detector").HasCanaryPercent {
		t.Error("JSON patch remove did not promote")
	}
}

func TestAdvanceOnWriteMovesOnlyAStoppedClock(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{AdvanceOnWrite: 10 * time.Second})
	now := p.Now()
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`)
	if d := p.Now().Sub(now); d != 10*time.Second {
		t.Errorf("a write moved the stopped clock by %s, want 10s", d)
	}

	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	running := newPlatform(t, Options{Seed: 7, Speed: 1, Wall: func() time.Time { return wall }})
	rc := running.KubeCluster(KubeOptions{AdvanceOnWrite: 10 * time.Second})
	now = running.Now()
	patchService(t, rc, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`)
	if !running.Now().Equal(now) {
		t.Error("a write moved a running clock")
	}
}

func TestWatchSeesAPatch(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	res := c.Dynamic().Resource(kube.InferenceServices()).Namespace(demoNamespace)
	list, err := res.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := res.Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"canaryTrafficPercent":0}}}`)
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			u, ok := ev.Object.(*unstructured.Unstructured)
			if ev.Type == watch.Modified && ok && u.GetName() == "fraud-detector" {
				if v, _, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "canaryTrafficPercent"); v != 0 {
					t.Errorf("watched canaryTrafficPercent %d", v)
				}
				return
			}
		case <-timeout:
			t.Fatal("no watch event for the patch")
		}
	}
}

func TestAccessReviewsAndWhoAmI(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	ctx := context.Background()
	review := func() authorizationv1.SubjectAccessReviewStatus {
		t.Helper()
		r, err := c.Typed().AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: demoNamespace, Verb: "patch", Group: "serving.kserve.io", Resource: "inferenceservices", Name: "fraud-detector"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Spec.ResourceAttributes == nil || r.Spec.ResourceAttributes.Name != "fraud-detector" {
			t.Errorf("the review does not echo its spec: %+v", r.Spec)
		}
		return r.Status
	}
	if st := review(); !st.Allowed {
		t.Errorf("allowed by default: %+v", st)
	}
	c.SetAccess(false)
	if st := review(); st.Allowed || !strings.Contains(st.Reason, "patch inferenceservices.serving.kserve.io in ml-prod") {
		t.Errorf("denied: %+v", st)
	}
	if st := p.KubeCluster(KubeOptions{DenyAccess: true}); st.allow.Load() {
		t.Error("DenyAccess did not deny")
	}

	who, err := c.Typed().AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != DemoUser {
		t.Errorf("who am I: %+v, %v", who, err)
	}

	for range 2 {
		ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "fraud-detector.", Namespace: demoNamespace},
			Reason: "RolledBack", Message: "canaryTrafficPercent 20 -> 0"}
		if _, err := c.Typed().CoreV1().Events(demoNamespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
			t.Fatalf("event: %v", err)
		}
	}
	events, err := c.Typed().CoreV1().Events(demoNamespace).List(ctx, metav1.ListOptions{})
	if err != nil || len(events.Items) != 2 {
		t.Errorf("events: %d, %v", len(events.Items), err)
	}
}

func TestActionsRecordEveryRequest(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	getService(t, c, "fraud-detector")
	patchService(t, c, "fraud-detector", `{"spec":{"predictor":{"minReplicas":2}}}`)
	var verbs []string
	for _, a := range c.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	if strings.Join(verbs, ",") != "get,patch" {
		t.Errorf("recorded %v", verbs)
	}
}

// shadow copies every field of Platform; a new field must be copied there.
func TestShadowCopiesEveryPlatformField(t *testing.T) {
	if n := reflect.TypeFor[Platform]().NumField(); n != 10 {
		t.Errorf("Platform has %d fields; shadow copies 9 plus the mutex: update shadow and this count", n)
	}
	p := newPlatform(t, Options{Seed: 7})
	p.Advance(time.Minute)
	s := p.shadow()
	if !s.Now().Equal(p.Now()) || s.rv != p.rv || s.Scenario() != p.Scenario() {
		t.Error("the shadow is not the platform")
	}
	must(t, s.SetMinReplicas(demoNamespace, "fraud-detector", 3))
	if serviceOf(t, p, "fraud-detector").MinReplicas == 3 {
		t.Error("changing the shadow changed the platform")
	}
}

func TestKubeClientsServeTheDemo(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	dyn, typed := p.KubeClients()
	var _ dynamic.Interface = dyn
	list, err := dyn.Resource(kube.InferenceServices()).Namespace(demoNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 5 {
		t.Fatalf("list: %v", err)
	}
	pods, err := typed.CoreV1().Pods(demoNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: kube.ServiceLabel})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("pods: %v", err)
	}
	raw, _ := json.Marshal(list.Items[0].Object)
	if !strings.Contains(string(raw), `"apiVersion":"serving.kserve.io/v1beta1"`) {
		t.Errorf("object %s", raw)
	}
}

func TestKnativeRevisionsAndNamespaces(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	ctx := context.Background()
	revisions := c.Dynamic().Resource(knativeRevisions()).Namespace(demoNamespace)
	condition := func(u *unstructured.Unstructured, typ string) string {
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == typ {
				return m["status"].(string)
			}
		}
		return ""
	}
	svc := serviceOf(t, p, "fraud-detector")
	stable, err := revisions.Get(ctx, svc.StableRevision, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	replicas, _, _ := unstructured.NestedInt64(stable.Object, "status", "actualReplicas")
	if condition(stable, "Ready") != "True" || condition(stable, "Active") != "True" || replicas < 1 {
		t.Errorf("stable revision: Ready %s Active %s replicas %d", condition(stable, "Ready"), condition(stable, "Active"), replicas)
	}
	w, _ := p.view()
	if stable.GetAnnotations()[storageURIAnnotation] != w.service("fraud-detector").revision(1).storageURI {
		t.Errorf("stable revision's model: %v", stable.GetAnnotations())
	}

	must(t, p.SetStorageURI(demoNamespace, "fraud-detector", "gs://mlflow-artifacts/5/nope"))
	failed, err := revisions.Get(ctx, "fraud-detector-predictor-00003", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if condition(failed, "Ready") != "False" {
		t.Errorf("a revision whose model cannot load is Ready %s", condition(failed, "Ready"))
	}
	list, err := revisions.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Knative services only: fraud 3, classifier 2, ranker 2, embedder 2.
	if len(list.Items) != 9 {
		t.Errorf("%d revisions, want 9", len(list.Items))
	}

	if _, err := c.Typed().CoreV1().Namespaces().Get(ctx, demoNamespace, metav1.GetOptions{}); err != nil {
		t.Errorf("namespace %s: %v", demoNamespace, err)
	}
	if _, err := c.Typed().CoreV1().Namespaces().Get(ctx, "other", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace other: %v", err)
	}
}

// TestPreviousModel: the demo's Knative revisions remember their models as
// a real cluster's do, so the action pipeline's rollback by model finds the
// previous one through the same code.
func TestPreviousModel(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	ctx := context.Background()
	w, _ := p.view()
	previousModel := kserve.RevisionModel(p.KubeCluster(KubeOptions{}).Dynamic())
	fraud := w.service("fraud-detector")
	got, err := previousModel(ctx, serviceOf(t, p, "fraud-detector"))
	if err != nil || got != fraud.revision(1).storageURI || got == fraud.storageURI {
		t.Errorf("during the canary: %q, %v; want the stable revision's model", got, err)
	}
	classifier := w.service("recommendation-classifier")
	got, err = previousModel(ctx, serviceOf(t, p, "recommendation-classifier"))
	if err != nil || got != classifier.revision(4).storageURI {
		t.Errorf("after a completed rollout: %q, %v; want the previous rollout's model", got, err)
	}
	if _, err := previousModel(ctx, serviceOf(t, p, "churn-model")); err == nil {
		t.Error("a service with one model has a previous one")
	}
}

func TestKeepSyncedShowsChangesMadeOutsideTheClients(t *testing.T) {
	p := newPlatform(t, Options{Seed: 7})
	c := p.KubeCluster(KubeOptions{})
	res := c.Dynamic().Resource(kube.InferenceServices()).Namespace(demoNamespace)
	list, err := res.List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := res.Watch(context.Background(), metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.KeepSynced(ctx, 5*time.Millisecond) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("KeepSynced: %v", err)
		}
	}()

	must(t, p.SetMinReplicas(demoNamespace, "search-ranker", 2))
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			u, ok := ev.Object.(*unstructured.Unstructured)
			if ok && u.GetName() == "search-ranker" {
				if n, _, _ := unstructured.NestedInt64(u.Object, "spec", "predictor", "minReplicas"); n == 2 {
					return
				}
			}
		case <-timeout:
			t.Fatal("no watch event for a change made on the platform")
		}
	}
}
