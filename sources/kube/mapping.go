package kube

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// DeploymentModeAnnotation chooses an InferenceService's deployment mode
// until status.deploymentMode records the one in use.
const DeploymentModeAnnotation = "serving.kserve.io/deploymentMode"

// legacyFrameworks are the per-framework predictor fields that predate
// spec.predictor.model and still exist next to it (apis.md 1.1). An array
// value, so no caller can change the list.
func legacyFrameworks() [10]string {
	return [...]string{
		"sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx",
		"huggingface", "pmml", "lightgbm", "paddle",
	}
}

// ServiceFrom maps an InferenceService (serving.kserve.io/v1beta1) to the
// value the Serving pane shows. It only reads obj, so it is safe on objects
// shared with an informer cache. Every string is cleaned: names, messages and
// URIs come from the cluster and may carry terminal escapes.
func ServiceFrom(obj *unstructured.Unstructured) sources.Service {
	o := obj.Object
	svc := sources.Service{
		Namespace:       clean.Text(obj.GetNamespace()),
		Name:            clean.Text(obj.GetName()),
		ResourceVersion: clean.Text(obj.GetResourceVersion()),
		Mode:            deploymentMode(str(o, "status", "deploymentMode"), obj.GetAnnotations()[DeploymentModeAnnotation]),
	}

	predictor := mapAt(o, "spec", "predictor")
	svc.MinReplicas = 1 // KServe's default when minReplicas is absent
	if n, ok := integer(predictor["minReplicas"]); ok {
		svc.MinReplicas = int(n)
	}
	if n, ok := integer(predictor["maxReplicas"]); ok {
		svc.MaxReplicas = int(n)
	}
	if n, ok := integer(predictor["canaryTrafficPercent"]); ok {
		svc.CanaryPercent, svc.HasCanaryPercent = int(n), true
	}
	svc.StorageURI, svc.ModelFormat, svc.Runtime = modelOf(predictor)
	if svc.Runtime == "" {
		// A predictor that names no runtime gets one chosen by the
		// controller, which records it in status.
		svc.Runtime = firstNonEmpty(str(o, "status", "servingRuntimeName"), str(o, "status", "clusterServingRuntimeName"))
	}
	svc.StorageURI = clean.Text(svc.StorageURI)
	svc.ModelFormat = clean.Text(svc.ModelFormat)
	svc.Runtime = clean.Text(svc.Runtime)
	svc.GPU = requestsGPU(predictor)

	svc.Conditions = conditionsOf(o)
	for _, c := range svc.Conditions {
		if c.Type == "Ready" {
			svc.Ready = c.Status == "True"
		}
	}
	if !svc.Ready {
		svc.Reason = failureReason(svc.Conditions, str(o, "status", "modelStatus", "lastFailureInfo", "message"))
	}

	revisionsOf(mapAt(o, "status", "components", "predictor"), &svc)
	return svc
}

// deploymentMode normalises the mode: status wins over the annotation
// because once status records a mode, KServe ignores annotation changes.
// Serverless is Knative and RawDeployment is Standard since KServe 0.16.
func deploymentMode(status, annotation string) string {
	for _, m := range []string{status, annotation} {
		switch strings.ToLower(strings.TrimSpace(m)) {
		case "serverless", "knative":
			return sources.ModeKnative
		case "rawdeployment", "standard":
			return sources.ModeStandard
		case "modelmesh":
			return sources.ModeModelMesh
		}
	}
	return ""
}

// modelOf reads the storage URI, model format and runtime from
// spec.predictor.model, or from the first legacy framework field, whose
// name is the model format.
func modelOf(predictor map[string]any) (storageURI, format, runtime string) {
	if model, ok := predictor["model"].(map[string]any); ok {
		return str(model, "storageUri"), str(model, "modelFormat", "name"), str(model, "runtime")
	}
	for _, fw := range legacyFrameworks() {
		if spec, ok := predictor[fw].(map[string]any); ok {
			return str(spec, "storageUri"), fw, ""
		}
	}
	return "", "", ""
}

// requestsGPU reports whether any container of the predictor requests or is
// limited to an accelerator.
func requestsGPU(predictor map[string]any) bool {
	var containers []map[string]any
	if m, ok := predictor["model"].(map[string]any); ok {
		containers = append(containers, m)
	}
	for _, fw := range legacyFrameworks() {
		if m, ok := predictor[fw].(map[string]any); ok {
			containers = append(containers, m)
		}
	}
	containers = append(containers, mapsIn(predictor["containers"])...)
	if worker, ok := predictor["workerSpec"].(map[string]any); ok {
		containers = append(containers, worker)
		containers = append(containers, mapsIn(worker["containers"])...)
	}
	for _, c := range containers {
		res, _ := c["resources"].(map[string]any)
		for _, kind := range []string{"limits", "requests"} {
			amounts, _ := res[kind].(map[string]any)
			for name, amount := range amounts {
				if isAccelerator(name) && positiveQuantity(amount) {
					return true
				}
			}
		}
	}
	return false
}

// isAccelerator recognises the extended resources of the GPU device plugins:
// NVIDIA (whole GPUs and MIG slices), AMD and Intel.
func isAccelerator(name string) bool {
	return name == "nvidia.com/gpu" || strings.HasPrefix(name, "nvidia.com/mig-") ||
		name == "amd.com/gpu" || strings.HasPrefix(name, "gpu.intel.com/")
}

// positiveQuantity parses a resource amount as unstructured JSON holds it: a
// string ("1", "500m") or a number.
func positiveQuantity(v any) bool {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64, int, float64, json.Number:
		s = fmt.Sprint(x)
	default:
		return false
	}
	q, err := resource.ParseQuantity(s)
	return err == nil && q.Sign() > 0
}

// conditionsOf copies status.conditions, cleaned.
func conditionsOf(o map[string]any) []sources.Condition {
	items := mapsIn(nested(o, "status", "conditions"))
	if len(items) == 0 {
		return nil
	}
	out := make([]sources.Condition, 0, len(items))
	for _, c := range items {
		out = append(out, sources.Condition{
			Type:    clean.Text(str(c, "type")),
			Status:  clean.Text(str(c, "status")),
			Reason:  clean.Text(str(c, "reason")),
			Message: clean.Text(str(c, "message")),
		})
	}
	return out
}

// failureReason explains why a service is not ready. The predictor's own
// condition and the model server's load failure say more than Ready, which
// only repeats or summarises them; a False condition says more than an
// Unknown one (still in progress). Messages beat reasons, which are
// CamelCase codes.
func failureReason(conds []sources.Condition, loadFailure string) string {
	loadFailure = clean.Text(loadFailure)
	for _, status := range []string{"False", "Unknown"} {
		if c, ok := findCondition(conds, "PredictorReady"); ok && c.Status == status && c.Message != "" {
			return c.Message
		}
		if status == "False" && loadFailure != "" {
			return loadFailure
		}
		if c, ok := findCondition(conds, "Ready"); ok && c.Status == status && c.Message != "" {
			return c.Message
		}
		for _, c := range conds {
			if c.Status == status && c.Message != "" {
				return c.Message
			}
		}
	}
	if loadFailure != "" {
		return loadFailure
	}
	for _, c := range conds {
		if c.Status != "True" && c.Reason != "" {
			return c.Type + ": " + c.Reason
		}
	}
	if _, ok := findCondition(conds, "Ready"); !ok {
		return "no Ready condition yet: the KServe controller has not reported on it"
	}
	return ""
}

func findCondition(conds []sources.Condition, typ string) (sources.Condition, bool) {
	for _, c := range conds {
		if c.Type == typ {
			return c, true
		}
	}
	return sources.Condition{}, false
}

// revisionsOf fills the revisions and the traffic split from
// status.components.predictor. Standard (raw) mode has neither, and none is
// made up. Traffic entries are matched on latestRevision and tag, never on
// their order (apis.md 1.7).
func revisionsOf(predictor map[string]any, svc *sources.Service) {
	if predictor == nil {
		return
	}
	svc.StableRevision = clean.Text(str(predictor, "latestRolledoutRevision"))
	svc.PreviousRevision = clean.Text(str(predictor, "previousRolledoutRevision"))
	latestReady := clean.Text(str(predictor, "latestReadyRevision"))

	entries := mapsIn(predictor["traffic"])
	if len(entries) > 0 {
		svc.Traffic = make([]sources.TrafficTarget, 0, len(entries))
	}
	latestPercent, latestFound := 0, false
	for _, e := range entries {
		t := sources.TrafficTarget{
			Revision: clean.Text(str(e, "revisionName")),
			Tag:      clean.Text(str(e, "tag")),
		}
		if n, ok := integer(e["percent"]); ok {
			t.Percent = int(n)
		}
		t.Latest, _ = e["latestRevision"].(bool)
		if t.Latest || (latestReady != "" && t.Revision == latestReady) {
			latestPercent += t.Percent
			latestFound = true
		}
		svc.Traffic = append(svc.Traffic, t)
	}
	// The latest ready revision is a canary while it is not the rolled-out
	// one and takes less than all the traffic (0 % when pinned back).
	if latestReady != "" && svc.StableRevision != "" && latestReady != svc.StableRevision &&
		latestFound && latestPercent < 100 {
		svc.CanaryRevision = latestReady
	}
}

// ---------------------------------------------------------------- unstructured access
//
// These read without copying (the informer cache owns the objects) and
// without building error values for absent fields, which most are.

func nested(o map[string]any, path ...string) any {
	var cur any = o
	for _, key := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[key]
	}
	return cur
}

func mapAt(o map[string]any, path ...string) map[string]any {
	m, _ := nested(o, path...).(map[string]any)
	return m
}

func str(o map[string]any, path ...string) string {
	s, _ := nested(o, path...).(string)
	return s
}

// mapsIn returns the objects of a JSON array, skipping anything else.
func mapsIn(v any) []map[string]any {
	items, _ := v.([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// integer reads a JSON number as unstructured decoding leaves it (int64),
// or as encoding/json does (float64), or json.Number.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case float64:
		return int64(x), x == float64(int64(x))
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	}
	return 0, false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
