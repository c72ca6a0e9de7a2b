package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	k8stesting "k8s.io/client-go/testing"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// scriptedTerminal is stdin as a person types it at a terminal.
type scriptedTerminal struct{ io.Reader }

func (scriptedTerminal) IsTerminal() bool { return true }

// stateEnv is an environment whose state directory (the audit log's) is a
// fresh temporary directory.
func stateEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"HOME": t.TempDir(), "XDG_STATE_HOME": t.TempDir()}
}

func auditPath(env map[string]string) string {
	return audit.DefaultPath(config.StateDir(func(k string) string { return env[k] }))
}

// invokeTyped runs a command line with a person typing input at a terminal.
func invokeTyped(t *testing.T, env map[string]string, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, streams{in: scriptedTerminal{strings.NewReader(input)}, out: &out, err: &errb}, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

// rig is one demo platform acted on in-process, so a test can look at the
// platform and the requests the executor sent after an action.
type rig struct {
	a       *app
	out     *bytes.Buffer
	errb    *bytes.Buffer
	env     map[string]string
	target  actionTarget
	started time.Time
}

// newRig builds the demo platform ten minutes into the incident, where the
// canary has regressed, with the default configuration changed by mutate.
func newRig(t *testing.T, input string, mutate func(*config.Config)) *rig {
	t.Helper()
	env := stateEnv(t)
	r := &rig{out: &bytes.Buffer{}, errb: &bytes.Buffer{}, env: env}
	r.a = &app{streams: streams{in: scriptedTerminal{strings.NewReader(input)}, out: r.out, err: r.errb},
		env: func(k string) string { return env[k] }}
	cfg, err := config.Load(config.LoadOptions{Env: r.a.env})
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(&cfg)
	}
	d := demoFlags{scenario: "incident", speed: 1, seed: 1, at: 10 * time.Minute}
	r.target, err = r.a.demoActionTarget(context.Background(), cfg, d, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.target.close)
	r.started = r.target.plat.now()
	return r
}

// act runs one action with the given flags; it returns the command's error.
func (r *rig) act(kind actions.Kind, name string, f actionFlags, opts ...func(*actions.Request)) error {
	if f.output == "" {
		f.output = "text"
	}
	req := actions.Request{Kind: kind, Name: name, Namespace: r.target.namespace}
	for _, o := range opts {
		o(&req)
	}
	return r.a.act(context.Background(), r.target.exec, req, f)
}

// snapshot reads the platform the way `snapshot --demo` does.
func (r *rig) snapshot(t *testing.T) sources.Snapshot {
	t.Helper()
	board := sources.NewBoard(nil)
	for _, u := range sources.FetchOnce(context.Background(), r.target.plat.sources, r.target.plat.now) {
		board.Apply(u)
	}
	return board.Snapshot(r.target.plat.now())
}

func (r *rig) row(t *testing.T, name string) sources.ServiceRow {
	t.Helper()
	row, ok := r.snapshot(t).Row(sources.ServiceKey{Namespace: "ml-prod", Name: name})
	if !ok {
		t.Fatalf("no row for %s", name)
	}
	return row
}

// writes are the requests that would change the cluster: patches that are
// not dry runs, creates other than access reviews, whoami and events,
// updates and deletes.
func (r *rig) writes() []k8stesting.Action {
	var out []k8stesting.Action
	for _, a := range r.target.cluster.Actions() {
		switch a.GetVerb() {
		case "patch":
			if pa, ok := a.(k8stesting.PatchActionImpl); ok && len(pa.PatchOptions.DryRun) > 0 {
				continue
			}
			out = append(out, a)
		case "update", "delete", "deletecollection":
			out = append(out, a)
		}
	}
	return out
}

// mutating are every request that is not a read.
func (r *rig) mutating() []string {
	var out []string
	for _, a := range r.target.cluster.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func (r *rig) auditResults(t *testing.T) []actions.Result {
	t.Helper()
	entries, err := audit.Read(auditPath(r.env))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []actions.Result
	for _, e := range entries {
		out = append(out, e.Result)
	}
	return out
}

func exitCode(err error) int {
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &ee):
		return ee.code
	}
	return 1
}

func TestRollbackDemoHeadless(t *testing.T) {
	env := stateEnv(t)
	code, out, errs := invokeTyped(t, env, "", "rollback", "fraud-detector", "--demo", "--yes")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{
		"Roll back fraud-detector in ml-prod (context demo)",
		"plan     canaryTrafficPercent 20 -> 0: all traffic to fraud-detector-predictor-00001",
		"verdict  BREACH: canary 5xx",
		"ok    access", "ok    dry-run", "ok    previous-revision",
		"- spec.predictor.canaryTrafficPercent: 20", "+ spec.predictor.canaryTrafficPercent: 0",
		"succeeded: rolled back",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "verify") || !strings.Contains(errs, "traffic 0/100") {
		t.Errorf("no progress on stderr:\n%s", errs)
	}

	code, out, errs = invokeTyped(t, env, "", "audit", "-o", "json")
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errs)
	}
	var lines []map[string]any
	if err := json.Unmarshal([]byte(out), &lines); err != nil {
		t.Fatalf("audit -o json: %v\n%s", err, out)
	}
	if len(lines) != 1 || lines[0]["result"] != "succeeded" || lines[0]["user"] != "demo-user" ||
		lines[0]["service"] != "fraud-detector" || lines[0]["action"] != "rollback" || lines[0]["context"] != "demo" {
		t.Errorf("audit lines: %v", lines)
	}
}

func TestRollbackDemoJSON(t *testing.T) {
	code, out, errs := invokeTyped(t, stateEnv(t), "", "rollback", "fraud-detector", "--demo", "--yes", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Plan struct {
			Action  string
			Service string
			Changes []struct {
				Path     string
				From, To *string
			}
			Patch json.RawMessage
		}
		Checks  []struct{ Name, Status string }
		Verdict string
		Outcome *struct {
			Result  string
			Service struct {
				CanaryPercent *int `json:"canary_percent"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	if doc.Plan.Action != "rollback" || doc.Plan.Service != "fraud-detector" || len(doc.Plan.Changes) != 1 ||
		*doc.Plan.Changes[0].From != "20" || *doc.Plan.Changes[0].To != "0" || !json.Valid(doc.Plan.Patch) {
		t.Errorf("plan %+v", doc.Plan)
	}
	if len(doc.Checks) < 5 || !strings.HasPrefix(doc.Verdict, "BREACH") {
		t.Errorf("checks %v, verdict %q", doc.Checks, doc.Verdict)
	}
	if doc.Outcome == nil || doc.Outcome.Result != "succeeded" || doc.Outcome.Service.CanaryPercent == nil || *doc.Outcome.Service.CanaryPercent != 0 {
		t.Errorf("outcome %+v", doc.Outcome)
	}
}

// After a rollback the same platform, read as the dashboard reads it, shows
// the canary at 0 % and the regression over, seconds later in simulated time.
func TestRollbackEndsTheRegressionOnThePlatform(t *testing.T) {
	r := newRig(t, "", nil)
	before := r.snapshot(t)
	if len(before.Canaries) != 1 || before.Canaries[0].Canary.ErrorRate < 0.02 {
		t.Fatalf("no regressed canary to roll back: %+v", before.Canaries)
	}
	if err := r.act(actions.Rollback, "fraud-detector", actionFlags{yes: true}); err != nil {
		t.Fatalf("%v\n%s\n%s", err, r.out, r.errb)
	}
	after := r.snapshot(t)
	row, _ := after.Row(sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"})
	if len(after.Canaries) != 0 || !row.HasCanaryPercent || row.CanaryPercent != 0 {
		t.Errorf("canary after the rollback: %+v, canaryTrafficPercent %d/%v", after.Canaries, row.CanaryPercent, row.HasCanaryPercent)
	}
	if row.Metrics.ErrorRate > 0.01 {
		t.Errorf("errors still %.4f after the rollback", row.Metrics.ErrorRate)
	}
	if d := r.target.plat.now().Sub(r.started); d <= 0 || d > 10*time.Second {
		t.Errorf("the rollback took %s of simulated time", d)
	}
	if got := r.auditResults(t); len(got) != 1 || got[0] != actions.Succeeded {
		t.Errorf("audit %v", got)
	}
}

func TestPromoteAndPinChangeWhatThePanesShow(t *testing.T) {
	r := newRig(t, "", nil)
	if err := r.act(actions.Promote, "fraud-detector", actionFlags{yes: true}); err != nil {
		t.Fatalf("promote: %v\n%s", err, r.out)
	}
	if row := r.row(t, "fraud-detector"); row.HasCanaryPercent || row.InCanary() || row.StableRevision != "fraud-detector-predictor-00002" {
		t.Errorf("after promote: %+v", row.Service)
	}

	if err := r.act(actions.Pin, "search-ranker", actionFlags{yes: true}, func(q *actions.Request) { q.MinReplicas = 2 }); err != nil {
		t.Fatalf("pin: %v\n%s", err, r.out)
	}
	if row := r.row(t, "search-ranker"); row.MinReplicas != 2 {
		t.Errorf("minReplicas %d after pin --min 2", row.MinReplicas)
	}
	if err := r.act(actions.Pin, "search-ranker", actionFlags{yes: true}, func(q *actions.Request) { q.Unpin = true }); err != nil {
		t.Fatalf("unpin: %v\n%s", err, r.out)
	}
	if row := r.row(t, "search-ranker"); row.MinReplicas != 0 {
		t.Errorf("minReplicas %d after unpin, want the recorded 0", row.MinReplicas)
	}
	got := r.auditResults(t)
	if len(got) != 3 {
		t.Errorf("audit %v", got)
	}
}

func TestActionErrorsAreClear(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"rollback", "nope", "--demo", "--yes"}, 1, `no InferenceService "nope" in namespace ml-prod; it has churn-model, fraud-detector`},
		{[]string{"rollback", "fraud-detector", "--demo", "--yes", "-n", "other"}, 1, `namespace "other" does not exist`},
		{[]string{"rollback", "recommendation-classifier", "--demo", "--yes"}, 1, "no canary to roll back"},
		{[]string{"rollback", "churn-model", "--demo", "--yes"}, 1, "Standard"},
		{[]string{"promote", "churn-model", "--demo", "--yes"}, 1, "Standard"},
		{[]string{"rollback", "fraud-detector", "--yes", "--kubeconfig", "/nonexistent/kubeconfig"}, 1, "check --kubeconfig and KUBECONFIG"},
		{[]string{"rollback", "fraud-detector", "--yes", "-A"}, 2, "an action acts on one namespace"},
		{[]string{"rollback", "--demo"}, 2, "accepts 1 arg(s)"},
		{[]string{"rollback", "fraud-detector", "--demo", "-o", "yaml"}, 2, `-o "yaml"`},
		{[]string{"pin", "fraud-detector", "--demo", "--min", "0"}, 2, "--min 0"},
		{[]string{"pin", "fraud-detector", "--demo", "--unpin", "--min", "2"}, 2, "takes no --min"},
	}
	for _, c := range cases {
		code, out, errs := invokeTyped(t, stateEnv(t), "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout %s\nstderr %s", c.args, code, c.code, c.want, out, errs)
		}
	}
}

func TestPromptDefaultsToNo(t *testing.T) {
	unprotected := func(c *config.Config) { c.Kubernetes.ProtectedNamespaces = nil }
	cases := []struct {
		name    string
		input   string
		mutate  func(*config.Config)
		applied bool
	}{
		{"empty line", "\n", unprotected, false},
		{"end of input", "", unprotected, false},
		{"no", "n\n", unprotected, false},
		{"yes", "y\n", unprotected, true},
		{"protected: y is not enough", "y\n", nil, false},
		{"protected: empty line", "\n", nil, false},
		{"protected: the typed name", "fraud-detector\n", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, c.input, c.mutate)
			err := r.act(actions.Rollback, "fraud-detector", actionFlags{})
			prompt := r.errb.String()
			if c.mutate == nil && !strings.Contains(prompt, "ml-prod is a protected namespace: type the service name to confirm") {
				t.Errorf("protected prompt: %q", prompt)
			}
			if c.mutate != nil && !strings.Contains(prompt, "Roll back fraud-detector in ml-prod (context demo)? [y/N] ") {
				t.Errorf("prompt: %q", prompt)
			}
			writes := r.writes()
			results := r.auditResults(t)
			if c.applied {
				if err != nil || len(writes) != 1 || len(results) != 1 || results[0] != actions.Succeeded {
					t.Errorf("err %v, writes %v, audit %v\n%s", err, writes, results, r.out)
				}
				return
			}
			if exitCode(err) != 1 || len(writes) != 0 || len(results) != 1 || results[0] != actions.Declined {
				t.Errorf("err %v, writes %v, audit %v", err, writes, results)
			}
			if !strings.Contains(r.out.String(), "declined") || r.row(t, "fraud-detector").CanaryPercent != 20 {
				t.Errorf("not declined:\n%s", r.out)
			}
		})
	}
}

func TestNoTerminalNoYesRefuses(t *testing.T) {
	env := stateEnv(t)
	code, out, errs := invoke(t, env, "rollback", "fraud-detector", "--demo")
	if code != 1 || !strings.Contains(out, "refused: stdin is not a terminal") || !strings.Contains(out, "--yes") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	entries, err := audit.Read(auditPath(env))
	if err != nil || len(entries) != 1 || entries[0].Result != actions.Refused {
		t.Errorf("audit %+v, %v", entries, err)
	}
}

func TestReadOnlyMakesNoMutatingRequest(t *testing.T) {
	env := stateEnv(t)
	code, out, errs := invokeTyped(t, env, "y\n", "rollback", "fraud-detector", "--demo", "--yes", "--read-only")
	if code != 1 || !strings.Contains(errs, "read-only mode: nothing was changed") || out != "" {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	if _, err := os.Stat(auditPath(env)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only wrote an audit log: %v", err)
	}

	// The executor below the command refuses too, sending nothing but reads.
	r := newRig(t, "y\n", func(c *config.Config) { c.ReadOnly = true })
	err := r.act(actions.Rollback, "fraud-detector", actionFlags{yes: true})
	if exitCode(err) != 1 || len(r.mutating()) != 0 {
		t.Errorf("err %v, mutating requests %v", err, r.mutating())
	}
	if r.row(t, "fraud-detector").CanaryPercent != 20 {
		t.Error("read-only changed the platform")
	}
}

func TestDryRunAppliesNothing(t *testing.T) {
	env := stateEnv(t)
	code, out, errs := invokeTyped(t, env, "", "rollback", "fraud-detector", "--demo", "--dry-run")
	if code != 0 || !strings.Contains(out, "dry run: every check passed; nothing was changed") || !strings.Contains(out, "ok    dry-run") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := os.Stat(auditPath(env)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a dry run wrote the audit log: %v", err)
	}

	r := newRig(t, "", nil)
	if err := r.act(actions.Rollback, "fraud-detector", actionFlags{dryRun: true, output: "json"}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		DryRun  bool `json:"dry_run"`
		Outcome *struct{}
	}
	if err := json.Unmarshal(r.out.Bytes(), &doc); err != nil || !doc.DryRun || doc.Outcome != nil {
		t.Errorf("dry run JSON %s: %v", r.out, err)
	}
	if len(r.writes()) != 0 || r.row(t, "fraud-detector").CanaryPercent != 20 {
		t.Errorf("a dry run wrote %v", r.writes())
	}

	// A dry run whose checks fail says so and exits 1.
	code, out, _ = invokeTyped(t, stateEnv(t), "", "rollback", "churn-model", "--to-previous-model", "--demo", "--dry-run")
	if code != 1 || !strings.Contains(out, "FAIL  previous-model") || !strings.Contains(out, "would be refused") {
		t.Errorf("blocked dry run: exit %d\n%s", code, out)
	}
}

func TestPreflightRefusalIsRecordedAndSendsNothing(t *testing.T) {
	r := newRig(t, "", nil)
	r.target.cluster.SetAccess(false)
	err := r.act(actions.Rollback, "fraud-detector", actionFlags{yes: true})
	if exitCode(err) != 1 || len(r.writes()) != 0 {
		t.Errorf("err %v, writes %v", err, r.writes())
	}
	out := r.out.String()
	if !strings.Contains(out, "FAIL  access") || !strings.Contains(out, "refused: refused by preflight: access") {
		t.Errorf("output:\n%s", out)
	}
	if got := r.auditResults(t); len(got) != 1 || got[0] != actions.Refused {
		t.Errorf("audit %v", got)
	}
}

func TestRollbackToPreviousModelInTheDemo(t *testing.T) {
	r := newRig(t, "", nil)
	before := r.row(t, "fraud-detector")
	if err := r.act(actions.Rollback, "fraud-detector", actionFlags{yes: true}, func(q *actions.Request) { q.ToPreviousModel = true }); err != nil {
		t.Fatalf("%v\n%s\n%s", err, r.out, r.errb)
	}
	after := r.row(t, "fraud-detector")
	if after.StorageURI == before.StorageURI || after.CanaryRevision != "fraud-detector-predictor-00003" || after.CanaryPercent != 0 {
		t.Errorf("after rollback --to-previous-model: %+v", after.Service)
	}
	if !strings.Contains(r.out.String(), "ok    previous-model") {
		t.Errorf("output:\n%s", r.out)
	}
}

func TestAuditCommand(t *testing.T) {
	env := stateEnv(t)
	code, out, _ := invokeTyped(t, env, "", "audit")
	if code != 0 || !strings.Contains(out, "no audit log yet") {
		t.Errorf("empty: exit %d: %s", code, out)
	}
	code, out, _ = invokeTyped(t, env, "", "audit", "-o", "json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("empty json: exit %d: %s", code, out)
	}

	invokeTyped(t, env, "\n", "pin", "fraud-detector", "--demo", "--min", "2")
	invokeTyped(t, env, "", "pin", "fraud-detector", "--demo", "--min", "2", "--yes")
	code, out, errs := invokeTyped(t, env, "", "audit")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") {
		t.Fatalf("audit text:\n%s", out)
	}
	for i, want := range []string{"pin --min 2", "pin --min 2"} {
		fields := lines[i+1]
		if !strings.Contains(fields, "demo-user") || !strings.Contains(fields, want) || !strings.Contains(fields, "demo:ml-prod/fraud-detector") {
			t.Errorf("line %d: %q", i+1, fields)
		}
	}
	if !strings.Contains(lines[1], "declined") || !strings.Contains(lines[2], "succeeded") {
		t.Errorf("results:\n%s", out)
	}

	code, out, _ = invokeTyped(t, env, "", "audit", "-o", "yaml")
	if code != 2 {
		t.Errorf("-o yaml: exit %d %s", code, out)
	}

	// A torn last line is reported and skipped.
	f, err := os.OpenFile(filepath.Clean(auditPath(env)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"time":"2026-`)
	_ = f.Close()
	code, out, errs = invokeTyped(t, env, "", "audit", "-o", "json")
	var entries []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 2 || !strings.Contains(errs, "incomplete") {
		t.Errorf("torn line: exit %d\n%s\n%s", code, out, errs)
	}
}

// interrupting is stdin whose first read runs meanwhile: what happens while
// the person reads the plan.
type interrupting struct {
	scriptedTerminal
	meanwhile func()
}

func (r *interrupting) Read(b []byte) (int, error) {
	if r.meanwhile != nil {
		r.meanwhile()
		r.meanwhile = nil
	}
	return r.scriptedTerminal.Read(b)
}

// A service changed by someone else while the user read the plan is not
// overwritten: the patch's resourceVersion is stale, the result is a
// conflict, and the fresh plan is shown.
func TestConflictIsNotOverwritten(t *testing.T) {
	r := newRig(t, "", func(c *config.Config) { c.Kubernetes.ProtectedNamespaces = nil })
	r.a.in = &interrupting{scriptedTerminal{strings.NewReader("y\n")}, func() {
		if err := r.target.plat.sim.SetMinReplicas("ml-prod", "fraud-detector", 2); err != nil {
			t.Error(err)
		}
	}}
	err := r.act(actions.Rollback, "fraud-detector", actionFlags{output: "json"})
	if exitCode(err) != 1 {
		t.Fatalf("err %v", err)
	}
	var doc struct {
		Outcome struct {
			Result    string
			Replanned *struct{ Summary string }
		}
	}
	if err := json.Unmarshal(r.out.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.out)
	}
	if doc.Outcome.Result != "conflict" || doc.Outcome.Replanned == nil || !strings.Contains(doc.Outcome.Replanned.Summary, "20 -> 0") {
		t.Errorf("outcome %+v", doc.Outcome)
	}
	row := r.row(t, "fraud-detector")
	if row.CanaryPercent != 20 || row.MinReplicas != 2 {
		t.Errorf("the other change was overwritten or the rollback applied: canary %d, minReplicas %d", row.CanaryPercent, row.MinReplicas)
	}
	if got := r.auditResults(t); len(got) != 1 || got[0] != actions.Conflict {
		t.Errorf("audit %v", got)
	}
}
