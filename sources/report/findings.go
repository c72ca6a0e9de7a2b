package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

// Finding is one of the doctor's findings.
type Finding struct {
	Severity string `json:"severity"`
	Check    string `json:"check"`
	Object   string `json:"object"`
	// Namespace and Service name the InferenceService the finding is
	// about, when it is about one.
	Namespace string `json:"namespace,omitempty"`
	Service   string `json:"service,omitempty"`
	What      string `json:"what"`
	Evidence  string `json:"evidence"`
	Remedy    string `json:"remedy"`
}

// Findings converts the doctor's findings for the documents; never nil, so
// JSON shows [] rather than null.
func Findings(fs []health.Finding) []Finding {
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		rf := Finding{Severity: f.Severity.String(), Check: f.Check, Object: f.Object, What: f.What, Evidence: f.Evidence, Remedy: f.Remedy}
		if f.Service != nil {
			rf.Namespace, rf.Service = f.Service.Namespace, f.Service.Name
		}
		out = append(out, rf)
	}
	return out
}

// AddFindings puts the doctor's findings into the document.
func (d *Document) AddFindings(fs []health.Finding) { d.Findings = Findings(fs) }

// WriteFindings prints findings as plain text, each as a headline (severity,
// check, object) and indented what, evidence and remedy lines wrapped at
// width columns (0: no wrapping).
func WriteFindings(w io.Writer, fs []Finding, width int) error {
	p := &printer{w: w}
	writeFindings(p, fs, width)
	return p.err
}

func writeFindings(p *printer, fs []Finding, width int) {
	if len(fs) == 0 {
		p.line("  none: every seam checked is sound")
		return
	}
	for i, f := range fs {
		if i > 0 {
			p.line("")
		}
		p.linef("  %-4s %s  %s", f.Severity, f.Check, f.Object)
		for _, part := range []struct{ label, text string }{{"what", f.What}, {"evidence", f.Evidence}, {"remedy", f.Remedy}} {
			for j, l := range wrap(part.text, width-len("       evidence  ")) {
				label := ""
				if j == 0 {
					label = part.label
				}
				p.linef("       %-8s  %s", label, l)
			}
		}
	}
}

// wrap breaks text into lines of at most width characters (runes) at
// spaces; a word longer than width (a URI) gets a line of its own. width
// <= 0 keeps one line.
func wrap(text string, width int) []string {
	words := strings.Fields(text)
	if width <= 0 || len(words) == 0 {
		return []string{text}
	}
	var lines []string
	line, lineLen := "", 0
	for _, w := range words {
		n := utf8.RuneCountInString(w)
		switch {
		case line == "":
			line, lineLen = w, n
		case lineLen+1+n <= width:
			line, lineLen = line+" "+w, lineLen+1+n
		default:
			lines = append(lines, line)
			line, lineLen = w, n
		}
	}
	return append(lines, line)
}

// findingsTitle is the FINDINGS heading with the count per severity.
func findingsTitle(fs []Finding) string {
	counts := map[string]int{}
	for _, f := range fs {
		counts[f.Severity]++
	}
	var parts []string
	for _, sev := range []string{"CRIT", "WARN", "INFO"} {
		if counts[sev] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[sev], sev))
		}
	}
	if len(parts) == 0 {
		return "FINDINGS (0)"
	}
	return fmt.Sprintf("FINDINGS (%d: %s)", len(fs), strings.Join(parts, ", "))
}

// Doctor is what `mltop doctor -o json` prints: the findings with the
// versions and source health they were judged on.
type Doctor struct {
	TakenAt    time.Time      `json:"taken_at"`
	Context    string         `json:"context"`
	Namespaces []string       `json:"namespaces"`
	Versions   Versions       `json:"versions"`
	Sources    []SourceStatus `json:"sources"`
	Counts     Counts         `json:"counts"`
	Findings   []Finding      `json:"findings"`
}

// Versions are the components' versions as their sources report them;
// null when unknown.
type Versions struct {
	KFP        *string `json:"kfp"`
	MLflow     *string `json:"mlflow"`
	KServe     *string `json:"kserve"`
	Kubernetes *string `json:"kubernetes"`
}

// Counts are the findings per severity.
type Counts struct {
	Crit int `json:"crit"`
	Warn int `json:"warn"`
	Info int `json:"info"`
}

// BuildDoctor assembles the doctor's document.
func BuildDoctor(s sources.Snapshot, fs []health.Finding) Doctor {
	known := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	by := health.CountBySeverity(fs)
	return Doctor{
		TakenAt:    s.At.UTC(),
		Context:    s.Context,
		Namespaces: nonNil(s.Namespaces),
		Versions: Versions{KFP: known(s.Versions.KFP), MLflow: known(s.Versions.MLflow),
			KServe: known(s.Versions.KServe), Kubernetes: known(s.Versions.Kubernetes)},
		Sources:  sourceStatuses(s),
		Counts:   Counts{Crit: by[health.Crit], Warn: by[health.Warn], Info: by[health.Info]},
		Findings: Findings(fs),
	}
}

// WriteDoctorText prints the doctor's document for people: what was looked
// at (versions, sources), then every finding with its evidence and remedy.
func WriteDoctorText(w io.Writer, d Doctor) error {
	p := &printer{w: w}
	p.linef("mltop doctor  %s  context %s  namespaces %s", d.TakenAt.Format(time.RFC3339), or(d.Context, "-"), or(strings.Join(d.Namespaces, ","), "all"))
	show := func(v *string) string {
		if v == nil {
			return "unknown"
		}
		return *v
	}
	p.linef("versions  KFP %s  MLflow %s  KServe %s  Kubernetes %s", show(d.Versions.KFP), show(d.Versions.MLflow), show(d.Versions.KServe), show(d.Versions.Kubernetes))
	var srcs []string
	for _, s := range d.Sources {
		srcs = append(srcs, s.ID+" "+s.Health)
	}
	p.line("sources   " + strings.Join(srcs, "  "))
	for _, s := range d.Sources {
		if s.Error != "" {
			p.linef("          %s: %s", s.ID, s.Error)
		}
	}
	p.section(findingsTitle(d.Findings))
	writeFindings(p, d.Findings, textWidth)
	return p.err
}
