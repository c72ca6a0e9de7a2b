package config

import (
	"fmt"
	"strconv"
	"strings"
)

// The components a compatibility row names, in the order the seed's matrix
// lists them.
const (
	ComponentKFP        = "kfp"
	ComponentMLflow     = "mlflow"
	ComponentKServe     = "kserve"
	ComponentKubernetes = "kubernetes"
)

// Components lists the component names of a compatibility row.
func Components() []string {
	return []string{ComponentKFP, ComponentMLflow, ComponentKServe, ComponentKubernetes}
}

// CompatRow is one verified combination of component versions. A component
// the row does not name accepts any version.
type CompatRow struct {
	Text  string
	specs [4]VersionSpec // in Components() order
}

// Spec is the row's version spec for a component (see Components); the
// zero VersionSpec, which accepts anything, for a component it leaves out.
func (r CompatRow) Spec(component string) VersionSpec {
	for i, c := range Components() {
		if c == component {
			return r.specs[i]
		}
	}
	return VersionSpec{}
}

// ParseCompatRow reads a row such as
// "kfp=2.3.0 mlflow=2.17.x kserve=0.14.x kubernetes=1.28-1.30": space
// separated component=version pairs, each component at most once.
func ParseCompatRow(s string) (CompatRow, error) {
	row := CompatRow{Text: strings.TrimSpace(s)}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return CompatRow{}, fmt.Errorf("is empty; write e.g. %q", "kfp=2.3.0 mlflow=2.17.x kserve=0.14.x kubernetes=1.28-1.30")
	}
	seen := map[string]bool{}
	for _, f := range fields {
		name, version, ok := strings.Cut(f, "=")
		name = strings.ToLower(name)
		if !ok || version == "" {
			return CompatRow{}, fmt.Errorf("%q is not component=version (components: %s)", f, strings.Join(Components(), ", "))
		}
		if name == "k8s" {
			name = ComponentKubernetes
		}
		idx := -1
		for i, c := range Components() {
			if c == name {
				idx = i
			}
		}
		if idx < 0 {
			return CompatRow{}, fmt.Errorf("%q is not a component; use %s", name, strings.Join(Components(), ", "))
		}
		if seen[name] {
			return CompatRow{}, fmt.Errorf("names %s twice", name)
		}
		seen[name] = true
		spec, err := ParseVersionSpec(version)
		if err != nil {
			return CompatRow{}, fmt.Errorf("%s: %v", name, err)
		}
		row.specs[idx] = spec
	}
	return row, nil
}

// VersionSpec is the versions one matrix cell accepts: an exact version
// (2.3.0), a version with wildcards (2.17.x; missing parts count as x, so
// 2.17 is the same), or an inclusive range of such (1.28-1.30). A range
// compares only the parts its bounds spell out: 1.28-1.30 takes 1.30.9.
// The zero value accepts any version.
type VersionSpec struct {
	Text   string
	lo, hi []int // numeric parts; the part after the last one is a wildcard
}

// ParseVersionSpec reads one cell of a compatibility row.
func ParseVersionSpec(s string) (VersionSpec, error) {
	s = strings.TrimSpace(s)
	loText, hiText, isRange := strings.Cut(s, "-")
	lo, err := parsePattern(loText)
	if err != nil {
		return VersionSpec{}, err
	}
	hi := lo
	if isRange {
		if hi, err = parsePattern(hiText); err != nil {
			return VersionSpec{}, err
		}
		if compareParts(lo, hi) > 0 {
			return VersionSpec{}, fmt.Errorf("range %q runs backwards", s)
		}
	}
	return VersionSpec{Text: s, lo: lo, hi: hi}, nil
}

// parsePattern reads 2.3.0, v2.3, 2.17.x or 2.x: numbers, then only x (or *).
func parsePattern(s string) ([]int, error) {
	shown := s
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 3 {
		return nil, fmt.Errorf("%q is not a version such as 2.3.0, 2.17.x or 1.28-1.30", shown)
	}
	var out []int
	wild := false
	for _, p := range parts {
		if p == "x" || p == "X" || p == "*" {
			wild = true
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || wild {
			return nil, fmt.Errorf("%q is not a version such as 2.3.0, 2.17.x or 1.28-1.30", shown)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no version number", shown)
	}
	return out, nil
}

// Any reports whether the spec accepts every version (a row left it out).
func (v VersionSpec) Any() bool { return len(v.lo) == 0 }

// Matches reports whether version, as a server reports it (v1.29.4-gke.1,
// 2.17.2, v0.14.1), is one the spec accepts. known is false when version
// holds no major.minor number to compare.
func (v VersionSpec) Matches(version string) (match, known bool) {
	parts, ok := ParseVersion(version)
	if !ok {
		return false, false
	}
	if v.Any() {
		return true, true
	}
	return compareParts(truncated(parts, len(v.lo)), v.lo) >= 0 &&
		compareParts(truncated(parts, len(v.hi)), v.hi) <= 0, true
}

// ParseVersion reads the numeric major.minor[.patch] at the start of a
// version string, after an optional v; what follows the numbers (a
// pre-release or a distribution suffix) is ignored. ok is false without
// at least major.minor.
func ParseVersion(s string) (parts []int, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	for len(parts) < 3 {
		digits := 0
		for digits < len(s) && s[digits] >= '0' && s[digits] <= '9' {
			digits++
		}
		if digits == 0 || digits > 9 {
			break
		}
		n, _ := strconv.Atoi(s[:digits])
		parts = append(parts, n)
		s = s[digits:]
		if !strings.HasPrefix(s, ".") {
			break
		}
		s = s[1:]
	}
	return parts, len(parts) >= 2
}

func truncated(parts []int, n int) []int {
	if len(parts) > n {
		return parts[:n]
	}
	return parts
}

// compareParts orders versions part by part; a missing part counts as 0.
func compareParts(a, b []int) int {
	for i := range max(len(a), len(b)) {
		x, y := 0, 0
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
	}
	return 0
}
