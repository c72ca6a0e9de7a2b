// Package sources holds the plain value types that describe the platform (what
// the six panes show), the poller that keeps each source fresh, and the board
// that composes the latest value of every source into one Snapshot.
//
// Nothing in this package, or in the values it publishes, refers to client-go,
// Prometheus or any other client library: adapters in the sub-packages turn
// their answers into these types, so the UI and the headless commands depend
// on this package alone.
package sources

import (
	"sort"
	"time"
)

// SourceID names one of the four systems mltop reads.
type SourceID string

// The four sources. Their order in AllSources is the order of the status bar.
const (
	SourceKube   SourceID = "kube"
	SourceProm   SourceID = "prom"
	SourceMLflow SourceID = "mlflow"
	SourceKFP    SourceID = "kfp"
)

// AllSources lists every source in display order. It returns a new slice so
// callers may keep or change it.
func AllSources() []SourceID {
	return []SourceID{SourceProm, SourceKube, SourceMLflow, SourceKFP}
}

// Health is a source's state as the status bar shows it.
type Health int

const (
	// HealthOff: the source is not configured; its panes say how to configure it.
	HealthOff Health = iota
	// HealthPending: configured, no answer yet.
	HealthPending
	// HealthOK: the last fetch succeeded.
	HealthOK
	// HealthStale: the last fetch failed; the last good value is still shown.
	HealthStale
	// HealthDown: every fetch so far failed; there is no value to show.
	HealthDown
)

// String is the word the status bar prints; words carry the state so colour
// is never the only signal.
func (h Health) String() string {
	switch h {
	case HealthOff:
		return "off"
	case HealthPending:
		return "wait"
	case HealthOK:
		return "ok"
	case HealthStale:
		return "STALE"
	case HealthDown:
		return "DOWN"
	}
	return "?"
}

// SourceStatus is what is known about one source's freshness.
type SourceStatus struct {
	ID         SourceID
	Health     Health
	Configured bool
	// Live is true for watch-driven sources (Kubernetes informers), whose
	// data is current even when FetchedAt is old.
	Live bool
	// FetchedAt is when the value on screen was fetched (zero: never).
	FetchedAt time.Time
	// AttemptedAt is when the last fetch, good or bad, finished.
	AttemptedAt time.Time
	// StaleSince is when the first failure after the last success happened.
	StaleSince time.Time
	// Err is the last failure, already sanitised; empty when the last fetch succeeded.
	Err string
	// Failures counts consecutive failed fetches.
	Failures int
	// Seq increases with every published update of this source.
	Seq uint64
	// Interval is the configured refresh interval.
	Interval time.Duration
	// Hint says how to configure an unconfigured source.
	Hint string
}

// Age is how old the value on screen is at now; zero when there is none.
func (s SourceStatus) Age(now time.Time) time.Duration {
	if s.FetchedAt.IsZero() {
		return 0
	}
	if d := now.Sub(s.FetchedAt); d > 0 {
		return d
	}
	return 0
}

// HasData reports whether a good value has ever been fetched.
func (s SourceStatus) HasData() bool { return !s.FetchedAt.IsZero() }

// ---------------------------------------------------------------- Pipelines

// Run states as Kubeflow Pipelines names them.
const (
	RunSucceeded = "SUCCEEDED"
	RunFailed    = "FAILED"
	RunRunning   = "RUNNING"
	RunPending   = "PENDING"
	RunCanceled  = "CANCELED"
	RunSkipped   = "SKIPPED"
)

// PipelineRun is one Kubeflow Pipelines run.
type PipelineRun struct {
	ID       string
	Name     string // display name
	Pipeline string // pipeline name (or version reference) the run belongs to
	State    string // one of the Run* constants, or another KFP state
	Created  time.Time
	Finished time.Time // zero while the run has not finished
	Error    string    // error message of a failed run
}

// Duration is the run's wall time; zero for an unfinished run.
func (r PipelineRun) Duration() time.Duration {
	if r.Finished.IsZero() || r.Created.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Created)
}

// Done reports whether the run has reached a final state.
func (r PipelineRun) Done() bool {
	switch r.State {
	case RunSucceeded, RunFailed, RunCanceled, RunSkipped:
		return true
	}
	return false
}

// Pipelines is what the Pipelines pane shows: runs created in Window.
type Pipelines struct {
	// ServerVersion is the KFP API server's tag_name; empty when unknown.
	ServerVersion string
	Window        time.Duration
	// Runs are newest first.
	Runs []PipelineRun
}

// PipelineStats are the figures derived from the runs.
type PipelineStats struct {
	Total, Succeeded, Failed, Running, Other int
	// SuccessRate is Succeeded over finished runs (succeeded + failed);
	// HasRate is false when no run has finished.
	SuccessRate float64
	HasRate     bool
	AvgDuration time.Duration
	P95Duration time.Duration
	// LastFailure is the newest failed run, if any.
	LastFailure *PipelineRun
}

// Stats computes the pane's figures. Canceled and skipped runs are neither
// successes nor failures: an operator cancelling a run is not a platform fault.
func (p Pipelines) Stats() PipelineStats {
	var st PipelineStats
	var durations []time.Duration
	for i := range p.Runs {
		r := p.Runs[i]
		st.Total++
		switch r.State {
		case RunSucceeded:
			st.Succeeded++
		case RunFailed:
			st.Failed++
			if st.LastFailure == nil || r.Created.After(st.LastFailure.Created) {
				st.LastFailure = &p.Runs[i]
			}
		case RunRunning, RunPending:
			st.Running++
		default:
			st.Other++
		}
		if r.Done() && r.Duration() > 0 {
			durations = append(durations, r.Duration())
		}
	}
	if finished := st.Succeeded + st.Failed; finished > 0 {
		st.SuccessRate = float64(st.Succeeded) / float64(finished)
		st.HasRate = true
	}
	if len(durations) > 0 {
		var sum time.Duration
		for _, d := range durations {
			sum += d
		}
		st.AvgDuration = sum / time.Duration(len(durations))
		sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
		st.P95Duration = durations[nearestRank(len(durations), 0.95)]
	}
	return st
}

// nearestRank is the index of the q-quantile in a sorted slice of n items.
func nearestRank(n int, q float64) int {
	i := int(float64(n)*q+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= n {
		i = n - 1
	}
	return i
}

// ---------------------------------------------------------------- Training

// TrainingRun is one MLflow run of the watched experiment.
type TrainingRun struct {
	ID     string
	Name   string
	Status string // RUNNING, FINISHED, FAILED, KILLED, SCHEDULED
	Start  time.Time
	End    time.Time // zero while running
	// Value is the watched metric's latest value; HasValue is false when the
	// run never logged it.
	Value    float64
	HasValue bool
	// KFPRunID is the Kubeflow Pipelines run that produced this run, when tagged.
	KFPRunID string
}

// Duration is the run's training time; zero while it runs.
func (r TrainingRun) Duration() time.Duration {
	if r.End.IsZero() || r.Start.IsZero() {
		return 0
	}
	return r.End.Sub(r.Start)
}

// Training is what the Training pane shows.
type Training struct {
	Experiment string
	Metric     string
	// Runs are oldest first, so they plot left to right.
	Runs []TrainingRun
}

// Scored returns the runs that logged the metric, oldest first.
func (t Training) Scored() []TrainingRun {
	out := make([]TrainingRun, 0, len(t.Runs))
	for _, r := range t.Runs {
		if r.HasValue {
			out = append(out, r)
		}
	}
	return out
}

// LatestPair returns the newest scored run and the one before it; ok is false
// when fewer than two runs logged the metric.
func (t Training) LatestPair() (latest, previous TrainingRun, ok bool) {
	s := t.Scored()
	if len(s) < 2 {
		if len(s) == 1 {
			return s[0], TrainingRun{}, false
		}
		return TrainingRun{}, TrainingRun{}, false
	}
	return s[len(s)-1], s[len(s)-2], true
}

// ---------------------------------------------------------------- Registry

// ModelVersion is one registered model version.
type ModelVersion struct {
	Model   string
	Version string
	Stage   string   // legacy MLflow stage: None, Staging, Production, Archived
	Aliases []string // e.g. champion
	Status  string   // READY, PENDING_REGISTRATION, FAILED_REGISTRATION
	Created time.Time
	Source  string // artifact location the version was registered from
	RunID   string
	// Metric is the watched metric of the run that produced the version
	// (HasMetric false when unknown), for the quality-regression check.
	Metric    float64
	HasMetric bool
	// Signature says whether the version's MLmodel declares a signature.
	Signature Signature
}

// Signature is what is known about an MLmodel's signature.
type Signature int

const (
	// SignatureUnknown: the MLmodel file could not be read (the server does
	// not proxy artifacts, or it was not looked at).
	SignatureUnknown Signature = iota
	SignaturePresent
	SignatureMissing
)

// Registry is what the Registry pane shows.
type Registry struct {
	// Versions are the promoted and the waiting versions plus, per model,
	// the newest versions (for the doctor's drift and quality checks).
	Versions []ModelVersion
	// PromotedAlias is the alias that marks the serving version (default champion).
	PromotedAlias string
	// Promoted holds each model's promoted version.
	Promoted []ModelVersion
	// Waiting holds versions waiting for promotion, oldest first.
	Waiting []ModelVersion
}

// ---------------------------------------------------------------- Serving

// Deployment modes, normalised: Serverless is Knative, RawDeployment is Standard.
const (
	ModeKnative   = "Knative"
	ModeStandard  = "Standard"
	ModeModelMesh = "ModelMesh"
)

// Condition is one status condition of an InferenceService.
type Condition struct {
	Type    string
	Status  string // True, False, Unknown
	Reason  string
	Message string
}

// TrafficTarget is one entry of status.components.predictor.traffic.
type TrafficTarget struct {
	Revision string
	Percent  int
	Latest   bool
	Tag      string
}

// ServiceKey identifies an InferenceService.
type ServiceKey struct {
	Namespace string
	Name      string
}

// String is namespace/name.
func (k ServiceKey) String() string { return k.Namespace + "/" + k.Name }

// Service is an InferenceService as the cluster describes it.
type Service struct {
	Namespace string
	Name      string
	Mode      string // ModeKnative, ModeStandard, ModeModelMesh or empty when unknown
	Ready     bool
	// Reason is the message of the first failing condition, for a service
	// that is not ready.
	Reason     string
	Conditions []Condition
	// MinReplicas as set (KServe defaults a missing value to 1).
	MinReplicas int
	MaxReplicas int
	// CanaryPercent is spec.predictor.canaryTrafficPercent; HasCanaryPercent
	// is false when the field is absent.
	CanaryPercent    int
	HasCanaryPercent bool
	StorageURI       string
	ModelFormat      string
	Runtime          string
	// StableRevision is latestRolledoutRevision, CanaryRevision the latest
	// ready revision while it receives less than all traffic.
	StableRevision   string
	CanaryRevision   string
	PreviousRevision string
	Traffic          []TrafficTarget
	GPU              bool
	PodsReady        int
	PodsTotal        int
	Restarts         int
	ResourceVersion  string
}

// Key returns the service's key.
func (s Service) Key() ServiceKey { return ServiceKey{Namespace: s.Namespace, Name: s.Name} }

// InCanary reports whether a canary currently receives part of the traffic.
func (s Service) InCanary() bool {
	return s.CanaryRevision != "" && s.HasCanaryPercent && s.CanaryPercent > 0 && s.CanaryPercent < 100
}

// Point is one sample of a time series.
type Point struct {
	T time.Time
	V float64
}

// Values returns the samples' values in order.
func Values(ps []Point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.V
	}
	return out
}

// Traffic is request figures over the query window (default 5 minutes).
type Traffic struct {
	RPS float64
	// ErrorRate is the share of 5xx answers, 0..1; HasErrors is false when the
	// metric profile has no status code (the KServe model server's own metrics).
	ErrorRate float64
	HasErrors bool
	P50       time.Duration
	P99       time.Duration
	HasP99    bool
	// Requests and Errors are counts over the window (for explanations).
	Requests float64
	Errors   float64
}

// ServiceMetrics are the Prometheus figures of one service.
type ServiceMetrics struct {
	Traffic
	// Trends over the last hour, oldest first. Units: RPSTrend requests per
	// second, ErrTrend the 5xx share as a fraction (0..1), P99Trend seconds.
	RPSTrend []Point
	ErrTrend []Point
	P99Trend []Point
}

// RevisionMetrics are the Prometheus figures of one revision.
type RevisionMetrics struct {
	Revision string
	Traffic
	// ErrTrend is the revision's 5xx share (0..1) over the last hour.
	ErrTrend []Point
}

// SeriesCounter is one time series' raw cumulative counters for one
// revision, as Prometheus holds them (no rate, no increase): the canary
// judge takes exact per-tick increments from successive values itself,
// handling counter resets and new series.
type SeriesCounter struct {
	Namespace string
	Revision  string
	// Series identifies the series within the revision (e.g. its pod), so
	// increments are taken per series.
	Series   string
	Requests float64
	Errors   float64 // 5xx answers
	// Buckets are the latency histogram's cumulative counts by upper bound
	// in milliseconds (le); +Inf is Requests.
	Buckets map[float64]float64
}

// LatencyBounds are a service's latency bounds for the canary judge: the
// smallest histogram bounds at which the stable revision's cumulative share
// reached 90 % and 99 % over the hour before the canary.
type LatencyBounds struct {
	L90, L99 time.Duration
	Known    bool
}

// ---------------------------------------------------------------- Infra

// GPU is one accelerator's utilisation.
type GPU struct {
	Node      string
	Device    string // gpu index or device name
	Model     string
	Namespace string
	Pod       string
	Util      float64 // percent, 0..100
	MemUsedMB float64
	MemTotMB  float64
}

// OOMKill is one container terminated for running out of memory.
type OOMKill struct {
	Namespace string
	Pod       string
	Container string
	Service   string // owning InferenceService, when known
	At        time.Time
}

// ---------------------------------------------------------------- Parts

// Inventory is the Kubernetes source's value.
type Inventory struct {
	// KubernetesVersion (gitVersion of /version) and KServeVersion (the
	// controller image's tag) are empty when unknown.
	KubernetesVersion string
	KServeVersion     string
	Context           string
	Namespaces        []string // watched namespaces; empty means all
	Services          []Service
	OOMKills          []OOMKill
}

// Metrics is the Prometheus source's value.
type Metrics struct {
	Profile   string // metric profile in use
	Services  map[ServiceKey]ServiceMetrics
	Revisions map[ServiceKey]RevisionMetrics // keyed by namespace and revision name
	GPUs      []GPU
	GPUTrend  []Point // mean utilisation over the last hour, percent (0..100)
	OOMKills  []OOMKill
	// Counters are the raw per-series counters of every revision in a
	// canary, for the judge; CountersErr is set when that query failed (a
	// failed query is skipped by the judge, not counted as a failure).
	Counters    []SeriesCounter
	CountersErr string
	// Bounds are the latency bounds per service in canary.
	Bounds map[ServiceKey]LatencyBounds
}

// Tracking is the MLflow source's value.
type Tracking struct {
	Training Training
	Registry Registry
	// ServerVersion is the MLflow server's version; empty when unknown.
	ServerVersion string
}

// Part is one source's full value: exactly the field its source owns is set.
type Part struct {
	Inventory *Inventory
	Metrics   *Metrics
	Tracking  *Tracking
	Pipelines *Pipelines
}

// Update is what the poller publishes: a source's status and its last good
// value (nil until the first success). It is a full value, never a delta, so
// a consumer may drop any update and still be right after the next.
type Update struct {
	Status SourceStatus
	Part   Part
}
