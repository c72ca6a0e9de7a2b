package config

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The YAML layout is derived from the Config struct tags by reflection, so the
// decoder, the template, `config check` and the tests can never disagree on
// which keys exist.

// field is one YAML key of a struct and the Go field that holds it.
type field struct {
	name  string       // the YAML key
	index []int        // for reflect.Value.FieldByIndex, through inlined structs
	typ   reflect.Type // the field's type
}

// fieldsOf lists the YAML keys of a struct type in declaration order,
// flattening `yaml:",inline"` fields into their parent as yaml.v3 does.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if hasOption(opts, "inline") {
			for _, inner := range fieldsOf(sf.Type) {
				inner.index = append([]int{i}, inner.index...)
				out = append(out, inner)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name) // yaml.v3's default key
		}
		out = append(out, field{name: name, index: []int{i}, typ: sf.Type})
	}
	return out
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// isSection reports whether a type is written as a nested YAML mapping.
// time.Duration is an int64, so only real structs qualify.
func isSection(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// setting is one leaf of the configuration: a dotted key path to a value
// that is not itself a section.
type setting struct {
	key   string
	index []int
	typ   reflect.Type
}

// settingsOf lists every leaf key of a struct type, depth first, in
// declaration order: the order of the template and of `config check`.
func settingsOf(t reflect.Type) []setting {
	var out []setting
	var walk func(t reflect.Type, prefix string, base []int)
	walk = func(t reflect.Type, prefix string, base []int) {
		for _, f := range fieldsOf(t) {
			index := append(append([]int(nil), base...), f.index...)
			key := joinKey(prefix, f.name)
			if isSection(f.typ) {
				walk(f.typ, key, index)
				continue
			}
			out = append(out, setting{key: key, index: index, typ: f.typ})
		}
	}
	walk(t, "", nil)
	return out
}

// sectionKeys lists the dotted paths of every section, for suggestions.
func sectionKeys(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for _, f := range fieldsOf(t) {
			if isSection(f.typ) {
				key := joinKey(prefix, f.name)
				out = append(out, key)
				walk(f.typ, key)
			}
		}
	}
	walk(t, "")
	return out
}

func configType() reflect.Type { return reflect.TypeFor[Config]() }

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// formatValue writes a setting the way a person would type it in the file:
// 5s not 5000000000, 24h not 24h0m0s, lists in flow style.
func formatValue(v reflect.Value) string {
	if v.Type() == reflect.TypeFor[time.Duration]() {
		return formatDuration(time.Duration(v.Int()))
	}
	switch v.Kind() {
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float64, reflect.Float32:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		return yamlString(v.String())
	case reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = formatValue(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return "" // every Config field kind is handled above; a test walks them all
}

// formatDuration trims Go's zero minutes and seconds: 24h0m0s becomes 24h,
// 1m0s becomes 1m, 1h30m0s becomes 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// yamlString quotes a string only when YAML would otherwise read it as
// something else (empty, true, 1.5, a leading '*', ...), and keeps every
// value on one line.
func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil || strings.Contains(s, "\n") {
		return strconv.Quote(s) // a Go-quoted string is valid YAML double-quoted text
	}
	return strings.TrimSuffix(string(out), "\n")
}
