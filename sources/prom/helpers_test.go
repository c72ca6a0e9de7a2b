package prom_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mltop/mltop/sources"
)

func key(ns, name string) sources.ServiceKey { return sources.ServiceKey{Namespace: ns, Name: name} }

// writeFile writes content to a new file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
