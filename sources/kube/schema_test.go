package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// crdSchema is the v1beta1 openAPIV3Schema of the published CRD, as the API
// server uses it: a validator for values and a structural schema whose
// pruning reveals fields the CRD does not know (a misspelt field would be
// silently dropped by a real API server).
type crdSchema struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
}

func loadCRDSchema(t *testing.T) crdSchema {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "serving.kserve.io_inferenceservices.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	if crd.Spec.Group != InferenceServices().Group || crd.Spec.Names.Plural != InferenceServices().Resource {
		t.Fatalf("CRD is %s/%s, not InferenceServices", crd.Spec.Group, crd.Spec.Names.Plural)
	}
	var v1beta1 *apiextensionsv1.CustomResourceDefinitionVersion
	for i := range crd.Spec.Versions {
		if crd.Spec.Versions[i].Name == InferenceServices().Version {
			v1beta1 = &crd.Spec.Versions[i]
		}
	}
	if v1beta1 == nil || v1beta1.Schema == nil || v1beta1.Schema.OpenAPIV3Schema == nil {
		t.Fatal("the CRD has no v1beta1 schema")
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1beta1.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		t.Fatal(err)
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		t.Fatal(err)
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		t.Fatal(err)
	}
	return crdSchema{validator: validator, structural: structural}
}

// problems lists schema violations and unknown fields of obj.
func (s crdSchema) problems(obj *unstructured.Unstructured) []string {
	var out []string
	for _, e := range validation.ValidateCustomResource(field.NewPath(""), obj.Object, s.validator) {
		out = append(out, e.Error())
	}
	pruned := pruning.PruneWithOptions(obj.DeepCopy().Object, s.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, p := range pruned {
		out = append(out, "unknown field "+p)
	}
	return out
}

func TestFixturesMatchTheCRD(t *testing.T) {
	schema := loadCRDSchema(t)
	for _, name := range fixtureNames() {
		if p := schema.problems(loadFixture(t, name)); len(p) > 0 {
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
	p := schema.problems(bad)
	if len(p) == 0 || !strings.Contains(strings.Join(p, " "), "minReplicas") {
		t.Errorf("minReplicas: two passed validation: %v", p)
	}
	misspelt := loadFixture(t, "knative-canary")
	_ = unstructured.SetNestedField(misspelt.Object, int64(20), "spec", "predictor", "canaryTrafficPercnt")
	if p := schema.problems(misspelt); len(p) != 1 || !strings.Contains(p[0], "canaryTrafficPercnt") {
		t.Errorf("a misspelt field was not reported alone: %v", p)
	}
}
