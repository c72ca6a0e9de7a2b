package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// invoke runs one command line with a controlled environment.
func invoke(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["HOME"]; !ok {
		env["HOME"] = t.TempDir()
	}
	code = run(args, streams{in: strings.NewReader(""), out: &out, err: &errb}, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestSnapshotDemoJSONHasEveryPane(t *testing.T) {
	code, out, errs := invoke(t, nil, "snapshot", "--demo", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	for _, key := range []string{"pipelines", "training", "registry", "serving", "canary", "infra", "alerts", "sources"} {
		v, ok := doc[key]
		if !ok {
			t.Errorf("missing key %q", key)
			continue
		}
		s := strings.TrimSpace(string(v))
		if s == "null" || s == "[]" || s == "{}" {
			t.Errorf("key %q is empty: %s", key, s)
		}
	}
	// The incident is visible ten simulated minutes in.
	var d struct {
		Alerts []struct{ Severity, Pane, Text string }
		Canary []struct {
			Service  string
			Breached bool
		}
		Pipelines struct {
			SuccessRate *float64 `json:"success_rate"`
		}
		Sources []struct{ ID, Health string }
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Canary) != 1 || d.Canary[0].Service != "fraud-detector" || !d.Canary[0].Breached {
		t.Errorf("canary = %+v", d.Canary)
	}
	if len(d.Alerts) == 0 || d.Alerts[0].Severity != "CRIT" || d.Alerts[0].Pane != "canary" {
		t.Errorf("alerts = %+v", d.Alerts)
	}
	if d.Pipelines.SuccessRate == nil || *d.Pipelines.SuccessRate >= 0.95 {
		t.Errorf("pipelines success = %v", d.Pipelines.SuccessRate)
	}
	for _, s := range d.Sources {
		if s.Health != "ok" {
			t.Errorf("source %s is %s", s.ID, s.Health)
		}
	}
}

func TestSnapshotDemoIsDeterministic(t *testing.T) {
	_, a, _ := invoke(t, nil, "snapshot", "--demo", "-o", "json", "--seed", "7", "--at", "4m")
	_, b, _ := invoke(t, nil, "snapshot", "--demo", "-o", "json", "--seed", "7", "--at", "4m")
	if a != b || a == "" {
		t.Fatal("the same seed and time gave different snapshots")
	}
}

func TestSnapshotText(t *testing.T) {
	code, out, errs := invoke(t, nil, "snapshot", "--demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"ALERTS", "PIPELINES", "TRAINING recommendation-v3  cv_f1_mean", "REGISTRY", "SERVING", "fraud-detector", "CANARY", "INFRA"} {
		if !strings.Contains(out, want) {
			t.Errorf("text snapshot lacks %q", want)
		}
	}
}

func TestLiveSnapshotWithoutSourcesSaysHowToConfigure(t *testing.T) {
	code, out, errs := invoke(t, nil, "snapshot", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "PROMETHEUS_URL") || !strings.Contains(out, `"health": "off"`) {
		t.Errorf("unconfigured sources are not explained:\n%s", out)
	}
}

func TestUsageErrorsAreOneClearMessage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
		{[]string{"snapshot", "-o", "yaml"}, `-o "yaml": the output format is text or json`},
		{[]string{"snapshot", "--demo", "--scenario", "nope"}, "nope"},
		{[]string{"demo", "--speed", "0"}, "--speed 0"},
		{[]string{"snapshot", "--refresh", "soon"}, "invalid argument"},
	}
	for _, c := range cases {
		code, _, errs := invoke(t, nil, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || !strings.HasPrefix(errs, "mltop: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
		if strings.Contains(errs, "goroutine") || strings.Count(errs, "\n") > 2 {
			t.Errorf("%v: not one clear message: %q", c.args, errs)
		}
	}
}

func TestConfigInitCheckPath(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": dir}
	want := filepath.Join(dir, "mltop", "config.yaml")

	if code, out, _ := invoke(t, env, "config", "path"); code != 0 || strings.TrimSpace(out) != want {
		t.Fatalf("config path = %q (exit %d)", out, code)
	}
	if code, out, errs := invoke(t, env, "config", "init"); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("config init: exit %d %s %s", code, out, errs)
	}
	if code, _, errs := invoke(t, env, "config", "init"); code == 0 || !strings.Contains(errs, "--force") {
		t.Fatalf("config init over an existing file: exit %d %s", code, errs)
	}
	code, out, errs := invoke(t, env, "config", "check")
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(out, "thresholds.p99_max") {
		t.Fatalf("config check: exit %d\n%s\n%s", code, out, errs)
	}
	// Flags beat the environment, which beats the file.
	env["PROMETHEUS_URL"] = "http://from-env:9090"
	_, out, _ = invoke(t, env, "config", "check", "--prometheus-url", "http://from-flag:9090")
	if !strings.Contains(out, "http://from-flag:9090") || !strings.Contains(out, "flag --prometheus-url") {
		t.Errorf("flag did not win:\n%s", out)
	}

	bad := "refresh: fast\nthresholds:\n  p99_maxx: 1s\n"
	if err := os.WriteFile(want, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = invoke(t, env, "config", "check")
	if code != 1 {
		t.Fatalf("bad config: exit %d", code)
	}
	for _, w := range []string{want + ":1:", want + ":3:", "p99_maxx"} {
		if !strings.Contains(out+errs, w) {
			t.Errorf("config check output lacks %q:\n%s%s", w, out, errs)
		}
	}
	// Every command refuses a bad config with the same messages.
	if code, _, errs := invoke(t, env, "snapshot", "--demo"); code == 0 || !strings.Contains(errs, want+":1:") {
		t.Errorf("snapshot with a bad config: exit %d %s", code, errs)
	}
}

func TestDashboardNeedsATerminal(t *testing.T) {
	code, _, errs := invoke(t, nil, "demo")
	if code != 1 || !strings.Contains(errs, "needs a terminal") || !strings.Contains(errs, "mltop snapshot") {
		t.Fatalf("exit %d: %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := invoke(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "mltop ") {
		t.Fatalf("version: %d %q", code, out)
	}
}
