// Package audit is mltop's append-only record of what it did, or was asked
// to do, to the platform: one JSON object per line (JSONL) in a file only the
// user can read, so "who rolled back fraud-detector at 03:12?" has an answer
// on the machine the action ran from, even when the cluster keeps no events.
//
// A line is written with a single write on a file opened with O_APPEND and
// synced before Append returns, so lines from concurrent mltop processes do
// not interleave and a crash loses at most the line being written. Read
// tolerates that torn line.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources/clean"
)

// FileName is the audit log's name inside mltop's state directory.
const FileName = "audit.jsonl"

// DefaultPath is the audit log inside stateDir (config.StateDir gives
// $XDG_STATE_HOME/mltop).
func DefaultPath(stateDir string) string { return filepath.Join(stateDir, FileName) }

// Entry is one attempt at an action: planned, checked, then applied,
// refused, declined or failed.
type Entry struct {
	Time    time.Time
	User    string // the Kubernetes user (SelfSubjectReview), or "unknown"
	Context string // kubeconfig context
	// Namespace and Service name the InferenceService.
	Namespace string
	Service   string
	Action    actions.Kind
	PlanID    string
	// The request's options (actions.Request).
	ToPreviousModel bool
	MinReplicas     int
	Unpin           bool
	// Summary is the plan's one-line summary.
	Summary string
	// ResourceVersion is the plan's precondition.
	ResourceVersion string
	// Patch is the JSON merge patch as planned (sent only when Result says so).
	Patch   json.RawMessage
	Checks  []actions.Check
	Verdict string
	Result  actions.Result
	Message string
	// DurationMS is the attempt's wall time in milliseconds.
	DurationMS int64
}

// wireEntry is Entry as written: check states are words ("ok", "FAIL"),
// not the enum's integers, so the file reads without the source at hand and
// survives a reordering of the enum.
type wireEntry struct {
	Time            time.Time       `json:"time"`
	User            string          `json:"user"`
	Context         string          `json:"context,omitempty"`
	Namespace       string          `json:"namespace"`
	Service         string          `json:"service"`
	Action          actions.Kind    `json:"action"`
	PlanID          string          `json:"planId,omitempty"`
	ToPreviousModel bool            `json:"toPreviousModel,omitempty"`
	MinReplicas     int             `json:"minReplicas,omitempty"`
	Unpin           bool            `json:"unpin,omitempty"`
	Summary         string          `json:"summary,omitempty"`
	ResourceVersion string          `json:"resourceVersion,omitempty"`
	Patch           json.RawMessage `json:"patch,omitempty"`
	Checks          []wireCheck     `json:"checks,omitempty"`
	Verdict         string          `json:"verdict,omitempty"`
	Result          actions.Result  `json:"result"`
	Message         string          `json:"message,omitempty"`
	DurationMS      int64           `json:"durationMs"`
}

type wireCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	Remedy string `json:"remedy,omitempty"`
}

// MarshalJSON writes the entry as one line of the log.
func (e Entry) MarshalJSON() ([]byte, error) {
	w := wireEntry{
		Time: e.Time, User: e.User, Context: e.Context, Namespace: e.Namespace, Service: e.Service,
		Action: e.Action, PlanID: e.PlanID, ToPreviousModel: e.ToPreviousModel, MinReplicas: e.MinReplicas,
		Unpin: e.Unpin, Summary: e.Summary, ResourceVersion: e.ResourceVersion, Patch: e.Patch,
		Verdict: e.Verdict, Result: e.Result, Message: e.Message, DurationMS: e.DurationMS,
	}
	if len(w.Patch) > 0 && !json.Valid(w.Patch) {
		// Kept as a string rather than refused: losing the audit line
		// because of its patch would be worse than a quoted patch.
		quoted, _ := json.Marshal(string(w.Patch))
		w.Patch = quoted
	}
	for _, c := range e.Checks {
		w.Checks = append(w.Checks, wireCheck{Name: c.Name, Status: c.Status.String(), Detail: c.Detail, Remedy: c.Remedy})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Patches and messages hold "<" and "&" often enough that \u003c would
	// make the file harder to read; the file is never embedded in HTML.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// UnmarshalJSON reads one line of the log.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var w wireEntry
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*e = Entry{
		Time: w.Time, User: w.User, Context: w.Context, Namespace: w.Namespace, Service: w.Service,
		Action: w.Action, PlanID: w.PlanID, ToPreviousModel: w.ToPreviousModel, MinReplicas: w.MinReplicas,
		Unpin: w.Unpin, Summary: w.Summary, ResourceVersion: w.ResourceVersion, Patch: w.Patch,
		Verdict: w.Verdict, Result: w.Result, Message: w.Message, DurationMS: w.DurationMS,
	}
	for _, c := range w.Checks {
		status, err := parseStatus(c.Status)
		if err != nil {
			return fmt.Errorf("check %q: %w", c.Name, err)
		}
		e.Checks = append(e.Checks, actions.Check{Name: c.Name, Status: status, Detail: c.Detail, Remedy: c.Remedy})
	}
	return nil
}

func parseStatus(s string) (actions.CheckStatus, error) {
	for _, st := range []actions.CheckStatus{actions.CheckPass, actions.CheckWarn, actions.CheckFail, actions.CheckSkip} {
		if st.String() == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown check status %q", s)
}

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	path string

	mu sync.Mutex // serialises Append: one line, one write, one sync at a time
	f  *os.File
	// tornTail is true when the file did not end with a newline when it was
	// opened (a crash tore the last line): the next line must start on a
	// fresh line, or it would be glued to the torn one and lost with it.
	tornTail bool
}

// Open opens (creating it if needed) the audit log at path. The file is
// readable by its owner only (0600) and a directory Open creates is too
// (0700): the log names users, services and models.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// A log created by an older version or by hand may be wider open; it
	// is ours, so tighten it.
	if err := f.Chmod(0o600); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit log: %w", err)
	}
	torn, err := endsMidLine(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Log{path: path, f: f, tornTail: torn}, nil
}

// endsMidLine reports whether a non-empty file's last byte is not a newline.
func endsMidLine(f *os.File) (bool, error) {
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !info.Mode().IsRegular() {
		return false, fmt.Errorf("%s is not a regular file", f.Name())
	}
	if info.Size() == 0 {
		return false, nil
	}
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, info.Size()-1); err != nil {
		return false, err
	}
	return last[0] != '\n', nil
}

// Path is the file the log writes to.
func (l *Log) Path() string { return l.path }

// Append writes e as one line and syncs it to disk before returning.
func (l *Log) Append(e Entry) error {
	// Called directly: json.Marshal would re-escape the line's "<", ">" and "&".
	line, err := e.MarshalJSON()
	if err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit log is closed")
	}
	buf := make([]byte, 0, len(line)+2)
	if l.tornTail {
		buf = append(buf, '\n')
	}
	buf = append(buf, line...)
	buf = append(buf, '\n')
	// One write call: with O_APPEND the kernel places it at the end as a
	// whole, so another mltop appending at the same time cannot split it.
	if _, err := l.f.Write(buf); err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	l.tornTail = false
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file; later Appends fail.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Read returns every entry of the log at path, oldest first. Lines that are
// not entries (a line torn by a crash) are skipped; ReadWithNotes says which.
// A missing file is an error that matches fs.ErrNotExist.
func Read(path string) ([]Entry, error) {
	entries, _, err := ReadWithNotes(path)
	return entries, err
}

// ReadWithNotes is Read that also explains every skipped line, e.g. "line 7
// is incomplete (mltop stopped while writing it?); skipped". Text fields are
// cleaned (clean.Text), so entries are safe to print on a terminal whatever
// the file holds.
func ReadWithNotes(path string) ([]Entry, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()

	var entries []Entry
	var notes []string
	r := bufio.NewReader(f)
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return entries, notes, fmt.Errorf("audit log %s: %w", path, err)
		}
		complete := bytes.HasSuffix(line, []byte("\n"))
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) > 0 {
			var e Entry
			switch perr := json.Unmarshal(trimmed, &e); {
			case perr == nil:
				entries = append(entries, cleaned(e))
			case !complete:
				notes = append(notes, fmt.Sprintf("line %d is incomplete (mltop stopped while writing it?); skipped", lineNo))
			default:
				notes = append(notes, fmt.Sprintf("line %d is not an audit entry (%s); skipped", lineNo, clean.Text(perr.Error())))
			}
		}
		if err != nil { // io.EOF
			return entries, notes, nil
		}
	}
}

func cleaned(e Entry) Entry {
	e.User = clean.Text(e.User)
	e.Context = clean.Text(e.Context)
	e.Namespace = clean.Text(e.Namespace)
	e.Service = clean.Text(e.Service)
	e.Action = actions.Kind(clean.Text(string(e.Action)))
	e.PlanID = clean.Text(e.PlanID)
	e.Summary = clean.Text(e.Summary)
	e.ResourceVersion = clean.Text(e.ResourceVersion)
	e.Verdict = clean.Text(e.Verdict)
	e.Result = actions.Result(clean.Text(string(e.Result)))
	e.Message = clean.Text(e.Message)
	checks := make([]actions.Check, len(e.Checks))
	for i, c := range e.Checks {
		checks[i] = actions.Check{Name: clean.Text(c.Name), Status: c.Status, Detail: clean.Text(c.Detail), Remedy: clean.Text(c.Remedy)}
	}
	if len(checks) > 0 {
		e.Checks = checks
	}
	// Valid JSON may still hold raw C1 control characters inside strings;
	// a patch that does is kept only as cleaned, quoted text.
	if len(e.Patch) > 0 {
		var compact bytes.Buffer
		if json.Compact(&compact, e.Patch) == nil {
			e.Patch = compact.Bytes()
		}
		if p := string(e.Patch); clean.Text(p) != p {
			quoted, _ := json.Marshal(clean.Text(p))
			e.Patch = quoted
		}
	}
	return e
}
