package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// fileDecoder reads one YAML config file into a Config through yaml.v3's Node
// API rather than Unmarshal, because nodes carry line numbers: every problem
// it finds says where it is, and every setting it reads remembers its line.
type fileDecoder struct {
	file     string
	home     string // expands a leading ~/ in file paths; "" leaves them as written
	origins  map[string]origin
	problems Problems
}

func newFileDecoder(file, home string, origins map[string]origin) *fileDecoder {
	return &fileDecoder{file: file, home: home, origins: origins}
}

func (d *fileDecoder) add(line int, key, msg string) {
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Key: key, Msg: msg})
}

// decode applies the settings in data to cfg. An empty file, or one holding
// only comments, changes nothing.
func (d *fileDecoder) decode(data []byte, cfg *Config) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntax(err, data)
		}
		return
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		d.add(next.Line, "", "a second YAML document starts here (after ---); mltop reads one document, so merge them or remove the ---")
	case !errors.Is(err, io.EOF):
		d.syntax(err, data)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	root = resolve(root)
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.add(root.Line, "", "the file must hold key: value settings (see `mltop config init`), not "+describe(root))
		return
	}
	d.mapping(root, reflect.ValueOf(cfg).Elem(), "")
}

// mapping decodes the keys of one section into the struct v.
func (d *fileDecoder) mapping(node *yaml.Node, v reflect.Value, path string) {
	fields := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		keyNode, valueNode := node.Content[i], resolve(node.Content[i+1])
		name := keyNode.Value
		switch {
		case keyNode.Kind != yaml.ScalarNode:
			d.add(keyNode.Line, "", "a key must be a plain word such as refresh, not "+describe(keyNode)+inSection(path))
			continue
		case name == "<<":
			d.add(keyNode.Line, "", "merge keys (<<) are not supported"+inSection(path)+"; write the keys out")
			continue
		}
		if first, dup := seen[name]; dup {
			d.add(keyNode.Line, joinKey(path, name), fmt.Sprintf("set twice (first on line %d); keep one", first))
			continue
		}
		seen[name] = keyNode.Line
		f, ok := fieldNamed(fields, name)
		if !ok {
			d.add(keyNode.Line, "", unknownKeyMessage(name, path, fields))
			continue
		}
		d.value(keyNode, valueNode, v.FieldByIndex(f.index), joinKey(path, name))
	}
}

func fieldNamed(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

// value decodes one key's value into v, which is a section or a setting.
func (d *fileDecoder) value(keyNode, node *yaml.Node, v reflect.Value, key string) {
	// "key:" with nothing after it keeps the default, like a deleted line.
	if isNull(node) {
		return
	}
	if isSection(v.Type()) {
		if node.Kind != yaml.MappingNode {
			d.add(keyNode.Line, key, "is a section: put its keys on the lines below it, indented, not "+describe(node)+" after the colon")
			return
		}
		d.mapping(node, v, key)
		return
	}
	if v.Kind() == reflect.Slice {
		d.list(keyNode, node, v, key)
		return
	}
	if node.Kind != yaml.ScalarNode {
		d.add(keyNode.Line, key, "must be a single value, not "+describe(node))
		return
	}
	if msg := d.scalar(node, v, key); msg != "" {
		d.add(keyNode.Line, key, msg)
		return
	}
	d.origins[key] = origin{kind: fromFile, file: d.file, line: keyNode.Line}
}

// scalar decodes a single value into v and returns what is wrong with it, or
// "" when it fits.
func (d *fileDecoder) scalar(node *yaml.Node, v reflect.Value, key string) string {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		dur, msg := parseDuration(node)
		if msg == "" {
			v.SetInt(int64(dur))
		}
		return msg
	}
	switch v.Kind() {
	case reflect.Bool:
		var b bool
		if node.Tag != "!!bool" || node.Decode(&b) != nil {
			return show(node) + " is not true or false"
		}
		v.SetBool(b)
	case reflect.Int:
		var n int
		switch {
		case node.Tag == "!!float" && isDigits(strings.TrimPrefix(node.Value, "-")):
			return show(node) + " is too large" // yaml.v3 tags integers beyond int64 as floats
		case node.Tag != "!!int" || node.Decode(&n) != nil:
			// Checked by tag first: yaml.v3 would silently truncate 50.5 to 50.
			return show(node) + " is not a whole number"
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		var f float64
		if node.Tag != "!!int" && node.Tag != "!!float" || node.Decode(&f) != nil {
			if strings.HasSuffix(strings.TrimSpace(node.Value), "%") {
				return show(node) + " is not a number: write a fraction, e.g. 0.01 for 1 %"
			}
			return show(node) + " is not a number"
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return show(node) + " is not a finite number"
		}
		v.SetFloat(f)
	case reflect.String:
		// Any scalar is text here: `experiment: 2024` names experiment "2024".
		v.SetString(d.expandHome(key, node.Value))
	default:
		return "cannot be read from the file" // unreachable for Config's field kinds; a test walks them all
	}
	return ""
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// list decodes a sequence of names. Each entry's line is remembered under
// "key[i]" so Validate can point at the bad entry, not just the key.
func (d *fileDecoder) list(keyNode, node *yaml.Node, v reflect.Value, key string) {
	switch node.Kind {
	case yaml.SequenceNode:
	case yaml.ScalarNode:
		d.add(keyNode.Line, key, fmt.Sprintf("must be a list; write [%s]", node.Value))
		return
	default:
		d.add(keyNode.Line, key, "must be a list such as [ml-prod], not "+describe(node))
		return
	}
	var items []string // an empty list decodes to nil, the same as "none"
	ok := true
	for i, item := range node.Content {
		item = resolve(item)
		if item.Kind != yaml.ScalarNode || isNull(item) {
			d.add(item.Line, key, fmt.Sprintf("entry %d must be a single name, not %s", i+1, describe(item)))
			ok = false
			continue
		}
		items = append(items, item.Value)
		d.origins[fmt.Sprintf("%s[%d]", key, i)] = origin{kind: fromFile, file: d.file, line: item.Line}
	}
	if !ok {
		return
	}
	v.Set(reflect.ValueOf(items))
	d.origins[key] = origin{kind: fromFile, file: d.file, line: keyNode.Line}
}

// expandHome turns ~/x into $HOME/x for settings that are file paths: YAML
// does not go through a shell, yet people write paths the way they type them.
func (d *fileDecoder) expandHome(key, value string) string {
	if d.home == "" || !isPathKey(key) {
		return value
	}
	if rest, ok := strings.CutPrefix(value, "~/"); ok {
		return filepath.Join(d.home, rest)
	}
	return value
}

// isPathKey lists the settings that name files.
func isPathKey(key string) bool {
	switch key {
	case "log_file", "kubernetes.kubeconfig", "prometheus.bearer_token_file", "prometheus.password_file",
		"prometheus.ca_file", "kfp.token_file":
		return true
	}
	return false
}

// parseDuration reads Go durations (500ms, 5s, 1h30m, 24h). A bare 0 is
// accepted because zero needs no unit; any other bare number is refused
// rather than guessed at.
func parseDuration(node *yaml.Node) (time.Duration, string) {
	const examples = " (examples: 5s, 1m)"
	value := strings.TrimSpace(node.Value)
	switch node.Tag {
	case "!!int":
		if n, err := strconv.ParseInt(value, 0, 64); err == nil && n == 0 {
			return 0, ""
		}
		return 0, fmt.Sprintf("%s has no unit; write %ss, %sm or %sh", value, value, value, value)
	case "!!str":
		if d, err := time.ParseDuration(value); err == nil {
			return d, ""
		}
		if days, ok := strings.CutSuffix(value, "d"); ok {
			if n, err := strconv.Atoi(days); err == nil && n > 0 {
				return 0, fmt.Sprintf("%s is not a duration: days are not a unit here; write %dh", show(node), 24*n)
			}
		}
	}
	return 0, show(node) + " is not a duration" + examples
}

// syntax rewrites a yaml.v3 parse error ("yaml: line 3: mapping values are
// not allowed in this context") into a located problem with a hint.
func (d *fileDecoder) syntax(err error, data []byte) {
	detail := strings.TrimPrefix(err.Error(), "yaml: ")
	// yaml.v3 leaves out "line N: " for the first line.
	line := 1
	if rest, ok := strings.CutPrefix(detail, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, detail = n, after
				// yaml.v3 adds one to the 0-based line of scanner errors only;
				// parser errors arrive 0-based (parser.fail in yaml.v3's decode.go).
				if isParserProblem(detail) {
					line++
				}
			}
		}
	}
	msg := "not valid YAML: " + detail
	if hint := syntaxHint(detail, lineText(data, line)); hint != "" {
		msg += "; " + hint
	}
	d.add(line, "", msg)
}

// isParserProblem recognises the problems yaml.v3's parser (not its
// scanner) reports; the list is every problem string in its parserc.go.
func isParserProblem(detail string) bool {
	switch detail {
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'", "did not find expected '-' indicator",
		"did not find expected <document start>", "did not find expected <stream-start>", "did not find expected key",
		"did not find expected node content", "found duplicate %YAML directive", "found duplicate %TAG directive",
		"found incompatible YAML document", "found undefined tag handle":
		return true
	}
	return false
}

func syntaxHint(detail, text string) string {
	switch {
	case strings.Contains(text, "\t"):
		return "indent with spaces, not tabs"
	case strings.Contains(detail, "mapping values are not allowed"):
		return "a value containing \": \" needs quotes, or a key is indented wrongly"
	case strings.Contains(detail, "did not find expected key"):
		return "check the indentation of this line and the one above"
	case strings.Contains(detail, "unexpected end of stream"):
		return "a quote or bracket is not closed"
	case strings.Contains(detail, "expected ',' or ']'"):
		return "a [list] is not closed with ]"
	case strings.Contains(detail, "could not find expected ':'"):
		return "a key is missing its colon"
	}
	return ""
}

func lineText(data []byte, line int) string {
	lines := strings.Split(string(data), "\n")
	if line < 1 || line > len(lines) {
		return ""
	}
	return lines[line-1]
}

// resolve follows YAML aliases (*name) to the node they point at.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names a node's shape for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a section"
	case yaml.ScalarNode:
		return "the value " + show(n)
	}
	return "an empty value"
}

// show prints a scalar as the reader wrote it, quoting text so that "fast"
// and fast read the same and control characters cannot reach the terminal.
func show(n *yaml.Node) string {
	switch n.Tag {
	case "!!int", "!!float", "!!bool", "!!null":
		return n.Value // yaml.v3 only resolves these tags for plain number and boolean text
	}
	return strconv.Quote(n.Value)
}

func inSection(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}
