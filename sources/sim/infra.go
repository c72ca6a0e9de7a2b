package sim

import (
	"time"

	"github.com/mltop/mltop/sources"
)

const (
	gpuModel    = "NVIDIA A100-SXM4-80GB"
	gpuMemoryMB = 81920
)

// gpuUse says what a GPU does.
type gpuUse int

const (
	gpuIdle gpuUse = iota
	gpuServing
	gpuTraining // a training slot, busy while a pipeline run holds it
)

// gpuPlan is one GPU of the cluster.
type gpuPlan struct {
	node, device string
	use          gpuUse
	slot         int64  // training slot, for gpuTraining
	service      string // the serving pod's InferenceService, for gpuServing
	key          uint64
}

// oomPlan is a container the kernel killed for memory.
type oomPlan struct {
	namespace, pod, container, service string
	at                                 time.Time
}

// gpuAt is the GPU's reading at t.
func (w *world) gpuAt(g gpuPlan, t time.Time) sources.GPU {
	out := sources.GPU{Node: g.node, Device: g.device, Model: gpuModel, MemTotMB: gpuMemoryMB}
	idle := func() {
		out.Util = 0.3 + 0.3*wander(g.key, t)
	}
	switch g.use {
	case gpuServing:
		if s := w.service(g.service); s != nil {
			out.Namespace, out.Pod = s.namespace, w.servingPod(s)
		}
		out.Util = clamp(72+9*wander(g.key, t)+4*wander(g.key^1, t.Add(37*time.Second)), 60, 85)
		out.MemUsedMB = 23_500 + 1_500*wander(g.key^2, t)
	case gpuTraining:
		r, busy := w.pipeline.gpuHolder(g.slot, t)
		if !busy {
			idle()
			break
		}
		out.Namespace, out.Pod = "kubeflow", w.pipeline.stepPod(r)
		if r.retrains {
			out.Util = clamp(93+4*wander(g.key, t), 85, 100)
			out.MemUsedMB = 61_000 + 3_000*wander(g.key^2, t)
		} else {
			out.Util = clamp(68+8*wander(g.key, t), 50, 85)
			out.MemUsedMB = 24_000 + 2_000*wander(g.key^2, t)
		}
	default:
		idle()
	}
	return out
}

// servingPod is the name of the service's first pod: Knative names it after
// the revision's Deployment, Standard mode after the predictor's.
func (w *world) servingPod(s *service) string {
	owner := s.name + "-predictor"
	if s.knative() {
		owner = s.revisionName(s.rolledOut) + "-deployment"
	}
	k := w.h.key("pod/" + owner)
	return owner + "-" + kubeSuffix(k, 0, 10) + "-" + kubeSuffix(k, 1, 5)
}

// gpus is every GPU's reading at now and the mean utilisation over the last
// hour at one-minute steps.
func (w *world) gpus(now time.Time) ([]sources.GPU, []sources.Point) {
	var list []sources.GPU
	for _, g := range w.gpuPlans {
		list = append(list, w.gpuAt(g, now))
	}
	var trend []sources.Point
	for i := range trendPoints {
		t := now.Add(-time.Duration(trendPoints-1-i) * trendStep)
		var sum float64
		for _, g := range w.gpuPlans {
			sum += w.gpuAt(g, t).Util
		}
		trend = append(trend, sources.Point{T: t, V: sum / float64(len(w.gpuPlans))})
	}
	return list, trend
}

// oomKills are the kills that happened by now.
func (w *world) oomKills(now time.Time) []sources.OOMKill {
	var out []sources.OOMKill
	for _, o := range w.ooms {
		if o.at.After(now) {
			continue
		}
		out = append(out, sources.OOMKill{Namespace: o.namespace, Pod: o.pod, Container: o.container, Service: o.service, At: o.at})
	}
	return out
}
