package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/actions/kserve"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/sources/kube"
	"github.com/mltop/mltop/sources/report"
	"github.com/mltop/mltop/sources/sim"
)

// demoSettle is how far the demo's stopped clock moves after a change: the
// controller acts and a few seconds of traffic follow the new split, so a
// one-shot command (and a read of the platform after it) sees the effect.
const demoSettle = 5 * time.Second

// actionTimeout bounds a whole headless action, verify included.
const actionTimeout = 5 * time.Minute

// actionFlags are the flags every action command takes.
type actionFlags struct {
	dryRun bool
	yes    bool
	output string
	demo   bool
	d      demoFlags
}

func (f *actionFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "plan and run every check, the server-side dry run included, print them and change nothing")
	fl.BoolVar(&f.yes, "yes", false, "do not ask for confirmation (for scripts: check with --dry-run first)")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text or json")
	fl.BoolVar(&f.demo, "demo", false, "act on the embedded simulated platform instead of a cluster")
	f.d.register(cmd, 10*time.Minute)
	// A one-shot action stops the demo's clock at --at, as a snapshot does.
	_ = fl.MarkHidden("speed")
}

func newPromoteCommand(a *app) *cobra.Command {
	var f actionFlags
	cmd := &cobra.Command{
		Use:   "promote NAME",
		Short: "Promote an InferenceService's canary: it takes all traffic",
		Long: `promote removes spec.predictor.canaryTrafficPercent from a KServe InferenceService in Knative mode,
so the latest revision takes all traffic and becomes the rolled-out one. mltop plans the patch,
checks that you may make it (and that the API server accepts it, as a server-side dry run),
shows the canary's verdict, asks you to confirm, applies it with the observed resourceVersion,
waits until the traffic has moved and writes the attempt to the audit log.`,
		Example: `  mltop promote fraud-detector -n ml-prod --dry-run
  mltop promote fraud-detector -n ml-prod
  mltop promote fraud-detector --demo --yes -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAction(cmd.Context(), actions.Request{Kind: actions.Promote, Name: args[0]}, f)
		},
	}
	f.register(cmd)
	return cmd
}

func newRollbackCommand(a *app) *cobra.Command {
	var (
		f               actionFlags
		toPreviousModel bool
	)
	cmd := &cobra.Command{
		Use:   "rollback NAME",
		Short: "Roll back an InferenceService's canary: traffic returns to the previous revision",
		Long: `rollback sets spec.predictor.canaryTrafficPercent to 0 on a KServe InferenceService in Knative mode,
so all traffic returns to the previous rolled-out revision. Before it asks you, mltop checks that
the previous revision is Ready with ready pods: one that scaled to zero may cold-start slower than
its readiness probe allows, and the rollback then fails. --to-previous-model also sets storageUri
back to the previous stable model, which works where a traffic rollback cannot (Standard mode).`,
		Example: `  mltop rollback fraud-detector -n ml-prod --dry-run
  mltop rollback fraud-detector -n ml-prod
  mltop rollback churn-model -n ml-prod --to-previous-model
  mltop rollback fraud-detector --demo --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runAction(cmd.Context(), actions.Request{Kind: actions.Rollback, Name: args[0], ToPreviousModel: toPreviousModel}, f)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&toPreviousModel, "to-previous-model", false, "also restore the previous stable model's storageUri")
	return cmd
}

func newPinCommand(a *app) *cobra.Command {
	var (
		f     actionFlags
		min   int
		unpin bool
	)
	cmd := &cobra.Command{
		Use:   "pin NAME",
		Short: "Pin an InferenceService's minReplicas, so a rollback never waits for a cold start",
		Long: `pin sets spec.predictor.minReplicas (default 1) on a KServe InferenceService and records the value
it replaces in an annotation; --unpin restores the recorded value. A previous revision kept warm
by minReplicas >= 1 can take traffic back at once when a canary is rolled back.`,
		Example: `  mltop pin fraud-detector -n ml-prod
  mltop pin fraud-detector -n ml-prod --min 2
  mltop pin fraud-detector -n ml-prod --unpin`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if unpin && fl.Changed("min") {
				return &usageError{errors.New("--unpin restores the recorded minReplicas: it takes no --min")}
			}
			if fl.Changed("min") && min < 1 {
				return &usageError{fmt.Errorf("--min %d: pin at 1 or more (0 is what pinning avoids)", min)}
			}
			r := actions.Request{Kind: actions.Pin, Name: args[0], Unpin: unpin}
			if !unpin {
				r.MinReplicas = min
			}
			return a.runAction(cmd.Context(), r, f)
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&min, "min", 1, "the minReplicas to pin")
	cmd.Flags().BoolVar(&unpin, "unpin", false, "restore the minReplicas recorded when the service was pinned")
	return cmd
}

// actionTarget is what an action command acts on: an executor over a
// cluster's clients and the namespace a request without -n goes to.
type actionTarget struct {
	exec      *kserve.Executor
	context   string
	namespace string
	// cluster is the demo cluster in demo mode, nil otherwise.
	cluster *sim.KubeCluster
	// plat is the demo platform in demo mode.
	plat  platform
	close func()
}

// runAction is the headless pipeline: plan, preflight, print, confirm,
// execute, print the outcome.
func (a *app) runAction(ctx context.Context, r actions.Request, f actionFlags) error {
	if f.output != "text" && f.output != "json" {
		return &usageError{fmt.Errorf("-o %q: the output format is text or json", f.output)}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if cfg.ReadOnly {
		// Before any request, not even a read: read-only means the
		// command is not run at all.
		return &exitError{code: 1, err: errors.New("read-only mode: nothing was changed (the action was not attempted)")}
	}
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	logger, closeLog, err := openLog(cfg.LogPath(a.env))
	if err != nil {
		return err
	}
	defer closeLog()

	var target actionTarget
	if f.demo {
		target, err = a.demoActionTarget(ctx, cfg, f.d, !f.dryRun, logger)
	} else {
		target, err = a.liveActionTarget(ctx, cfg, !f.dryRun, logger)
	}
	if err != nil {
		return err
	}
	defer target.close()
	r.Namespace = target.namespace
	if a.g.flags != nil && a.g.flags.Changed(config.FlagNamespace) && a.g.kube.Namespace != nil {
		r.Namespace = *a.g.kube.Namespace
	}
	if r.Namespace == "" {
		return &usageError{errors.New("an action needs one namespace: give it with -n")}
	}
	return a.act(ctx, target.exec, r, f)
}

// act runs the pipeline on one executor. It prints the plan and checks on
// stdout, asks on stderr, reports progress on stderr and ends with the
// outcome; every result but success (or a dry run that passed) is exit 1.
func (a *app) act(ctx context.Context, exec actions.Executor, r actions.Request, f actionFlags) error {
	plan, err := exec.Plan(ctx, r)
	if err != nil {
		return err
	}
	pre := exec.Preflight(ctx, plan)
	doc := actionDoc{Plan: planDocOf(plan), Checks: checkDocsOf(pre.Checks), Verdict: clean.Text(pre.Verdict), DryRun: f.dryRun}
	if f.output == "text" {
		writePlan(a.out, plan, pre)
	}

	finish := func(o *actions.Outcome) error {
		if o != nil {
			od := outcomeDocOf(*o)
			doc.Outcome = &od
		}
		if f.output == "json" {
			enc := json.NewEncoder(a.out)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(doc); err != nil {
				return err
			}
		} else if o != nil {
			writeOutcome(a.out, *o)
		}
		if o != nil && o.Result != actions.Succeeded {
			// The outcome is printed already: exit 1 without repeating it.
			return &exitError{code: 1, err: errors.New("")}
		}
		return nil
	}
	// record ends an attempt that never reached Execute.
	record := func(result actions.Result, msg string) error {
		o := actions.Outcome{PlanID: plan.ID, Result: result, Message: msg}
		exec.Record(ctx, plan, pre, o)
		return finish(&o)
	}

	if f.dryRun {
		if pre.Blocked() {
			if f.output == "text" {
				fmt.Fprintln(a.out, "dry run: a check failed, so the action would be refused; nothing was changed")
			}
			if err := finish(nil); err != nil {
				return err
			}
			return &exitError{code: 1, err: errors.New("")}
		}
		if f.output == "text" {
			warnings := 0
			for _, c := range pre.Checks {
				if c.Status == actions.CheckWarn {
					warnings++
				}
			}
			switch warnings {
			case 0:
				fmt.Fprintln(a.out, "dry run: every check passed; nothing was changed")
			default:
				fmt.Fprintf(a.out, "dry run: no check failed (%d to heed); nothing was changed\n", warnings)
			}
		}
		return finish(nil)
	}
	if pre.Blocked() {
		return record(actions.Refused, "refused by preflight: "+failedCheckNames(pre)+"; nothing was sent")
	}
	if !f.yes {
		ok, why, err := a.confirm(plan)
		if err != nil {
			return record(actions.Refused, err.Error())
		}
		if !ok {
			return record(actions.Declined, why+"; nothing was changed")
		}
	}
	o := exec.Execute(ctx, plan, pre, func(p actions.Progress) {
		if p.Stage != actions.StageDone { // the outcome follows on stdout
			fmt.Fprintf(a.err, "%-7s %s\n", p.Stage, clean.Text(p.Message))
		}
	})
	return finish(&o)
}

// confirm asks the person at the terminal. The default is no: an empty
// line, anything but y or yes, or the end of input declines. In a
// protected namespace only the service's name, typed, confirms. Without a
// terminal there is no one to ask, and confirm refuses.
func (a *app) confirm(p actions.Plan) (ok bool, why string, err error) {
	if !interactive(a.in) {
		return false, "", errors.New("stdin is not a terminal, so no one can confirm; pass --yes to confirm in a script (check with --dry-run first); nothing was changed")
	}
	ns := clean.Text(p.Request.Namespace)
	question := fmt.Sprintf("%s in %s (context %s)?", actionPhrase(p.Request), ns, orNone(p.Context))
	if p.Protected {
		fmt.Fprintf(a.err, "%s %s is a protected namespace: type the service name to confirm: ", question, ns)
	} else {
		fmt.Fprintf(a.err, "%s [y/N] ", question)
	}
	line, err := bufio.NewReader(a.in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, "", fmt.Errorf("the answer could not be read (%v); nothing was changed", err)
	}
	answer := strings.TrimSpace(line)
	if p.Protected {
		if answer == p.Request.Name {
			return true, "", nil
		}
		if answer == "" {
			return false, "declined", nil
		}
		return false, fmt.Sprintf("declined: %q is not the service's name", clean.Text(answer)), nil
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return true, "", nil
	}
	return false, "declined", nil
}

// interactive reports whether a person can answer a prompt on in: it is a
// terminal. A reader may say so itself, which is how tests script a
// person at a terminal.
func interactive(in io.Reader) bool {
	switch r := in.(type) {
	case interface{ IsTerminal() bool }:
		return r.IsTerminal()
	case *os.File:
		return term.IsTerminal(r.Fd())
	}
	return false
}

// actionPhrase names an action for the title and the prompt, e.g. "Roll
// back fraud-detector".
func actionPhrase(r actions.Request) string {
	name := clean.Text(r.Name)
	switch r.Kind {
	case actions.Promote:
		return "Promote " + name
	case actions.Rollback:
		if r.ToPreviousModel {
			return "Roll back " + name + " to its previous model"
		}
		return "Roll back " + name
	case actions.Pin:
		if r.Unpin {
			return "Unpin " + name + "'s minReplicas"
		}
		n := r.MinReplicas
		if n == 0 {
			n = 1
		}
		return fmt.Sprintf("Pin %s's minReplicas at %d", name, n)
	}
	return clean.Text(string(r.Kind)) + " " + name
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return clean.Text(s)
}

func failedCheckNames(pre actions.Preflight) string {
	var names []string
	for _, c := range pre.Checks {
		if c.Status == actions.CheckFail {
			names = append(names, clean.Text(c.Name))
		}
	}
	return strings.Join(names, ", ")
}

// ---------------------------------------------------------------- targets

// demoActionTarget builds the executor over a fresh simulated platform,
// frozen at --at: a change moves its clock on by demoSettle.
func (a *app) demoActionTarget(ctx context.Context, cfg config.Config, d demoFlags, needAudit bool, logger *slog.Logger) (actionTarget, error) {
	plat, err := newDemoPlatform(cfg, d, true)
	if err != nil {
		return actionTarget{}, err
	}
	t := actionTarget{context: plat.context, namespace: plat.namespace, plat: plat}
	t.exec, t.cluster, t.close, err = a.demoExecutor(ctx, cfg, plat, needAudit, logger)
	return t, err
}

// demoExecutor is the executor over a demo platform's fake cluster: the
// same client code as against a real one. The dashboard's demo can use it
// as the headless commands do; on a running clock the cluster never moves
// time itself.
func (a *app) demoExecutor(ctx context.Context, cfg config.Config, plat platform, needAudit bool, logger *slog.Logger) (*kserve.Executor, *sim.KubeCluster, func(), error) {
	if plat.sim == nil {
		return nil, nil, nil, errors.New("not a demo platform")
	}
	cluster := plat.sim.KubeCluster(sim.KubeOptions{AdvanceOnWrite: demoSettle})
	var promFetcher sources.Fetcher
	for _, sc := range plat.sources {
		if sc.ID == sources.SourceProm {
			promFetcher = sc.Fetcher
		}
	}
	exec, closeExec, err := a.newExecutor(ctx, cfg, executorClients{
		dynamic: cluster.Dynamic(), typed: cluster.Typed(), context: plat.context,
		prom: promFetcher, now: plat.now, previousModel: kserve.RevisionModel(cluster.Dynamic()), verdicts: plat.verdicts,
	}, needAudit, logger)
	return exec, cluster, closeExec, err
}

// liveActionTarget builds the executor over the cluster of the kubeconfig
// context. The canary verdict comes from the configured Prometheus.
func (a *app) liveActionTarget(ctx context.Context, cfg config.Config, needAudit bool, logger *slog.Logger) (actionTarget, error) {
	if cfg.Kubernetes.AllNamespaces {
		return actionTarget{}, &usageError{errors.New("an action acts on one namespace: give it with -n, not -A")}
	}
	clients, err := a.connectKube(cfg)
	if err != nil {
		return actionTarget{}, err
	}
	t := actionTarget{context: clients.Context}
	if len(clients.Namespaces) == 1 {
		t.namespace = clients.Namespaces[0]
	}
	// The live platform's sources make no request until fetched; only
	// Prometheus is, once, for the verdict.
	plat, err := a.newLivePlatform(cfg, liveOptions{logger: logger, kubeSyncWait: cfg.Kubernetes.Timeout})
	if err != nil {
		return actionTarget{}, err
	}
	var prom sources.Fetcher
	promHint := ""
	for _, sc := range plat.sources {
		if sc.ID == sources.SourceProm {
			prom, promHint = sc.Fetcher, sc.Hint
		}
	}
	t.exec, t.close, err = a.newExecutor(ctx, cfg, executorClients{
		dynamic: clients.Dynamic, typed: clients.Typed, context: clients.Context,
		prom: prom, promHint: promHint, now: time.Now, previousModel: kserve.RevisionModel(clients.Dynamic),
	}, needAudit, logger)
	return t, err
}

// executorClients are what an executor is built from.
type executorClients struct {
	dynamic dynamic.Interface
	typed   kubernetes.Interface
	context string
	// prom reads the canary's figures for the verdict; nil with promHint
	// saying why there is none.
	prom     sources.Fetcher
	promHint string
	// now is the platform's clock (simulated in the demo), for the verdict.
	now           func() time.Time
	previousModel func(ctx context.Context, svc sources.Service) (string, error)
	// verdicts holds the dashboard's canary-judge verdicts; when it has one
	// for the service, the preflight shows it instead of the error-ratio rule.
	verdicts *canary.Store
}

// newExecutor builds the executor with the configuration's protected
// namespaces and read-only flag. An action that may change something is
// audited: without an audit log, mltop refuses to act.
func (a *app) newExecutor(ctx context.Context, cfg config.Config, c executorClients, needAudit bool, logger *slog.Logger) (*kserve.Executor, func(), error) {
	closeAll := func() {}
	var log *audit.Log
	if needAudit {
		dir := config.StateDir(a.env)
		if dir == "" {
			return nil, nil, errors.New("no place for the audit log: set XDG_STATE_HOME or HOME (mltop does not act without recording it)")
		}
		var err error
		if log, err = audit.Open(audit.DefaultPath(dir)); err != nil {
			return nil, nil, fmt.Errorf("%w (mltop does not act without recording it)", err)
		}
		closeAll = func() { _ = log.Close() }
	}
	exec, err := kserve.New(kserve.Options{
		Dynamic:       c.dynamic,
		Typed:         c.typed,
		Context:       c.context,
		ReadOnly:      cfg.ReadOnly,
		Protected:     cfg.Kubernetes.ProtectedNamespaces,
		Audit:         log,
		Verdict:       canaryVerdict(ctx, c, cfg.Thresholds),
		PreviousModel: c.previousModel,
		Logger:        logger,
	})
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return exec, closeAll, nil
}

// canaryVerdict is the dashboard's canary rule on one fresh look: the
// service as the API server has it now and its revisions' figures from
// Prometheus, compared as the Canary pane compares them. It is the rule,
// not the judge, so it never says PROMOTE: it says whether the canary's
// errors breach the configured ratio.
func canaryVerdict(ctx context.Context, c executorClients, th config.Thresholds) func(namespace, name string) string {
	return func(namespace, name string) string {
		if c.verdicts != nil {
			if v, ok := c.verdicts.Verdict(sources.ServiceKey{Namespace: namespace, Name: name}); ok && v.Explanation != "" {
				return clean.Text(v.Explanation)
			}
		}
		obj, err := c.dynamic.Resource(kube.InferenceServices()).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return "no verdict available: " + clean.Text(err.Error())
		}
		svc := kube.ServiceFrom(obj)
		if !svc.InCanary() {
			return "no canary in progress"
		}
		if c.prom == nil {
			hint := "Prometheus is not configured"
			if c.promHint != "" {
				hint = "Prometheus: " + c.promHint
			}
			return "no verdict available: " + clean.Text(hint)
		}
		now := c.now
		if now == nil {
			now = time.Now
		}
		inv := sources.Inventory{Services: []sources.Service{svc}}
		board := sources.NewBoard(nil)
		board.Apply(sources.Update{Status: sources.SourceStatus{ID: sources.SourceKube}, Part: sources.Part{Inventory: &inv}})
		for _, u := range sources.FetchOnce(ctx, []sources.SourceConfig{{ID: sources.SourceProm, Fetcher: c.prom}}, now) {
			if u.Status.Err != "" {
				return "no verdict available: Prometheus: " + clean.Text(u.Status.Err)
			}
			board.Apply(u)
		}
		view, ok := board.Snapshot(now()).Canary(svc.Key())
		if !ok {
			return "no canary in progress"
		}
		cmp := health.CompareCanary(view, th)
		word := report.Verdict(cmp)
		if !cmp.Known {
			return word + ": no error figures for both revisions yet"
		}
		return fmt.Sprintf("%s: canary 5xx %s vs stable %s (%s, limit %gx)", word,
			health.Percent(view.Canary.ErrorRate), health.Percent(view.Stable.ErrorRate), health.Ratio(cmp.Ratio), th.CanaryErrorRatio)
	}
}

// ---------------------------------------------------------------- output

// actionDoc is the JSON an action command prints: the plan, its checks,
// the verdict and, unless it was a dry run, the outcome.
type actionDoc struct {
	Plan    planDoc     `json:"plan"`
	Checks  []checkDoc  `json:"checks"`
	Verdict string      `json:"verdict"`
	DryRun  bool        `json:"dry_run"`
	Outcome *outcomeDoc `json:"outcome"`
}

type planDoc struct {
	ID              string          `json:"id"`
	Action          actions.Kind    `json:"action"`
	Context         string          `json:"context"`
	Namespace       string          `json:"namespace"`
	Service         string          `json:"service"`
	ToPreviousModel bool            `json:"to_previous_model,omitempty"`
	MinReplicas     int             `json:"min_replicas,omitempty"`
	Unpin           bool            `json:"unpin,omitempty"`
	Summary         string          `json:"summary"`
	ResourceVersion string          `json:"resource_version"`
	Changes         []changeDoc     `json:"changes"`
	Patch           json.RawMessage `json:"patch"`
	Protected       bool            `json:"protected"`
	Notes           []string        `json:"notes"`
}

// changeDoc is one field of the diff; from or to is null when the field is
// not set before or after.
type changeDoc struct {
	Path string  `json:"path"`
	From *string `json:"from"`
	To   *string `json:"to"`
}

type checkDoc struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Remedy string `json:"remedy,omitempty"`
}

type outcomeDoc struct {
	Result     actions.Result `json:"result"`
	Message    string         `json:"message"`
	DurationMS int64          `json:"duration_ms"`
	Service    *serviceDoc    `json:"service"`
	Replanned  *planDoc       `json:"replanned,omitempty"`
}

// serviceDoc is the service's state after the attempt, in the fields the
// actions change.
type serviceDoc struct {
	CanaryPercent  *int         `json:"canary_percent"`
	MinReplicas    int          `json:"min_replicas"`
	StorageURI     string       `json:"storage_uri"`
	StableRevision string       `json:"stable_revision,omitempty"`
	CanaryRevision string       `json:"canary_revision,omitempty"`
	Ready          bool         `json:"ready"`
	Traffic        []trafficDoc `json:"traffic"`
}

type trafficDoc struct {
	Revision string `json:"revision"`
	Percent  int    `json:"percent"`
	Latest   bool   `json:"latest"`
	Tag      string `json:"tag,omitempty"`
}

func planDocOf(p actions.Plan) planDoc {
	d := planDoc{
		ID: clean.Text(p.ID), Action: p.Request.Kind, Context: clean.Text(p.Context),
		Namespace: clean.Text(p.Request.Namespace), Service: clean.Text(p.Request.Name),
		ToPreviousModel: p.Request.ToPreviousModel, MinReplicas: p.Request.MinReplicas, Unpin: p.Request.Unpin,
		Summary: clean.Text(p.Summary), ResourceVersion: clean.Text(p.ResourceVersion),
		Changes: []changeDoc{}, Protected: p.Protected, Notes: []string{},
	}
	for _, c := range p.Changes {
		cd := changeDoc{Path: clean.Text(c.Path)}
		if !c.FromAbsent {
			from := clean.Text(c.From)
			cd.From = &from
		}
		if !c.ToAbsent {
			to := clean.Text(c.To)
			cd.To = &to
		}
		d.Changes = append(d.Changes, cd)
	}
	// The patch is printed as JSON when it is JSON (the executor builds
	// it), else as a cleaned string, never raw.
	if json.Valid(p.Patch) && clean.Text(string(p.Patch)) == string(p.Patch) {
		d.Patch = json.RawMessage(p.Patch)
	} else {
		d.Patch, _ = json.Marshal(clean.Text(string(p.Patch)))
	}
	for _, n := range p.Notes {
		d.Notes = append(d.Notes, clean.Text(n))
	}
	return d
}

func checkDocsOf(checks []actions.Check) []checkDoc {
	out := make([]checkDoc, 0, len(checks))
	for _, c := range checks {
		out = append(out, checkDoc{Name: clean.Text(c.Name), Status: c.Status.String(), Detail: clean.Text(c.Detail), Remedy: clean.Text(c.Remedy)})
	}
	return out
}

func outcomeDocOf(o actions.Outcome) outcomeDoc {
	d := outcomeDoc{Result: actions.Result(clean.Text(string(o.Result))), Message: clean.Text(o.Message), DurationMS: o.Duration.Milliseconds()}
	if o.Service != nil {
		s := o.Service
		sd := serviceDoc{MinReplicas: s.MinReplicas, StorageURI: clean.Text(s.StorageURI), StableRevision: clean.Text(s.StableRevision),
			CanaryRevision: clean.Text(s.CanaryRevision), Ready: s.Ready, Traffic: []trafficDoc{}}
		if s.HasCanaryPercent {
			v := s.CanaryPercent
			sd.CanaryPercent = &v
		}
		for _, t := range s.Traffic {
			sd.Traffic = append(sd.Traffic, trafficDoc{Revision: clean.Text(t.Revision), Percent: t.Percent, Latest: t.Latest, Tag: clean.Text(t.Tag)})
		}
		d.Service = &sd
	}
	if o.Replanned != nil {
		rp := planDocOf(*o.Replanned)
		d.Replanned = &rp
	}
	return d
}

// writePlan prints what the user is asked to confirm: the target, the
// plan, the verdict, every check with its remedy, and the patch as a diff.
func writePlan(w io.Writer, p actions.Plan, pre actions.Preflight) {
	fmt.Fprintf(w, "%s in %s (context %s)\n", actionPhrase(p.Request), clean.Text(p.Request.Namespace), orNone(p.Context))
	fmt.Fprintf(w, "  plan     %s\n", clean.Text(p.Summary))
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note     %s\n", clean.Text(n))
	}
	fmt.Fprintf(w, "  verdict  %s\n", orDefaultText(pre.Verdict, "none"))
	width := 0
	for _, c := range pre.Checks {
		width = max(width, len(clean.Text(c.Name)))
	}
	for i, c := range pre.Checks {
		label := "  checks   "
		if i > 0 {
			label = "           "
		}
		fmt.Fprintf(w, "%s%-4s  %-*s  %s\n", label, c.Status, width, clean.Text(c.Name), clean.Text(c.Detail))
		if c.Remedy != "" {
			fmt.Fprintf(w, "           %-4s  %-*s  -> %s\n", "", width, "", clean.Text(c.Remedy))
		}
	}
	for i, c := range p.Changes {
		label := "  patch    "
		if i > 0 {
			label = "           "
		}
		path := clean.Text(c.Path)
		if c.FromAbsent {
			fmt.Fprintf(w, "%s- %s (not set)\n", label, path)
		} else {
			fmt.Fprintf(w, "%s- %s: %s\n", label, path, clean.Text(c.From))
		}
		if c.ToAbsent {
			fmt.Fprintf(w, "           + %s (removed)\n", path)
		} else {
			fmt.Fprintf(w, "           + %s: %s\n", path, clean.Text(c.To))
		}
	}
	if len(p.Patch) > 0 {
		fmt.Fprintf(w, "           (JSON merge patch, resourceVersion %s: %s)\n", clean.Text(p.ResourceVersion), clean.Text(string(p.Patch)))
	}
}

// writeOutcome prints the end of an attempt: the result word first.
func writeOutcome(w io.Writer, o actions.Outcome) {
	fmt.Fprintf(w, "%s: %s", o.Result, clean.Text(o.Message))
	if o.Duration > 0 {
		fmt.Fprintf(w, " (%s)", o.Duration.Round(100*time.Millisecond))
	}
	fmt.Fprintln(w)
	if o.Replanned != nil {
		fmt.Fprintf(w, "the service changed: the plan now would be: %s\nrun the command again to act on the new state\n", clean.Text(o.Replanned.Summary))
	}
}

func orDefaultText(s, fallback string) string {
	if s = clean.Text(s); s != "" {
		return s
	}
	return fallback
}
