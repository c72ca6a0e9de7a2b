package health

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mltop/mltop/sources"
)

// qualityRegressions is the seed's quiz Q6: a quality gate with only an
// absolute threshold (f1 >= 0.80) passes a model that fell from 0.92 to
// 0.81. Per registered model, the newest version's metric is compared with
// the newest older version that has one.
func qualityRegressions(s sources.Snapshot, fc FindingsConfig) []Finding {
	byModel := map[string][]sources.ModelVersion{}
	var models []string
	for _, v := range allVersions(s.Registry) {
		if versionNumber(v.Version) < 0 {
			continue
		}
		if len(byModel[v.Model]) == 0 {
			models = append(models, v.Model)
		}
		byModel[v.Model] = append(byModel[v.Model], v)
	}
	sort.Strings(models)
	metric := s.Training.Metric
	if metric == "" {
		metric = "the metric"
	}
	limit := fc.Thresholds.MetricDropMax
	var out []Finding
	for _, m := range models {
		vs := byModel[m]
		sort.Slice(vs, func(i, j int) bool { return versionNumber(vs[i].Version) > versionNumber(vs[j].Version) })
		newest := vs[0]
		if !newest.HasMetric {
			continue
		}
		var prev *sources.ModelVersion
		for i := 1; i < len(vs); i++ {
			if vs[i].HasMetric {
				prev = &vs[i]
				break
			}
		}
		if prev == nil {
			continue
		}
		drop := prev.Metric - newest.Metric
		// The same epsilon as the training alert: float noise must neither
		// fire nor hide a drop of exactly the limit.
		if drop <= limit+1e-9 {
			continue
		}
		f := Finding{Severity: Warn, Check: CheckQualityRegression, Object: modelVersionName(newest),
			What: fmt.Sprintf("%s scores %s %.3f, %.3f below v%s's %.3f", modelVersionName(newest), metric, newest.Metric, drop, prev.Version, prev.Metric)}
		evidence := []string{fmt.Sprintf("allowed drop %g (thresholds.metric_drop_max)", limit)}
		if newest.RunID != "" {
			evidence = append(evidence, "from run "+newest.RunID)
		}
		evidence = append(evidence, "an absolute gate such as "+metric+" >= 0.80 passes it, so the pipeline registered it")
		if p, ok := promotedOf(s.Registry, m); ok && p.Version == newest.Version {
			f.Severity = Crit
			evidence = append(evidence, "it is already the promoted version")
		}
		f.Evidence = strings.Join(evidence, "; ")
		f.Remedy = fmt.Sprintf("Do not promote v%s; add a relative condition to the pipeline's quality gate (fail when %s < previous version - %g) next to the absolute one.",
			newest.Version, metric, limit)
		out = append(out, f)
	}
	return out
}

// registryBacklog is the registry alert as a finding: one per model whose
// versions have waited for promotion longer than the limit.
func registryBacklog(s sources.Snapshot, fc FindingsConfig) []Finding {
	limit := fc.Thresholds.RegistryWaitMax
	late := map[string][]sources.ModelVersion{} // oldest first, as Waiting is ordered
	var models []string
	for _, v := range s.Registry.Waiting {
		if v.Created.IsZero() || s.At.Sub(v.Created) <= limit {
			continue
		}
		if len(late[v.Model]) == 0 {
			models = append(models, v.Model)
		}
		late[v.Model] = append(late[v.Model], v)
	}
	sort.Strings(models)
	var out []Finding
	for _, m := range models {
		vs := late[m]
		oldest := vs[0]
		f := Finding{Severity: Warn, Check: CheckRegistryBacklog, Object: modelVersionName(oldest),
			What: fmt.Sprintf("%s has waited %s for promotion (limit %s)", modelVersionName(oldest), Age(s.At.Sub(oldest.Created)), Age(limit))}
		if len(vs) > 1 {
			f.Object = m
			f.What = fmt.Sprintf("%d versions of %s have waited longer than %s for promotion, v%s for %s", len(vs), m, Age(limit), oldest.Version, Age(s.At.Sub(oldest.Created)))
		}
		var waiting []string
		for _, v := range s.Registry.Waiting {
			if v.Model == m {
				waiting = append(waiting, fmt.Sprintf("v%s %s", v.Version, Age(s.At.Sub(v.Created))))
			}
		}
		evidence := "waiting: " + listSome(waiting)
		if p, ok := promotedOf(s.Registry, m); ok {
			evidence += fmt.Sprintf("; %s is v%s", promotedMarker(p, s.Registry.PromotedAlias), p.Version)
		}
		f.Evidence = evidence
		f.Remedy = "Decide on the waiting versions: promote the one that passed evaluation (move the alias), archive the rest; a growing backlog means the promotion step is stuck or nobody owns it."
		out = append(out, f)
	}
	return out
}
