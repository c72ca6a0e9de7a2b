package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

func sampleFindings() []health.Finding {
	key := sources.ServiceKey{Namespace: "ml-prod", Name: "churn-model"}
	return []health.Finding{
		{Severity: health.Crit, Check: health.CheckModelPath, Object: "churn-model", Service: &key,
			What:     "churn-model cannot find its model's MLmodel file where storageUri points",
			Evidence: "storageUri gs://mlflow-artifacts/7/abc/artifacts is a run's artifact root; log_model writes MLmodel under the artifact path below it (usually /model)",
			Remedy:   "Set storageUri to gs://mlflow-artifacts/7/abc/artifacts/model (the run's artifact_uri plus log_model's artifact_path)."},
		{Severity: health.Info, Check: health.CheckVersionMatrix, Object: "versions", What: "the version of KServe is unknown", Evidence: "e", Remedy: "r"},
	}
}

func TestFindingsInTheJSONDocument(t *testing.T) {
	s := fixture()
	th := config.Default().Thresholds
	d := Build(s, nil, th)
	raw, _ := json.Marshal(d)
	if !strings.Contains(string(raw), `"findings":[]`) {
		t.Errorf("a document without findings must say [] : %s", raw)
	}
	d.AddFindings(sampleFindings())
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Findings []map[string]string `json:"findings"`
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != 2 {
		t.Fatalf("findings %+v", back.Findings)
	}
	f := back.Findings[0]
	for k, want := range map[string]string{"severity": "CRIT", "check": "model-path", "object": "churn-model",
		"namespace": "ml-prod", "service": "churn-model"} {
		if f[k] != want {
			t.Errorf("%s = %q, want %q", k, f[k], want)
		}
	}
	if f["what"] == "" || f["evidence"] == "" || f["remedy"] == "" {
		t.Errorf("finding %+v", f)
	}
	if _, ok := back.Findings[1]["service"]; ok {
		t.Errorf("a finding about no service names one: %+v", back.Findings[1])
	}
}

func TestFindingsInTheTextReport(t *testing.T) {
	s := fixture()
	th := config.Default().Thresholds
	d := Build(s, nil, th)
	var buf bytes.Buffer
	if err := WriteText(&buf, d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "FINDINGS (0)\n  none") {
		t.Errorf("no findings:\n%s", buf.String())
	}
	d.AddFindings(sampleFindings())
	buf.Reset()
	if err := WriteText(&buf, d); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"FINDINGS (2: 1 CRIT, 1 INFO)",
		"  CRIT model-path  churn-model\n       what      churn-model cannot find",
		"       evidence  storageUri gs://mlflow-artifacts/7/abc/artifacts is a run's artifact root;",
		"       remedy    Set storageUri to gs://mlflow-artifacts/7/abc/artifacts/model",
		"  INFO version-matrix  versions",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "       ") && len(l) > textWidth && strings.Contains(strings.TrimSpace(l), " ") {
			t.Errorf("line of %d characters not wrapped: %q", len(l), l)
		}
	}
}

func TestWrap(t *testing.T) {
	got := wrap("aa bb cc dddddddddd ee", 5)
	want := []string{"aa bb", "cc", "dddddddddd", "ee"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("wrap = %q, want %q", got, want)
	}
	if got := wrap("one line", 0); len(got) != 1 || got[0] != "one line" {
		t.Errorf("no width: %q", got)
	}
}
