package kserve

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/kube"
)

// unknownUser names the user in the audit log when the API server did not.
const unknownUser = "unknown"

// maxEventMessage is the longest Event message the API server keeps.
const maxEventMessage = 1024

func keyOf(p actions.Plan) sources.ServiceKey {
	return sources.ServiceKey{Namespace: p.Request.Namespace, Name: p.Request.Name}
}

// Execute applies a confirmed plan, verifies it and writes the audit line.
// It refuses, sending nothing, in read-only mode, when a preflight check
// failed and while another action runs on the same service. A service that
// changed since the plan is never overwritten: the outcome is Conflict with
// a fresh plan for the user to decide on.
func (e *Executor) Execute(ctx context.Context, p actions.Plan, pre actions.Preflight, progress func(actions.Progress)) actions.Outcome {
	start := e.o.Now()
	report := func(stage actions.Stage, msg string) {
		if progress != nil {
			progress(actions.Progress{PlanID: p.ID, Stage: stage, Message: msg})
		}
	}
	finish := func(o actions.Outcome) actions.Outcome {
		o.PlanID = p.ID
		o.Duration = e.since(start)
		report(actions.StageAudit, "writing the audit line")
		if err := e.audit(ctx, p, pre, o); err != nil {
			o.Message += " (audit log not written: " + clean.Text(err.Error()) + ")"
		}
		report(actions.StageDone, o.Message)
		return o
	}
	refuse := func(msg string) actions.Outcome {
		return finish(actions.Outcome{Result: actions.Refused, Message: msg + "; nothing was sent"})
	}

	switch {
	case e.o.ReadOnly:
		return refuse(ReadOnlyRefusal)
	case p.ID == "" || len(p.Patch) == 0:
		return refuse("not a plan: it has no ID or no patch")
	case p.Context != e.o.Context:
		// A plan made before the user switched contexts must not land on
		// another cluster's service of the same name.
		return refuse(fmt.Sprintf("the plan was made for context %q, but this executor acts on %q: plan again", p.Context, e.o.Context))
	case pre.PlanID != p.ID:
		return refuse(fmt.Sprintf("the preflight checks are for plan %q, not this one (%s): run them for this plan", pre.PlanID, p.ID))
	case pre.Blocked():
		return refuse("refused by preflight: " + failedChecks(pre))
	}
	release, holder, ok := e.acquire(keyOf(p), p.ID)
	if !ok {
		return refuse(fmt.Sprintf("another action (%s) is running on %s", holder, keyOf(p)))
	}
	defer release()

	report(actions.StageApply, "patching "+keyOf(p).String())
	patched, err := e.o.Dynamic.Resource(inferenceServices()).Namespace(p.Request.Namespace).Patch(ctx, p.Request.Name,
		types.MergePatchType, p.Patch, metav1.PatchOptions{FieldManager: e.o.FieldManager})
	if apierrors.IsConflict(err) {
		return finish(e.conflict(ctx, p))
	}
	if err != nil {
		return finish(actions.Outcome{Result: actions.Failed, Message: "the patch failed: " + apiMessage(err)})
	}

	final, met, gone, why := e.verify(ctx, p, patched, func(msg string) { report(actions.StageVerify, msg) })
	svc := kube.ServiceFrom(final)
	o := actions.Outcome{Service: &svc}
	switch {
	case gone:
		o.Service = nil
		o.Result, o.Message = actions.Failed, fmt.Sprintf("patched, but %s was deleted while mltop waited for it", p.Request.Name)
	case met:
		o.Result, o.Message = actions.Succeeded, succeeded(p, svc)
	case ctx.Err() != nil:
		// The caller gave up (the user quit): the patch is in, unverified.
		o.Result, o.Message = actions.TimedOut, fmt.Sprintf("patched, but mltop stopped waiting before %s reached the intended state (%s)", p.Request.Name, ctx.Err())
	case why == "":
		o.Result, o.Message = actions.TimedOut, fmt.Sprintf("patched, but %s did not reach the intended state within %s", p.Request.Name, e.o.VerifyTimeout)
	default:
		o.Result, o.Message = actions.TimedOut, fmt.Sprintf("patched, but %s did not reach the intended state within %s: %s", p.Request.Name, e.o.VerifyTimeout, why)
	}
	if !gone {
		e.event(ctx, p, final, o)
	}
	return finish(o)
}

func failedChecks(pre actions.Preflight) string {
	var parts []string
	for _, c := range pre.Checks {
		if c.Status == actions.CheckFail {
			parts = append(parts, c.Name+": "+c.Detail)
		}
	}
	return strings.Join(parts, "; ")
}

// conflict reads the service again after a 409, says what changed and plans
// the same request from the fresh state. It never writes.
func (e *Executor) conflict(ctx context.Context, p actions.Plan) actions.Outcome {
	o := actions.Outcome{Result: actions.Conflict}
	fresh, err := e.get(ctx, p.Request.Namespace, p.Request.Name)
	if err != nil {
		o.Message = fmt.Sprintf("%s changed since the plan (resourceVersion %s is stale) and could not be read again: %s; nothing was changed",
			p.Request.Name, p.ResourceVersion, err)
		return o
	}
	svc := kube.ServiceFrom(fresh)
	o.Service = &svc
	o.Message = describeChange(p.Service, svc) + "; nothing was changed"
	replanned, err := e.planFrom(ctx, p.Request, fresh)
	if err != nil {
		o.Message += "; no new plan: " + err.Error()
		return o
	}
	o.Replanned = &replanned
	return o
}

// describeChange says how the service differs from when it was planned, in
// the fields the actions are about.
func describeChange(was, now sources.Service) string {
	var parts []string
	canary := func(s sources.Service) string {
		if !s.HasCanaryPercent {
			return "not set"
		}
		return strconv.Itoa(s.CanaryPercent)
	}
	if canary(was) != canary(now) {
		parts = append(parts, fmt.Sprintf("canaryTrafficPercent is now %s (was %s when planned)", canary(now), canary(was)))
	}
	if was.MinReplicas != now.MinReplicas {
		parts = append(parts, fmt.Sprintf("minReplicas is now %d (was %d when planned)", now.MinReplicas, was.MinReplicas))
	}
	if was.StorageURI != now.StorageURI {
		parts = append(parts, fmt.Sprintf("storageUri is now %s (was %s when planned)", orDefault(now.StorageURI, "not set"), orDefault(was.StorageURI, "not set")))
	}
	if was.Mode != now.Mode {
		parts = append(parts, fmt.Sprintf("the deployment mode is now %s (was %s when planned)", modeName(now.Mode), modeName(was.Mode)))
	}
	if was.CanaryRevision != now.CanaryRevision || was.StableRevision != now.StableRevision {
		parts = append(parts, fmt.Sprintf("the revisions are now %s stable / %s canary (were %s / %s when planned)",
			orDefault(now.StableRevision, "none"), orDefault(now.CanaryRevision, "none"),
			orDefault(was.StableRevision, "none"), orDefault(was.CanaryRevision, "none")))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s changed since the plan (resourceVersion %s -> %s), though not in the fields this action touches",
			now.Name, orDefault(was.ResourceVersion, "?"), orDefault(now.ResourceVersion, "?"))
	}
	return strings.Join(parts, "; ")
}

// succeeded is the outcome message of a verified action.
func succeeded(p actions.Plan, svc sources.Service) string {
	switch p.Request.Kind {
	case actions.Promote:
		if latest := latestRevision(svc); latest != "" {
			return "promoted: all traffic to " + latest
		}
		return "promoted: canaryTrafficPercent removed"
	case actions.Rollback:
		var msg string
		switch {
		case p.Intent.CanaryTraffic != nil && *p.Intent.CanaryTraffic == 0:
			msg = "rolled back: all traffic to " + orDefault(previousRevision(svc), "the previous revision")
		case p.Intent.StorageURI != "":
			msg = "rolled back to the previous model"
		default:
			msg = "rolled back"
		}
		if p.Intent.StorageURI != "" && p.Intent.CanaryTraffic != nil && *p.Intent.CanaryTraffic == 0 {
			msg += "; storageUri is the previous model's (promote its new revision when ready)"
		}
		return msg
	}
	if p.Request.Unpin {
		if p.Intent.MinReplicas == nil {
			return "minReplicas restored: unset (KServe's default)"
		}
		return fmt.Sprintf("minReplicas restored to %d", *p.Intent.MinReplicas)
	}
	return fmt.Sprintf("minReplicas pinned at %d", p.Request.MinReplicas)
}

// latestRevision is the revision marked latestRevision in the traffic.
func latestRevision(svc sources.Service) string {
	for _, t := range svc.Traffic {
		if t.Latest && t.Revision != "" {
			return t.Revision
		}
	}
	return ""
}

// Record writes the audit line of an attempt that never reached Execute
// (declined, refused by preflight).
func (e *Executor) Record(ctx context.Context, p actions.Plan, pre actions.Preflight, o actions.Outcome) {
	if o.PlanID == "" {
		o.PlanID = p.ID
	}
	if err := e.audit(ctx, p, pre, o); err != nil {
		e.log.Error("audit line not written", "plan", p.ID, "err", err)
	}
}

// audit appends the attempt's line; without an audit log it does nothing.
func (e *Executor) audit(ctx context.Context, p actions.Plan, pre actions.Preflight, o actions.Outcome) error {
	if e.o.Audit == nil {
		return nil
	}
	var patch json.RawMessage
	if len(p.Patch) > 0 {
		patch = append(json.RawMessage(nil), p.Patch...)
	}
	entry := audit.Entry{
		Time:            e.o.Now(),
		User:            e.whoAmI(ctx),
		Context:         p.Context,
		Namespace:       p.Request.Namespace,
		Service:         p.Request.Name,
		Action:          p.Request.Kind,
		PlanID:          p.ID,
		ToPreviousModel: p.Request.ToPreviousModel,
		MinReplicas:     p.Request.MinReplicas,
		Unpin:           p.Request.Unpin,
		Summary:         p.Summary,
		ResourceVersion: p.ResourceVersion,
		Patch:           patch,
		Checks:          pre.Checks,
		Verdict:         pre.Verdict,
		Result:          o.Result,
		Message:         clean.Text(o.Message),
		DurationMS:      o.Duration.Milliseconds(),
	}
	if err := e.o.Audit.Append(entry); err != nil {
		e.log.Error("audit line not written", "plan", p.ID, "err", err)
		return err
	}
	return nil
}

// whoAmI asks the API server who the user is (SelfSubjectReview), once per
// executor. In read-only mode it asks nothing: the review is a create.
func (e *Executor) whoAmI(ctx context.Context) string {
	if e.o.ReadOnly {
		return unknownUser
	}
	e.mu.Lock()
	user := e.user
	e.mu.Unlock()
	if user != "" {
		return user
	}
	// The audit line must be written even when the caller gave up.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.eventTimeout)
	defer cancel()
	review, err := e.o.Typed.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		e.log.Warn("audit user unknown: the SelfSubjectReview failed", "err", err)
		return unknownUser
	}
	user = clean.Text(review.Status.UserInfo.Username)
	if user == "" {
		e.log.Warn("audit user unknown: the SelfSubjectReview named no user")
		return unknownUser
	}
	e.mu.Lock()
	e.user = user
	e.mu.Unlock()
	return user
}

// event records a patch that reached the cluster as a Kubernetes Event on
// the service, so colleagues see it in kubectl describe. Best effort: it
// never delays the outcome by more than eventTimeout and its failure is
// only logged.
func (e *Executor) event(ctx context.Context, p actions.Plan, obj *unstructured.Unstructured, o actions.Outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.eventTimeout)
	defer cancel()
	now := e.o.Now()
	eventType := corev1.EventTypeNormal
	if o.Result != actions.Succeeded {
		eventType = corev1.EventTypeWarning
	}
	msg := fmt.Sprintf("mltop %s by %s (plan %s): %s; %s", p.Request.Kind, e.whoAmI(ctx), p.ID, p.Summary, o.Message)
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	gvr := inferenceServices()
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", p.Request.Name, now.UnixNano()),
			Namespace: p.Request.Namespace,
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion:      gvr.GroupVersion().String(),
			Kind:            "InferenceService",
			Namespace:       p.Request.Namespace,
			Name:            p.Request.Name,
			UID:             obj.GetUID(),
			ResourceVersion: obj.GetResourceVersion(),
		},
		Reason:         eventReason(p.Request),
		Message:        msg,
		Type:           eventType,
		Source:         corev1.EventSource{Component: e.o.FieldManager},
		FirstTimestamp: metav1.NewTime(now),
		LastTimestamp:  metav1.NewTime(now),
		Count:          1,
	}
	if _, err := e.o.Typed.CoreV1().Events(p.Request.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		e.log.Warn("event not recorded", "service", keyOf(p).String(), "err", err)
	}
}

// eventReason is the Event's CamelCase reason, e.g. MltopRollback.
func eventReason(r actions.Request) string {
	switch {
	case r.Kind == actions.Pin && r.Unpin:
		return "MltopUnpin"
	case r.Kind == actions.Pin:
		return "MltopPin"
	case r.Kind == actions.Promote:
		return "MltopPromote"
	}
	return "MltopRollback"
}
