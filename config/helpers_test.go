package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// envOf is an injected environment: tests never read the real one.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

// writeConfig writes content to dir/config.yaml and returns its path.
func writeConfig(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadFile loads content as an explicit --config file with an empty
// environment, and returns the config and its problems.
func loadFile(t *testing.T, content string) (Config, Problems, string) {
	t.Helper()
	path := writeConfig(t, t.TempDir(), content)
	cfg, err := Load(LoadOptions{Path: path, Env: envOf(nil)})
	return cfg, problemsOf(t, err), path
}

func problemsOf(t *testing.T, err error) Problems {
	t.Helper()
	if err == nil {
		return nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is %T, want Problems: %v", err, err)
	}
	return ps
}

// withoutProvenance drops where settings came from, to compare values only.
func withoutProvenance(c Config) Config {
	c.prov = nil
	return c
}

func ptr[T any](v T) *T { return &v }
