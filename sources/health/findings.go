package health

import (
	"sort"
	"strings"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// The doctor's checks, in the order `mltop doctor` explains them. Each one
// looks at a seam between two tools, where the seed article's failures
// happen: a threshold on one tool's figures (the alerts) cannot see them.
const (
	// CheckRunNotTracked: a Kubeflow Pipelines run succeeded but no MLflow
	// run carries its id (seed scenario 1).
	CheckRunNotTracked = "run-not-tracked"
	// CheckModelPath: an InferenceService's storageUri is not the
	// directory holding the MLmodel file (seed scenario 2).
	CheckModelPath = "model-path"
	// CheckRollbackUnsafe: rolling back would land on a revision with no
	// pods to take the traffic (seed scenario 3).
	CheckRollbackUnsafe = "rollback-unsafe"
	// CheckServingDrift: the model version served is not the one the
	// registry promoted.
	CheckServingDrift = "serving-drift"
	// CheckSignatureMissing: MLflow 2.16+ refuses to serve a model
	// without a signature.
	CheckSignatureMissing = "signature-missing"
	// CheckVersionMatrix: the component versions are not a verified combination.
	CheckVersionMatrix = "version-matrix"
	// CheckQualityRegression: the newest version scores below the one
	// before by more than the allowed drop, though it passed an absolute gate.
	CheckQualityRegression = "quality-regression"
	// CheckRegistryBacklog: versions wait for promotion too long.
	CheckRegistryBacklog = "registry-backlog"
	// CheckPipelineSuccess: too many pipeline runs fail.
	CheckPipelineSuccess = "pipeline-success"
)

// Checks lists every check id in explanation order.
func Checks() []string {
	return []string{CheckRunNotTracked, CheckModelPath, CheckRollbackUnsafe, CheckServingDrift, CheckSignatureMissing,
		CheckVersionMatrix, CheckQualityRegression, CheckRegistryBacklog, CheckPipelineSuccess}
}

// Finding is one thing wrong at a seam of the platform: what is wrong with
// which object, the evidence the snapshot holds for it, and what to do.
type Finding struct {
	Severity Severity
	// Check is one of the Check* ids.
	Check string
	// Object is what the finding is about: a service, a pipeline run, a
	// model version, "versions".
	Object string
	// Service is set when the finding is about an InferenceService, so the
	// UI can jump to it.
	Service *sources.ServiceKey
	// What says what is wrong in one sentence.
	What string
	// Evidence is the figures and names that show it.
	Evidence string
	// Remedy is what to do, in the seed article's words where it has them.
	Remedy string
}

// FindingsConfig is what the checks need from the configuration.
type FindingsConfig struct {
	Thresholds config.Thresholds
	// Matrix is the parsed compatibility matrix; empty turns the version
	// check off.
	Matrix []config.CompatRow
	// TrackedPipelines are the KFP pipelines whose every successful run
	// must be tracked in MLflow; empty: inferred from the tracked runs.
	TrackedPipelines []string
	// KFPRunTag is the MLflow run tag holding the KFP run id (for messages).
	KFPRunTag string
}

// NewFindingsConfig takes the checks' settings from a configuration. Rows
// of the matrix that do not parse are skipped: Validate reports them.
func NewFindingsConfig(cfg config.Config) FindingsConfig {
	fc := FindingsConfig{
		Thresholds:       cfg.Thresholds,
		TrackedPipelines: append([]string(nil), cfg.Doctor.TrackedPipelines...),
		KFPRunTag:        cfg.MLflow.KFPRunTag,
	}
	for _, text := range cfg.Doctor.Compatibility {
		if row, err := config.ParseCompatRow(text); err == nil {
			fc.Matrix = append(fc.Matrix, row)
		}
	}
	return fc
}

// Findings runs every check on a snapshot. It is pure: the same snapshot
// and settings give the same findings. A check only judges data that
// exists, so a source that never answered raises no finding (its status
// shows instead). The result is ordered by severity, then check, then object.
func Findings(s sources.Snapshot, fc FindingsConfig) []Finding {
	served := servedVersions(s)
	var out []Finding
	out = append(out, runsNotTracked(s, fc)...)
	out = append(out, modelPaths(s, served)...)
	out = append(out, rollbackUnsafe(s, fc)...)
	out = append(out, servingDrift(s, served)...)
	out = append(out, signaturesMissing(s, served)...)
	out = append(out, versionMatrix(s, fc)...)
	out = append(out, qualityRegressions(s, fc)...)
	out = append(out, registryBacklog(s, fc)...)
	out = append(out, pipelineSuccess(s, fc)...)
	SortFindings(out)
	return out
}

// SortFindings orders findings the way the doctor lists them: the most
// severe first, then by check, then by object.
func SortFindings(fs []Finding) {
	rank := map[string]int{}
	for i, c := range Checks() {
		rank[c] = i
	}
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if rank[a.Check] != rank[b.Check] {
			return rank[a.Check] < rank[b.Check]
		}
		return a.Object < b.Object
	})
}

// Worst is the highest severity among findings, and false when there is none.
func Worst(fs []Finding) (Severity, bool) {
	worst, found := Info, false
	for _, f := range fs {
		if !found || f.Severity > worst {
			worst, found = f.Severity, true
		}
	}
	return worst, found
}

// CountBySeverity counts findings per severity.
func CountBySeverity(fs []Finding) map[Severity]int {
	out := map[Severity]int{}
	for _, f := range fs {
		out[f.Severity]++
	}
	return out
}

// ---------------------------------------------------------------- helpers

// allVersions is every registered version the snapshot knows, once each
// (Versions, Promoted and Waiting overlap).
func allVersions(r sources.Registry) []sources.ModelVersion {
	type key struct{ model, version string }
	seen := map[key]bool{}
	var out []sources.ModelVersion
	for _, list := range [][]sources.ModelVersion{r.Versions, r.Promoted, r.Waiting} {
		for _, v := range list {
			k := key{v.Model, v.Version}
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

// promotedOf returns a model's promoted version.
func promotedOf(r sources.Registry, model string) (sources.ModelVersion, bool) {
	for _, v := range r.Promoted {
		if v.Model == model {
			return v, true
		}
	}
	return sources.ModelVersion{}, false
}

// pathRelation is how a service's storageUri relates to a version's source.
type pathRelation int

const (
	pathNone pathRelation = iota
	pathSame
	// pathParent: the storageUri is a directory above the source, so it
	// lacks the artifact path (the seed's missing "/model").
	pathParent
	// pathChild: the storageUri is inside the source directory.
	pathChild
	// pathRunsURI: the storageUri is runs:/<run>/<path> naming the
	// version's run and artifact path.
	pathRunsURI
	// pathModelsURI: the storageUri is models:/<name>/<version> or @alias.
	pathModelsURI
)

// served is a service matched to the registered version it loads.
type served struct {
	version  sources.ModelVersion
	relation pathRelation
}

// servedVersions matches every service to the registered version whose
// source its storageUri names (equal, a parent or a child directory, or
// MLflow's runs:/ and models:/ forms). A source matched exactly wins over a
// parent or child; among equals the newest version wins.
func servedVersions(s sources.Snapshot) map[sources.ServiceKey]served {
	versions := allVersions(s.Registry)
	out := map[sources.ServiceKey]served{}
	for _, r := range s.Serving {
		uri := trimSlash(r.StorageURI)
		if uri == "" {
			continue
		}
		best, bestRank := served{}, 0
		for _, v := range versions {
			rel := relate(uri, v, s.Registry)
			if rel == pathNone {
				continue
			}
			rank := 1
			if rel == pathSame || rel == pathRunsURI || rel == pathModelsURI {
				rank = 2
			}
			if rank > bestRank || rank == bestRank && best.version.Model == v.Model && versionNumber(v.Version) > versionNumber(best.version.Version) {
				best, bestRank = served{version: v, relation: rel}, rank
			}
		}
		if bestRank > 0 {
			out[r.Key()] = best
		}
	}
	return out
}

func relate(uri string, v sources.ModelVersion, reg sources.Registry) pathRelation {
	if rest, ok := strings.CutPrefix(uri, "runs:/"); ok {
		runID, _, _ := strings.Cut(rest, "/")
		if v.RunID != "" && runID == v.RunID {
			return pathRunsURI
		}
		return pathNone
	}
	if rest, ok := strings.CutPrefix(uri, "models:/"); ok {
		if name, alias, ok := strings.Cut(rest, "@"); ok {
			if name == v.Model {
				for _, a := range v.Aliases {
					if a == alias {
						return pathModelsURI
					}
				}
				if p, ok := promotedOf(reg, name); ok && alias == reg.PromotedAlias && p.Version == v.Version {
					return pathModelsURI
				}
			}
			return pathNone
		}
		name, version, _ := strings.Cut(rest, "/")
		if name == v.Model && version == v.Version {
			return pathModelsURI
		}
		return pathNone
	}
	src := trimSlash(v.Source)
	switch {
	case src == "":
		return pathNone
	case src == uri:
		return pathSame
	case strings.HasPrefix(src, uri+"/"):
		return pathParent
	case strings.HasPrefix(uri, src+"/"):
		return pathChild
	}
	return pathNone
}

func trimSlash(s string) string { return strings.TrimRight(strings.TrimSpace(s), "/") }

// versionNumber orders registry versions ("10" after "9"); -1 when not a number.
func versionNumber(v string) int {
	n := 0
	if v == "" {
		return -1
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
		if n > 1<<40 {
			return -1
		}
	}
	return n
}

// failedConditionMessages are the messages of conditions that are not True.
func failedConditionMessages(svc sources.Service, contains string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range svc.Conditions {
		if c.Status == "True" || c.Message == "" || seen[c.Message] {
			continue
		}
		if contains != "" && !strings.Contains(strings.ToLower(c.Message), strings.ToLower(contains)) {
			continue
		}
		seen[c.Message] = true
		out = append(out, c.Type+"="+c.Status+": "+c.Message)
	}
	return out
}

func keyPtr(k sources.ServiceKey) *sources.ServiceKey { return &k }

func isMLflowFormat(svc sources.Service) bool { return strings.EqualFold(svc.ModelFormat, "mlflow") }

func modelVersionName(v sources.ModelVersion) string { return v.Model + " v" + v.Version }
