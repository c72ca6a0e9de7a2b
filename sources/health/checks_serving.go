package health

import (
	"fmt"
	"strings"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// modelPaths is seed scenario 2: KServe's MLflow server looks for the
// MLmodel file in the directory storageUri names, and log_model put it one
// level down, under the artifact path (usually "model"). It also catches
// MLflow's runs:/ and models:/ URIs, which only MLflow's client resolves.
func modelPaths(s sources.Snapshot, servedBy map[sources.ServiceKey]served) []Finding {
	var out []Finding
	for _, r := range s.Serving {
		uri := strings.TrimSpace(r.StorageURI)
		sv, matched := servedBy[r.Key()]
		var problems []string
		remedy := ""
		switch {
		case strings.HasPrefix(uri, "runs:/") || strings.HasPrefix(uri, "models:/"):
			scheme, _, _ := strings.Cut(uri, ":")
			problems = append(problems, fmt.Sprintf("storageUri %s uses MLflow's %s:/ scheme, which KServe's storage initializer cannot download (its webhook rejects it)", uri, scheme))
			if matched && sv.version.Source != "" {
				remedy = fmt.Sprintf("Set storageUri to %s's storage location %s (what MLflow's get-download-uri returns).", modelVersionName(sv.version), sv.version.Source)
			} else {
				remedy = "Set storageUri to the model version's storage location (MLflow's get-download-uri), the directory holding MLmodel."
			}
		case !isMLflowFormat(r.Service):
			// Other model servers read no MLmodel: only the MLflow URIs
			// above and a failed condition naming MLmodel apply.
		case matched && sv.relation == pathParent:
			missing := strings.TrimPrefix(trimSlash(sv.version.Source), trimSlash(uri))
			problems = append(problems, fmt.Sprintf("storageUri %s is a parent of %s's source %s: it lacks the artifact path %s, where log_model wrote MLmodel",
				uri, modelVersionName(sv.version), sv.version.Source, missing))
			remedy = fmt.Sprintf("Set storageUri to %s, the run's artifact_uri plus %s.", sv.version.Source, missing)
		case !matched && strings.HasSuffix(trimSlash(uri), "/artifacts"):
			problems = append(problems, fmt.Sprintf("storageUri %s is a run's artifact root; log_model writes MLmodel under the artifact path below it (usually /model)", uri))
			remedy = fmt.Sprintf("Set storageUri to %s/model (the run's artifact_uri plus log_model's artifact_path).", trimSlash(uri))
		}
		failed := failedConditionMessages(r.Service, "MLmodel")
		if len(problems) == 0 && len(failed) == 0 {
			continue
		}
		if remedy == "" {
			remedy = "Point storageUri at the directory that holds MLmodel: the run's artifact_uri plus log_model's artifact_path (e.g. .../artifacts/model)."
		}
		f := Finding{Severity: Warn, Check: CheckModelPath, Object: r.Name, Service: keyPtr(r.Key()), Remedy: remedy}
		if !r.Ready || len(failed) > 0 {
			f.Severity = Crit
		}
		f.What = r.Name + " cannot find its model's MLmodel file where storageUri points"
		if strings.HasPrefix(uri, "runs:/") || strings.HasPrefix(uri, "models:/") {
			f.What = r.Name + " names its model with an MLflow URI KServe cannot download"
		}
		f.Evidence = strings.Join(append(problems, conditionEvidence(failed)...), "; ")
		out = append(out, f)
	}
	return out
}

// conditionEvidence quotes the first failed condition: Knative copies one
// revision's message into several conditions, so one says it all.
func conditionEvidence(failed []string) []string {
	if len(failed) == 0 {
		return nil
	}
	return []string{"condition " + failed[0]}
}

// rollbackUnsafe is seed scenario 3: setting canaryTrafficPercent to 0 did
// not bring the previous version back, because KServe had scaled the
// previous revision to zero and its cold start outlasted the readiness
// probe ("RevisionFailed: ... has no ready pods").
func rollbackUnsafe(s sources.Snapshot, fc FindingsConfig) []Finding {
	const remedy = "Pin minReplicas to 1 or more (mltop pin NAME --min 1, or M on the Serving pane; scale-to-zero off " +
		"for important services); lengthen the readiness probe's timeout to the model's loading time; roll back by " +
		"setting storageUri to the previous model rather than by canaryTrafficPercent."
	var out []Finding
	for _, r := range s.Serving {
		f := Finding{Check: CheckRollbackUnsafe, Object: r.Name, Service: keyPtr(r.Key()), Remedy: remedy}
		stable := r.StableRevision
		if stable == "" {
			stable = "the stable revision"
		}
		noPods := failedConditionMessages(r.Service, "no ready pods")
		switch {
		case len(noPods) > 0:
			f.Severity = Crit
			f.What = r.Name + " has a revision with no ready pods: a rollback to it cannot take traffic"
			f.Evidence = "condition " + noPods[0]
		case r.InCanary() && r.PodsReady == 0:
			f.Severity = Crit
			f.What = fmt.Sprintf("%s is in canary with no ready pod: rolling back to %s has nothing to serve from", r.Name, stable)
			f.Evidence = fmt.Sprintf("pods ready %d of %d; canary %d%% to %s", r.PodsReady, r.PodsTotal, r.CanaryPercent, r.CanaryRevision)
		case r.InCanary() && r.MinReplicas == 0:
			f.Severity = Warn
			if c, ok := s.Canary(r.Key()); ok && CompareCanary(c, fc.Thresholds).Breached {
				// The canary is failing: the rollback is likely minutes away.
				f.Severity = Crit
			}
			f.What = fmt.Sprintf("rolling %s's canary back sends all traffic to %s, which minReplicas 0 lets scale to zero", r.Name, stable)
			f.Evidence = fmt.Sprintf("minReplicas 0; canary %d%% to %s, %d%% to %s; a cold start longer than the readiness probe leaves the rollback with no ready pods",
				r.CanaryPercent, r.CanaryRevision, 100-r.CanaryPercent, stable)
		case !r.InCanary() && r.Mode == sources.ModeKnative && r.MinReplicas == 0 && r.PreviousRevision != "":
			f.Severity = Warn
			f.What = fmt.Sprintf("a rollback of %s to %s would start from zero pods: minReplicas 0 lets its revisions scale to zero", r.Name, r.PreviousRevision)
			f.Evidence = fmt.Sprintf("minReplicas 0; %s has taken no traffic since %s rolled out, so it has no pods; a cold start longer than the readiness probe fails the rollback (RevisionFailed: no ready pods)",
				r.PreviousRevision, stable)
		default:
			continue
		}
		out = append(out, f)
	}
	return out
}

// servingDrift: the pipeline registered and promoted one version, and the
// InferenceService still loads another ("the registry says v12, serving
// runs v11").
func servingDrift(s sources.Snapshot, servedBy map[sources.ServiceKey]served) []Finding {
	var out []Finding
	for _, r := range s.Serving {
		sv, ok := servedBy[r.Key()]
		if !ok {
			continue
		}
		v := sv.version
		p, ok := promotedOf(s.Registry, v.Model)
		if !ok || p.Version == v.Version {
			continue
		}
		marker := promotedMarker(p, s.Registry.PromotedAlias)
		f := Finding{Severity: Warn, Check: CheckServingDrift, Object: r.Name, Service: keyPtr(r.Key()),
			What: fmt.Sprintf("%s serves %s v%s, but the registry's %s is v%s", r.Name, v.Model, v.Version, marker, p.Version)}
		newer := versionNumber(v.Version) > versionNumber(p.Version)
		if r.InCanary() && newer {
			// Canarying the next version before moving the alias is a
			// normal rollout; say so without raising a warning.
			f.Severity = Info
			f.What = fmt.Sprintf("%s canaries %s v%s ahead of the registry's %s v%s", r.Name, v.Model, v.Version, marker, p.Version)
		}
		evidence := []string{fmt.Sprintf("storageUri %s is %s of v%s%s", r.StorageURI, relationWord(sv.relation), v.Version, registeredAgo(v, s))}
		evidence = append(evidence, fmt.Sprintf("%s v%s comes from %s%s", marker, p.Version, p.Source, registeredAgo(p, s)))
		f.Evidence = strings.Join(evidence, "; ")
		f.Remedy = fmt.Sprintf("Roll v%s out: set storageUri to %s (as a canary first: canaryTrafficPercent), or move %s back to v%s "+
			"if v%s must not serve; then check the pipeline's deploy step, which should follow the registry.",
			p.Version, p.Source, marker, v.Version, p.Version)
		out = append(out, f)
	}
	return out
}

func promotedMarker(p sources.ModelVersion, alias string) string {
	for _, a := range p.Aliases {
		if a == alias && alias != "" {
			return "@" + alias
		}
	}
	if strings.EqualFold(p.Stage, "Production") {
		return "Production version"
	}
	return "promoted version"
}

func relationWord(r pathRelation) string {
	switch r {
	case pathParent:
		return "a parent directory of the source"
	case pathChild:
		return "inside the source"
	case pathRunsURI:
		return "the runs:/ URI"
	case pathModelsURI:
		return "the models:/ URI"
	}
	return "the source"
}

func registeredAgo(v sources.ModelVersion, s sources.Snapshot) string {
	if v.Created.IsZero() || s.At.IsZero() {
		return ""
	}
	return fmt.Sprintf(" (registered %s ago)", Age(s.At.Sub(v.Created)))
}

// signatureEnforcedFrom is the MLflow release that turned signature
// enforcement on by default (the seed's note on the version matrix).
func signatureEnforcedFrom() []int { return []int{2, 16} }

// signaturesMissing: from MLflow 2.16 on, KServe's MLflow server refuses a
// model whose MLmodel has no signature (MlflowException: Model signature is
// missing). The tracking server's version stands for the serving runtime's,
// which the snapshot does not see; they are upgraded together.
func signaturesMissing(s sources.Snapshot, servedBy map[sources.ServiceKey]served) []Finding {
	parts, known := config.ParseVersion(s.Versions.MLflow)
	enforced := known && (parts[0] > signatureEnforcedFrom()[0] ||
		parts[0] == signatureEnforcedFrom()[0] && parts[1] >= signatureEnforcedFrom()[1])
	const remedy = "Log the model with a signature (mlflow.models.infer_signature) and register a new version, or set " +
		"MLFLOW_MODEL_SIGNATURE_ENFORCEMENT=disabled on the predictor's container."
	var out []Finding
	var unknown []string
	for _, r := range s.Serving {
		sv, ok := servedBy[r.Key()]
		if !ok || !isMLflowFormat(r.Service) {
			continue
		}
		v := sv.version
		switch v.Signature {
		case sources.SignatureUnknown:
			unknown = append(unknown, r.Name+" ("+modelVersionName(v)+")")
			continue
		case sources.SignaturePresent:
			continue
		}
		f := Finding{Check: CheckSignatureMissing, Object: r.Name, Service: keyPtr(r.Key()), Remedy: remedy,
			What: fmt.Sprintf("%s serves %s, whose MLmodel has no signature", r.Name, modelVersionName(v))}
		switch {
		case enforced && !r.Ready:
			f.Severity = Crit
			f.Evidence = fmt.Sprintf("MLflow %s enforces signatures (from 2.16): loading fails with MlflowException: Model signature is missing; %s is not ready", s.Versions.MLflow, r.Name)
		case enforced:
			f.Severity = Warn
			f.Evidence = fmt.Sprintf("MLflow %s enforces signatures (from 2.16): the next pod that loads it fails with MlflowException: Model signature is missing", s.Versions.MLflow)
		case known:
			f.Severity = Info
			f.Evidence = fmt.Sprintf("MLflow %s does not enforce signatures yet; upgrading to 2.16 or later will refuse this model", s.Versions.MLflow)
		default:
			f.Severity = Info
			f.Evidence = "the MLflow version is unknown; from 2.16 on MLflow refuses models without a signature"
		}
		out = append(out, f)
	}
	if enforced && len(unknown) > 0 {
		out = append(out, Finding{Severity: Info, Check: CheckSignatureMissing, Object: "signatures",
			What:     fmt.Sprintf("the signature of %d served MLflow %s is unknown", len(unknown), plural(len(unknown), "model", "models")),
			Evidence: fmt.Sprintf("MLflow %s enforces signatures; MLmodel could not be read through the tracking server (it does not serve artifacts) for %s", s.Versions.MLflow, listSome(unknown)),
			Remedy:   "Check the MLmodel files for a signature: key, or run the tracking server with --serve-artifacts so mltop can read them.",
		})
	}
	return out
}

// listSome joins up to maxListed items and says how many more there are.
func listSome(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(items)-maxListed)
}
