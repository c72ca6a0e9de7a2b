package sources

import (
	"sort"
	"time"
)

// ServiceRow is one line of the Serving pane: the cluster's view of a service
// joined with its Prometheus figures.
type ServiceRow struct {
	Service
	Metrics    ServiceMetrics
	HasMetrics bool
	// OOMKills counts OOM-killed containers of the service in the last 24 h.
	OOMKills int
}

// CanaryView is a service in canary with both revisions' figures.
type CanaryView struct {
	Key            ServiceKey
	Percent        int
	StableRevision string
	CanaryRevision string
	Stable         RevisionMetrics
	Canary         RevisionMetrics
	HasMetrics     bool
	Ready          bool
}

// Infra is what the Infra pane shows.
type Infra struct {
	GPUs     []GPU
	GPUTrend []Point
	// OOMKills in the last 24 h, newest first.
	OOMKills []OOMKill
}

// Snapshot is the whole platform at one moment: every pane's value plus the
// freshness of each source. It is a plain value; the UI renders it and the
// headless commands print it.
type Snapshot struct {
	At         time.Time
	Context    string
	Namespaces []string
	Pipelines  Pipelines
	Training   Training
	Registry   Registry
	Serving    []ServiceRow
	Canaries   []CanaryView
	Infra      Infra
	Sources    []SourceStatus
	// Versions of the platform's components, as the sources report them.
	Versions ComponentVersions
}

// ComponentVersions are the versions the doctor checks against its
// compatibility matrix; an empty field is unknown.
type ComponentVersions struct {
	KFP, MLflow, KServe, Kubernetes string
}

// Source returns the status of one source.
func (s Snapshot) Source(id SourceID) SourceStatus {
	for _, st := range s.Sources {
		if st.ID == id {
			return st
		}
	}
	return SourceStatus{ID: id}
}

// Row returns the serving row of a service.
func (s Snapshot) Row(k ServiceKey) (ServiceRow, bool) {
	for _, r := range s.Serving {
		if r.Key() == k {
			return r, true
		}
	}
	return ServiceRow{}, false
}

// Canary returns the canary view of a service.
func (s Snapshot) Canary(k ServiceKey) (CanaryView, bool) {
	for _, c := range s.Canaries {
		if c.Key == k {
			return c, true
		}
	}
	return CanaryView{}, false
}

// Board keeps the latest update of every source and composes snapshots. It
// has one owner (the UI model or a headless command) and no goroutines.
type Board struct {
	status map[SourceID]SourceStatus
	parts  map[SourceID]Part
}

// NewBoard starts a board with every source's initial status, so that
// unconfigured sources show as such before any update arrives.
func NewBoard(initial []SourceStatus) *Board {
	b := &Board{status: map[SourceID]SourceStatus{}, parts: map[SourceID]Part{}}
	for _, st := range initial {
		b.status[st.ID] = st
	}
	return b
}

// Apply records an update. An update older than the one held (by Seq) is
// ignored, so late deliveries never roll the screen back.
func (b *Board) Apply(u Update) {
	id := u.Status.ID
	if old, ok := b.status[id]; ok && old.Seq > u.Status.Seq {
		return
	}
	b.status[id] = u.Status
	if u.Part != (Part{}) {
		b.parts[id] = u.Part
	}
}

// Snapshot composes the current value of every pane at now.
func (b *Board) Snapshot(now time.Time) Snapshot {
	snap := Snapshot{At: now}
	for _, id := range AllSources() {
		st, ok := b.status[id]
		if !ok {
			st = SourceStatus{ID: id}
		}
		snap.Sources = append(snap.Sources, st)
	}

	var inv Inventory
	var met Metrics
	if p := b.parts[SourceKube].Inventory; p != nil {
		inv = *p
	}
	if p := b.parts[SourceProm].Metrics; p != nil {
		met = *p
	}
	if p := b.parts[SourceMLflow].Tracking; p != nil {
		snap.Training = p.Training
		snap.Registry = p.Registry
		snap.Versions.MLflow = p.ServerVersion
	}
	if p := b.parts[SourceKFP].Pipelines; p != nil {
		snap.Pipelines = *p
		snap.Versions.KFP = p.ServerVersion
	}
	snap.Context = inv.Context
	snap.Namespaces = inv.Namespaces
	snap.Versions.KServe, snap.Versions.Kubernetes = inv.KServeVersion, inv.KubernetesVersion

	snap.Infra = Infra{GPUs: met.GPUs, GPUTrend: met.GPUTrend, OOMKills: recentOOMs(inv.OOMKills, met.OOMKills, now)}
	oomByService := map[ServiceKey]int{}
	for _, k := range snap.Infra.OOMKills {
		if k.Service != "" {
			oomByService[ServiceKey{k.Namespace, k.Service}]++
		}
	}

	for _, svc := range inv.Services {
		row := ServiceRow{Service: svc, OOMKills: oomByService[svc.Key()]}
		if m, ok := met.Services[svc.Key()]; ok {
			row.Metrics, row.HasMetrics = m, true
		}
		snap.Serving = append(snap.Serving, row)
		if svc.InCanary() {
			cv := CanaryView{
				Key:            svc.Key(),
				Percent:        svc.CanaryPercent,
				StableRevision: svc.StableRevision,
				CanaryRevision: svc.CanaryRevision,
				Ready:          svc.Ready,
			}
			st, okS := met.Revisions[ServiceKey{svc.Namespace, svc.StableRevision}]
			ca, okC := met.Revisions[ServiceKey{svc.Namespace, svc.CanaryRevision}]
			cv.Stable, cv.Canary, cv.HasMetrics = st, ca, okS && okC
			snap.Canaries = append(snap.Canaries, cv)
		}
	}
	sort.SliceStable(snap.Serving, func(i, j int) bool {
		a, b := snap.Serving[i], snap.Serving[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	sort.SliceStable(snap.Canaries, func(i, j int) bool { return snap.Canaries[i].Key.String() < snap.Canaries[j].Key.String() })
	return snap
}

// recentOOMs merges the kills the cluster reports with those Prometheus
// reports (kube-state-metrics), keeps the last 24 h and drops duplicates:
// the same container seen by both counts once.
func recentOOMs(fromKube, fromProm []OOMKill, now time.Time) []OOMKill {
	type key struct{ ns, pod, container string }
	seen := map[key]bool{}
	var out []OOMKill
	for _, list := range [][]OOMKill{fromKube, fromProm} {
		for _, k := range list {
			if !k.At.IsZero() && now.Sub(k.At) > 24*time.Hour {
				continue
			}
			kk := key{k.Namespace, k.Pod, k.Container}
			if seen[kk] {
				continue
			}
			seen[kk] = true
			out = append(out, k)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}
