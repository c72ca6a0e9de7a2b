package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltop/mltop/actions"
)

func sampleEntry(i int) Entry {
	return Entry{
		Time:            time.Date(2026, 8, 20, 3, 12, i, 0, time.UTC),
		User:            "alice@example.com",
		Context:         "prod-gke",
		Namespace:       "ml-prod",
		Service:         "fraud-model",
		Action:          actions.Rollback,
		PlanID:          fmt.Sprintf("rollback-%d", i),
		ToPreviousModel: true,
		Summary:         "canaryTrafficPercent 20 -> 0: all traffic to fraud-model-predictor-00001",
		ResourceVersion: "884213",
		Patch:           json.RawMessage(`{"metadata":{"resourceVersion":"884213"},"spec":{"predictor":{"canaryTrafficPercent":0}}}`),
		Checks: []actions.Check{
			{Name: "access", Status: actions.CheckPass, Detail: "you may patch inferenceservices in ml-prod"},
			{Name: "min-replicas", Status: actions.CheckWarn, Detail: "cold-start risk", Remedy: "pin minReplicas first"},
			{Name: "previous-revision", Status: actions.CheckFail, Detail: "no ready pods"},
			{Name: "previous-model", Status: actions.CheckSkip},
		},
		Verdict:    "ROLLBACK at 3m",
		Result:     actions.Succeeded,
		Message:    "rolled back <fast> & clean",
		DurationMS: 4200,
	}
}

func TestAppendThenReadRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "mltop", FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := []Entry{sampleEntry(1), sampleEntry(2)}
	want[1].Result, want[1].Patch, want[1].Checks = actions.Declined, nil, nil
	for _, e := range want {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	got, notes, err := ReadWithNotes(path)
	if err != nil || len(notes) != 0 {
		t.Fatalf("read: %v, notes %v", err, notes)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) {
			t.Errorf("entry %d time %v, want %v", i, got[i].Time, want[i].Time)
		}
		got[i].Time = want[i].Time
		g, _ := json.Marshal(got[i])
		w, _ := json.Marshal(want[i])
		if string(g) != string(w) {
			t.Errorf("entry %d:\n got %s\nwant %s", i, g, w)
		}
	}
	if got[0].Checks[2].Status != actions.CheckFail || got[0].Checks[1].Remedy != "pin minReplicas first" {
		t.Errorf("checks did not survive: %+v", got[0].Checks)
	}
}

func TestLinesAreReadableJSONWithWordsForCheckStates(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(sampleEntry(1)); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(raw), "\n") != 1 || !strings.HasSuffix(string(raw), "\n") {
		t.Fatalf("want exactly one line, got %q", raw)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"time", "user", "context", "namespace", "service", "action", "patch", "checks", "verdict", "result", "message", "durationMs"} {
		if _, ok := generic[key]; !ok {
			t.Errorf("line has no %q: %s", key, raw)
		}
	}
	checks := generic["checks"].([]any)
	if st := checks[2].(map[string]any)["status"]; st != "FAIL" {
		t.Errorf("check status written as %v, want the word FAIL", st)
	}
	if patch, ok := generic["patch"].(map[string]any); !ok || patch["spec"] == nil {
		t.Errorf("patch should be embedded as JSON, got %T %v", generic["patch"], generic["patch"])
	}
	if !strings.Contains(string(raw), "<fast> & clean") {
		t.Errorf("message should not be HTML-escaped: %s", raw)
	}
}

func TestFileAndDirectoryArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "fresh")
	path := filepath.Join(dir, FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(sampleEntry(1)); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", info.Mode().Perm())
	}
}

func TestOpenTightensAWideOpenLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
}

func TestAppendOnlyAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	for i := range 3 { // three processes' worth of opens
		l, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(sampleEntry(i)); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].PlanID != "rollback-0" || got[2].PlanID != "rollback-2" {
		t.Fatalf("entries %+v", got)
	}
}

func TestConcurrentAppendsNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e := sampleEntry(i)
				e.PlanID = fmt.Sprintf("w%d-%d", w, i)
				// A long message makes interleaving likely if writes were split.
				e.Message = strings.Repeat("x", 4096)
				if err := l.Append(e); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	got, notes, err := ReadWithNotes(path)
	if err != nil || len(notes) != 0 {
		t.Fatalf("read: %v, notes %v", err, notes)
	}
	if len(got) != writers*each {
		t.Fatalf("got %d entries, want %d", len(got), writers*each)
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.PlanID] = true
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct entries, want %d", len(seen), writers*each)
	}
}

func TestATornLastLineIsSkippedWithANoteAndTheNextAppendStartsAFreshLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(sampleEntry(1)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// A crash in the middle of the second line's write.
	whole, _ := json.Marshal(sampleEntry(2))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(whole[:len(whole)/2]); err != nil {
		t.Fatal(err)
	}
	f.Close()

	got, notes, err := ReadWithNotes(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PlanID != "rollback-1" {
		t.Fatalf("entries %+v", got)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "line 2 is incomplete") {
		t.Fatalf("notes %q", notes)
	}

	// The next run appends: its line must not be glued to the torn one.
	l, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(sampleEntry(3)); err != nil {
		t.Fatal(err)
	}
	got, notes, err = ReadWithNotes(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].PlanID != "rollback-3" {
		t.Fatalf("entries after the next append %+v", got)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "line 2 is not an audit entry") {
		t.Fatalf("notes %q", notes)
	}
	plain, err := Read(path)
	if err != nil || len(plain) != 2 {
		t.Fatalf("Read: %d entries, %v", len(plain), err)
	}
}

func TestReadCleansTerminalEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	e := sampleEntry(1)
	e.Message = "bad\x1b[2Jthing"
	e.Service = "svc\u009b31m"
	e.Checks = []actions.Check{{Name: "dry-run", Status: actions.CheckFail, Detail: "webhook said \x1b]0;pwned\x07no"}}
	e.Patch = json.RawMessage("{\"metadata\":{\"annotations\":{\"a\":\"\u009b2J\"}}}")
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append(e); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{got[0].Message, got[0].Service, got[0].Checks[0].Detail, string(got[0].Patch)} {
		if strings.ContainsAny(s, "\x1b\u009b\x07") {
			t.Errorf("escape survived: %q", s)
		}
	}
	if got[0].Message != "badthing" {
		t.Errorf("message %q", got[0].Message)
	}
}

func TestReadOfAMissingLogSaysSo(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "nope.jsonl"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
}

func TestAppendAfterCloseFails(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := l.Append(sampleEntry(1)); err == nil {
		t.Fatal("append on a closed log succeeded")
	}
}

func TestOpenRefusesADirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err == nil {
		t.Fatal("opened a directory as the audit log")
	}
}

func TestDefaultPath(t *testing.T) {
	if got := DefaultPath("/home/u/.local/state/mltop"); got != "/home/u/.local/state/mltop/audit.jsonl" {
		t.Errorf("DefaultPath = %q", got)
	}
}
