// Package actions is what mltop does to the platform: promote a canary, roll
// it back, pin minReplicas. Every action, from a key in the dashboard or a
// headless command, goes through one pipeline:
//
//	plan -> preflight -> confirm -> apply -> verify -> audit
//
// This package holds the pipeline's plain value types and the interfaces
// between its stages. It imports no Kubernetes package: actions/kserve talks
// to the cluster, actions/audit writes the log, and the UI sees only these
// types.
package actions

import (
	"context"
	"time"

	"github.com/mltop/mltop/sources"
)

// Kind names an action.
type Kind string

const (
	// Promote removes spec.predictor.canaryTrafficPercent: the canary takes all traffic.
	Promote Kind = "promote"
	// Rollback sets canaryTrafficPercent to 0: traffic returns to the previous
	// rolled-out revision; with ToPreviousModel it also restores the previous
	// stable model's storageUri.
	Rollback Kind = "rollback"
	// Pin sets minReplicas (default 1), recording the previous value; with
	// Unpin it restores the recorded value.
	Pin Kind = "pin"
)

// Request is what the user asked for, before anything is read.
type Request struct {
	Kind      Kind
	Namespace string
	Name      string
	// ToPreviousModel (rollback): also set storageUri back to the previous
	// stable model's, for a canary that cannot be rolled back by traffic.
	ToPreviousModel bool
	// MinReplicas (pin): the value to pin; 0 means the default, 1.
	MinReplicas int
	// Unpin (pin): restore the minReplicas recorded when it was pinned.
	Unpin bool
}

// Change is one field the patch changes, for the diff the user confirms.
type Change struct {
	Path string // e.g. spec.predictor.canaryTrafficPercent
	From string // "" with Absent... when the field is not set
	To   string
	// FromAbsent and ToAbsent mark a field that is not set before or after.
	FromAbsent bool
	ToAbsent   bool
}

// Intent is what the service must look like after the action, for verify.
type Intent struct {
	// CanaryPercent is the wanted canaryTrafficPercent; nil with
	// RemoveCanaryPercent for a promote.
	CanaryPercent       *int
	RemoveCanaryPercent bool
	MinReplicas         *int
	StorageURI          string
	// CanaryTraffic is the share of traffic the latest revision must
	// receive once the action took effect (0 after a rollback, 100 after a
	// promote); nil when the split is not the point (pin).
	CanaryTraffic *int
}

// Plan is one planned action against one observed state of the service.
// Messages about a plan carry its ID; a message with a stale ID is ignored.
type Plan struct {
	ID      string
	Request Request
	// Context is the kubeconfig context the plan targets (shown in the dialog).
	Context string
	// Service is the state the plan was made from.
	Service sources.Service
	// ResourceVersion is the precondition: the patch carries it, so a service
	// changed since the plan is never overwritten.
	ResourceVersion string
	Changes         []Change
	// Patch is the JSON merge patch body, metadata.resourceVersion included.
	Patch []byte
	// Summary is one line, e.g. "canaryTrafficPercent 20 -> 0: all traffic
	// to fraud-detector-predictor-00001".
	Summary string
	Intent  Intent
	// Protected is true in a protected namespace: the user must type the
	// service's name to confirm.
	Protected bool
	// Notes explain what the plan does not do, e.g. why a Standard-mode
	// service offers no traffic rollback.
	Notes []string
}

// CheckStatus is the result of one preflight check.
type CheckStatus int

const (
	CheckPass CheckStatus = iota
	// CheckWarn does not block the action but is shown (minReplicas 0).
	CheckWarn
	// CheckFail blocks the action.
	CheckFail
	// CheckSkip: the check does not apply (e.g. no previous revision to check for a pin).
	CheckSkip
)

// String is the word shown beside the check: state never depends on colour.
func (s CheckStatus) String() string {
	switch s {
	case CheckPass:
		return "ok"
	case CheckWarn:
		return "warn"
	case CheckFail:
		return "FAIL"
	}
	return "skip"
}

// Check is one preflight check with its reason.
type Check struct {
	Name   string // e.g. "access", "dry-run", "mode", "previous-revision", "min-replicas", "verdict", "in-flight"
	Status CheckStatus
	Detail string // e.g. "you may patch inferenceservices in ml-prod"
	// Remedy says what to do about a failing or warning check, e.g. "pin minReplicas first: M".
	Remedy string
}

// Preflight is every check of a plan.
type Preflight struct {
	PlanID string
	Checks []Check
	// Verdict is the canary's current verdict line, shown in the dialog.
	Verdict string
}

// Blocked reports whether any check failed.
func (p Preflight) Blocked() bool {
	for _, c := range p.Checks {
		if c.Status == CheckFail {
			return true
		}
	}
	return false
}

// Stage is where a running action is.
type Stage string

const (
	StagePlan      Stage = "plan"
	StagePreflight Stage = "preflight"
	StageConfirm   Stage = "confirm"
	StageApply     Stage = "apply"
	StageVerify    Stage = "verify"
	StageAudit     Stage = "audit"
	StageDone      Stage = "done"
)

// Progress reports a running action, e.g. "patched, waiting for traffic 0/100".
type Progress struct {
	PlanID  string
	Stage   Stage
	Message string
}

// Result is how an attempt ended.
type Result string

const (
	Succeeded Result = "succeeded"
	// Failed: the apply or the verify failed.
	Failed Result = "failed"
	// Refused: a preflight check failed or read-only mode; nothing was sent.
	Refused Result = "refused"
	// Declined: the user said no.
	Declined Result = "declined"
	// Conflict: the service changed since the plan; nothing was overwritten.
	Conflict Result = "conflict"
	// TimedOut: the patch applied but the service did not reach the intent in time.
	TimedOut Result = "timed-out"
)

// Outcome is the end of one attempt.
type Outcome struct {
	PlanID   string
	Result   Result
	Message  string
	Duration time.Duration
	// Replanned is the fresh plan after a conflict, so the user sees what
	// changed and decides again.
	Replanned *Plan
	// Service is the service's state at the end, when known.
	Service *sources.Service
}

// Executor runs the pipeline's stages. The dashboard and the headless
// commands use the same executor; confirmation is theirs (a dialog or a
// prompt), everything else happens here. Each method may block on the
// cluster: the dashboard calls them from commands, never from Update.
type Executor interface {
	// Plan reads the service and builds the patch. It makes no change.
	Plan(ctx context.Context, r Request) (Plan, error)
	// Preflight runs every check of a plan. It makes no change (the dry run
	// is server-side with dryRun=All).
	Preflight(ctx context.Context, p Plan) Preflight
	// Execute applies a confirmed plan, verifies it and writes the audit
	// line. It reports progress as it goes. It refuses in read-only mode
	// and while another action runs on the same service.
	Execute(ctx context.Context, p Plan, pre Preflight, progress func(Progress)) Outcome
	// Record writes the audit line of an attempt that never reached
	// Execute (declined, refused by preflight).
	Record(ctx context.Context, p Plan, pre Preflight, o Outcome)
	// ReadOnly reports whether mutating actions are refused.
	ReadOnly() bool
}
