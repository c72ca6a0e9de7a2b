package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureDir holds the judge's shared replay fixtures.
var fixtureDir = filepath.Join("..", "..", "actions", "canary", "testdata")

type judgeOut struct {
	Verdict string `json:"verdict"`
	Tick    int    `json:"tick"`
	Seconds float64
	Reason  string `json:"reason"`
	Reasons []string
	Metrics []struct {
		Name   string  `json:"name"`
		Harm   float64 `json:"harm"`
		Safety float64 `json:"safety"`
	} `json:"metrics"`
	Service string `json:"service"`
	Expect  *struct {
		Verdict string `json:"verdict"`
		Tick    int    `json:"tick"`
	} `json:"expect"`
}

// jsonLines parses one JSON object per line, and checks the keys the
// command promises are spelled as promised.
func jsonLines(t *testing.T, out string) []judgeOut {
	t.Helper()
	var docs []judgeOut
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("not a JSON object per line: %v\n%s", err, out)
		}
		if _, verdict := raw["verdict"]; !verdict {
			continue // the action's document after --apply
		}
		for _, k := range []string{"verdict", "tick", "reason", "metrics", "reasons", "policy"} {
			if _, ok := raw[k]; !ok {
				t.Errorf("key %q missing from %s", k, line)
			}
		}
		var d judgeOut
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	return docs
}

func wantCode(decision string) int {
	switch decision {
	case "PROMOTE":
		return 0
	case "ROLLBACK":
		return 1
	}
	return 2
}

// TestJudgeReplayReproducesEveryFixture: `mltop judge --replay F -o json`
// gives the verdict and tick every fixture expects, with the exit code of
// that verdict.
func TestJudgeReplayReproducesEveryFixture(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.yaml"))
	if err != nil || len(files) < 6 {
		t.Fatalf("fixtures %v (%v)", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errs := invoke(t, nil, "judge", "--replay", f, "-o", "json")
			docs := jsonLines(t, out)
			if len(docs) != 1 {
				t.Fatalf("%d objects, want one: %s %s", len(docs), out, errs)
			}
			d := docs[0]
			if d.Expect == nil {
				t.Fatal("the fixture's expectation is not in the output")
			}
			if d.Verdict != d.Expect.Verdict || d.Tick != d.Expect.Tick {
				t.Errorf("%s at tick %d, the fixture expects %s at %d: %s", d.Verdict, d.Tick, d.Expect.Verdict, d.Expect.Tick, d.Reason)
			}
			if code != wantCode(d.Verdict) {
				t.Errorf("exit %d for %s, want %d (stderr %q)", code, d.Verdict, wantCode(d.Verdict), errs)
			}
			if !strings.HasPrefix(d.Reason, d.Verdict+" at tick ") || len(d.Metrics) != 3 {
				t.Errorf("reason %q, %d metrics", d.Reason, len(d.Metrics))
			}
		})
	}
}

func TestJudgeReplayText(t *testing.T) {
	code, out, _ := invoke(t, nil, "judge", "--replay", filepath.Join(fixtureDir, "v2.yaml"))
	if code != 1 {
		t.Errorf("exit %d, want 1 (ROLLBACK)", code)
	}
	for _, want := range []string{
		`replay "4x error regression" (judge, canary 10%): ROLLBACK at tick 3 (3m0s)`,
		"ROLLBACK at tick 3: canary 5xx 2.00% (18/900) vs stable 0.52% (42/8100) = 3.9x; harm evidence 354 >= 300",
		"errors             2.00% 18/900       0.52% 42/8100         3.9x    353.63",
		"latency bounds: L90 100ms, L99 250ms, SLO 500ms (the fixture)",
		"fixture expects ROLLBACK at tick 3",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	// --watch prints every tick's verdict; the seed policy is selectable.
	code, out, _ = invoke(t, nil, "judge", "--replay", filepath.Join(fixtureDir, "v2.yaml"), "--watch", "--policy", "seed", "-o", "json")
	docs := jsonLines(t, out)
	if len(docs) != 30 || docs[0].Tick != 1 || docs[29].Tick != 15 || docs[29].Verdict != "ROLLBACK" || code != 1 {
		t.Errorf("seed replay: %d verdicts, last %+v, exit %d", len(docs), docs[len(docs)-1], code)
	}
	if !strings.Contains(docs[29].Reason, "(seed)") {
		t.Errorf("not the seed policy: %s", docs[29].Reason)
	}
}

func TestJudgeErrorsExitThree(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nticks: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"judge"}, "give the InferenceService to judge"},
		{[]string{"judge", "--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"judge", "a", "b"}, "give the InferenceService to judge"},
		{[]string{"judge", "--replay", "missing.yaml"}, "missing.yaml"},
		{[]string{"judge", "--replay", bad}, "canary_percent is required"},
		{[]string{"judge", "--replay", bad, "fraud"}, "give no service name"},
		{[]string{"judge", "--replay", bad, "--apply"}, "do not apply"},
		{[]string{"judge", "fraud-detector", "--demo", "--policy", "flagger"}, `--policy "flagger"`},
		{[]string{"judge", "fraud-detector", "--demo", "-o", "yaml"}, `-o "yaml"`},
		{[]string{"judge", "fraud-detector", "--demo", "--interval", "10ms"}, "--interval 10ms"},
		{[]string{"judge", "fraud-detector", "--demo", "--scenario", "nope"}, "nope"},
		{[]string{"judge", "no-such-model", "--demo"}, "no InferenceService no-such-model in the watched namespaces"},
		{[]string{"judge", "search-ranker", "--demo"}, "ml-prod/search-ranker has no canary in progress (canaryTrafficPercent not set"},
		{[]string{"judge", "fraud-detector"}, "kubernetes:"},
	} {
		code, _, errs := invoke(t, map[string]string{"KUBECONFIG": filepath.Join(t.TempDir(), "none")}, c.args...)
		if code != 3 || !strings.Contains(errs, c.want) || !strings.HasPrefix(errs, "mltop: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 3 and %q", c.args, code, errs, c.want)
		}
	}
}

// TestJudgeDemoRollsBackTheRegression: on the demo's incident, from two
// minutes in (the canary regresses at three), the judge watches simulated
// minutes go by and calls ROLLBACK with its reasons.
func TestJudgeDemoRollsBackTheRegression(t *testing.T) {
	code, out, errs := invoke(t, nil, "judge", "fraud-detector", "--demo", "--at", "2m", "--watch", "-o", "json")
	docs := jsonLines(t, out)
	if len(docs) == 0 {
		t.Fatalf("no verdict (exit %d): %s", code, errs)
	}
	last := docs[len(docs)-1]
	if code != 1 || last.Verdict != "ROLLBACK" {
		t.Fatalf("exit %d, last verdict %s: %s", code, last.Verdict, last.Reason)
	}
	for i, d := range docs {
		if d.Tick != i+1 || d.Service != "ml-prod/fraud-detector" {
			t.Errorf("verdict %d: tick %d, service %q", i, d.Tick, d.Service)
		}
	}
	if last.Tick > 3 || !strings.Contains(last.Reason, "harm evidence") || !strings.Contains(last.Reason, "canaryTrafficPercent=0") {
		t.Errorf("rollback at tick %d: %s", last.Tick, last.Reason)
	}
	// Without --watch it stops at the first verdict that is not OBSERVING
	// and prints only that one.
	code, out, _ = invoke(t, nil, "judge", "fraud-detector", "--demo", "--at", "2m", "-o", "json")
	if docs := jsonLines(t, out); code != 1 || len(docs) != 1 || docs[0].Verdict != "ROLLBACK" {
		t.Errorf("one-shot: exit %d, %s", code, out)
	}
	// Before the regression, one-shot with a short max: still observing.
	code, out, _ = invoke(t, nil, "judge", "fraud-detector", "--demo", "--max", "1m", "-o", "json")
	if docs := jsonLines(t, out); code != 2 || len(docs) != 1 || docs[0].Verdict != "OBSERVING" || docs[0].Tick != 1 {
		t.Errorf("short one-shot: exit %d, %s", code, out)
	}
}

func TestJudgeDemoPromotesACalmCanary(t *testing.T) {
	code, out, errs := invoke(t, nil, "judge", "fraud-detector", "--demo", "--scenario", "calm", "--watch", "-o", "json")
	docs := jsonLines(t, out)
	if len(docs) == 0 {
		t.Fatalf("no verdict (exit %d): %s", code, errs)
	}
	last := docs[len(docs)-1]
	if code != 0 || last.Verdict != "PROMOTE" {
		t.Fatalf("exit %d, last verdict %s: %s", code, last.Verdict, last.Reason)
	}
	if last.Seconds < 300 || !strings.Contains(last.Reason, "Action: remove canaryTrafficPercent") {
		t.Errorf("promoted after %vs: %s", last.Seconds, last.Reason)
	}
}

// TestJudgeApplyRollsBackThroughThePipeline: --apply executes the verdict
// on the demo cluster, through the checks, the patch, the verify and the
// audit log; the judge's verdict is the one the checks show.
func TestJudgeApplyRollsBackThroughThePipeline(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	code, out, errs := invoke(t, env, "judge", "fraud-detector", "--demo", "--at", "2m", "--watch", "--apply", "--yes", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (ROLLBACK, applied): %s\n%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var action struct {
		Plan struct {
			Action  string `json:"action"`
			Service string `json:"service"`
		} `json:"plan"`
		Checks []struct {
			Name, Status, Detail string
		} `json:"checks"`
		Verdict string `json:"verdict"`
		Outcome *struct {
			Result string `json:"result"`
		} `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &action); err != nil {
		t.Fatalf("the last line is not the action's document: %v\n%s", err, out)
	}
	if action.Plan.Action != "rollback" || action.Plan.Service != "fraud-detector" || action.Outcome == nil || action.Outcome.Result != "succeeded" {
		t.Errorf("action %+v", action)
	}
	if !strings.HasPrefix(action.Verdict, "ROLLBACK at tick") {
		t.Errorf("the checks show %q, not the judge's verdict", action.Verdict)
	}
	for _, c := range action.Checks {
		if c.Name == "verdict" && (c.Status != "ok" || !strings.Contains(c.Detail, "judge recommends")) {
			t.Errorf("verdict check %+v", c)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(home, ".local", "state", "mltop", "*"))
	if len(logs) == 0 {
		t.Error("no audit log was written")
	}

	// Without --yes and without a terminal there is no one to confirm:
	// nothing is changed, and the verdict's exit code gives way to 3.
	code, _, errs = invoke(t, map[string]string{"HOME": t.TempDir()}, "judge", "fraud-detector", "--demo", "--at", "2m", "--apply")
	if code != 3 || !strings.Contains(errs, "the verdict was ROLLBACK, but acting on it failed") {
		t.Errorf("unconfirmed apply: exit %d, %q", code, errs)
	}
	// A verdict that is not a decision is never applied.
	code, out, _ = invoke(t, map[string]string{"HOME": t.TempDir()}, "judge", "fraud-detector", "--demo", "--max", "1m", "--apply", "--yes", "-o", "json")
	if code != 2 || strings.Contains(out, `"plan"`) {
		t.Errorf("OBSERVING applied: exit %d\n%s", code, out)
	}
	// Read-only mode refuses --apply before judging.
	code, _, errs = invoke(t, map[string]string{"HOME": t.TempDir()}, "judge", "fraud-detector", "--demo", "--apply", "--read-only")
	if code != 3 || !strings.Contains(errs, "read-only mode") {
		t.Errorf("read-only apply: exit %d, %q", code, errs)
	}
}
