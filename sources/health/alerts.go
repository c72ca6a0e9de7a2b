// Package health derives what is wrong from a snapshot: the alert rules of
// the operations dashboard, with the thresholds from config.
package health

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
)

// Severity orders alerts: critical ones lead the alert strip.
type Severity int

const (
	Info Severity = iota
	Warn
	Crit
)

// String is the word shown beside the glyph, so severity never depends on colour.
func (s Severity) String() string {
	switch s {
	case Crit:
		return "CRIT"
	case Warn:
		return "WARN"
	}
	return "INFO"
}

// Panes, as alerts name them.
const (
	PanePipelines = "pipelines"
	PaneTraining  = "training"
	PaneRegistry  = "registry"
	PaneServing   = "serving"
	PaneCanary    = "canary"
	PaneInfra     = "infra"
)

// Alert is one active threshold breach.
type Alert struct {
	Severity Severity
	Pane     string
	// Object is what breached: a service, a pipeline, a model version.
	Object string
	// Service is set when the alert is about an InferenceService, so the UI
	// can jump to it and offer its action.
	Service *sources.ServiceKey
	// Text is one line with the measured value and the limit.
	Text string
	// Action names the suggested key action, e.g. "rollback"; empty for none.
	Action string
}

// Evaluate applies every rule to a snapshot. Rules only fire on data that
// exists: a source that never answered raises no alert (its status shows).
// The result is ordered by severity, then pane, then object.
func Evaluate(s sources.Snapshot, th config.Thresholds) []Alert {
	var out []Alert
	out = append(out, pipelines(s, th)...)
	out = append(out, training(s, th)...)
	out = append(out, registry(s, th)...)
	out = append(out, serving(s, th)...)
	out = append(out, canary(s, th)...)
	out = append(out, infra(s, th)...)
	rank := map[string]int{PaneCanary: 0, PaneServing: 1, PaneInfra: 2, PanePipelines: 3, PaneTraining: 4, PaneRegistry: 5}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if rank[a.Pane] != rank[b.Pane] {
			return rank[a.Pane] < rank[b.Pane]
		}
		return a.Object < b.Object
	})
	return out
}

func pipelines(s sources.Snapshot, th config.Thresholds) []Alert {
	st := s.Pipelines.Stats()
	if !st.HasRate || st.SuccessRate >= th.PipelineSuccessMin {
		return nil
	}
	finished := st.Succeeded + st.Failed
	return []Alert{{
		Severity: Warn, Pane: PanePipelines, Object: "pipelines",
		Text: fmt.Sprintf("success %.1f%% < %.0f%% (%d/%d finished, %s)",
			100*st.SuccessRate, 100*th.PipelineSuccessMin, st.Succeeded, finished, Window(s.Pipelines.Window)),
	}}
}

func training(s sources.Snapshot, th config.Thresholds) []Alert {
	latest, prev, ok := s.Training.LatestPair()
	if !ok {
		return nil
	}
	drop := prev.Value - latest.Value
	// A small epsilon keeps float noise from firing or hiding a drop of exactly the limit.
	if drop <= th.MetricDropMax+1e-9 {
		return nil
	}
	name := latest.Name
	if name == "" {
		name = shortID(latest.ID)
	}
	return []Alert{{
		Severity: Warn, Pane: PaneTraining, Object: s.Training.Metric,
		Text: fmt.Sprintf("%s %.3f is %.3f below previous %.3f (limit %.2f, run %s)",
			s.Training.Metric, latest.Value, drop, prev.Value, th.MetricDropMax, name),
	}}
}

func registry(s sources.Snapshot, th config.Thresholds) []Alert {
	var out []Alert
	for _, v := range s.Registry.Waiting {
		if v.Created.IsZero() {
			continue
		}
		wait := s.At.Sub(v.Created)
		if wait <= th.RegistryWaitMax {
			continue
		}
		out = append(out, Alert{
			Severity: Warn, Pane: PaneRegistry, Object: v.Model + " v" + v.Version,
			Text: fmt.Sprintf("%s v%s waits %s > %s for promotion", v.Model, v.Version, Age(wait), Age(th.RegistryWaitMax)),
		})
	}
	return out
}

func serving(s sources.Snapshot, th config.Thresholds) []Alert {
	var out []Alert
	for _, r := range s.Serving {
		key := r.Key()
		if !r.Ready {
			reason := r.Reason
			if reason == "" {
				reason = "not ready"
			}
			out = append(out, Alert{Severity: Crit, Pane: PaneServing, Object: r.Name, Service: &key,
				Text: fmt.Sprintf("%s not ready: %s", r.Name, reason)})
			continue
		}
		if !r.HasMetrics {
			continue
		}
		m := r.Metrics
		if m.HasErrors && m.ErrorRate > th.ErrorRateMax {
			out = append(out, Alert{Severity: Crit, Pane: PaneServing, Object: r.Name, Service: &key,
				Text: fmt.Sprintf("%s errors %s > %s", r.Name, Percent(m.ErrorRate), Percent(th.ErrorRateMax))})
		}
		if m.HasP99 && m.P99 > th.P99Max {
			out = append(out, Alert{Severity: Warn, Pane: PaneServing, Object: r.Name, Service: &key,
				Text: fmt.Sprintf("%s p99 %s > %s", r.Name, Millis(m.P99), Millis(th.P99Max))})
		}
	}
	return out
}

// CanaryRatio compares a canary's error rate with its stable's. It is the
// dashboard rule (canary errors > ratio x stable); the canary judge refines it.
type CanaryRatio struct {
	Ratio    float64 // canary over stable; +Inf when stable has no errors
	Breached bool
	Known    bool // both revisions have error figures and traffic
}

// CompareCanary applies the canary rule to one canary.
func CompareCanary(c sources.CanaryView, th config.Thresholds) CanaryRatio {
	if !c.HasMetrics || !c.Canary.HasErrors || !c.Stable.HasErrors || c.Canary.RPS <= 0 || c.Stable.RPS <= 0 {
		return CanaryRatio{}
	}
	cr, sr := c.Canary.ErrorRate, c.Stable.ErrorRate
	out := CanaryRatio{Known: true}
	switch {
	case sr > 0:
		out.Ratio = cr / sr
	case cr > 0:
		out.Ratio = inf()
	}
	// With a perfect stable any canary error is a breach only above the
	// serving limit, so one stray 5xx does not call for a rollback.
	if sr > 0 {
		out.Breached = cr > th.CanaryErrorRatio*sr
	} else {
		out.Breached = cr > th.ErrorRateMax
	}
	return out
}

func canary(s sources.Snapshot, th config.Thresholds) []Alert {
	var out []Alert
	for _, c := range s.Canaries {
		cmp := CompareCanary(c, th)
		if !cmp.Breached {
			continue
		}
		key := c.Key
		out = append(out, Alert{
			Severity: Crit, Pane: PaneCanary, Object: c.Key.Name, Service: &key, Action: "rollback",
			Text: fmt.Sprintf("%s canary 5xx %s vs stable %s (%s) > %gx", c.Key.Name,
				Percent(c.Canary.ErrorRate), Percent(c.Stable.ErrorRate), Ratio(cmp.Ratio), th.CanaryErrorRatio),
		})
	}
	return out
}

func infra(s sources.Snapshot, th config.Thresholds) []Alert {
	if len(s.Infra.OOMKills) <= th.OOMKillsPerDayMax {
		return nil
	}
	byObject := map[string]int{}
	var order []string
	for _, k := range s.Infra.OOMKills {
		obj := k.Service
		if obj == "" {
			obj = k.Pod
		}
		if byObject[obj] == 0 {
			order = append(order, obj)
		}
		byObject[obj]++
	}
	var out []Alert
	for _, obj := range order {
		a := Alert{Severity: Warn, Pane: PaneInfra, Object: obj,
			Text: fmt.Sprintf("%s OOM killed x%d in 24h", obj, byObject[obj])}
		for _, r := range s.Serving {
			if r.Name == obj {
				key := r.Key()
				a.Service = &key
				break
			}
		}
		out = append(out, a)
	}
	return out
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func inf() float64 { return math.Inf(1) }

// Percent formats a 0..1 fraction as a percentage with two decimals below 10 %.
func Percent(f float64) string {
	p := 100 * f
	if p < 10 {
		return fmt.Sprintf("%.2f%%", p)
	}
	return fmt.Sprintf("%.1f%%", p)
}

// Millis formats a latency in whole milliseconds.
func Millis(d time.Duration) string {
	return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
}

// Ratio formats a ratio like 8.0x; an infinite ratio reads "no stable errors".
func Ratio(r float64) string {
	if math.IsInf(r, 1) {
		return "stable 0"
	}
	return fmt.Sprintf("%.1fx", r)
}

// Age formats a duration the way the dashboard prints ages: 42s, 12m, 30h, 3d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 72*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// Window formats a look-back window: 24h, 7d, 30m.
func Window(d time.Duration) string {
	if d <= 0 {
		return "all"
	}
	return Age(d)
}
