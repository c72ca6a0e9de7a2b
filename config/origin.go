package config

import (
	"path/filepath"
	"reflect"
	"strconv"
)

// originKind is the layer a setting came from.
type originKind int

const (
	fromDefault originKind = iota
	fromFile
	fromEnv
	fromFlag
)

// origin is where one effective setting came from.
type origin struct {
	kind originKind
	name string // environment variable or flag name (with dashes)
	file string
	line int
}

func (o origin) String() string {
	switch o.kind {
	case fromFile:
		return filepath.Base(o.file) + ":" + strconv.Itoa(o.line)
	case fromEnv:
		return "env " + o.name
	case fromFlag:
		return "flag " + o.name
	}
	return "default"
}

// provenance is what Load learned while building a Config: which file it
// read and where every non-default setting came from. It is built once by
// Load and never changed afterwards, so copies of a Config may share it.
type provenance struct {
	file    string // the config file Load looked at; "" when none
	found   bool   // the file existed and was read
	origins map[string]origin
}

// Origin says where the effective value of a setting came from: "flag
// --prometheus-url", "env PROMETHEUS_URL", "config.yaml:9" (the file's base
// name and the key's line) or "default". key is the dotted YAML path, e.g.
// "thresholds.p99_max". It returns "" for a key that does not exist.
func (c Config) Origin(key string) string {
	if !isSettingKey(key) {
		return ""
	}
	return c.originOf(key).String()
}

func (c Config) originOf(key string) origin {
	if c.prov == nil {
		return origin{}
	}
	return c.prov.origins[key]
}

// File is the configuration file Load used: its path, and whether it existed.
// A missing file at the default location is not an error (defaults apply), so
// `mltop config check` shows this to explain where settings came from.
func (c Config) File() (path string, found bool) {
	if c.prov == nil {
		return "", false
	}
	return c.prov.file, c.prov.found
}

// Setting is one effective setting as `mltop config check` prints it.
type Setting struct {
	Key    string // dotted YAML path, e.g. prometheus.url
	Value  string // as it would be written in the file, e.g. 5s, [ml-prod], ""
	Origin string // see Config.Origin
}

// Settings lists every setting of c, in the order of the config file.
func (c Config) Settings() []Setting {
	v := reflect.ValueOf(c)
	var out []Setting
	for _, s := range settingsOf(configType()) {
		out = append(out, Setting{Key: s.key, Value: formatValue(v.FieldByIndex(s.index)), Origin: c.originOf(s.key).String()})
	}
	return out
}

func isSettingKey(key string) bool {
	for _, s := range settingsOf(configType()) {
		if s.key == key {
			return true
		}
	}
	return false
}
