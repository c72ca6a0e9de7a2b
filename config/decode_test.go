package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantProblem is a problem as a test expects it; the file is always the
// config file under test.
type wantProblem struct {
	line int
	key  string
	msg  string // the whole message
}

func checkProblems(t *testing.T, path string, got Problems, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.File != path || g.Line != w.line || g.Key != w.key || g.Msg != w.msg {
			t.Errorf("problem %d:\n got  %s:%d key=%q %q\n want %s:%d key=%q %q", i, g.File, g.Line, g.Key, g.Msg, path, w.line, w.key, w.msg)
		}
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []wantProblem
	}{
		{"typo at the top level", "refresh: 5s\nrefesh: 10s\n",
			[]wantProblem{{2, "", `unknown key "refesh" (did you mean "refresh"?)`}}},
		{"typo in a section", "thresholds:\n  p99_max: 1s\n  eror_rate_max: 0.1\n",
			[]wantProblem{{3, "", `unknown key "eror_rate_max" in thresholds (did you mean "error_rate_max"?)`}}},
		{"misspelt section", "treshold:\n  p99_max: 1s\n",
			[]wantProblem{{1, "", `unknown key "treshold" (did you mean "thresholds"?)`}}},
		{"dash instead of underscore", "read-only: true\n",
			[]wantProblem{{1, "", `unknown key "read-only" (did you mean "read_only"?)`}}},
		{"key under the wrong section", "p99_max: 1s\n",
			[]wantProblem{{1, "", `unknown key "p99_max" (did you mean "thresholds.p99_max"? it belongs in the thresholds section)`}}},
		{"top-level key indented into a section", "prometheus:\n  log_file: /tmp/x\n",
			[]wantProblem{{2, "", `unknown key "log_file" in prometheus (did you mean "log_file"? it belongs at the top level)`}}},
		{"nothing close lists the keys", "ui:\n  theme: dark\n",
			[]wantProblem{{2, "", `unknown key "theme" in ui; the keys here are no_color, ascii`}}},
		{"deeper than any section", "prometheus:\n  url: http://p:9090\n  tls:\n    insecure: true\n",
			[]wantProblem{{3, "", `unknown key "tls" in prometheus; the keys here are url, refresh, timeout, disabled, profile, window, bearer_token_file, username, password_file, ca_file`}}},
		{"several at once, in line order", "refesh: 1s\nui:\n  asci: true\nkfp:\n  windw: 1h\n",
			[]wantProblem{
				{1, "", `unknown key "refesh" (did you mean "refresh"?)`},
				{3, "", `unknown key "asci" in ui (did you mean "ascii"?)`},
				{5, "", `unknown key "windw" in kfp (did you mean "window"?)`},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, path := loadFile(t, tt.content)
			checkProblems(t, path, ps, tt.want)
		})
	}
}

func TestUnknownKeyErrorText(t *testing.T) {
	_, ps, path := loadFile(t, "\n\n\n\n\n\n\n\n\n\n\nthresholds:\n  treshold: 1\n")
	want := path + `:13: unknown key "treshold" in thresholds; the keys here are pipeline_success_min, metric_drop_max, ` +
		`registry_wait_max, error_rate_max, p99_max, canary_error_ratio, oom_kills_per_day_max`
	if ps.Error() != want {
		t.Errorf("got  %s\nwant %s", ps.Error(), want)
	}
}

func TestTypeErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    wantProblem
	}{
		{"word for a duration", "\n\n\n\n\n\nrefresh: fast\n", wantProblem{7, "refresh", `"fast" is not a duration (examples: 5s, 1m)`}},
		{"number without unit", "refresh: 5\n", wantProblem{1, "refresh", "5 has no unit; write 5s, 5m or 5h"}},
		{"days", "thresholds:\n  registry_wait_max: 2d\n", wantProblem{2, "thresholds.registry_wait_max", `"2d" is not a duration: days are not a unit here; write 48h`}},
		{"list for a duration", "refresh: [5s]\n", wantProblem{1, "refresh", "must be a single value, not a list"}},
		{"word for a number", "thresholds:\n  error_rate_max: low\n", wantProblem{2, "thresholds.error_rate_max", `"low" is not a number`}},
		{"percent for a fraction", "thresholds:\n  error_rate_max: 1%\n", wantProblem{2, "thresholds.error_rate_max", `"1%" is not a number: write a fraction, e.g. 0.01 for 1 %`}},
		{"not a number", "thresholds:\n  error_rate_max: .nan\n", wantProblem{2, "thresholds.error_rate_max", ".nan is not a finite number"}},
		{"fraction for a count", "mlflow:\n  runs_limit: 50.5\n", wantProblem{2, "mlflow.runs_limit", "50.5 is not a whole number"}},
		{"quoted count", "mlflow:\n  runs_limit: \"50\"\n", wantProblem{2, "mlflow.runs_limit", `"50" is not a whole number`}},
		{"huge count", "mlflow:\n  runs_limit: 99999999999999999999\n", wantProblem{2, "mlflow.runs_limit", "99999999999999999999 is too large"}},
		{"yes for a bool", "read_only: yes\n", wantProblem{1, "read_only", `"yes" is not true or false`}},
		{"number for a bool", "ui:\n  ascii: 1\n", wantProblem{2, "ui.ascii", "1 is not true or false"}},
		{"scalar for a list", "kubernetes:\n  namespaces: ml-prod\n", wantProblem{2, "kubernetes.namespaces", "must be a list; write [ml-prod]"}},
		{"section for a list", "kubernetes:\n  namespaces:\n    a: b\n", wantProblem{2, "kubernetes.namespaces", "must be a list such as [ml-prod], not a section"}},
		{"list of lists", "kubernetes:\n  namespaces:\n    - a\n    - [b]\n", wantProblem{4, "kubernetes.namespaces", "entry 2 must be a single name, not a list"}},
		{"value for a section", "thresholds: 5\n", wantProblem{1, "thresholds", "is a section: put its keys on the lines below it, indented, not the value 5 after the colon"}},
		{"section for a string", "mlflow:\n  experiment:\n    name: x\n", wantProblem{2, "mlflow.experiment", "must be a single value, not a section"}},
		{"duplicate key", "refresh: 5s\nrefresh: 6s\n", wantProblem{2, "refresh", "set twice (first on line 1); keep one"}},
		{"control characters are quoted", "refresh: \"\\e[31mred\"\n", wantProblem{1, "refresh", `"\x1b[31mred" is not a duration (examples: 5s, 1m)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, path := loadFile(t, tt.content)
			checkProblems(t, path, ps, []wantProblem{tt.want})
		})
	}
}

func TestTypeErrorText(t *testing.T) {
	_, ps, path := loadFile(t, "\n\n\n\n\n\nrefresh: \"fast\"\n")
	if want := path + `:7: refresh: "fast" is not a duration (examples: 5s, 1m)`; ps.Error() != want {
		t.Errorf("got  %s\nwant %s", ps.Error(), want)
	}
}

func TestTypeErrorKeepsDefault(t *testing.T) {
	cfg, ps, _ := loadFile(t, "refresh: fast\nthresholds:\n  p99_max: 1s\n")
	if len(ps) != 1 {
		t.Fatalf("problems: %v", ps)
	}
	if cfg.Refresh != Default().Refresh || cfg.Thresholds.P99Max != time.Second {
		t.Errorf("refresh %v (want the default), p99 %v (want 1s: other keys still load)", cfg.Refresh, cfg.Thresholds.P99Max)
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		line    int
		msg     string
	}{
		{"tab indentation", "thresholds:\n\tp99_max: 1s\n", 2,
			"not valid YAML: found character that cannot start any token; indent with spaces, not tabs"},
		{"unclosed list", "kubernetes:\n  namespaces: [a, b\nrefresh: 5s\n", 2,
			"not valid YAML: did not find expected ',' or ']'; a [list] is not closed with ]"},
		{"colon in a value on line 1", "refresh: a: b\n", 1,
			`not valid YAML: mapping values are not allowed in this context; a value containing ": " needs quotes, or a key is indented wrongly`},
		{"unclosed quote", "mlflow:\n  experiment: 'x\n", 2,
			"not valid YAML: found unexpected end of stream; a quote or bracket is not closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, path := loadFile(t, tt.content)
			checkProblems(t, path, ps, []wantProblem{{tt.line, "", tt.msg}})
			for _, raw := range []string{"yaml:", "unmarshal", "line "} {
				if strings.Contains(ps[0].Msg, raw) {
					t.Errorf("message leaks the YAML library's wording %q: %s", raw, ps[0].Msg)
				}
			}
		})
	}
}

func TestDocumentShape(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    wantProblem
	}{
		{"a list instead of settings", "- refresh: 5s\n", wantProblem{1, "", "the file must hold key: value settings (see `mltop config init`), not a list"}},
		{"a second document", "refresh: 5s\n---\nrefresh: 6s\n", wantProblem{2, "", "a second YAML document starts here (after ---); mltop reads one document, so merge them or remove the ---"}},
		{"merge keys", "base: &b\n  refresh: 5s\n", wantProblem{1, "", `unknown key "base"; the keys here are refresh, read_only, thresholds, kubernetes, prometheus, mlflow, kfp, ui, doctor, log_file`}},
		{"merge key", "thresholds:\n  <<: {p99_max: 1s}\n", wantProblem{2, "", "merge keys (<<) are not supported in thresholds; write the keys out"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ps, path := loadFile(t, tt.content)
			checkProblems(t, path, ps, []wantProblem{tt.want})
		})
	}
}

func TestValuesDecode(t *testing.T) {
	cfg, ps, _ := loadFile(t, `refresh: 2s
read_only: true
thresholds:
  pipeline_success_min: 0.9
  metric_drop_max: 0
  registry_wait_max: 1h30m
  error_rate_max: 0.05
  p99_max: 250ms
  canary_error_ratio: 3
  oom_kills_per_day_max: 2
kubernetes:
  namespaces:
    - ml-prod
    - ml-staging
  protected_namespaces: []
prometheus:
  timeout: &t 7s
  window: 1h30m
  profile: kserve
mlflow:
  timeout: *t
  experiment: 2024
  runs_limit: 0x10
kfp:
  refresh: 0
  window:
`)
	if ps != nil {
		t.Fatal(ps)
	}
	want := Default()
	want.Refresh, want.ReadOnly = 2*time.Second, true
	want.Thresholds = Thresholds{0.9, 0, 90 * time.Minute, 0.05, 250 * time.Millisecond, 3, 2}
	want.Kubernetes.Namespaces = []string{"ml-prod", "ml-staging"}
	want.Kubernetes.ProtectedNamespaces = nil // an empty list means none, not the default
	want.Prometheus.Timeout, want.Prometheus.Window, want.Prometheus.Profile = 7*time.Second, "1h30m", "kserve"
	want.MLflow.Timeout, want.MLflow.Experiment, want.MLflow.RunsLimit = 7*time.Second, "2024", 16
	want.KFP.Refresh = 0 // a bare 0 needs no unit; an empty value (kfp.window) keeps the default
	if got := withoutProvenance(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if o := cfg.Origin("kfp.window"); o != "default" {
		t.Errorf("an empty value should keep the default origin, got %q", o)
	}
}
