package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with the configuration, located as precisely as
// possible so it can be fixed without hunting: the file and line of the key
// when the value came from the config file, otherwise the flag or environment
// variable that set it.
type Problem struct {
	File string // config file; empty when the value did not come from a file
	Line int    // 1-based line in File; 0 when not known
	Key  string // dotted key path, e.g. thresholds.p99_max; empty for problems about the file itself
	Msg  string
	// Origin names where a value that did not come from the file was set,
	// e.g. "flag --refresh" or "env PROMETHEUS_URL".
	Origin string
}

// Error prints the problem as one line: "file:line: key: message".
func (p Problem) Error() string {
	var b strings.Builder
	switch {
	case p.File != "" && p.Line > 0:
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line) + ": ")
	case p.File != "":
		b.WriteString(p.File + ": ")
	case p.Origin != "":
		b.WriteString(p.Origin + ": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found, so one run of `mltop config check` shows
// all of them instead of one per attempt.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or a true nil when there is nothing wrong (a nil
// Problems inside an error interface would not compare equal to nil).
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// sorted orders problems the way a reader fixes them: problems with the file
// itself first, then file problems by line, then those set by flags or the
// environment. The sort is stable so problems on one line keep their order.
func (ps Problems) sorted() Problems {
	out := append(Problems(nil), ps...)
	rank := func(p Problem) int {
		switch {
		case p.File != "" && p.Line == 0:
			return 0
		case p.File != "":
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i]), rank(out[j])
		if ri != rj {
			return ri < rj
		}
		return ri == 1 && out[i].Line < out[j].Line
	})
	return out
}
