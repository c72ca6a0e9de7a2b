package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui/text"
)

func incidentSnapshot() sources.Snapshot {
	b := sources.NewBoard(initialStatuses())
	for _, u := range incident() {
		b.Apply(u)
	}
	return b.Snapshot(fixtureNow)
}

// incidentFindings are the doctor's findings on the incident: churn-model's
// storageUri (CRIT), the registry backlog and the pipeline success (WARN),
// and the unknown versions (INFO).
func incidentFindings() []health.Finding {
	return health.Findings(incidentSnapshot(), health.NewFindingsConfig(config.Default()))
}

// TestStatusBarKeepsProblemsAtEveryWidth narrows the status line cell by
// cell: it is always exactly as wide as asked, the stale source keeps its
// word and age, and words are dropped whole, never cut.
func TestStatusBarKeepsProblemsAtEveryWidth(t *testing.T) {
	th := plainTheme()
	snap := incidentSnapshot()
	info := statusInfo{Context: "demo", Namespace: ns, ReadOnly: true, Findings: incidentFindings()}
	words := []string{"mltop", "ctx demo", "ns ml-prod", "demo/ml-prod", "prom ok 2s", "prom ok", "kube ok live",
		"kube ok", "mlflow ok 12s", "mlflow ok", "kfp STALE 3m", "every 5s", "read-only", "? help",
		"✗ doctor 1 CRIT 2 WARN", "✗ doctor 1C 2W"}
	for w := MinWidth; w <= 250; w++ {
		line := statusBar(&th, snap, fixtureNow, info, w)
		if got := text.Width(line); got != w {
			t.Fatalf("width %d: line is %d cells", w, got)
		}
		if !strings.Contains(line, "kfp STALE 3m") {
			t.Errorf("width %d: the stale source is gone: %q", w, line)
		}
		if w >= 70 && !strings.Contains(line, "read-only") {
			t.Errorf("width %d: read-only dropped: %q", w, line)
		}
		// The doctor's critical finding outlasts the context and the
		// healthy sources' ages, down to the 80-column terminal.
		if w >= 80 && !strings.Contains(line, "✗ doctor 1") {
			t.Errorf("width %d: the doctor's count is gone: %q", w, line)
		}
		// Every item shown is one of the known words, whole.
		rest := line
		if i := strings.Index(rest, "kfp: "); i >= 0 {
			// The error fills the leftover room; it is the only item cut.
			end := strings.Index(rest[i:], "  ")
			if end < 0 {
				end = len(rest) - i
			}
			rest = rest[:i] + rest[i+end:]
		}
		for _, item := range strings.Split(rest, "  ") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			found := false
			for _, word := range words {
				if item == word {
					found = true
				}
			}
			if !found {
				t.Errorf("width %d: item %q is not a whole word of the status line: %q", w, item, line)
			}
		}
	}
}

func TestStatusBarShowsTheStaleErrorWhenThereIsRoom(t *testing.T) {
	th := plainTheme()
	line := statusBar(&th, incidentSnapshot(), fixtureNow, statusInfo{ReadOnly: true}, 160)
	if !strings.Contains(line, "connection refused") {
		t.Errorf("the stale source's cause is missing at 160 columns: %q", line)
	}
}

func TestStatusBarSourceStates(t *testing.T) {
	th := plainTheme()
	snap := sources.Snapshot{Sources: []sources.SourceStatus{
		{ID: sources.SourceProm, Health: sources.HealthOff, Hint: "set prometheus.url"},
		{ID: sources.SourceKube, Health: sources.HealthOK, Configured: true, Live: true, FetchedAt: fixtureNow.Add(-time.Hour)},
		{ID: sources.SourceMLflow, Health: sources.HealthDown, Configured: true, Err: "401 Unauthorized", Failures: 9},
		{ID: sources.SourceKFP, Health: sources.HealthPending, Configured: true, Interval: 30 * time.Second},
	}}
	line := statusBar(&th, snap, fixtureNow, statusInfo{}, 200)
	for _, want := range []string{"prom off", "kube ok live", "mlflow DOWN", "kfp wait", "mlflow: 401 Unauthorized", "every 30s"} {
		if !strings.Contains(line, want) {
			t.Errorf("status line lacks %q: %q", want, line)
		}
	}
	if strings.Contains(line, "read-only") {
		t.Errorf("read-only shown for a writable session: %q", line)
	}
}

func TestTruncateStartKeepsTheCause(t *testing.T) {
	err := `Get "http://x:8888/runs": dial tcp 10.0.0.1:8888: connect: connection refused`
	got := truncateStart(err, 30, "…")
	if text.Width(got) > 30 || !strings.HasSuffix(got, "connection refused") || !strings.HasPrefix(got, "…") {
		t.Errorf("truncateStart = %q", got)
	}
	if got := truncateStart("short", 30, "…"); got != "short" {
		t.Errorf("truncateStart of a fitting string = %q", got)
	}
}

// TestStatusBarCountsTheDoctorsFindings: the count by severity reads
// without colour, "ok" only once a source has answered, and no word for
// Info findings alone but that they exist.
func TestStatusBarCountsTheDoctorsFindings(t *testing.T) {
	th := plainTheme()
	snap := incidentSnapshot()
	line := statusBar(&th, snap, fixtureNow, statusInfo{Findings: incidentFindings()}, 160)
	if !strings.Contains(line, "✗ doctor 1 CRIT 2 WARN") {
		t.Errorf("status line lacks the doctor's count: %q", line)
	}
	warnOnly := []health.Finding{{Severity: health.Warn, Check: health.CheckRegistryBacklog, Object: "m v1"}}
	if line := statusBar(&th, snap, fixtureNow, statusInfo{Findings: warnOnly}, 160); !strings.Contains(line, "▲ doctor 1 WARN") {
		t.Errorf("a warning alone: %q", line)
	}
	if line := statusBar(&th, snap, fixtureNow, statusInfo{}, 160); !strings.Contains(line, "● doctor ok") {
		t.Errorf("no findings on answered sources should read ok: %q", line)
	}
	info := []health.Finding{{Severity: health.Info, Check: health.CheckVersionMatrix, Object: "versions"}}
	if line := statusBar(&th, snap, fixtureNow, statusInfo{Findings: info}, 160); !strings.Contains(line, "● doctor ok, 1 info") {
		t.Errorf("an info finding alone: %q", line)
	}
	waiting := sources.NewBoard(initialStatuses()).Snapshot(fixtureNow)
	if line := statusBar(&th, waiting, fixtureNow, statusInfo{}, 160); strings.Contains(line, "doctor") {
		t.Errorf("the doctor judged before any source answered: %q", line)
	}
}
