package kserve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apimachinery/pkg/watch"
	dynfake "k8s.io/client-go/dynamic/fake"
	k8sfake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/sources/kube/crdschema"
)

// fixtureDir holds the InferenceService fixtures sources/kube checks against
// the published CRD; the plans here are made from the same objects.
const fixtureDir = "../../sources/kube/testdata"

func loadFixture(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtureDir, name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

// sentPatch is one PATCH the fake API server received.
type sentPatch struct {
	Type         types.PatchType
	Body         string
	DryRun       []string
	FieldManager string
}

// fakeCluster is a fake API server for one test: client-go's fake clients
// with reactors that behave like the real server where the executor depends
// on it. PATCH enforces the resourceVersion precondition (409), validates
// the result against the published CRD schema (422), honours dryRun=All
// (nothing stored) and bumps resourceVersion and generation; access reviews
// and the user lookup answer as configured. Every request is recorded.
type fakeCluster struct {
	t     *testing.T
	dyn   *dynfake.FakeDynamicClient
	typed *k8sfake.Clientset
	crd   *crdschema.Schema

	mu       sync.Mutex
	requests []string // "verb resource", "patch inferenceservices (dry run)"
	patches  []sentPatch
	allowed  bool
	reason   string // the access review's reason
	user     string
	// reconcile plays the KServe controller: after every stored patch (or,
	// with reconcileOnWatch, once verify starts watching) it rewrites the
	// stored object's status.
	reconcile        func(obj *unstructured.Unstructured)
	reconcileOnWatch bool
	watchStarted     chan struct{}
}

func newFakeCluster(t *testing.T, services []*unstructured.Unstructured, typedObjs ...runtime.Object) *fakeCluster {
	t.Helper()
	objs := make([]runtime.Object, len(services))
	for i, s := range services {
		objs[i] = markTemplate(s.DeepCopy())
	}
	f := &fakeCluster{
		t: t,
		dyn: dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
			inferenceServices(): "InferenceServiceList",
			knativeRevisions():  "RevisionList",
		}, objs...),
		typed:        k8sfake.NewClientset(typedObjs...),
		crd:          loadCRDSchema(t),
		allowed:      true,
		user:         "alice@example.com",
		watchStarted: make(chan struct{}, 16),
	}
	f.dyn.PrependReactor("patch", "inferenceservices", f.patch)
	f.dyn.PrependWatchReactor("inferenceservices", f.watch)
	f.typed.PrependReactor("create", "selfsubjectaccessreviews", f.accessReview)
	f.typed.PrependReactor("create", "selfsubjectreviews", f.selfReview)
	// Prepended last, so it sees every request first.
	record := func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetVerb() != "patch" { // the patch reactor records patches with their options
			f.record(action.GetVerb() + " " + action.GetResource().Resource)
		}
		return false, nil, nil
	}
	f.dyn.PrependReactor("*", "*", record)
	f.typed.PrependReactor("*", "*", record)
	return f
}

func (f *fakeCluster) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, s)
}

func (f *fakeCluster) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeCluster) sentPatches() []sentPatch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sentPatch(nil), f.patches...)
}

// realPatches are the patches that were not dry runs.
func (f *fakeCluster) realPatches() []sentPatch {
	var out []sentPatch
	for _, p := range f.sentPatches() {
		if len(p.DryRun) == 0 {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeCluster) options() Options {
	return Options{
		Dynamic: f.dyn, Typed: f.typed, Context: "prod-gke",
		Now:           fixedClock(time.Date(2026, 8, 20, 3, 12, 0, 0, time.UTC)),
		VerifyTimeout: 5 * time.Second,
	}
}

// executor builds an executor on the fake cluster with fast polling.
func (f *fakeCluster) executor(o Options) *Executor {
	f.t.Helper()
	e, err := New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	e.pollInterval = 10 * time.Millisecond
	e.eventTimeout = time.Second
	return e
}

func (f *fakeCluster) get(namespace, name string) *unstructured.Unstructured {
	f.t.Helper()
	obj, err := f.dyn.Tracker().Get(inferenceServices(), namespace, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return obj.(*unstructured.Unstructured)
}

// update stores obj as a new version, as any writer (a colleague, the
// controller) would: resourceVersion bumps.
func (f *fakeCluster) update(obj *unstructured.Unstructured) {
	f.t.Helper()
	obj = obj.DeepCopy()
	obj.SetResourceVersion(nextRV(obj.GetResourceVersion()))
	if err := f.dyn.Tracker().Update(inferenceServices(), obj, obj.GetNamespace()); err != nil {
		f.t.Fatal(err)
	}
}

func nextRV(rv string) string {
	n, _ := strconv.Atoi(rv)
	return strconv.Itoa(n + 1)
}

func (f *fakeCluster) patch(action k8stesting.Action) (bool, runtime.Object, error) {
	pa := action.(k8stesting.PatchActionImpl)
	sent := sentPatch{Type: pa.GetPatchType(), Body: string(pa.GetPatch()), DryRun: pa.PatchOptions.DryRun, FieldManager: pa.PatchOptions.FieldManager}
	f.mu.Lock()
	f.patches = append(f.patches, sent)
	label := "patch inferenceservices"
	if len(sent.DryRun) > 0 {
		label += " (dry run)"
	}
	f.requests = append(f.requests, label)
	f.mu.Unlock()

	gr := inferenceServices().GroupResource()
	if sent.Type != types.MergePatchType {
		return true, nil, apierrors.NewGenericServerResponse(415, "patch", inferenceServices().GroupResource(), pa.GetName(), "the body of the request was in an unknown format: "+string(sent.Type), 0, false)
	}
	if len(sent.DryRun) > 0 && !reflect.DeepEqual(sent.DryRun, []string{metav1.DryRunAll}) {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("dryRun %v: only All is valid", sent.DryRun))
	}
	stored, err := f.dyn.Tracker().Get(inferenceServices(), pa.GetNamespace(), pa.GetName())
	if err != nil {
		return true, nil, err
	}
	cur := stored.(*unstructured.Unstructured)
	var body struct {
		Metadata struct {
			ResourceVersion string `json:"resourceVersion"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(pa.GetPatch(), &body); err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	if rv := body.Metadata.ResourceVersion; rv != "" && rv != cur.GetResourceVersion() {
		return true, nil, apierrors.NewConflict(gr, pa.GetName(), errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	curJSON, err := cur.MarshalJSON()
	if err != nil {
		return true, nil, err
	}
	merged, err := jsonpatch.MergePatch(curJSON, pa.GetPatch())
	if err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	next := &unstructured.Unstructured{}
	if err := next.UnmarshalJSON(merged); err != nil {
		return true, nil, err
	}
	if problems := f.crd.Problems(next); len(problems) > 0 {
		return true, nil, apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "InferenceService"}, pa.GetName(),
			field.ErrorList{field.Invalid(field.NewPath("spec"), nil, strings.Join(problems, "; "))})
	}
	if len(sent.DryRun) > 0 {
		return true, next, nil
	}
	next.SetResourceVersion(nextRV(cur.GetResourceVersion()))
	if !reflect.DeepEqual(cur.Object["spec"], next.Object["spec"]) {
		next.SetGeneration(cur.GetGeneration() + 1)
	}
	if err := f.dyn.Tracker().Update(inferenceServices(), next, pa.GetNamespace()); err != nil {
		return true, nil, err
	}
	if f.reconcile != nil && !f.reconcileOnWatch {
		f.reconcileStored(pa.GetNamespace(), pa.GetName())
	}
	return true, next.DeepCopy(), nil
}

func (f *fakeCluster) reconcileStored(namespace, name string) {
	obj := f.get(namespace, name)
	f.reconcile(obj)
	f.update(obj)
}

// watch registers the watcher before anything else happens, so a reconcile
// started because of it is never missed.
func (f *fakeCluster) watch(action k8stesting.Action) (bool, watch.Interface, error) {
	wa := action.(k8stesting.WatchActionImpl)
	f.record("watch inferenceservices")
	w, err := f.dyn.Tracker().Watch(inferenceServices(), wa.GetNamespace(), metav1.ListOptions{ResourceVersion: wa.WatchRestrictions.ResourceVersion})
	if err != nil {
		return true, nil, err
	}
	select {
	case f.watchStarted <- struct{}{}:
	default:
	}
	if f.reconcile != nil && f.reconcileOnWatch {
		ns := wa.GetNamespace()
		name := strings.TrimPrefix(wa.WatchRestrictions.Fields.String(), "metadata.name=")
		go func() {
			// Off the test goroutine: report, never t.Fatal.
			stored, err := f.dyn.Tracker().Get(inferenceServices(), ns, name)
			if err != nil {
				f.t.Errorf("reconcile %s/%s: %v", ns, name, err)
				return
			}
			obj := stored.(*unstructured.Unstructured)
			f.reconcile(obj)
			obj.SetResourceVersion(nextRV(obj.GetResourceVersion()))
			if err := f.dyn.Tracker().Update(inferenceServices(), obj, ns); err != nil {
				f.t.Errorf("reconcile %s/%s: %v", ns, name, err)
			}
		}()
	}
	return true, w, nil
}

func (f *fakeCluster) accessReview(action k8stesting.Action) (bool, runtime.Object, error) {
	review := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
	f.mu.Lock()
	defer f.mu.Unlock()
	ra := review.Spec.ResourceAttributes
	if ra == nil || ra.Verb != "patch" || ra.Group != "serving.kserve.io" || ra.Resource != "inferenceservices" || ra.Name == "" || ra.Namespace == "" {
		return true, nil, apierrors.NewBadRequest(fmt.Sprintf("unexpected access review %+v", ra))
	}
	review.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: f.allowed, Reason: f.reason}
	return true, review, nil
}

func (f *fakeCluster) selfReview(k8stesting.Action) (bool, runtime.Object, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{
		UserInfo: authenticationv1.UserInfo{Username: f.user},
	}}, nil
}

// kserveController reconciles like KServe's Knative reconciler (apis.md
// 1.4): a new revision per pod-template change, the traffic split from
// canaryTrafficPercent, latestRolledoutRevision advancing on a full rollout,
// observedGeneration caught up and Ready.
func kserveController(obj *unstructured.Unstructured) {
	o := obj.Object
	pred, _ := mapAt(o, "status", "components", "predictor")
	if pred == nil {
		pred = map[string]any{}
		_ = unstructured.SetNestedMap(o, pred, "status", "components", "predictor")
	}
	template := templateOf(obj)
	latest, _ := pred["latestReadyRevision"].(string)
	if prev, _ := obj.GetAnnotations()["test/template"]; prev != "" && prev != template {
		latest = nextRevision(latest)
	}
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["test/template"] = template
	obj.SetAnnotations(ann)
	rolled, _ := pred["latestRolledoutRevision"].(string)
	canary, hasCanary := intAt(o, "spec", "predictor", "canaryTrafficPercent")
	var traffic []any
	if hasCanary && rolled != "" && canary < 100 {
		traffic = []any{
			map[string]any{"latestRevision": true, "percent": int64(canary), "revisionName": latest},
			map[string]any{"latestRevision": false, "percent": int64(100 - canary), "revisionName": rolled, "tag": "prev"},
		}
	} else {
		traffic = []any{map[string]any{"latestRevision": true, "percent": int64(100), "revisionName": latest}}
		rolled = latest
	}
	pred["latestCreatedRevision"] = latest
	pred["latestReadyRevision"] = latest
	pred["latestRolledoutRevision"] = rolled
	pred["traffic"] = traffic
	_ = unstructured.SetNestedMap(o, pred, "status", "components", "predictor")
	_ = unstructured.SetNestedField(o, obj.GetGeneration(), "status", "observedGeneration")
}

// markTemplate records obj's current template, so kserveController knows
// which change creates a revision.
func markTemplate(obj *unstructured.Unstructured) *unstructured.Unstructured {
	ann := obj.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["test/template"] = templateOf(obj)
	obj.SetAnnotations(ann)
	return obj
}

func templateOf(obj *unstructured.Unstructured) string {
	pred, _ := mapAt(obj.Object, "spec", "predictor")
	cp := map[string]any{}
	for k, v := range pred {
		if k != "canaryTrafficPercent" {
			cp[k] = v
		}
	}
	b, _ := json.Marshal(cp)
	return string(b)
}

func nextRevision(rev string) string {
	i := strings.LastIndex(rev, "-")
	n, err := strconv.Atoi(rev[i+1:])
	if i < 0 || err != nil {
		return rev + "-2"
	}
	return fmt.Sprintf("%s-%05d", rev[:i], n+1)
}

// revisionPods returns n pods of a Knative revision, ready of them Ready.
func revisionPods(namespace, revision string, n, ready int) []runtime.Object {
	var out []runtime.Object
	for i := range n {
		status := corev1.ConditionFalse
		if i < ready {
			status = corev1.ConditionTrue
		}
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-deployment-%d", revision, i), Namespace: namespace,
				Labels: map[string]string{knativeRevisionLabel: revision},
			},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
		})
	}
	return out
}

func namespaces(names ...string) []runtime.Object {
	var out []runtime.Object
	for _, n := range names {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}})
	}
	return out
}

func fixedClock(t time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(100 * time.Millisecond)
		return t
	}
}

func openAudit(t *testing.T) (*audit.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), audit.FileName)
	l, err := audit.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func check(t *testing.T, pre actions.Preflight, name string) actions.Check {
	t.Helper()
	for _, c := range pre.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %q check in %+v", name, pre.Checks)
	return actions.Check{}
}

// ---------------------------------------------------------------- CRD schema

// loadCRDSchema is the published CRD's v1beta1 schema, parsed once per
// test binary, checked as the API server checks objects (see crdschema).
func loadCRDSchema(t testing.TB) *crdschema.Schema {
	t.Helper()
	s, err := crdschema.InferenceServices()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
