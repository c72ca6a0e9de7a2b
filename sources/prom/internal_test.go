package prom

import (
	"strings"
	"testing"
)

func TestServiceOfPod(t *testing.T) {
	for pod, want := range map[string]string{
		"fraud-predictor-00002-deployment-7d9f8c-abcde": "fraud", // Knative
		"fraud-predictor-5d8f9c7b6-xyz12":               "fraud", // RawDeployment
		"fraud-transformer-00001-deployment-1-2":        "fraud",
		"fraud-explainer-6c5d-q":                        "fraud",
		"my-predictor-x-predictor-00001-deployment-1-2": "my-predictor-x", // the last marker wins
		"pipeline-train-abc":                            "",
		"-predictor-00001":                              "",
		"fraud-predictor":                               "", // no suffix after the component: not a pod name KServe makes
	} {
		if got := serviceOfPod(pod); got != want {
			t.Errorf("serviceOfPod(%q) = %q, want %q", pod, got, want)
		}
	}
}

func TestStatusCode(t *testing.T) {
	for msg, want := range map[string]int{
		"client error: 401":   401,
		"server error: 503":   503,
		"bad response code 3": 3,
		"something else":      0,
	} {
		if got := statusCode(msg); got != want {
			t.Errorf("statusCode(%q) = %d, want %d", msg, got, want)
		}
	}
}

func TestShorten(t *testing.T) {
	long := strings.Repeat("é", 300)
	got := shorten(long)
	if n := len([]rune(got)); n != maxDetail {
		t.Errorf("shortened to %d runes, want %d", n, maxDetail)
	}
	if got := shorten("line one\n\tline\x1b[31m two  "); got != "line one line two" {
		t.Errorf("shorten = %q", got)
	}
}

// Every built-in profile renders to queries with no placeholder left, at
// both levels, and a revision-less profile never groups by "".
func TestDefaultProfilesRender(t *testing.T) {
	for name, p := range DefaultProfiles() {
		if p.Name != name {
			t.Errorf("profile %q is named %q", name, p.Name)
		}
		if err := p.validate(); err != nil {
			t.Error(err)
		}
		pl := newPlan(p, "5m", []string{"ml-prod"})
		for _, q := range pl.queries {
			if strings.Contains(q.expr, "{{") || strings.Contains(q.expr, ", )") || strings.Contains(q.expr, "(, ") {
				t.Errorf("%s %s: %s", name, q.name, q.expr)
			}
		}
		core := 0
		for _, q := range pl.queries {
			if q.core {
				core++
			}
		}
		if want := map[bool]int{true: 4, false: 3}[p.HasErrors()]; core != want {
			t.Errorf("%s: %d core queries, want %d", name, core, want)
		}
	}
}
