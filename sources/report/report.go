// Package report turns a snapshot and its alerts into the documents the
// headless commands print: a JSON object for scripts and tickets, and a
// plain-text report for people. Neither needs a terminal.
//
// The JSON keys are a public interface (scripts parse them): add keys, never
// rename or remove one. Durations are seconds, rates are fractions (0.01 = 1 %),
// latencies are milliseconds, times are RFC 3339 in UTC, and a figure that is
// not known is null rather than 0.
package report

import (
	"math"
	"time"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
)

// Document is the whole snapshot as `mltop snapshot -o json` prints it.
type Document struct {
	TakenAt    time.Time      `json:"taken_at"`
	Context    string         `json:"context"`
	Namespaces []string       `json:"namespaces"`
	Pipelines  Pipelines      `json:"pipelines"`
	Training   Training       `json:"training"`
	Registry   Registry       `json:"registry"`
	Serving    []Service      `json:"serving"`
	Canary     []Canary       `json:"canary"`
	Infra      Infra          `json:"infra"`
	Alerts     []Alert        `json:"alerts"`
	Sources    []SourceStatus `json:"sources"`
	// Findings are the doctor's checks of the seams between the tools;
	// empty until AddFindings fills them.
	Findings []Finding `json:"findings"`
}

// Pipelines is the KFP summary.
type Pipelines struct {
	WindowSeconds      float64       `json:"window_seconds"`
	Total              int           `json:"total"`
	Succeeded          int           `json:"succeeded"`
	Failed             int           `json:"failed"`
	Running            int           `json:"running"`
	Other              int           `json:"other"`
	SuccessRate        *float64      `json:"success_rate"`
	AvgDurationSeconds *float64      `json:"avg_duration_seconds"`
	P95DurationSeconds *float64      `json:"p95_duration_seconds"`
	RecentFailures     []PipelineRun `json:"recent_failures"`
}

// PipelineRun is one run in the report.
type PipelineRun struct {
	RunID           string     `json:"run_id"`
	Name            string     `json:"name"`
	State           string     `json:"state"`
	CreatedAt       time.Time  `json:"created_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	Error           string     `json:"error,omitempty"`
}

// Training is the MLflow metric trend.
type Training struct {
	Experiment string        `json:"experiment"`
	Metric     string        `json:"metric"`
	Latest     *TrainingRun  `json:"latest"`
	Previous   *TrainingRun  `json:"previous"`
	Delta      *float64      `json:"delta"`
	Runs       []TrainingRun `json:"runs"`
}

// TrainingRun is one MLflow run.
type TrainingRun struct {
	RunID           string     `json:"run_id"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	Value           *float64   `json:"value"`
	StartedAt       time.Time  `json:"started_at"`
	EndedAt         *time.Time `json:"ended_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	KFPRunID        string     `json:"kfp_run_id,omitempty"`
}

// Registry is the promotion backlog.
type Registry struct {
	PromotedAlias string         `json:"promoted_alias"`
	Promoted      []ModelVersion `json:"promoted"`
	Waiting       []ModelVersion `json:"waiting"`
	OldestWaitSec *float64       `json:"oldest_wait_seconds"`
}

// ModelVersion is one registered version.
type ModelVersion struct {
	Model       string    `json:"model"`
	Version     string    `json:"version"`
	Stage       string    `json:"stage"`
	Aliases     []string  `json:"aliases"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	WaitSeconds *float64  `json:"wait_seconds,omitempty"`
	Source      string    `json:"source"`
	RunID       string    `json:"run_id"`
}

// Service is one InferenceService with its figures.
type Service struct {
	Namespace      string   `json:"namespace"`
	Name           string   `json:"name"`
	Mode           string   `json:"mode"`
	Ready          bool     `json:"ready"`
	Reason         string   `json:"reason,omitempty"`
	MinReplicas    int      `json:"min_replicas"`
	MaxReplicas    int      `json:"max_replicas"`
	CanaryPercent  *int     `json:"canary_percent"`
	StableRevision string   `json:"stable_revision,omitempty"`
	CanaryRevision string   `json:"canary_revision,omitempty"`
	StorageURI     string   `json:"storage_uri"`
	ModelFormat    string   `json:"model_format"`
	GPU            bool     `json:"gpu"`
	PodsReady      int      `json:"pods_ready"`
	PodsTotal      int      `json:"pods_total"`
	OOMKills24h    int      `json:"oom_kills_24h"`
	Traffic        *Traffic `json:"traffic"`
}

// Traffic are request figures over the query window; unknown ones are null.
type Traffic struct {
	RPS       float64  `json:"rps"`
	ErrorRate *float64 `json:"error_rate"`
	P50Ms     *float64 `json:"p50_ms"`
	P99Ms     *float64 `json:"p99_ms"`
}

// Canary compares a canary with its stable revision.
type Canary struct {
	Namespace string   `json:"namespace"`
	Service   string   `json:"service"`
	Percent   int      `json:"percent"`
	Stable    Revision `json:"stable"`
	Canary    Revision `json:"canary"`
	// ErrorRatio is canary 5xx share over stable's; null when unknown or when
	// the stable had no errors.
	ErrorRatio *float64 `json:"error_ratio"`
	Breached   bool     `json:"breached"`
	Verdict    string   `json:"verdict"`
}

// Revision is one side of a canary.
type Revision struct {
	Revision string   `json:"revision"`
	Traffic  *Traffic `json:"traffic"`
}

// Infra is GPUs and OOM kills.
type Infra struct {
	GPUs        []GPU     `json:"gpus"`
	GPUUtilMean *float64  `json:"gpu_util_mean"`
	OOMKills    []OOMKill `json:"oom_kills_24h"`
}

// GPU is one accelerator.
type GPU struct {
	Node      string  `json:"node"`
	Device    string  `json:"device"`
	Model     string  `json:"model"`
	Namespace string  `json:"namespace,omitempty"`
	Pod       string  `json:"pod,omitempty"`
	Util      float64 `json:"util_percent"`
}

// OOMKill is one OOM-killed container.
type OOMKill struct {
	Namespace string    `json:"namespace"`
	Pod       string    `json:"pod"`
	Container string    `json:"container"`
	Service   string    `json:"service,omitempty"`
	At        time.Time `json:"at"`
}

// Alert is one threshold breach.
type Alert struct {
	Severity string `json:"severity"`
	Pane     string `json:"pane"`
	Object   string `json:"object"`
	Text     string `json:"text"`
	Action   string `json:"action,omitempty"`
}

// SourceStatus is one source's freshness.
type SourceStatus struct {
	ID         string     `json:"id"`
	Health     string     `json:"health"`
	Configured bool       `json:"configured"`
	Live       bool       `json:"live"`
	FetchedAt  *time.Time `json:"fetched_at"`
	AgeSeconds *float64   `json:"age_seconds"`
	Error      string     `json:"error,omitempty"`
	Hint       string     `json:"hint,omitempty"`
}

// Build assembles the document.
func Build(s sources.Snapshot, alerts []health.Alert, th config.Thresholds) Document {
	d := Document{
		TakenAt:    s.At.UTC(),
		Context:    s.Context,
		Namespaces: nonNil(s.Namespaces),
		Pipelines:  pipelines(s.Pipelines),
		Training:   training(s.Training),
		Registry:   registry(s.Registry, s.At),
		Serving:    []Service{},
		Canary:     []Canary{},
		Infra:      infra(s.Infra),
		Alerts:     []Alert{},
		Sources:    []SourceStatus{},
		Findings:   []Finding{},
	}
	for _, r := range s.Serving {
		d.Serving = append(d.Serving, service(r))
	}
	for _, c := range s.Canaries {
		d.Canary = append(d.Canary, canary(c, th))
	}
	for _, a := range alerts {
		d.Alerts = append(d.Alerts, Alert{Severity: a.Severity.String(), Pane: a.Pane, Object: a.Object, Text: a.Text, Action: a.Action})
	}
	d.Sources = sourceStatuses(s)
	return d
}

// sourceStatuses is each source's freshness at the snapshot's time.
func sourceStatuses(s sources.Snapshot) []SourceStatus {
	out := []SourceStatus{}
	for _, st := range s.Sources {
		ss := SourceStatus{ID: string(st.ID), Health: st.Health.String(), Configured: st.Configured, Live: st.Live, Error: st.Err, Hint: st.Hint}
		if st.HasData() {
			t := st.FetchedAt.UTC()
			ss.FetchedAt = &t
			ss.AgeSeconds = ptr(st.Age(s.At).Seconds())
		}
		out = append(out, ss)
	}
	return out
}

func pipelines(p sources.Pipelines) Pipelines {
	st := p.Stats()
	out := Pipelines{
		WindowSeconds: p.Window.Seconds(),
		Total:         st.Total, Succeeded: st.Succeeded, Failed: st.Failed, Running: st.Running, Other: st.Other,
		RecentFailures: []PipelineRun{},
	}
	if st.HasRate {
		out.SuccessRate = ptr(round(st.SuccessRate, 4))
	}
	if st.AvgDuration > 0 {
		out.AvgDurationSeconds = ptr(st.AvgDuration.Seconds())
		out.P95DurationSeconds = ptr(st.P95Duration.Seconds())
	}
	for _, r := range p.Runs { // newest first
		if r.State != sources.RunFailed {
			continue
		}
		out.RecentFailures = append(out.RecentFailures, pipelineRun(r))
		if len(out.RecentFailures) == 5 {
			break
		}
	}
	return out
}

func pipelineRun(r sources.PipelineRun) PipelineRun {
	out := PipelineRun{RunID: r.ID, Name: r.Name, State: r.State, CreatedAt: r.Created.UTC(), Error: r.Error}
	if !r.Finished.IsZero() {
		t := r.Finished.UTC()
		out.FinishedAt = &t
		out.DurationSeconds = ptr(r.Duration().Seconds())
	}
	return out
}

func training(t sources.Training) Training {
	out := Training{Experiment: t.Experiment, Metric: t.Metric, Runs: []TrainingRun{}}
	for _, r := range t.Runs {
		out.Runs = append(out.Runs, trainingRun(r))
	}
	latest, prev, ok := t.LatestPair()
	if latest.ID != "" {
		l := trainingRun(latest)
		out.Latest = &l
	}
	if ok {
		p := trainingRun(prev)
		out.Previous = &p
		out.Delta = ptr(round(latest.Value-prev.Value, 6))
	}
	return out
}

func trainingRun(r sources.TrainingRun) TrainingRun {
	out := TrainingRun{RunID: r.ID, Name: r.Name, Status: r.Status, StartedAt: r.Start.UTC(), KFPRunID: r.KFPRunID}
	if r.HasValue {
		out.Value = ptr(r.Value)
	}
	if !r.End.IsZero() {
		t := r.End.UTC()
		out.EndedAt = &t
		out.DurationSeconds = ptr(r.Duration().Seconds())
	}
	return out
}

func registry(r sources.Registry, now time.Time) Registry {
	out := Registry{PromotedAlias: r.PromotedAlias, Promoted: []ModelVersion{}, Waiting: []ModelVersion{}}
	for _, v := range r.Promoted {
		out.Promoted = append(out.Promoted, modelVersion(v, now, false))
	}
	for _, v := range r.Waiting {
		mv := modelVersion(v, now, true)
		out.Waiting = append(out.Waiting, mv)
		if mv.WaitSeconds != nil && (out.OldestWaitSec == nil || *mv.WaitSeconds > *out.OldestWaitSec) {
			out.OldestWaitSec = ptr(*mv.WaitSeconds)
		}
	}
	return out
}

func modelVersion(v sources.ModelVersion, now time.Time, waiting bool) ModelVersion {
	out := ModelVersion{Model: v.Model, Version: v.Version, Stage: v.Stage, Aliases: nonNil(v.Aliases),
		Status: v.Status, CreatedAt: v.Created.UTC(), Source: v.Source, RunID: v.RunID}
	if waiting && !v.Created.IsZero() {
		out.WaitSeconds = ptr(now.Sub(v.Created).Seconds())
	}
	return out
}

func service(r sources.ServiceRow) Service {
	out := Service{
		Namespace: r.Namespace, Name: r.Name, Mode: r.Mode, Ready: r.Ready, Reason: r.Reason,
		MinReplicas: r.MinReplicas, MaxReplicas: r.MaxReplicas,
		StableRevision: r.StableRevision, CanaryRevision: r.CanaryRevision,
		StorageURI: r.StorageURI, ModelFormat: r.ModelFormat, GPU: r.GPU,
		PodsReady: r.PodsReady, PodsTotal: r.PodsTotal, OOMKills24h: r.OOMKills,
	}
	if r.HasCanaryPercent {
		out.CanaryPercent = ptr(r.CanaryPercent)
	}
	if r.HasMetrics {
		out.Traffic = traffic(r.Metrics.Traffic)
	}
	return out
}

func traffic(t sources.Traffic) *Traffic {
	out := &Traffic{RPS: round(t.RPS, 3)}
	if t.HasErrors {
		out.ErrorRate = ptr(round(t.ErrorRate, 6))
	}
	if t.HasP99 {
		out.P99Ms = ptr(float64(t.P99.Microseconds()) / 1000)
		if t.P50 > 0 {
			out.P50Ms = ptr(float64(t.P50.Microseconds()) / 1000)
		}
	}
	return out
}

func canary(c sources.CanaryView, th config.Thresholds) Canary {
	out := Canary{Namespace: c.Key.Namespace, Service: c.Key.Name, Percent: c.Percent,
		Stable: Revision{Revision: c.StableRevision}, Canary: Revision{Revision: c.CanaryRevision}}
	if c.HasMetrics {
		out.Stable.Traffic = traffic(c.Stable.Traffic)
		out.Canary.Traffic = traffic(c.Canary.Traffic)
	}
	cmp := health.CompareCanary(c, th)
	if cmp.Known && !math.IsInf(cmp.Ratio, 0) {
		out.ErrorRatio = ptr(round(cmp.Ratio, 3))
	}
	out.Breached = cmp.Breached
	out.Verdict = Verdict(cmp)
	return out
}

// Verdict is the dashboard rule's answer in one word: the canary judge will
// replace it with PROMOTE, ROLLBACK, HOLD, OBSERVING or INCONCLUSIVE.
func Verdict(cmp health.CanaryRatio) string {
	switch {
	case !cmp.Known:
		return "NO_DATA"
	case cmp.Breached:
		return "BREACH"
	}
	return "WITHIN"
}

func infra(i sources.Infra) Infra {
	out := Infra{GPUs: []GPU{}, OOMKills: []OOMKill{}}
	var sum float64
	for _, g := range i.GPUs {
		out.GPUs = append(out.GPUs, GPU{Node: g.Node, Device: g.Device, Model: g.Model, Namespace: g.Namespace, Pod: g.Pod, Util: round(g.Util, 1)})
		sum += g.Util
	}
	if len(i.GPUs) > 0 {
		out.GPUUtilMean = ptr(round(sum/float64(len(i.GPUs)), 1))
	}
	for _, k := range i.OOMKills {
		out.OOMKills = append(out.OOMKills, OOMKill{Namespace: k.Namespace, Pod: k.Pod, Container: k.Container, Service: k.Service, At: k.At.UTC()})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
