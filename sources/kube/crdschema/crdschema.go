// Package crdschema checks objects against the published InferenceService
// CustomResourceDefinition the way the API server does: the v1beta1
// openAPIV3Schema's validator for values, and pruning to reveal fields the
// CRD does not know (a real API server drops a misspelt field without a
// word). Only tests import it: the fixtures, the demo cluster's objects and
// the action pipeline's patched objects must all be valid InferenceServices.
package crdschema

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// Schema is the parsed v1beta1 schema. It is read-only and safe for
// concurrent use.
type Schema struct {
	validator  validation.SchemaValidator
	structural *structuralschema.Structural
}

// InferenceServices parses the CRD in sources/kube/testdata once per test
// binary: it is about 2 MB, and parsing it per test cost seconds.
var InferenceServices = sync.OnceValues(func() (*Schema, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, errors.New("crdschema: cannot locate its own source file")
	}
	return Load(filepath.Join(filepath.Dir(file), "..", "testdata", "serving.kserve.io_inferenceservices.yaml"), "v1beta1")
})

// Load parses one version's schema from a CRD file.
func Load(path, version string) (*Schema, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var props *apiextensionsv1.JSONSchemaProps
	for _, v := range crd.Spec.Versions {
		if v.Name == version && v.Schema != nil {
			props = v.Schema.OpenAPIV3Schema
		}
	}
	if props == nil {
		return nil, fmt.Errorf("%s: no %s schema", path, version)
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(props, &internal, nil); err != nil {
		return nil, err
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	return &Schema{validator: validator, structural: structural}, nil
}

// Problems lists the schema violations and unknown fields of obj; none
// means the API server would store it as it is.
func (s *Schema) Problems(obj *unstructured.Unstructured) []string {
	var out []string
	for _, e := range validation.ValidateCustomResource(field.NewPath(""), obj.Object, s.validator) {
		out = append(out, e.Error())
	}
	for _, p := range pruning.PruneWithOptions(obj.DeepCopy().Object, s.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}) {
		out = append(out, "unknown field "+p)
	}
	return out
}
