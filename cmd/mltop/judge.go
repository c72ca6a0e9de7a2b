package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/actions/kserve"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// Exit codes of `mltop judge`, so a pipeline can act on the verdict.
const (
	judgeExitPromote  = 0
	judgeExitRollback = 1
	judgeExitNoAction = 2 // INCONCLUSIVE, HOLD or OBSERVING: nothing to do automatically
	judgeExitError    = 3
)

// judgeFlags are the judge command's own flags.
type judgeFlags struct {
	policy   string
	replay   string
	interval time.Duration
	max      time.Duration
	watch    bool
	apply    bool
	yes      bool
	output   string
	demo     bool
	d        demoFlags
}

func newJudgeCommand(a *app) *cobra.Command {
	var f judgeFlags
	cmd := &cobra.Command{
		Use:   "judge NAME",
		Short: "Judge an InferenceService's canary against its stable revision: PROMOTE, ROLLBACK or wait",
		Long: `judge reads the canary's and the stable revision's raw request, 5xx and latency counters from
Prometheus every --interval and runs the canary judge on their increments: an anytime-valid,
baseline-relative test that may be checked on every reading without inflating false rollbacks.
It answers PROMOTE, ROLLBACK, HOLD, OBSERVING or INCONCLUSIVE with one line that carries the raw
numbers, and exits 0 on PROMOTE, 1 on ROLLBACK, 2 when there is nothing to do yet (HOLD,
OBSERVING, INCONCLUSIVE) and 3 on an error.

Without --watch it observes until the verdict is something other than OBSERVING, or for --max,
and prints that verdict. With --watch it prints every verdict until the judge decides (PROMOTE,
ROLLBACK, or INCONCLUSIVE after 30 minutes). --apply then executes a PROMOTE or a ROLLBACK through
the same pipeline as 'mltop promote' and 'mltop rollback' (checks, confirmation unless --yes,
verify, audit log); it never acts on HOLD, OBSERVING or INCONCLUSIVE.

--replay runs the judge over a recorded fixture instead (see actions/canary/testdata) and
prints the same output. With --demo it judges the simulated platform, whose clock is moved by
--interval between readings instead of waiting.`,
		Example: `  mltop judge fraud-detector -n ml-prod
  mltop judge fraud-detector -n ml-prod --watch --apply
  mltop judge fraud-detector --demo --at 2m --watch -o json
  mltop judge --replay actions/canary/testdata/v2.yaml -o json
  mltop judge --replay v2.yaml --policy seed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return judgeExit(a.runJudge(cmd.Context(), args, f))
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: judgeExitError, err: fmt.Errorf("%v\nRun 'mltop judge --help' for usage.", err)}
	})
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", canary.PolicyJudge, "judge (anytime-valid, baseline-relative) or seed (the article's threshold script, for comparison)")
	fl.StringVar(&f.replay, "replay", "", "judge a recorded fixture (YAML) instead of a live canary")
	fl.DurationVar(&f.interval, "interval", time.Minute, "time between two readings of the counters")
	fl.DurationVar(&f.max, "max", 5*time.Minute, "without --watch: stop observing after this long (the judge needs 5m to promote)")
	fl.BoolVar(&f.watch, "watch", false, "print every verdict until the judge decides")
	fl.BoolVar(&f.apply, "apply", false, "execute a PROMOTE or ROLLBACK verdict through the action pipeline (never HOLD, OBSERVING or INCONCLUSIVE)")
	fl.BoolVar(&f.yes, "yes", false, "with --apply: do not ask for confirmation")
	fl.StringVarP(&f.output, "output", "o", "text", "output format: text, or json (one object per verdict printed)")
	fl.BoolVar(&f.demo, "demo", false, "judge the embedded simulated platform instead of a cluster")
	f.d.register(cmd, 0)
	// The demo's clock stands still and moves by --interval between
	// readings: a speed would mean nothing.
	_ = fl.MarkHidden("speed")
	return cmd
}

// judgeExit turns the command's result into its exit code: a verdict is
// carried by a *judgeResult, anything else is an error (3).
func judgeExit(err error) error {
	var r *judgeResult
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &r):
		if r.code == 0 {
			return nil
		}
		return &exitError{code: r.code, err: errors.New("")}
	case errors.As(err, &ee) && ee.code == judgeExitError:
		return err
	}
	return &exitError{code: judgeExitError, err: err}
}

// judgeResult carries a verdict's exit code out of the command.
type judgeResult struct{ code int }

func (r *judgeResult) Error() string { return "verdict exit " + strconv.Itoa(r.code) }

func verdictCode(d canary.Decision) int {
	switch d {
	case canary.Promote:
		return judgeExitPromote
	case canary.Rollback:
		return judgeExitRollback
	}
	return judgeExitNoAction
}

func (a *app) runJudge(ctx context.Context, args []string, f judgeFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	switch {
	case f.output != "text" && f.output != "json":
		return fmt.Errorf("-o %q: the output format is text or json", f.output)
	case f.policy != canary.PolicyJudge && f.policy != canary.PolicySeed:
		return fmt.Errorf("--policy %q: the policy is judge or seed", f.policy)
	case f.replay != "" && len(args) > 0:
		return errors.New("--replay judges a fixture: give no service name")
	case f.replay != "" && (f.demo || f.apply):
		return errors.New("--replay judges a recorded fixture: --demo and --apply do not apply to it")
	case f.replay == "" && len(args) != 1:
		return errors.New("give the InferenceService to judge (mltop judge NAME), or --replay FILE")
	case f.interval < time.Second:
		return fmt.Errorf("--interval %s: at least 1s", f.interval)
	case f.max < f.interval && !f.watch && f.replay == "":
		return fmt.Errorf("--max %s is shorter than --interval %s: the judge needs two readings", f.max, f.interval)
	}
	if f.replay != "" {
		return a.replayJudge(f)
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if f.apply && cfg.ReadOnly {
		return errors.New("read-only mode: --apply is refused (nothing was judged or changed)")
	}
	logger, closeLog, err := openLog(cfg.LogPath(a.env))
	if err != nil {
		return err
	}
	defer closeLog()

	var plat platform
	if f.demo {
		plat, err = newDemoPlatform(cfg, f.d, true)
	} else {
		plat, err = a.newLivePlatform(cfg, liveOptions{logger: logger, kubeSyncWait: cfg.Kubernetes.Timeout})
	}
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer plat.run(ctx)()

	namespace := ""
	if a.g.flags != nil && a.g.flags.Changed(config.FlagNamespace) && a.g.kube.Namespace != nil {
		namespace = *a.g.kube.Namespace
	}
	j := &liveJudge{a: a, f: f, plat: plat, name: args[0], namespace: namespace}
	if j.tracker, err = canary.NewTracker(canary.TrackerOptions{Policy: f.policy}); err != nil {
		return err
	}
	v, err := j.run(ctx)
	if err != nil {
		return err
	}
	code := verdictCode(v.Decision)
	if f.apply && v.Decision.Automatic() {
		if err := a.applyVerdict(ctx, cfg, plat, j.key, v, f, logger); err != nil {
			return fmt.Errorf("the verdict was %s, but acting on it failed: %w", v.Decision, err)
		}
	}
	return &judgeResult{code: code}
}

// liveJudge reads the platform every interval and feeds the tracker.
type liveJudge struct {
	a               *app
	f               judgeFlags
	plat            platform
	name, namespace string
	tracker         *canary.Tracker
	key             sources.ServiceKey
	service         sources.Service
	readings        uint64
}

// run observes until the verdict the flags ask for and returns it, having
// printed what the flags ask for.
func (j *liveJudge) run(ctx context.Context) (canary.Verdict, error) {
	var ids []sources.SourceConfig
	for _, sc := range j.plat.sources {
		if sc.ID == sources.SourceKube || sc.ID == sources.SourceProm {
			ids = append(ids, sc)
		}
	}
	start := j.plat.now()
	var last canary.Verdict
	for {
		if err := j.read(ctx, ids); err != nil {
			return canary.Verdict{}, err
		}
		v, ok := j.tracker.Verdict(j.key)
		if ok {
			last = v
			if j.f.watch {
				if err := j.print(v); err != nil {
					return v, err
				}
			}
		} else if j.readings > 1 && !j.service.InCanary() {
			return last, fmt.Errorf("%s is no longer in canary: canaryTrafficPercent is %s", j.key, percentText(j.service))
		}
		done := ok && v.Decision.Terminal()
		if !j.f.watch {
			done = done || (ok && v.Decision != canary.Observing) || j.plat.now().Sub(start) >= j.f.max
		}
		if done {
			break
		}
		if j.f.output == "text" && !j.f.watch {
			fmt.Fprintf(j.a.err, "judging %s: reading %d taken, next in %s\n", j.key, j.readings, j.f.interval)
		}
		if err := j.wait(ctx); err != nil {
			return last, err
		}
	}
	if !j.f.watch {
		if last.Decision == "" {
			return last, errors.New("no verdict: the counters were never read twice")
		}
		if err := j.print(last); err != nil {
			return last, err
		}
	}
	return last, nil
}

// read takes one reading of the cluster and Prometheus.
func (j *liveJudge) read(ctx context.Context, cfgs []sources.SourceConfig) error {
	j.readings++
	updates := sources.FetchOnce(ctx, cfgs, j.plat.now)
	for _, u := range updates {
		if u.Status.ID == sources.SourceKube {
			if err := j.findService(u); err != nil {
				return err
			}
		}
	}
	// The inventory first, so the counters are read against this
	// reading's services. Every FetchOnce starts its sources afresh (Seq
	// 1): the readings are numbered so the tracker takes each one.
	slices.SortStableFunc(updates, func(a, b sources.Update) int {
		return cmp.Compare(updateOrder(a.Status.ID), updateOrder(b.Status.ID))
	})
	for _, u := range updates {
		u.Status.Seq = j.readings
		j.tracker.Apply(u)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// findService picks the judged service out of an inventory. The first
// reading must find it in canary; later ones keep the last good inventory
// through a failed Kubernetes read.
func (j *liveJudge) findService(u sources.Update) error {
	if u.Part.Inventory == nil {
		if j.readings == 1 {
			reason := u.Status.Err
			if reason == "" {
				reason = u.Status.Hint
			}
			return fmt.Errorf("kubernetes: %s", clean.Text(reason))
		}
		return nil
	}
	var found []sources.Service
	for _, s := range u.Part.Inventory.Services {
		if s.Name == j.name && (j.namespace == "" || s.Namespace == j.namespace) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0:
		where := "the watched namespaces"
		if j.namespace != "" {
			where = "namespace " + j.namespace
		}
		return fmt.Errorf("no InferenceService %s in %s", clean.Text(j.name), clean.Text(where))
	case len(found) > 1:
		return fmt.Errorf("InferenceService %s is in several namespaces: choose one with -n", clean.Text(j.name))
	}
	j.service, j.key = found[0], found[0].Key()
	if j.readings == 1 && !j.service.InCanary() {
		return fmt.Errorf("%s has no canary in progress (canaryTrafficPercent %s, canary revision %q)",
			j.key, percentText(j.service), clean.Text(j.service.CanaryRevision))
	}
	return nil
}

// updateOrder puts the Kubernetes update before the Prometheus one.
func updateOrder(id sources.SourceID) int {
	if id == sources.SourceKube {
		return 0
	}
	return 1
}

func percentText(s sources.Service) string {
	if !s.HasCanaryPercent {
		return "not set"
	}
	return strconv.Itoa(s.CanaryPercent)
}

// wait lets an interval pass: the demo's stopped clock is moved on, a real
// one is waited for.
func (j *liveJudge) wait(ctx context.Context) error {
	if j.plat.sim != nil {
		j.plat.sim.Advance(j.f.interval)
		return ctx.Err()
	}
	t := time.NewTimer(j.f.interval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (j *liveJudge) print(v canary.Verdict) error {
	a, _ := j.tracker.Analysis(j.key)
	doc := judgeDocOf(v, j.f.policy)
	doc.Service = clean.Text(j.key.String())
	doc.Stable, doc.Canary = clean.Text(a.StableRevision), clean.Text(a.Canary)
	doc.Percent = j.service.CanaryPercent
	if a.BoundsFrom != "" {
		doc.Bounds = &boundsDoc{L90: a.Bounds.L90, L99: a.Bounds.L99, SLO: a.Bounds.SLO, From: a.BoundsFrom}
	}
	doc.ErrorsUnknown = a.ErrorsUnknown
	return writeJudgeDoc(j.a.out, j.f.output, doc)
}

// replayJudge runs the policy over a fixture and prints its final verdict
// (every verdict with --watch), as a live run would.
func (a *app) replayJudge(f judgeFlags) error {
	file, err := os.Open(f.replay)
	if err != nil {
		return err
	}
	fx, err := canary.ParseFixture(file)
	file.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", f.replay, err)
	}
	p, err := canary.NewPolicy(f.policy, canary.DefaultConfig(), fx.Bounds, fx.CanaryPercent)
	if err != nil {
		return err
	}
	res := fx.Replay(p)
	docOf := func(v canary.Verdict) judgeDoc {
		doc := judgeDocOf(v, f.policy)
		doc.Replay = clean.Text(fx.Name)
		doc.Percent = fx.CanaryPercent
		doc.Bounds = &boundsDoc{L90: fx.Bounds.L90, L99: fx.Bounds.L99, SLO: fx.Bounds.SLO, From: "the fixture"}
		doc.Expect = fx.Expect
		return doc
	}
	if f.watch {
		for _, v := range res.Ticks {
			if err := writeJudgeDoc(a.out, f.output, docOf(v)); err != nil {
				return err
			}
		}
	} else if err := writeJudgeDoc(a.out, f.output, docOf(res.Verdict)); err != nil {
		return err
	}
	return &judgeResult{code: verdictCode(res.Verdict.Decision)}
}

// judgeDoc is what the judge prints for one verdict: the library's
// verdict fields (verdict, tick, seconds, reason, reasons, metrics, eta)
// and what was judged.
type judgeDoc struct {
	Verdict       canary.Decision         `json:"verdict"`
	Tick          int                     `json:"tick"`
	Seconds       float64                 `json:"seconds"`
	Reason        string                  `json:"reason"`
	Reasons       []string                `json:"reasons"`
	Metrics       []canary.MetricEvidence `json:"metrics"`
	ETA           *canary.ETA             `json:"eta,omitempty"`
	Policy        string                  `json:"policy"`
	Service       string                  `json:"service,omitempty"`
	Replay        string                  `json:"replay,omitempty"`
	Stable        string                  `json:"stable_revision,omitempty"`
	Canary        string                  `json:"canary_revision,omitempty"`
	Percent       int                     `json:"canary_percent,omitempty"`
	Bounds        *boundsDoc              `json:"latency_bounds_ms,omitempty"`
	ErrorsUnknown bool                    `json:"errors_unknown,omitempty"`
	Expect        *canary.Expectation     `json:"expect,omitempty"`
}

type boundsDoc struct {
	L90  float64 `json:"l90"`
	L99  float64 `json:"l99"`
	SLO  float64 `json:"slo"`
	From string  `json:"from"`
}

func judgeDocOf(v canary.Verdict, policy string) judgeDoc {
	j := v.JSON() // the library caps infinite evidence so the JSON stays valid
	doc := judgeDoc{Verdict: j.Verdict, Tick: j.Tick, Seconds: j.Seconds, Reason: clean.Text(j.Reason),
		Reasons: []string{}, Metrics: j.Metrics, ETA: j.ETA, Policy: policy}
	for _, r := range j.Reasons {
		doc.Reasons = append(doc.Reasons, clean.Text(r))
	}
	if doc.Metrics == nil {
		doc.Metrics = []canary.MetricEvidence{}
	}
	return doc
}

// writeJudgeDoc prints one verdict: a JSON object on one line, or text.
func writeJudgeDoc(w io.Writer, output string, d judgeDoc) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(d)
	}
	what := d.Service
	if d.Replay != "" {
		what = "replay " + strconv.Quote(d.Replay)
	}
	head := fmt.Sprintf("%s (%s", what, d.Policy)
	if d.Canary != "" {
		head += fmt.Sprintf(", canary %s %d%% vs stable %s", d.Canary, d.Percent, d.Stable)
	} else if d.Percent > 0 {
		head += fmt.Sprintf(", canary %d%%", d.Percent)
	}
	fmt.Fprintf(w, "%s): %s at tick %d (%s)\n", head, d.Verdict, d.Tick, time.Duration(d.Seconds*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(w, "  %s\n", d.Reason)
	if len(d.Metrics) > 0 {
		fmt.Fprintf(w, "  %-18s %-18s %-18s %7s %9s %9s  %s\n", "metric", "canary", "stable", "ratio", "harm", "safety", "cleared")
		for _, m := range d.Metrics {
			name := m.Name
			if m.BoundMillis > 0 {
				name = "slower than " + strconv.FormatFloat(m.BoundMillis, 'f', -1, 64) + "ms"
			}
			safety := m.Safety
			if m.Name == canary.MetricErrors {
				safety = math.Max(m.Safety, m.Floor)
			}
			cleared := "no"
			if m.Cleared {
				cleared = "yes"
			}
			fmt.Fprintf(w, "  %-18s %-18s %-18s %7s %9s %9s  %s\n", name, countsText(m.CanaryBad, m.CanaryTotal), countsText(m.StableBad, m.StableTotal),
				ratioText(m.CanaryRate(), m.StableRate()), evidenceText(m.Harm), evidenceText(safety), cleared)
		}
	}
	if d.Bounds != nil {
		fmt.Fprintf(w, "  latency bounds: L90 %sms, L99 %sms, SLO %sms (%s)\n", fmtFloat(d.Bounds.L90), fmtFloat(d.Bounds.L99), fmtFloat(d.Bounds.SLO), d.Bounds.From)
	}
	if d.ErrorsUnknown {
		fmt.Fprintln(w, "  5xx are not counted: the metric profile has no status codes")
	}
	if d.Expect != nil {
		fmt.Fprintf(w, "  fixture expects %s at tick %d\n", d.Expect.Verdict, d.Expect.Tick)
	}
	return nil
}

func countsText(bad, total float64) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%% %s/%s", 100*bad/total, fmtFloat(bad), fmtFloat(total))
}

func ratioText(c, s float64) string {
	r := c / s
	switch {
	case math.IsNaN(r):
		return "-"
	case math.IsInf(r, 1):
		return "vs 0"
	}
	return fmt.Sprintf("%.1fx", r)
}

func evidenceText(x float64) string {
	if x >= 1e5 {
		return strconv.FormatFloat(x, 'g', 2, 64)
	}
	return strconv.FormatFloat(x, 'f', 2, 64)
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// applyVerdict executes a PROMOTE or ROLLBACK through the action pipeline:
// the same plan, checks, confirmation, verify and audit as `mltop promote`
// and `mltop rollback`, with the judge's verdict in the checks.
func (a *app) applyVerdict(ctx context.Context, cfg config.Config, plat platform, key sources.ServiceKey, v canary.Verdict, f judgeFlags, logger *slog.Logger) error {
	kind := actions.Rollback
	if v.Decision == canary.Promote {
		kind = actions.Promote
	}
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	var (
		exec      actions.Executor
		closeExec func()
		err       error
	)
	if plat.sim != nil {
		exec, _, closeExec, err = a.demoExecutor(ctx, cfg, plat, true, logger)
	} else {
		var t actionTarget
		t, err = a.liveActionTarget(ctx, cfg, true, logger)
		exec, closeExec = t.exec, t.close
	}
	if err != nil {
		return err
	}
	defer closeExec()
	// act prints the plan, checks and outcome; in JSON its document is
	// indented, so it is caught and printed on one line like the verdicts.
	actor := *a
	var doc bytes.Buffer
	if f.output == "json" {
		actor.out = &doc
	} else {
		fmt.Fprintln(a.out)
	}
	err = actor.act(ctx, judgedExecutor{Executor: exec, verdict: clean.Text(v.Explanation)},
		actions.Request{Kind: kind, Namespace: key.Namespace, Name: key.Name},
		actionFlags{yes: f.yes, output: f.output})
	if doc.Len() > 0 {
		var line bytes.Buffer
		if cerr := json.Compact(&line, doc.Bytes()); cerr != nil {
			return fmt.Errorf("the action's document: %w", cerr)
		}
		line.WriteByte('\n')
		if _, werr := a.out.Write(line.Bytes()); werr != nil {
			return werr
		}
	}
	var ee *exitError
	if errors.As(err, &ee) && (ee.err == nil || ee.err.Error() == "") {
		// act printed the outcome already.
		return errors.New("the action did not succeed (see its outcome above)")
	}
	return err
}

// judgedExecutor is an executor whose preflight shows the judge's verdict:
// the action is the verdict's own, so its verdict check passes.
type judgedExecutor struct {
	actions.Executor
	verdict string
}

func (e judgedExecutor) Preflight(ctx context.Context, p actions.Plan) actions.Preflight {
	pre := e.Executor.Preflight(ctx, p)
	pre.Verdict = e.verdict
	for i, c := range pre.Checks {
		if c.Name == kserve.CheckVerdict {
			pre.Checks[i] = actions.Check{Name: c.Name, Status: actions.CheckPass, Detail: "the canary judge recommends it: " + strings.SplitN(e.verdict, ":", 2)[0]}
		}
	}
	return pre
}
