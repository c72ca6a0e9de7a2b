package health

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// componentVersion is one component's reported version.
type componentVersion struct {
	name    string // config.Component* name
	label   string // as people write it
	version string
	unknown string // why it is not known, when it is not
}

func componentVersions(v sources.ComponentVersions) []componentVersion {
	return []componentVersion{
		{config.ComponentKFP, "KFP", v.KFP, "not reported (KFP's healthz gave no tag_name, or the source is off)"},
		{config.ComponentMLflow, "MLflow", v.MLflow, "not reported (MLflow's /version did not answer, or the source is off)"},
		{config.ComponentKServe, "KServe", v.KServe, "not reported (no readable kserve-controller-manager Deployment in namespace kserve)"},
		{config.ComponentKubernetes, "Kubernetes", v.Kubernetes, "not reported (the API server's /version did not answer, or the source is off)"},
	}
}

// versionMatrix checks the reported versions against the compatibility
// matrix: some row must accept every known version. Versions that are not
// known are reported as information only, since nothing can be judged.
func versionMatrix(s sources.Snapshot, fc FindingsConfig) []Finding {
	if len(fc.Matrix) == 0 {
		return nil
	}
	var known []componentVersion
	var unknown, why []string
	var running []string
	for _, c := range componentVersions(s.Versions) {
		if _, ok := config.ParseVersion(c.version); ok {
			known = append(known, c)
			running = append(running, c.label+" "+c.version)
			continue
		}
		unknown = append(unknown, c.label)
		reason := c.unknown
		if c.version != "" {
			reason = fmt.Sprintf("%q is not a version number", c.version)
		}
		why = append(why, c.label+": "+reason)
	}
	var out []Finding
	if len(unknown) > 0 {
		out = append(out, Finding{Severity: Info, Check: CheckVersionMatrix, Object: "versions",
			What:     "the version of " + strings.Join(unknown, ", ") + " is unknown, so the matrix check leaves it out",
			Evidence: strings.Join(why, "; "),
			Remedy:   "Nothing to fix on the platform; give mltop read access where it lacks it (get deployments in namespace kserve) to have it checked.",
		})
	}
	if len(known) == 0 {
		return out
	}
	best, bestMismatch := -1, []string(nil)
	for i, row := range fc.Matrix {
		var mismatch []string
		for _, c := range known {
			spec := row.Spec(c.name)
			if ok, _ := spec.Matches(c.version); !ok {
				mismatch = append(mismatch, c.label+" "+spec.Text)
			}
		}
		if len(mismatch) == 0 {
			return out // a verified combination
		}
		if best < 0 || len(mismatch) < len(bestMismatch) {
			best, bestMismatch = i, mismatch
		}
	}
	out = append(out, Finding{Severity: Warn, Check: CheckVersionMatrix, Object: "versions",
		What: "this combination of versions is not in the compatibility matrix",
		Evidence: fmt.Sprintf("running %s; the nearest verified row (%s) wants %s",
			strings.Join(running, ", "), fc.Matrix[best].Text, strings.Join(bestMismatch, ", ")),
		Remedy: fmt.Sprintf("Move to a verified combination (nearest: %s), or add this one to doctor.compatibility once you have "+
			"verified it; untested pairs break at the seams (MLflow 2.16, for one, began refusing models logged without a signature).",
			strings.Join(bestMismatch, ", ")),
	})
	return out
}
