package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTemplateLoadsBackAsDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := WriteTemplate(path, false); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: envOf(nil)})
	if err != nil {
		t.Fatalf("the template does not load cleanly:\n%v", err)
	}
	if got := withoutProvenance(cfg); !reflect.DeepEqual(got, Default()) {
		t.Errorf("template loads as\n%+v\nwant Default()\n%+v", got, Default())
	}
}

// TestTemplateCoversEverySetting walks the Config struct: a field added
// without template text fails here.
func TestTemplateCoversEverySetting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, Template(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(LoadOptions{Path: path, Env: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(Template()), "\n")
	docs := templateDocs()
	settings := settingsOf(configType())
	if len(settings) < 40 {
		t.Fatalf("only %d settings found; the struct walk is broken", len(settings))
	}
	for _, s := range settings {
		// Loading the template set this key from the file, so it is written
		// there, in the right section.
		o := cfg.originOf(s.key)
		if o.kind != fromFile {
			t.Errorf("%s is not in the template", s.key)
			continue
		}
		if docs[s.key] == "" {
			t.Errorf("%s has no comment in templateDocs", s.key)
		}
		if above := strings.TrimSpace(lines[o.line-2]); above != "# "+docs[s.key] {
			t.Errorf("%s: line above is %q, want its comment", s.key, above)
		}
	}
	for _, section := range sectionKeys(configType()) {
		if docs[section] == "" {
			t.Errorf("section %s has no comment in templateDocs", section)
		}
	}
	// And no stale text for keys that no longer exist.
	known := map[string]bool{}
	for _, s := range settings {
		known[s.key] = true
	}
	for _, s := range sectionKeys(configType()) {
		known[s] = true
	}
	for key := range docs {
		if !known[key] {
			t.Errorf("templateDocs documents %q, which is not a setting", key)
		}
	}
}

func TestTemplateMentionsUnitsAndAlerts(t *testing.T) {
	tpl := string(Template())
	for _, want := range []string{
		"# Serving pane: alert when a service's 5xx share exceeds this (fraction; 0.01 = 1 %).\n  error_rate_max: 0.01\n",
		"  p99_max: 500ms\n",
		"  registry_wait_max: 24h\n",
		"  protected_namespaces: [ml-prod]\n",
		"refresh: 5s\n",
		"env PROMETHEUS_URL, flag --prometheus-url",
	} {
		if !strings.Contains(tpl, want) {
			t.Errorf("template lacks %q", want)
		}
	}
}

func TestWriteTemplate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "mltop")
	path := filepath.Join(dir, "config.yaml")
	if err := WriteTemplate(path, false); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, path, 0o600)

	// A second init must not clobber the file someone has edited since.
	if err := os.WriteFile(path, []byte("refresh: 9s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteTemplate(path, false)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("error = %v, want it to name the path and --force", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "refresh: 9s\n" {
		t.Errorf("the existing file was changed: %q", data)
	}

	if err := WriteTemplate(path, true); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != string(Template()) {
		t.Error("--force did not replace the file with the template")
	}
	assertMode(t, path, 0o600)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("leftover files in %s: %v", dir, entries)
	}
}

func TestWriteTemplateErrors(t *testing.T) {
	if err := WriteTemplate("", false); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("empty path: %v", err)
	}
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteTemplate(filepath.Join(blocker, "config.yaml"), false)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot create the directory "+blocker+": ") {
		t.Errorf("parent is a file: %v", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", path, got, want)
	}
}
