package config

import (
	"fmt"
	"strings"
)

// unknownKeyMessage explains an unknown key and, when a known key is close,
// names it: a sibling first (a typo), then a key of the same name in another
// section (a line indented under the wrong section).
func unknownKeyMessage(name, path string, fields []field) string {
	siblings := make([]string, len(fields))
	for i, f := range fields {
		siblings[i] = f.name
	}
	msg := fmt.Sprintf("unknown key %q%s", name, inSection(path))
	near, nearDistance, nearOK := closest(name, siblings)
	elsewhere, elsewhereDistance, elsewhereOK := closestElsewhere(name, path)
	// A key of exactly this name in another section (log_file indented under
	// prometheus) is a better guess than a sibling a few letters away (ca_file).
	if elsewhereOK && (!nearOK || elsewhereDistance < nearDistance) {
		parent, _ := splitKey(elsewhere)
		where := "in the " + parent + " section"
		if parent == "" {
			where = "at the top level"
		}
		return msg + fmt.Sprintf(" (did you mean %q? it belongs %s)", elsewhere, where)
	}
	if nearOK {
		return msg + fmt.Sprintf(" (did you mean %q?)", near)
	}
	if len(siblings) == 0 {
		return msg
	}
	return msg + "; the keys here are " + strings.Join(siblings, ", ")
}

// closestElsewhere looks for a key with (nearly) this name in any other
// section. The section being read and its parents are skipped: telling
// someone inside thresholds that they meant "thresholds" does not help.
func closestElsewhere(name, path string) (key string, distance int, ok bool) {
	var candidates, lastNames []string
	add := func(key string) {
		parent, last := splitKey(key)
		if parent == path || key == path || strings.HasPrefix(path, key+".") {
			return
		}
		candidates = append(candidates, key)
		lastNames = append(lastNames, last)
	}
	for _, s := range settingsOf(configType()) {
		add(s.key)
	}
	for _, s := range sectionKeys(configType()) {
		add(s)
	}
	best, bestDistance := -1, 0
	for i, last := range lastNames {
		dist := editDistance(normalizeKey(name), normalizeKey(last))
		if dist <= typoLimit(name) && (best < 0 || dist < bestDistance) {
			best, bestDistance = i, dist
		}
	}
	if best < 0 {
		return "", 0, false
	}
	return candidates[best], bestDistance, true
}

// closest returns the candidate nearest to name within a typo's distance,
// and that distance.
func closest(name string, candidates []string) (best string, distance int, ok bool) {
	for _, c := range candidates {
		dist := editDistance(normalizeKey(name), normalizeKey(c))
		if dist <= typoLimit(name) && (!ok || dist < distance) {
			best, distance, ok = c, dist, true
		}
	}
	return best, distance, ok
}

// typoLimit is how many edits still look like a typo rather than another
// word: one for short names, more for long ones.
func typoLimit(name string) int {
	switch n := len(name); {
	case n <= 3:
		return 1
	case n <= 7:
		return 2
	}
	return 3
}

// normalizeKey makes Refresh, read-only and read_only compare as the keys
// they are meant to be.
func normalizeKey(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), "-", "_")
}

func splitKey(key string) (parent, last string) {
	i := strings.LastIndex(key, ".")
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}

// editDistance is the Levenshtein distance between a and b, by runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
