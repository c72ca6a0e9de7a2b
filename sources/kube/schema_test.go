package kube

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/mltop/mltop/sources/kube/crdschema"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// loadCRDSchema is the published CRD's v1beta1 schema, checked as the API
// server checks objects (see crdschema).
func loadCRDSchema(t *testing.T) *crdschema.Schema {
	t.Helper()
	s, err := crdschema.InferenceServices()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFixturesMatchTheCRD(t *testing.T) {
	schema := loadCRDSchema(t)
	for _, name := range fixtureNames() {
		if p := schema.Problems(loadFixture(t, name)); len(p) > 0 {
			t.Errorf("%s.yaml is not a valid InferenceService:\n  %s", name, strings.Join(p, "\n  "))
		}
	}

	// Every YAML file in testdata except the CRD is a fixture and is checked above.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	if len(files) != len(fixtureNames())+1 {
		t.Errorf("testdata has %d YAML files; fixtureNames lists %d plus the CRD", len(files), len(fixtureNames()))
	}

	// The validator is real: a wrong type and a misspelt field are caught.
	bad := loadYAML(t, filepath.Join("testdata", "invalid", "minreplicas-string.yaml"))
	p := schema.Problems(bad)
	if len(p) == 0 || !strings.Contains(strings.Join(p, " "), "minReplicas") {
		t.Errorf("minReplicas: two passed validation: %v", p)
	}
	misspelt := loadFixture(t, "knative-canary")
	_ = unstructured.SetNestedField(misspelt.Object, int64(20), "spec", "predictor", "canaryTrafficPercnt")
	if p := schema.Problems(misspelt); len(p) != 1 || !strings.Contains(p[0], "canaryTrafficPercnt") {
		t.Errorf("a misspelt field was not reported alone: %v", p)
	}
}
