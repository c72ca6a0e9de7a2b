package sim

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	k8stesting "k8s.io/client-go/testing"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
)

// How the demo cluster takes a write to an InferenceService, the way the
// API server and KServe's webhooks would: the patch is applied to the
// current object, the resourceVersion precondition is checked, the result
// is validated, and only then is anything changed. A dry run stops after
// validation. Only the fields the demo models may change:
// spec.predictor.canaryTrafficPercent, minReplicas, model.storageUri and
// metadata.annotations.

// kserveValidator is the name of KServe's validating webhook, which denies
// what the platform refuses.
const kserveValidator = "inferenceservice.kserve-webhook-server.validator"

// crPatchTypes are the patch types the API server takes for custom
// resources (apis.md 1.6); the demo takes the first two.
func crPatchTypes() []string {
	return []string{string(types.JSONPatchType), string(types.MergePatchType), string(types.ApplyPatchType)}
}

// specChange is what a write changes on the platform.
type specChange struct {
	storageURI  *string
	canary      **int // set: change; *canary nil: remove the field
	minReplicas *int
	annotations map[string]string // nil: unchanged
}

func (c specChange) empty() bool {
	return c.storageURI == nil && c.canary == nil && c.minReplicas == nil && c.annotations == nil
}

func (c specChange) specChanged() bool {
	return c.storageURI != nil || c.canary != nil || c.minReplicas != nil
}

func servicesResource() schema.GroupResource { return kube.InferenceServices().GroupResource() }

// patch applies a PATCH of an InferenceService.
func (c *KubeCluster) patch(pa k8stesting.PatchActionImpl) (runtime.Object, error) {
	if pa.GetSubresource() != "" {
		return nil, statusOwnedByController(pa.GetName())
	}
	var apply func(doc []byte) ([]byte, error)
	switch pa.GetPatchType() {
	case types.MergePatchType:
		apply = func(doc []byte) ([]byte, error) { return jsonpatch.MergePatch(doc, pa.GetPatch()) }
	case types.JSONPatchType:
		apply = func(doc []byte) ([]byte, error) {
			p, err := jsonpatch.DecodePatch(pa.GetPatch())
			if err != nil {
				return nil, err
			}
			return p.Apply(doc)
		}
	case types.ApplyPatchType:
		return nil, unsupportedMediaType("the demo cluster does not do server-side apply: send a merge patch")
	default:
		// Strategic merge patch needs a Go type's patch strategy, which a
		// custom resource does not have.
		return nil, unsupportedMediaType("the body of the request was in an unknown format - accepted media types include: " +
			strings.Join(crPatchTypes(), ", "))
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err := c.currentLocked(pa.GetNamespace(), pa.GetName())
	if err != nil {
		return nil, err
	}
	doc, err := cur.MarshalJSON()
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	patched, err := apply(doc)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patch could not be applied: %v", err))
	}
	desired := &unstructured.Unstructured{}
	if err := desired.UnmarshalJSON(patched); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patched object is not an object: %v", err))
	}
	return c.writeLocked(cur, desired, isDryRun(pa.PatchOptions.DryRun))
}

// update applies a PUT of an InferenceService. Like the API server for a
// custom resource, it needs the resourceVersion it replaces.
func (c *KubeCluster) update(ua k8stesting.UpdateActionImpl) (runtime.Object, error) {
	if ua.GetSubresource() != "" {
		m, _ := metaOf(ua.GetObject())
		name := ""
		if m != nil {
			name = m.GetName()
		}
		return nil, statusOwnedByController(name)
	}
	in, ok := ua.GetObject().(*unstructured.Unstructured)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not an InferenceService: %T", ua.GetObject()))
	}
	if in.GetResourceVersion() == "" {
		return nil, apierrors.NewInvalid(schema.GroupKind{Group: servicesResource().Group, Kind: "InferenceService"}, in.GetName(),
			field.ErrorList{field.Invalid(field.NewPath("metadata", "resourceVersion"), "", "must be specified for an update")})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, err := c.currentLocked(ua.GetNamespace(), in.GetName())
	if err != nil {
		return nil, err
	}
	return c.writeLocked(cur, in.DeepCopy(), isDryRun(ua.UpdateOptions.DryRun))
}

func isDryRun(dryRun []string) bool {
	return len(dryRun) == 1 && dryRun[0] == metav1.DryRunAll
}

// currentLocked is the service's object as of now.
func (c *KubeCluster) currentLocked(ns, name string) (*unstructured.Unstructured, error) {
	if err := c.syncLocked(); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	obj, err := c.dyn.Tracker().Get(kube.InferenceServices(), ns, name)
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, apierrors.NewInternalError(fmt.Errorf("unexpected object %T", obj))
	}
	return u, nil
}

// writeLocked turns the current object into desired: precondition,
// validation, then (unless a dry run) the change to the platform.
func (c *KubeCluster) writeLocked(cur, desired *unstructured.Unstructured, dryRun bool) (runtime.Object, error) {
	ns, name := cur.GetNamespace(), cur.GetName()
	if rv := desired.GetResourceVersion(); rv != "" && rv != cur.GetResourceVersion() {
		return nil, apierrors.NewConflict(servicesResource(), name,
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	}
	change, err := changeOf(cur, desired)
	if err != nil {
		return nil, err
	}
	if change.empty() {
		// The API server does not write an object that did not change.
		return cur, nil
	}

	shadow := c.p.shadow()
	from, err := shadow.resourceVersionOf(ns, name)
	if err != nil {
		return nil, apierrors.NewNotFound(servicesResource(), name)
	}
	if fmt.Sprint(from) != cur.GetResourceVersion() {
		return nil, apierrors.NewConflict(servicesResource(), name, errors.New("the object changed while the write was checked; try again"))
	}
	if err := shadow.applyChange(ns, name, change); err != nil {
		return nil, admissionDenied(name, err)
	}

	annotations := cur.GetAnnotations()
	if change.annotations != nil {
		annotations = change.annotations
	}
	key := sources.ServiceKey{Namespace: ns, Name: name}.String()
	if dryRun {
		// What the write would give; nothing is kept.
		w, now := shadow.view()
		meta := objectMeta{annotations: annotations, generation: c.generations[key].n}
		if change.specChanged() {
			meta.generation++
		}
		return w.inferenceService(w.service(name), now, meta), nil
	}

	if err := c.p.install(ns, name, from, shadow); err != nil {
		return nil, err
	}
	if change.annotations != nil {
		c.annotations[key] = maps.Clone(change.annotations)
	}
	if c.opts.AdvanceOnWrite > 0 && c.p.speed == 0 {
		c.p.Advance(c.opts.AdvanceOnWrite)
	}
	return c.currentLocked(ns, name)
}

// changeOf reads what desired changes in cur. Only the fields the demo
// models may differ; status and the fields the server manages are ignored
// as the API server ignores them (status is a subresource).
func changeOf(cur, desired *unstructured.Unstructured) (specChange, error) {
	var ch specChange
	var errs field.ErrorList
	predictor := field.NewPath("spec", "predictor")

	// canaryTrafficPercent: an integer, or absent (null removes it).
	curCanary, curHas, _ := unstructured.NestedFieldNoCopy(cur.Object, "spec", "predictor", "canaryTrafficPercent")
	newCanary, newHas, _ := unstructured.NestedFieldNoCopy(desired.Object, "spec", "predictor", "canaryTrafficPercent")
	if newHas && newCanary == nil {
		newHas = false
	}
	if newHas {
		if _, ok := newCanary.(int64); !ok {
			errs = append(errs, field.TypeInvalid(predictor.Child("canaryTrafficPercent"), newCanary, "must be of type integer"))
		}
	}
	if newHas != curHas || (newHas && newCanary != curCanary) {
		var v *int
		if n, ok := newCanary.(int64); ok && newHas {
			i := int(n)
			v = &i
		}
		ch.canary = &v
	}

	// minReplicas: an integer; KServe defaults a missing value to 1.
	curMin, _, _ := unstructured.NestedInt64(cur.Object, "spec", "predictor", "minReplicas")
	newMin := int64(1)
	if v, ok, _ := unstructured.NestedFieldNoCopy(desired.Object, "spec", "predictor", "minReplicas"); ok && v != nil {
		n, isInt := v.(int64)
		if !isInt {
			errs = append(errs, field.TypeInvalid(predictor.Child("minReplicas"), v, "must be of type integer"))
		}
		newMin = n
	}
	if newMin != curMin {
		n := int(newMin)
		ch.minReplicas = &n
	}

	// storageUri: a string the webhook checks.
	curURI, _, _ := unstructured.NestedString(cur.Object, "spec", "predictor", "model", "storageUri")
	if v, ok, _ := unstructured.NestedFieldNoCopy(desired.Object, "spec", "predictor", "model", "storageUri"); !ok || v == nil {
		errs = append(errs, field.Required(predictor.Child("model", "storageUri"), "the demo's models all have one"))
	} else if s, isString := v.(string); !isString {
		errs = append(errs, field.TypeInvalid(predictor.Child("model", "storageUri"), v, "must be of type string"))
	} else if s != curURI {
		ch.storageURI = &s
	}

	// annotations: strings only.
	newAnn := map[string]string{}
	if raw, ok, _ := unstructured.NestedFieldNoCopy(desired.Object, "metadata", "annotations"); ok && raw != nil {
		m, isMap := raw.(map[string]any)
		if !isMap {
			errs = append(errs, field.TypeInvalid(field.NewPath("metadata", "annotations"), raw, "must be of type object"))
		}
		for k, v := range m {
			s, isString := v.(string)
			if !isString {
				errs = append(errs, field.TypeInvalid(field.NewPath("metadata", "annotations").Key(k), v, "must be of type string"))
			}
			newAnn[k] = s
		}
	}
	if !maps.Equal(newAnn, cur.GetAnnotations()) {
		ch.annotations = newAnn
	}

	if len(errs) > 0 {
		return specChange{}, apierrors.NewInvalid(schema.GroupKind{Group: servicesResource().Group, Kind: "InferenceService"}, cur.GetName(), errs)
	}

	// Anything else that differs is a change the demo cannot make.
	rest := desired.DeepCopy()
	for _, f := range [][]string{
		{"status"}, {"metadata", "resourceVersion"}, {"metadata", "generation"}, {"metadata", "uid"},
		{"metadata", "creationTimestamp"}, {"metadata", "managedFields"}, {"metadata", "annotations"},
		{"spec", "predictor", "canaryTrafficPercent"}, {"spec", "predictor", "minReplicas"},
		{"spec", "predictor", "model", "storageUri"},
	} {
		if v, ok, _ := unstructured.NestedFieldNoCopy(cur.Object, f...); ok {
			_ = unstructured.SetNestedField(rest.Object, runtime.DeepCopyJSONValue(v), f...)
		} else {
			unstructured.RemoveNestedField(rest.Object, f...)
		}
	}
	if path := firstDifference(cur.Object, rest.Object, ""); path != "" {
		return specChange{}, apierrors.NewInvalid(schema.GroupKind{Group: servicesResource().Group, Kind: "InferenceService"}, cur.GetName(),
			field.ErrorList{field.Forbidden(field.NewPath(strings.TrimPrefix(path, ".")),
				"the demo platform can change only spec.predictor.canaryTrafficPercent, spec.predictor.minReplicas, "+
					"spec.predictor.model.storageUri and metadata.annotations")})
	}
	return ch, nil
}

// firstDifference is the path of the first value that differs between two
// JSON values, "" when they are equal.
func firstDifference(a, b any, path string) string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if reflect.DeepEqual(a, b) {
			return ""
		}
		return path
	}
	keys := make([]string, 0, len(am)+len(bm))
	for k := range am {
		keys = append(keys, k)
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if d := firstDifference(am[k], bm[k], path+"."+k); d != "" {
			return d
		}
	}
	return ""
}

// ---------------------------------------------------------------- platform side

// shadow is a copy of the platform that a write is tried on first: the
// platform's own setters validate it exactly as they would the real thing,
// and a dry run reads the result without changing anything. It copies
// every field of Platform (a test counts them).
func (p *Platform) shadow() *Platform {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &Platform{
		scenario:  p.scenario,
		start:     p.start,
		speed:     p.speed,
		wall:      p.wall,
		wallStart: p.wallStart,
		advanced:  p.advanced,
		w:         p.w.clone(),
		rv:        p.rv,
		rvKey:     p.rvKey,
	}
}

func (p *Platform) resourceVersionOf(ns, name string) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.findLocked(ns, name)
	if s == nil {
		return 0, &NotFoundError{Key: sources.ServiceKey{Namespace: ns, Name: name}}
	}
	return s.resourceVersion, nil
}

// applyChange makes the change with the platform's setters. The model
// changes first: KServe sees one new spec, builds the revision from its
// template and then splits traffic by canaryTrafficPercent, so a patch
// that sets both gives the new revision the canary's share.
func (p *Platform) applyChange(ns, name string, ch specChange) error {
	if ch.storageURI != nil {
		if err := p.SetStorageURI(ns, name, *ch.storageURI); err != nil {
			return err
		}
	}
	if ch.canary != nil {
		if err := p.setCanaryField(ns, name, *ch.canary); err != nil {
			return err
		}
	}
	if ch.minReplicas != nil {
		if err := p.SetMinReplicas(ns, name, *ch.minReplicas); err != nil {
			return err
		}
	}
	return nil
}

// setCanaryField sets canaryTrafficPercent as the API server would. In
// Standard mode KServe (up to 0.19) accepts the field and ignores it
// (apis.md 1.5), where the platform's SetCanaryPercent refuses: the demo
// cluster keeps the field and nothing else changes, so a client that did
// not check the mode learns it only by waiting for a split that never comes.
func (p *Platform) setCanaryField(ns, name string, percent *int) error {
	p.mu.Lock()
	s := p.findLocked(ns, name)
	standard := s != nil && !s.knative()
	p.mu.Unlock()
	if !standard {
		return p.SetCanaryPercent(ns, name, percent)
	}
	return p.change(ns, name, func(s *service, _ time.Time) error {
		s.canary = nil
		if percent != nil {
			v := *percent
			s.canary = &v
		}
		return nil
	})
}

// errStale is returned by install when the service changed after the
// shadow was taken.
var errStale = errors.New("the service changed while the write was checked")

// install puts the shadow's state of one service into the platform, as one
// write with one new resourceVersion, unless the service changed since the
// shadow copied it (resourceVersion from).
func (p *Platform) install(ns, name string, from int64, shadow *Platform) error {
	shadow.mu.Lock()
	changed := shadow.findLocked(ns, name)
	if changed != nil {
		changed = changed.clone()
	}
	shadow.mu.Unlock()
	if changed == nil {
		return apierrors.NewNotFound(servicesResource(), name)
	}
	err := p.change(ns, name, func(s *service, _ time.Time) error {
		if s.resourceVersion != from {
			return errStale
		}
		*s = *changed
		return nil
	})
	var nf *NotFoundError
	switch {
	case errors.Is(err, errStale):
		return apierrors.NewConflict(servicesResource(), name, err)
	case errors.As(err, &nf):
		return apierrors.NewNotFound(servicesResource(), name)
	}
	return err
}

// ---------------------------------------------------------------- errors

// admissionDenied is KServe's validating webhook refusing a change, with
// the platform's reason.
func admissionDenied(name string, err error) error {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return apierrors.NewNotFound(servicesResource(), name)
	}
	msg := err.Error()
	prefix := fmt.Sprintf("admission webhook %q denied the request: ", kserveValidator)
	if !strings.HasPrefix(msg, "admission webhook") {
		msg = prefix + msg
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusForbidden,
		Reason:  metav1.StatusReasonForbidden,
		Message: msg,
		Details: &metav1.StatusDetails{Name: name, Group: servicesResource().Group, Kind: servicesResource().Resource},
	}}
}

func unsupportedMediaType(msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: msg,
	}}
}

func statusOwnedByController(name string) error {
	return apierrors.NewForbidden(servicesResource(), name,
		errors.New("the status of the demo's InferenceServices belongs to its controller"))
}
