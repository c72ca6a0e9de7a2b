package panes

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
)

// fixtureFindings are the doctor's findings on the fixture's incident,
// ordered as health.Findings orders them.
func fixtureFindings() []health.Finding {
	churn := sources.ServiceKey{Namespace: "ml-prod", Name: "churn-model"}
	ranker := sources.ServiceKey{Namespace: "ml-prod", Name: "search-ranker"}
	reco := sources.ServiceKey{Namespace: "ml-prod", Name: "recommendation-classifier"}
	return []health.Finding{
		{Severity: health.Crit, Check: health.CheckModelPath, Object: "churn-model", Service: &churn,
			What:     "churn-model cannot find its model's MLmodel file where storageUri points",
			Evidence: "storageUri gs://mlflow-artifacts/7/313c5b57f476115b1f6e28b7bb9d6682/artifacts is a run's artifact root; log_model writes MLmodel under the artifact path below it (usually /model); condition PredictorReady=False: " + churnReason,
			Remedy:   "Set storageUri to gs://mlflow-artifacts/7/313c5b57f476115b1f6e28b7bb9d6682/artifacts/model (the run's artifact_uri plus log_model's artifact_path)."},
		{Severity: health.Warn, Check: health.CheckRunNotTracked, Object: "recommendation-training-pipeline-20260310-071522",
			What:     "KFP run recommendation-training-pipeline-20260310-071522 SUCCEEDED but no MLflow run carries its id",
			Evidence: "run d24f63ad-711a-438d-92b1-da65d321cf24 succeeded 6h ago; none of the 12 fetched runs of MLflow experiment recommendation-v3 carries tag kfp_run_id with its id",
			Remedy:   "Allow traffic from the pipeline runner's namespace to MLflow's in the NetworkPolicy; add retries to the component."},
		{Severity: health.Warn, Check: health.CheckRollbackUnsafe, Object: "search-ranker", Service: &ranker,
			What:     "a rollback of search-ranker to search-ranker-predictor-00002 would start from zero pods",
			Evidence: "minReplicas 0; search-ranker-predictor-00002 has taken no traffic since search-ranker-predictor-00003 rolled out",
			Remedy:   "Pin minReplicas to 1 or more; lengthen the readiness probe's timeout; roll back by storageUri."},
		{Severity: health.Warn, Check: health.CheckServingDrift, Object: "recommendation-classifier", Service: &reco,
			What:     "recommendation-classifier serves recommendation-classifier v6, but the registry's @champion is v7",
			Evidence: "storageUri is the source of v6 (registered 3d ago)",
			Remedy:   "Roll v7 out: set storageUri to its source."},
		{Severity: health.Info, Check: health.CheckVersionMatrix, Object: "versions",
			What: "the version of KServe is unknown", Evidence: "not reported", Remedy: "Nothing to fix."},
	}
}

// assertBlock checks that a view is exactly w cells by h lines.
func assertBlock(t *testing.T, what, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Fatalf("%s: %d lines, want %d", what, len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Fatalf("%s: line %d is %d cells, want %d: %q", what, i, got, w, l)
		}
	}
}

func TestFindingsViewFitsEverySize(t *testing.T) {
	fs := fixtureFindings()
	for name, th := range themes() {
		in := fixtureInput(th)
		for _, size := range [][2]int{{160, 48}, {120, 40}, {80, 24}, {60, 10}, {40, 6}, {20, 3}, {5, 1}} {
			for _, cursor := range []int{-3, 0, 2, 4, 99} {
				w, h := size[0], size[1]
				assertBlock(t, fmt.Sprintf("%s %dx%d cursor %d", name, w, h, cursor), FindingsView(in, fs, cursor, w, h), w, h)
			}
		}
		assertBlock(t, name+" empty", FindingsView(in, nil, 0, 80, 24), 80, 24)
	}
	if out := FindingsView(fixtureInput(asciiTheme()), fs, 0, 0, 10); out != "" {
		t.Errorf("zero width drew %q", out)
	}
}

func TestFindingsViewListsAndExplains(t *testing.T) {
	in := fixtureInput(asciiTheme())
	fs := fixtureFindings()
	out := FindingsView(in, fs, 0, 120, 40)
	for _, want := range []string{
		"DOCTOR 5 findings: 1 CRIT, 3 WARN, 1 INFO",
		"> X CRIT model-path       churn-model                     churn-model cannot find",
		"  ! WARN run-not-tracked  recommendation-training-pip...  KFP run recommendation-training-pipeline-20260310-071522",
		"  - INFO version-matrix",
		"-- 1 of 5: model-path --",
		"what      churn-model cannot find its model's MLmodel file where storageUri points",
		"service   ml-prod/churn-model",
		"evidence  storageUri gs://mlflow-artifacts/7/313c5b57f476115b1f6e28b7bb9d6682/artifacts is a run's artifact root;",
		"remedy    Set storageUri to gs://mlflow-artifacts/7/313c5b57f476115b1f6e28b7bb9d6682/artifacts/model",
		"j/k select  enter go to churn-model  esc back",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	// The cursor moves the selection and the detail; a finding without a
	// service offers no jump.
	out = FindingsView(in, fs, 1, 120, 40)
	if !strings.Contains(out, "> ! WARN run-not-tracked") || !strings.Contains(out, "2 of 5: run-not-tracked") ||
		strings.Contains(out, "enter go to") || strings.Contains(out, "\nservice ") {
		t.Errorf("cursor on the run finding:\n%s", out)
	}
}

func TestFindingsViewScrollsToTheCursor(t *testing.T) {
	in := fixtureInput(asciiTheme())
	var fs []health.Finding
	for i := range 30 {
		fs = append(fs, health.Finding{Severity: health.Warn, Check: health.CheckRegistryBacklog,
			Object: fmt.Sprintf("model-%02d v1", i), What: "waits", Evidence: "e", Remedy: "r"})
	}
	out := FindingsView(in, fs, 27, 80, 24)
	if !strings.Contains(out, "> ! WARN model-27 v1") || strings.Contains(out, "model-00 v1") {
		t.Errorf("the cursor row is not in view:\n%s", out)
	}
	if !strings.Contains(out, "28 of 30") {
		t.Errorf("the detail is not the cursor's:\n%s", out)
	}
}

func TestFindingsViewWithoutFindings(t *testing.T) {
	out := FindingsView(fixtureInput(asciiTheme()), nil, 0, 100, 5)
	if !strings.Contains(out, "DOCTOR 0 findings") || !strings.Contains(out, "- no findings: every seam") {
		t.Errorf("empty view:\n%s", out)
	}
}

// TestFindingsViewCleansText: findings quote condition messages and
// storage URIs from the cluster; no escape sequence reaches the terminal.
func TestFindingsViewCleansText(t *testing.T) {
	fs := []health.Finding{{Severity: health.Crit, Check: health.CheckModelPath, Object: "evil\x1b]52;c;cGF5bG9hZA==\x07",
		What: "x\x1b[2J", Evidence: "condition Ready=False: \x1b[31mred\x1b[0m", Remedy: "r\x07"}}
	out := FindingsView(fixtureInput(asciiTheme()), fs, 0, 100, 12)
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("escape sequences reached the view: %q", out)
	}
}

// TestFindingsDetailKeepsFirstLinesWhenShort: a short detail drops the
// ends of the long paragraphs, never the start of what, evidence or remedy.
func TestFindingsDetailKeepsFirstLinesWhenShort(t *testing.T) {
	f := fixtureFindings()[0]
	lines := findingDetail(asciiTheme(), f, 0, 1, 60, 5)
	joined := strings.Join(lines, "\n")
	for _, want := range []string{"1 of 1: model-path", "what      ", "service   ml-prod/churn-model", "evidence  ", "remedy    "} {
		if !strings.Contains(joined, want) {
			t.Errorf("short detail lacks %q:\n%s", want, joined)
		}
	}
}

func TestFindingsSummary(t *testing.T) {
	in := fixtureInput(asciiTheme())
	fs := fixtureFindings()
	for w, want := range map[int]string{40: "X doctor 1 CRIT 3 WARN", 16: "X doctor 1C 3W", 11: "X dr 1C 3W", 5: "X dr…"} {
		got := FindingsSummary(in, fs, w)
		if text.Width(got) > w {
			t.Errorf("w=%d: %q is wider", w, got)
		}
		if w != 5 && got != want {
			t.Errorf("w=%d: %q, want %q", w, got, want)
		}
	}
	warnOnly := fs[1:]
	if got := FindingsSummary(in, warnOnly, 40); got != "! doctor 3 WARN" {
		t.Errorf("warnings only: %q", got)
	}
	if got := FindingsSummary(in, fs[4:], 40); got != "- doctor ok, 1 info" {
		t.Errorf("information only: %q", got)
	}
	if got := FindingsSummary(in, nil, 40); got != "- doctor ok" {
		t.Errorf("no findings: %q", got)
	}
	if got := FindingsSummary(in, fs, 0); got != "" {
		t.Errorf("no room: %q", got)
	}
}

func TestSelectedFinding(t *testing.T) {
	fs := fixtureFindings()
	for cursor, want := range map[int]string{-1: "churn-model", 0: "churn-model", 3: "recommendation-classifier", 42: "versions"} {
		f, ok := SelectedFinding(fs, cursor)
		if !ok || f.Object != want {
			t.Errorf("cursor %d: %q %v, want %q", cursor, f.Object, ok, want)
		}
	}
	if f, ok := SelectedFinding(fs, 2); !ok || f.Service == nil || f.Service.Name != "search-ranker" {
		t.Errorf("the jump target of the rollback finding: %+v", f)
	}
	if _, ok := SelectedFinding(nil, 0); ok {
		t.Error("a finding selected in an empty list")
	}
}

func TestWrapCells(t *testing.T) {
	got := wrapCells("aa bb cc gs://bucket/very/long/path ee", 8)
	want := []string{"aa bb cc", "gs://buc", "ket/very", "/long/pa", "th ee"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
	for _, l := range wrapCells("日本語のテキストを折り返す", 5) {
		if text.Width(l) > 5 {
			t.Errorf("wide runes overflow: %q", l)
		}
	}
	if got := wrapCells("", 10); len(got) != 1 || got[0] != "" {
		t.Errorf("empty text: %q", got)
	}
}
