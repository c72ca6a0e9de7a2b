package kserve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/kube"
)

// Field paths shown in the diff. Annotation keys hold dots and slashes, so
// they are quoted: changePath turns these back into object paths.
const (
	pathCanaryPercent = "spec.predictor.canaryTrafficPercent"
	pathMinReplicas   = "spec.predictor.minReplicas"
	pathPinnedFrom    = `metadata.annotations["` + PinnedFromAnnotation + `"]`
)

// previousModelNote starts the plan note that says why the previous model
// is unknown; the previous-model check reports it.
const previousModelNote = "previous model unknown: "

// Plan reads the service and builds the patch. It makes no change.
func (e *Executor) Plan(ctx context.Context, r actions.Request) (actions.Plan, error) {
	r, err := normalise(r)
	if err != nil {
		return actions.Plan{}, err
	}
	obj, err := e.get(ctx, r.Namespace, r.Name)
	if err != nil {
		return actions.Plan{}, err
	}
	return e.planFrom(ctx, r, obj)
}

// normalise checks a request and fills its defaults.
func normalise(r actions.Request) (actions.Request, error) {
	if r.Name == "" || r.Namespace == "" {
		return r, errors.New("an action needs a service name and a namespace")
	}
	switch r.Kind {
	case actions.Promote, actions.Rollback, actions.Pin:
	default:
		return r, fmt.Errorf("unknown action %q (want promote, rollback or pin)", clean.Text(string(r.Kind)))
	}
	if r.ToPreviousModel && r.Kind != actions.Rollback {
		return r, fmt.Errorf("--to-previous-model is a rollback option, not a %s one", r.Kind)
	}
	if r.Kind != actions.Pin && (r.Unpin || r.MinReplicas != 0) {
		return r, fmt.Errorf("--min and --unpin are pin options, not %s ones", r.Kind)
	}
	if r.MinReplicas < 0 {
		return r, fmt.Errorf("minReplicas %d: want 1 or more", r.MinReplicas)
	}
	if r.Unpin && r.MinReplicas != 0 {
		return r, errors.New("--unpin restores the recorded minReplicas: it takes no --min")
	}
	if r.Kind == actions.Pin && !r.Unpin && r.MinReplicas == 0 {
		r.MinReplicas = 1
	}
	return r, nil
}

// observed is what a plan needs from the object beyond sources.Service,
// which normalises away the difference between an absent field and its
// default.
type observed struct {
	svc sources.Service

	minReplicas    int
	hasMinReplicas bool
	pinnedFrom     string
	isPinned       bool
	// storagePath is where the model's storageUri lives: spec.predictor.model,
	// or the legacy framework field (spec.predictor.sklearn...); nil when
	// the predictor has neither (custom containers).
	storagePath   []string
	latestReady   string
	latestCreated string
}

func observe(obj *unstructured.Unstructured) observed {
	ob := observed{svc: kube.ServiceFrom(obj)}
	if n, ok := intAt(obj.Object, "spec", "predictor", "minReplicas"); ok {
		ob.minReplicas, ob.hasMinReplicas = n, true
	}
	ob.pinnedFrom, ob.isPinned = obj.GetAnnotations()[PinnedFromAnnotation]
	ob.pinnedFrom = clean.Text(ob.pinnedFrom)
	if _, ok := mapAt(obj.Object, "spec", "predictor", "model"); ok {
		ob.storagePath = []string{"spec", "predictor", "model", "storageUri"}
	} else if f := ob.svc.ModelFormat; f != "" {
		// ServiceFrom names the model format after the legacy framework
		// field it read the model from: reuse its choice so the plan
		// patches the field the pane shows.
		if _, ok := mapAt(obj.Object, "spec", "predictor", f); ok {
			ob.storagePath = []string{"spec", "predictor", f, "storageUri"}
		}
	}
	ob.latestReady = clean.Text(stringAt(obj.Object, "status", "components", "predictor", "latestReadyRevision"))
	ob.latestCreated = clean.Text(stringAt(obj.Object, "status", "components", "predictor", "latestCreatedRevision"))
	return ob
}

// planFrom builds the plan of r against obj.
func (e *Executor) planFrom(ctx context.Context, r actions.Request, obj *unstructured.Unstructured) (actions.Plan, error) {
	ob := observe(obj)
	rv := obj.GetResourceVersion()
	if rv == "" {
		return actions.Plan{}, fmt.Errorf("the API server returned %s/%s without a resourceVersion: mltop does not patch without that precondition", r.Namespace, r.Name)
	}
	p := actions.Plan{
		ID:              e.newID(r.Kind),
		Request:         r,
		Context:         e.o.Context,
		Service:         ob.svc,
		ResourceVersion: clean.Text(rv),
		Protected:       e.protected(r.Namespace),
	}
	patch := newMergePatch(rv)
	var err error
	switch r.Kind {
	case actions.Promote:
		err = planPromote(&p, patch, ob)
	case actions.Rollback:
		err = e.planRollback(ctx, &p, patch, ob)
	case actions.Pin:
		if r.Unpin {
			err = planUnpin(&p, patch, ob)
		} else {
			err = planPin(&p, patch, ob)
		}
	}
	if err != nil {
		return actions.Plan{}, err
	}
	if p.Patch, err = json.Marshal(patch); err != nil {
		return actions.Plan{}, fmt.Errorf("encoding the patch: %w", err)
	}
	return p, nil
}

// trafficless reports whether a mode ignores canaryTrafficPercent: only
// Knative mode splits traffic between revisions (apis.md 1.5).
func trafficless(mode string) bool {
	return mode == sources.ModeStandard || mode == sources.ModeModelMesh
}

func modeName(mode string) string {
	switch mode {
	case sources.ModeStandard:
		return "Standard (RawDeployment)"
	case "":
		return "an unknown"
	}
	return mode
}

// noCanaryTrafficExplanation says why a mode has no canary to move.
func noCanaryTrafficExplanation(svc sources.Service) string {
	return fmt.Sprintf("%s is in %s mode: canary traffic (canaryTrafficPercent) is a Knative-mode feature, and this mode ignores it",
		svc.Name, modeName(svc.Mode))
}

func planPromote(p *actions.Plan, patch mergePatch, ob observed) error {
	svc := ob.svc
	if !svc.HasCanaryPercent {
		if trafficless(svc.Mode) {
			return errors.New(noCanaryTrafficExplanation(svc) + ", so there is no canary to promote; a new model rolls out when storageUri changes")
		}
		return fmt.Errorf("%s has no canary in progress (canaryTrafficPercent is not set)", svc.Name)
	}
	// Remove rather than set 100: a field left at 100 would turn the next
	// model change into a full rollout with no canary (apis.md 1.4).
	patch.set(nil, "spec", "predictor", "canaryTrafficPercent")
	p.Changes = []actions.Change{{Path: pathCanaryPercent, From: strconv.Itoa(svc.CanaryPercent), ToAbsent: true}}
	p.Intent = actions.Intent{RemoveCanaryPercent: true}
	if trafficless(svc.Mode) {
		p.Summary = fmt.Sprintf("canaryTrafficPercent %d -> removed (%s mode ignores it: no traffic moves)", svc.CanaryPercent, modeName(svc.Mode))
		p.Notes = append(p.Notes, noCanaryTrafficExplanation(svc)+"; removing the field moves no traffic")
		return nil
	}
	p.Intent.CanaryTraffic = intPtr(100)
	p.Summary = fmt.Sprintf("canaryTrafficPercent %d -> removed: all traffic to %s", svc.CanaryPercent, orDefault(ob.latestReady, "the latest ready revision"))
	if svc.CanaryPercent == 0 {
		p.Notes = append(p.Notes, fmt.Sprintf("the canary was rolled back (0 %%): promoting sends all traffic to %s again", orDefault(ob.latestReady, "the latest revision")))
	}
	if ob.latestCreated != "" && ob.latestCreated != ob.latestReady {
		p.Notes = append(p.Notes, fmt.Sprintf("the newest revision %s is not ready: traffic goes to the latest READY revision, %s", ob.latestCreated, orDefault(ob.latestReady, "none yet")))
	}
	return nil
}

// previousRevision is the revision a traffic rollback returns to: the
// traffic target tagged prev, else latestRolledoutRevision.
func previousRevision(svc sources.Service) string {
	for _, t := range svc.Traffic {
		if t.Tag == "prev" && t.Revision != "" {
			return t.Revision
		}
	}
	return svc.StableRevision
}

func (e *Executor) planRollback(ctx context.Context, p *actions.Plan, patch mergePatch, ob observed) error {
	svc, byModel := ob.svc, p.Request.ToPreviousModel
	if !svc.HasCanaryPercent && !byModel {
		if trafficless(svc.Mode) {
			return errors.New(noCanaryTrafficExplanation(svc) + ", so there is no canary to roll back; use --to-previous-model to restore the previous model by storageUri")
		}
		return fmt.Errorf("no canary to roll back: %s has no canaryTrafficPercent set; use --to-previous-model to restore the previous model by storageUri", svc.Name)
	}
	if svc.HasCanaryPercent && svc.CanaryPercent == 0 && !byModel {
		return fmt.Errorf("nothing to roll back: %s's canaryTrafficPercent is already 0 (traffic is on %s); use --to-previous-model to also restore the previous model by storageUri",
			svc.Name, orDefault(previousRevision(svc), "the previous revision"))
	}

	knative := !trafficless(svc.Mode)
	// Traffic moves back by canaryTrafficPercent 0 when a canary takes
	// some. By model alone, in Standard mode the field means nothing, and
	// without a canary 0 would send all traffic to latestRolledoutRevision,
	// the revision being replaced: there the new revision must take it.
	setZero := svc.HasCanaryPercent && svc.CanaryPercent != 0 && !(byModel && !knative)
	target := orDefault(previousRevision(svc), "the previous revision")
	var parts []string
	if setZero {
		patch.set(int64(0), "spec", "predictor", "canaryTrafficPercent")
		p.Changes = append(p.Changes, actions.Change{Path: pathCanaryPercent, From: strconv.Itoa(svc.CanaryPercent), To: "0"})
		p.Intent.CanaryPercent = intPtr(0)
		if knative {
			parts = append(parts, fmt.Sprintf("canaryTrafficPercent %d -> 0: all traffic to %s", svc.CanaryPercent, target))
		} else {
			parts = append(parts, fmt.Sprintf("canaryTrafficPercent %d -> 0 (%s mode ignores it: no traffic moves)", svc.CanaryPercent, modeName(svc.Mode)))
			p.Notes = append(p.Notes, noCanaryTrafficExplanation(svc)+"; roll back by storageUri instead (--to-previous-model)")
		}
	}
	if knative && svc.HasCanaryPercent && (setZero || svc.CanaryPercent == 0) {
		p.Intent.CanaryTraffic = intPtr(0)
	}

	if byModel {
		uri, err := e.previousModel(ctx, ob)
		if err != nil {
			p.Notes = append(p.Notes, previousModelNote+err.Error())
			parts = append(parts, "storageUri unchanged (the previous model is unknown: see the checks)")
		} else {
			patch.set(uri, ob.storagePath...)
			p.Changes = append(p.Changes, actions.Change{Path: strings.Join(ob.storagePath, "."), From: svc.StorageURI, To: uri})
			p.Intent.StorageURI = uri
			switch {
			case !knative:
				parts = append(parts, fmt.Sprintf("storageUri %s -> %s: the Deployment rolls to the previous model", svc.StorageURI, uri))
			case p.Intent.CanaryTraffic != nil:
				parts = append(parts, fmt.Sprintf("storageUri -> %s (a new revision, 0 %% until promoted)", uri))
				p.Notes = append(p.Notes, "canaryTrafficPercent stays 0: the new revision serving the previous model gets no traffic until you promote it")
			default:
				parts = append(parts, fmt.Sprintf("storageUri %s -> %s: a new revision serves the previous model and takes all traffic once Ready", svc.StorageURI, uri))
				p.Intent.CanaryTraffic = intPtr(100)
			}
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to change until the previous model is known")
	}
	p.Summary = strings.Join(parts, "; ")
	return nil
}

// previousModel asks Options.PreviousModel for the previous stable model and
// checks that KServe would accept it where the plan puts it.
func (e *Executor) previousModel(ctx context.Context, ob observed) (string, error) {
	if ob.storagePath == nil {
		return "", errors.New("the predictor has no model storageUri to restore (custom containers?)")
	}
	if e.o.PreviousModel == nil {
		return "", errors.New("mltop has no source for the previous model (no model registry is configured)")
	}
	uri, err := e.o.PreviousModel(ctx, ob.svc)
	if err != nil {
		return "", errors.New(clean.Text(err.Error()))
	}
	uri = strings.TrimSpace(uri)
	if uri != clean.Text(uri) {
		return "", errors.New("the previous model's URI holds control characters")
	}
	switch {
	case uri == "":
		return "", errors.New("the model registry returned no previous model")
	case uri == ob.svc.StorageURI:
		return "", fmt.Errorf("the previous model %s is the one already deployed", uri)
	case !supportedStorageURI(uri):
		return "", fmt.Errorf("KServe does not accept the storage URI %s (MLflow runs:/ and models:/ URIs must be resolved to the artifact location)", uri)
	}
	return uri, nil
}

// supportedStorageURI mirrors KServe's SupportedStorageURIPrefixList
// (apis.md 1.1): a URI the controller rejects is better refused here.
func supportedStorageURI(uri string) bool {
	for _, prefix := range []string{"gs://", "s3://", "pvc://", "file://", "https://", "http://", "hdfs://",
		"webhdfs://", "oci://", "oci+native://", "oci+fetch://", "hf://"} {
		if strings.HasPrefix(uri, prefix) && len(uri) > len(prefix) {
			return true
		}
	}
	return false
}

func planPin(p *actions.Plan, patch mergePatch, ob observed) error {
	svc, n := ob.svc, p.Request.MinReplicas
	if svc.MaxReplicas > 0 && n > svc.MaxReplicas {
		return fmt.Errorf("cannot pin minReplicas at %d: %s's maxReplicas is %d", n, svc.Name, svc.MaxReplicas)
	}
	if ob.hasMinReplicas && ob.minReplicas == n {
		return fmt.Errorf("%s's minReplicas is already %d: nothing to pin", svc.Name, n)
	}
	if !ob.hasMinReplicas && n == 1 {
		return fmt.Errorf("%s's minReplicas is not set, so KServe already keeps 1 replica: nothing to pin", svc.Name)
	}
	patch.set(int64(n), "spec", "predictor", "minReplicas")
	from := minReplicasChange(ob)
	from.To = strconv.Itoa(n)
	p.Changes = append(p.Changes, from)
	p.Intent.MinReplicas = intPtr(n)
	record := ob.pinnedFrom
	if ob.isPinned {
		// Pinning again keeps the first record: --unpin must restore the
		// value from before mltop touched the service, not an earlier pin.
		p.Notes = append(p.Notes, fmt.Sprintf("already pinned by mltop: --unpin still restores %s", describeRecorded(record)))
	} else {
		record = PinnedFromAbsent
		if ob.hasMinReplicas {
			record = strconv.Itoa(ob.minReplicas)
		}
		patch.set(record, "metadata", "annotations", PinnedFromAnnotation)
		p.Changes = append(p.Changes, actions.Change{Path: pathPinnedFrom, FromAbsent: true, To: record})
	}
	p.Summary = fmt.Sprintf("minReplicas %s -> %d (annotation %s keeps %s for --unpin)", orDefault(from.From, "unset"), n, PinnedFromAnnotation, record)
	if !trafficless(svc.Mode) {
		note := "in Knative mode this creates a new revision; the old revisions keep their own minimum"
		if svc.InCanary() {
			note += fmt.Sprintf(", and during the canary the new revision takes the canary's %d %%", svc.CanaryPercent)
		}
		p.Notes = append(p.Notes, note)
	}
	return nil
}

func planUnpin(p *actions.Plan, patch mergePatch, ob observed) error {
	svc := ob.svc
	if !ob.isPinned {
		return fmt.Errorf("%s was not pinned by mltop (it has no %s annotation), so there is nothing to restore; set a value instead: pin --min N", svc.Name, PinnedFromAnnotation)
	}
	change := minReplicasChange(ob)
	if ob.pinnedFrom == PinnedFromAbsent {
		patch.set(nil, "spec", "predictor", "minReplicas")
		change.ToAbsent = true
	} else {
		n, err := strconv.Atoi(ob.pinnedFrom)
		if err != nil || n < 0 {
			return fmt.Errorf("%s's annotation %s holds %q, not a replica count: set minReplicas yourself (pin --min N)", svc.Name, PinnedFromAnnotation, ob.pinnedFrom)
		}
		patch.set(int64(n), "spec", "predictor", "minReplicas")
		change.To = strconv.Itoa(n)
		p.Intent.MinReplicas = intPtr(n)
	}
	patch.set(nil, "metadata", "annotations", PinnedFromAnnotation)
	p.Changes = []actions.Change{change, {Path: pathPinnedFrom, From: ob.pinnedFrom, ToAbsent: true}}
	p.Summary = fmt.Sprintf("minReplicas %s -> %s (restored: the value before mltop pinned it)",
		orDefault(change.From, "unset"), orDefault(change.To, "unset (KServe's default)"))
	return nil
}

// minReplicasChange is the minReplicas change's From side.
func minReplicasChange(ob observed) actions.Change {
	if !ob.hasMinReplicas {
		return actions.Change{Path: pathMinReplicas, FromAbsent: true}
	}
	return actions.Change{Path: pathMinReplicas, From: strconv.Itoa(ob.minReplicas)}
}

func describeRecorded(record string) string {
	if record == PinnedFromAbsent {
		return "an unset minReplicas"
	}
	return "minReplicas " + record
}

// mergePatch is a JSON merge patch (RFC 7386) under construction: a nil
// value removes the field.
type mergePatch map[string]any

func newMergePatch(resourceVersion string) mergePatch {
	// The resourceVersion is the precondition: the API server refuses the
	// patch with 409 Conflict when the object changed since it was read.
	return mergePatch{"metadata": map[string]any{"resourceVersion": resourceVersion}}
}

func (m mergePatch) set(value any, path ...string) {
	cur := map[string]any(m)
	for _, key := range path[:len(path)-1] {
		next, ok := cur[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[key] = next
		}
		cur = next
	}
	cur[path[len(path)-1]] = value
}

// changePath turns a Change.Path back into the object's field path.
func changePath(p string) []string {
	if i := strings.Index(p, `["`); i >= 0 && strings.HasSuffix(p, `"]`) {
		return append(strings.Split(p[:i], "."), p[i+2:len(p)-2])
	}
	return strings.Split(p, ".")
}

// ---------------------------------------------------------------- unstructured access

func nestedValue(o map[string]any, path ...string) (any, bool) {
	var cur any = o
	for _, key := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func mapAt(o map[string]any, path ...string) (map[string]any, bool) {
	v, _ := nestedValue(o, path...)
	m, ok := v.(map[string]any)
	return m, ok
}

func stringAt(o map[string]any, path ...string) string {
	v, _ := nestedValue(o, path...)
	s, _ := v.(string)
	return s
}

// intAt reads an integer as client-go decodes it (int64), or as
// encoding/json does (float64).
func intAt(o map[string]any, path ...string) (int, bool) {
	v, _ := nestedValue(o, path...)
	return asInt(v)
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int64:
		return int(x), true
	case int:
		return x, true
	case int32:
		return int(x), true
	case float64:
		return int(x), x == float64(int(x))
	case json.Number:
		n, err := x.Int64()
		return int(n), err == nil
	}
	return 0, false
}

// fieldText is a field's value as a Change shows it; ok is false when the
// field is absent.
func fieldText(o map[string]any, path ...string) (string, bool) {
	v, ok := nestedValue(o, path...)
	if !ok || v == nil {
		return "", false
	}
	if n, isInt := asInt(v); isInt {
		return strconv.Itoa(n), true
	}
	if s, isString := v.(string); isString {
		return clean.Text(s), true
	}
	return clean.Text(fmt.Sprint(v)), true
}

func intPtr(n int) *int { return &n }

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
