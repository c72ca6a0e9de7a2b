package kserve

import (
	"context"
	"fmt"
	"strings"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// Check names, in the order preflight runs them.
const (
	CheckReadOnly         = "read-only"
	CheckAccess           = "access"
	CheckDryRun           = "dry-run"
	CheckMode             = "mode"
	CheckPreviousModel    = "previous-model"
	CheckPreviousRevision = "previous-revision"
	CheckMinReplicas      = "min-replicas"
	CheckVerdict          = "verdict"
	CheckInFlight         = "in-flight"
)

// ReadOnlyRefusal is the detail of the read-only check and the message of
// an action refused in read-only mode.
const ReadOnlyRefusal = "read-only mode: mltop will not change anything"

// knativeRevisionLabel labels a Knative revision's pods with its name.
const knativeRevisionLabel = "serving.knative.dev/revision"

// Preflight runs every check of a plan. It changes nothing: the access
// review is a question and the dry run is server-side with dryRun=All. In
// read-only mode it sends no request at all.
func (e *Executor) Preflight(ctx context.Context, p actions.Plan) actions.Preflight {
	pre := actions.Preflight{PlanID: p.ID}
	if e.o.ReadOnly {
		pre.Checks = []actions.Check{{
			Name: CheckReadOnly, Status: actions.CheckFail, Detail: ReadOnlyRefusal,
			Remedy: "start mltop without --read-only (and read_only: false in the config) to act",
		}}
		return pre
	}
	pre.Verdict = e.verdictLine(keyOf(p))

	access := e.checkAccess(ctx, p)
	pre.Checks = append(pre.Checks, access)
	if access.Status == actions.CheckFail {
		// The dry run is authorised exactly like the write: it would only
		// repeat the denial, as a request that is itself a patch.
		pre.Checks = append(pre.Checks, actions.Check{Name: CheckDryRun, Status: actions.CheckSkip, Detail: "not tried: access denied"})
	} else {
		pre.Checks = append(pre.Checks, e.checkDryRun(ctx, p))
	}
	pre.Checks = append(pre.Checks, checkMode(p))
	if p.Request.ToPreviousModel {
		pre.Checks = append(pre.Checks, checkPreviousModel(p))
	}
	if p.Request.Kind == actions.Rollback {
		pre.Checks = append(pre.Checks, e.checkPreviousRevision(ctx, p), checkMinReplicas(p))
	}
	pre.Checks = append(pre.Checks, checkVerdict(p, pre.Verdict), e.checkInFlight(p))
	return pre
}

func (e *Executor) verdictLine(key sources.ServiceKey) string {
	if e.o.Verdict != nil {
		if v := clean.Text(strings.TrimSpace(e.o.Verdict(key.Namespace, key.Name))); v != "" {
			return v
		}
	}
	return "no verdict available"
}

// checkAccess asks the API server whether the user may patch the service.
func (e *Executor) checkAccess(ctx context.Context, p actions.Plan) actions.Check {
	gvr := inferenceServices()
	review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: p.Request.Namespace, Verb: "patch", Group: gvr.Group, Version: gvr.Version,
			Resource: gvr.Resource, Name: p.Request.Name,
		},
	}}
	c := actions.Check{Name: CheckAccess}
	got, err := e.o.Typed.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		// Not a denial: the dry run below is authorised like the write and
		// answers the same question.
		c.Status = actions.CheckWarn
		c.Detail = "could not ask whether you may patch inferenceservices: " + apiMessage(err)
		return c
	}
	if got.Status.Allowed {
		c.Status = actions.CheckPass
		c.Detail = fmt.Sprintf("you may patch inferenceservices in %s", p.Request.Namespace)
		return c
	}
	c.Status = actions.CheckFail
	c.Detail = fmt.Sprintf("you may not patch inferenceservices/%s in %s", p.Request.Name, p.Request.Namespace)
	if reason := clean.Text(got.Status.Reason); reason != "" {
		c.Detail += ": " + reason
	}
	if evalErr := clean.Text(got.Status.EvaluationError); evalErr != "" {
		c.Detail += " (evaluation error: " + evalErr + ")"
	}
	c.Remedy = fmt.Sprintf("ask for the patch verb on %s in %s (a Role and RoleBinding)", gvr.GroupResource(), p.Request.Namespace)
	return c
}

// checkDryRun sends the exact patch with dryRun=All: admission webhooks,
// defaulting and schema validation run, nothing is stored.
func (e *Executor) checkDryRun(ctx context.Context, p actions.Plan) actions.Check {
	c := actions.Check{Name: CheckDryRun}
	if len(p.Patch) == 0 {
		c.Status, c.Detail = actions.CheckFail, "the plan has no patch"
		return c
	}
	_, err := e.o.Dynamic.Resource(inferenceServices()).Namespace(p.Request.Namespace).Patch(ctx, p.Request.Name,
		types.MergePatchType, p.Patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: e.o.FieldManager})
	switch {
	case err == nil:
		c.Status, c.Detail = actions.CheckPass, "server-side dry run accepted"
	case apierrors.IsConflict(err):
		c.Status = actions.CheckFail
		c.Detail = fmt.Sprintf("%s changed since the plan (resourceVersion %s is stale)", p.Request.Name, p.ResourceVersion)
		c.Remedy = "plan again from the current state"
	case apierrors.IsForbidden(err):
		c.Status, c.Detail = actions.CheckFail, "dry run forbidden: "+apiMessage(err)
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		c.Status, c.Detail = actions.CheckFail, "the API server rejects the patch: "+apiMessage(err)
	case apierrors.IsNotFound(err):
		c.Status, c.Detail = actions.CheckFail, fmt.Sprintf("%s no longer exists", p.Request.Name)
	default:
		c.Status, c.Detail = actions.CheckFail, "dry run failed: "+apiMessage(err)
	}
	return c
}

// movesTraffic reports whether the plan works through canaryTrafficPercent.
func movesTraffic(p actions.Plan) bool {
	return p.Intent.CanaryPercent != nil || p.Intent.RemoveCanaryPercent
}

func checkMode(p actions.Plan) actions.Check {
	svc := p.Service
	c := actions.Check{Name: CheckMode, Status: actions.CheckPass}
	switch {
	case p.Request.Kind == actions.Pin:
		c.Detail = fmt.Sprintf("%s mode: minReplicas applies", modeName(svc.Mode))
	case !movesTraffic(p):
		c.Detail = fmt.Sprintf("%s mode: a storageUri change rolls out the previous model", modeName(svc.Mode))
	case svc.Mode == sources.ModeKnative:
		c.Detail = "Knative mode: canary traffic is supported"
	case svc.Mode == "":
		c.Status = actions.CheckWarn
		c.Detail = "deployment mode unknown (neither status nor annotation says): canary traffic works only in Knative mode"
	default:
		c.Status = actions.CheckFail
		c.Detail = noCanaryTrafficExplanation(svc) + ", so this would move no traffic"
		if p.Request.Kind == actions.Promote {
			c.Remedy = "what works here: roll out the new model by changing storageUri; pin minReplicas (M)"
		} else {
			c.Remedy = "what works here: roll back by storageUri (rollback --to-previous-model); pin minReplicas (M)"
		}
	}
	return c
}

func checkPreviousModel(p actions.Plan) actions.Check {
	c := actions.Check{Name: CheckPreviousModel}
	if p.Intent.StorageURI != "" {
		c.Status, c.Detail = actions.CheckPass, "previous model "+p.Intent.StorageURI
		return c
	}
	c.Status, c.Detail = actions.CheckFail, "the previous model is unknown"
	for _, n := range p.Notes {
		if reason, ok := strings.CutPrefix(n, previousModelNote); ok {
			c.Detail += ": " + reason
		}
	}
	c.Remedy = "set storageUri to the previous model yourself, or configure the model registry (MLflow) so mltop can find it"
	return c
}

// checkPreviousRevision checks that the revision a rollback sends traffic
// to can take it. The seed's scenario 3: a previous revision scaled to zero
// cold-starts slower than its readiness probe allows, and the rollback fails
// with "RevisionFailed: ... has no ready pods".
func (e *Executor) checkPreviousRevision(ctx context.Context, p actions.Plan) actions.Check {
	svc := p.Service
	c := actions.Check{Name: CheckPreviousRevision, Status: actions.CheckSkip}
	switch {
	case trafficless(svc.Mode):
		c.Detail = fmt.Sprintf("%s mode has no revisions to return to", modeName(svc.Mode))
		return c
	case p.Intent.CanaryTraffic == nil || *p.Intent.CanaryTraffic != 0:
		c.Detail = "no traffic returns to a previous revision: the new revision takes it once Ready"
		return c
	}
	rev := previousRevision(svc)
	if rev == "" {
		c.Status = actions.CheckFail
		c.Detail = "there is no previous revision to return traffic to (status has no latestRolledoutRevision)"
		c.Remedy = "roll back by storageUri: --to-previous-model"
		return c
	}
	var notReady string
	if revObj, err := e.o.Dynamic.Resource(knativeRevisions()).Namespace(svc.Namespace).Get(ctx, rev, metav1.GetOptions{}); err == nil {
		ready := false
		for _, cond := range mapsIn(revObj.Object, "status", "conditions") {
			if cond["type"] == "Ready" {
				ready = cond["status"] == "True"
				if !ready {
					notReady = clean.Text(firstString(cond["message"], cond["reason"], "Ready is "+fmt.Sprint(cond["status"])))
				}
			}
		}
		if !ready && notReady == "" {
			notReady = "no Ready condition"
		}
	} else {
		// Reading Knative revisions needs a permission the user may lack;
		// the pods below still tell whether it can serve.
		e.log.Debug("previous revision status not readable", "revision", rev, "err", err)
	}
	pods, err := e.o.Typed.CoreV1().Pods(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: knativeRevisionLabel + "=" + rev})
	if err != nil {
		c.Status = actions.CheckWarn
		c.Detail = fmt.Sprintf("could not count previous revision %s's pods: %s", rev, apiMessage(err))
		if notReady != "" {
			c.Status, c.Detail = actions.CheckFail, fmt.Sprintf("previous revision %s is not Ready: %s", rev, notReady)
		}
		return c
	}
	ready, total := countReady(pods.Items)
	remedy := "pin minReplicas first (M), or roll back by storageUri: --to-previous-model"
	switch {
	case notReady != "":
		c.Status = actions.CheckFail
		c.Detail = fmt.Sprintf("previous revision %s is not Ready: %s (%d/%d pods ready)", rev, notReady, ready, total)
		c.Remedy = remedy
	case ready == 0:
		c.Status = actions.CheckFail
		c.Detail = fmt.Sprintf("previous revision %s has no ready pods (%d/%d): it has likely scaled to zero, and traffic sent back to it waits for a cold start that can outlast its readiness probe, so the rollback fails (RevisionFailed: has no ready pods)", rev, ready, total)
		c.Remedy = remedy
		if p.Request.ToPreviousModel {
			// The user already chose the remedy that does not depend on
			// this revision for long: warn, do not block.
			c.Status = actions.CheckWarn
			c.Remedy = "expect a cold start until the new revision with the previous model is promoted; pin minReplicas (M) to avoid it next time"
		}
	default:
		c.Status = actions.CheckPass
		c.Detail = fmt.Sprintf("previous revision %s Ready, %d/%d pods ready", rev, ready, total)
	}
	return c
}

func countReady(pods []corev1.Pod) (ready, total int) {
	for i := range pods {
		pod := &pods[i]
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		total++
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready, total
}

func checkMinReplicas(p actions.Plan) actions.Check {
	c := actions.Check{Name: CheckMinReplicas}
	if p.Intent.CanaryTraffic == nil || *p.Intent.CanaryTraffic != 0 {
		c.Status, c.Detail = actions.CheckSkip, "no traffic returns to a previous revision"
		return c
	}
	if n := p.Service.MinReplicas; n > 0 {
		c.Status, c.Detail = actions.CheckPass, fmt.Sprintf("minReplicas %d: revisions keep warm pods (0 would mean a cold start on rollback)", n)
		return c
	}
	c.Status = actions.CheckWarn
	c.Detail = "minReplicas 0: cold-start risk: the previous revision may have scaled to zero"
	c.Remedy = "pin minReplicas first (M)"
	return c
}

// checkVerdict shows the canary judge's verdict. It never blocks: the judge
// advises, the person on call decides; it warns when the two disagree.
func checkVerdict(p actions.Plan, verdict string) actions.Check {
	c := actions.Check{Name: CheckVerdict, Status: actions.CheckPass, Detail: verdict}
	word := strings.ToUpper(strings.Trim(strings.SplitN(verdict, " ", 2)[0], ":,."))
	switch p.Request.Kind {
	case actions.Promote:
		switch word {
		case "ROLLBACK", "HOLD", "INCONCLUSIVE", "OBSERVING":
			c.Status, c.Detail = actions.CheckWarn, "the judge does not recommend promoting: "+verdict
		case "PROMOTE":
		default:
			c.Status, c.Detail = actions.CheckWarn, "promoting without a verdict: "+verdict
		}
	case actions.Rollback:
		if word == "PROMOTE" {
			c.Status, c.Detail = actions.CheckWarn, "the judge recommends promoting, not rolling back: "+verdict
		}
	}
	return c
}

func (e *Executor) checkInFlight(p actions.Plan) actions.Check {
	if id, busy := e.running(keyOf(p)); busy {
		return actions.Check{
			Name: CheckInFlight, Status: actions.CheckFail,
			Detail: fmt.Sprintf("another action (%s) is running on %s", id, keyOf(p)),
			Remedy: "wait for it to finish, then plan again",
		}
	}
	return actions.Check{Name: CheckInFlight, Status: actions.CheckPass, Detail: "no other action is running on " + keyOf(p).String()}
}

func mapsIn(o map[string]any, path ...string) []map[string]any {
	v, _ := nestedValue(o, path...)
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func firstString(vs ...any) string {
	for _, v := range vs {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}
