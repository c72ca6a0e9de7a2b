package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

// TestDoctorDemoFindsTheSeams: the demo's incident breaks the seams of the
// seed's scenarios 1-3 and serves an old version; the doctor names each
// with evidence and remedy, and exits 1.
func TestDoctorDemoFindsTheSeams(t *testing.T) {
	code, out, errs := invoke(t, nil, "doctor", "--demo")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (warnings found): %s", code, errs)
	}
	if errs != "" {
		t.Errorf("findings are the output, not an error: %q", errs)
	}
	for _, want := range []string{
		"versions  KFP 2.3.0  MLflow 2.17.2",
		"CRIT model-path  churn-model",
		"WARN run-not-tracked  recommendation-training-pipeline-",
		"WARN rollback-unsafe  search-ranker",
		"WARN serving-drift  recommendation-classifier",
		"NetworkPolicy", "artifacts/model", "minReplicas", "@champion is v7",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "       evidence  ") != strings.Count(out, "       remedy    ") || strings.Count(out, "       evidence  ") < 4 {
		t.Errorf("every finding needs evidence and a remedy:\n%s", out)
	}
}

func TestDoctorDemoJSON(t *testing.T) {
	code, out, errs := invoke(t, nil, "doctor", "--demo", "-o", "json")
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Versions map[string]*string `json:"versions"`
		Counts   map[string]int     `json:"counts"`
		Findings []struct {
			Severity, Check, Object, Namespace, Service, What, Evidence, Remedy string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	checks := map[string]bool{}
	for _, f := range doc.Findings {
		checks[f.Check] = true
		if f.What == "" || f.Evidence == "" || f.Remedy == "" {
			t.Errorf("finding %+v", f)
		}
		if f.Check == health.CheckModelPath && (f.Namespace != "ml-prod" || f.Service != "churn-model") {
			t.Errorf("model-path finding does not name its service: %+v", f)
		}
	}
	for _, c := range []string{health.CheckRunNotTracked, health.CheckModelPath, health.CheckRollbackUnsafe, health.CheckServingDrift} {
		if !checks[c] {
			t.Errorf("no %s finding in %+v", c, doc.Findings)
		}
	}
	if doc.Counts["crit"] < 1 || doc.Counts["warn"] < 3 {
		t.Errorf("counts %v", doc.Counts)
	}
	if v := doc.Versions["mlflow"]; v == nil || *v != "2.17.2" {
		t.Errorf("mlflow version %v", v)
	}
	if _, ok := doc.Versions["kserve"]; !ok || doc.Versions["kserve"] != nil {
		t.Errorf("an unknown version must be null: %v", doc.Versions)
	}
}

func TestSnapshotCarriesTheFindings(t *testing.T) {
	code, out, errs := invoke(t, nil, "snapshot", "--demo", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var doc struct {
		Findings []struct{ Check string } `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) < 4 {
		t.Errorf("findings %+v", doc.Findings)
	}
	_, text, _ := invoke(t, nil, "snapshot", "--demo")
	if !strings.Contains(text, "FINDINGS (") || !strings.Contains(text, "serving-drift  recommendation-classifier") {
		t.Errorf("text snapshot has no FINDINGS section:\n%s", text)
	}
}

func TestDoctorExitCodes(t *testing.T) {
	if code, _, errs := invoke(t, nil, "doctor", "--demo", "-o", "yaml"); code != 2 || !strings.Contains(errs, `-o "yaml"`) {
		t.Errorf("bad output format: exit %d %q", code, errs)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte("doctor:\n  compatibility: [kfp=two]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := invoke(t, nil, "doctor", "--demo", "--config", path); code != 3 || !strings.Contains(errs, path+":2:") {
		t.Errorf("bad config: exit %d %q, want 3 and the file:line", code, errs)
	}
	// Without any source there is nothing to check: an error, not a pass.
	if err := os.WriteFile(path, []byte("kubernetes:\n  disabled: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := invoke(t, nil, "doctor", "--config", path); code != 3 || !strings.Contains(errs, "nothing to check") {
		t.Errorf("no source: exit %d %q", code, errs)
	}
}

func TestDoctorVerdict(t *testing.T) {
	now := time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC)
	ok := sources.SourceStatus{ID: sources.SourceMLflow, Configured: true, Health: sources.HealthOK, FetchedAt: now}
	down := sources.SourceStatus{ID: sources.SourceKFP, Configured: true, Health: sources.HealthDown, Err: "kfp: connection refused"}
	off := sources.SourceStatus{ID: sources.SourceProm}
	info := []health.Finding{{Severity: health.Info, Check: health.CheckVersionMatrix}}
	warn := append(info, health.Finding{Severity: health.Warn, Check: health.CheckServingDrift})
	code := func(err error) int {
		var ee *exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.code
		}
		return -1
	}
	for name, tc := range map[string]struct {
		statuses []sources.SourceStatus
		findings []health.Finding
		want     int
	}{
		"clean":               {[]sources.SourceStatus{ok, off}, nil, 0},
		"information only":    {[]sources.SourceStatus{ok, off}, info, 0},
		"a warning":           {[]sources.SourceStatus{ok, off}, warn, 1},
		"a source not read":   {[]sources.SourceStatus{ok, down}, nil, 3},
		"unread beats a warn": {[]sources.SourceStatus{ok, down}, warn, 3},
		"nothing configured":  {[]sources.SourceStatus{off}, nil, 3},
	} {
		err := doctorVerdict(sources.Snapshot{At: now, Sources: tc.statuses}, tc.findings)
		if got := code(err); got != tc.want {
			t.Errorf("%s: exit %d (%v), want %d", name, got, err, tc.want)
		}
		if tc.want == 3 && name == "a source not read" && !strings.Contains(err.Error(), "kfp (kfp: connection refused)") {
			t.Errorf("%s: %v does not say which source", name, err)
		}
	}
}
