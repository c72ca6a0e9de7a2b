package prom

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// oomWindow is how far back an OOM kill counts (the alert rule's day).
const oomWindow = 24 * time.Hour

// first returns the value of the first label that is set.
func first(m model.Metric, names ...model.LabelName) string {
	for _, n := range names {
		if v := m[n]; v != "" {
			return clean.Text(string(v))
		}
	}
	return ""
}

// target identifies the scrape target a series came from.
type target struct{ job, instance model.LabelValue }

// gpus reads dcgm-exporter's gauges. With Kubernetes mapping the exporter
// labels each GPU with the pod using it; scraped with honor_labels false
// (the Helm chart's default) those arrive as exported_pod and
// exported_namespace while pod and namespace name the exporter itself. So a
// target with any exported_* label is read in that style for every series,
// including unallocated GPUs (which have no exported_pod, but do carry the
// exporter's pod). --use-old-namespace names them pod_name/pod_namespace.
func gpus(vec model.Vector) []sources.GPU {
	exported := map[target]bool{}
	for _, s := range vec {
		if s.Metric["exported_pod"] != "" || s.Metric["exported_namespace"] != "" {
			exported[target{s.Metric["job"], s.Metric["instance"]}] = true
		}
	}
	type gpuKey struct{ node, uuid, device, mig, pod, namespace string }
	byKey := map[gpuKey]*sources.GPU{}
	var order []gpuKey
	hasUtil := map[gpuKey]bool{}
	free, reserved := map[gpuKey]float64{}, map[gpuKey]float64{}
	for _, s := range vec {
		v := float64(s.Value)
		if !finite(v) {
			continue
		}
		m := s.Metric
		g := sources.GPU{
			Node:   first(m, "Hostname", "hostname", "node", "kubernetes_node", "instance"),
			Device: first(m, "gpu", "device"),
			Model:  first(m, "modelName"),
		}
		if profile := first(m, "GPU_I_PROFILE"); profile != "" {
			g.Device += " " + profile
		}
		if exported[target{m["job"], m["instance"]}] {
			g.Pod, g.Namespace = first(m, "exported_pod"), first(m, "exported_namespace")
		} else {
			g.Pod, g.Namespace = first(m, "pod", "pod_name"), first(m, "namespace", "pod_namespace")
		}
		k := gpuKey{g.Node, first(m, "UUID"), g.Device, first(m, "GPU_I_ID"), g.Pod, g.Namespace}
		cur := byKey[k]
		if cur == nil {
			cur = &g
			byKey[k] = cur
			order = append(order, k)
		}
		switch m[model.MetricNameLabel] {
		case "DCGM_FI_DEV_GPU_UTIL":
			cur.Util, hasUtil[k] = v, true
		case "DCGM_FI_DEV_FB_USED":
			cur.MemUsedMB = v
		case "DCGM_FI_DEV_FB_FREE":
			free[k] = v
		case "DCGM_FI_DEV_FB_RESERVED":
			reserved[k] = v
		}
	}
	var out []sources.GPU
	for _, k := range order {
		if !hasUtil[k] {
			continue // memory without utilisation is not a GPU the pane can show
		}
		g := *byKey[k]
		if f, ok := free[k]; ok {
			g.MemTotMB = g.MemUsedMB + f + reserved[k]
		}
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b sources.GPU) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod))
	})
	return out
}

// oomKills reads kube-state-metrics' last terminated reason. The series
// stays until the container terminates again, so a kill whose timestamp
// (kube_pod_container_status_last_terminated_timestamp, when the exporter
// has it) is older than a day is left out; one without a timestamp is kept
// with a zero At. Namespaces are filtered here rather than in PromQL so
// that both label styles (namespace and exported_namespace) work.
func oomKills(reasons, times model.Vector, namespaces []string, now time.Time) []sources.OOMKill {
	type containerKey struct{ ns, pod, container string }
	keyOf := func(m model.Metric) containerKey {
		return containerKey{
			ns:        first(m, "exported_namespace", "namespace"),
			pod:       first(m, "exported_pod", "pod"),
			container: first(m, "exported_container", "container"),
		}
	}
	at := map[containerKey]time.Time{}
	for _, s := range times {
		if v := float64(s.Value); finite(v) && v > 0 {
			at[keyOf(s.Metric)] = time.Unix(0, int64(v*1e9)).UTC()
		}
	}
	seen := map[containerKey]bool{}
	var out []sources.OOMKill
	for _, s := range reasons {
		k := keyOf(s.Metric)
		if k.pod == "" || seen[k] || (len(namespaces) > 0 && !slices.Contains(namespaces, k.ns)) {
			continue
		}
		seen[k] = true
		when := at[k]
		if !when.IsZero() && now.Sub(when) > oomWindow {
			continue
		}
		out = append(out, sources.OOMKill{Namespace: k.ns, Pod: k.pod, Container: k.container, Service: serviceOfPod(k.pod), At: when})
	}
	slices.SortFunc(out, func(a, b sources.OOMKill) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Container, b.Container))
	})
	return out
}

// serviceOfPod returns the InferenceService a pod belongs to, judged by its
// name; "" when the name has no KServe component. KServe puts the component
// between the InferenceService's name and the rest: Knative
// <isvc>-predictor-00001-deployment-..., RawDeployment <isvc>-predictor-<hash>-<id>.
// The last marker wins, so an InferenceService whose own name holds
// "-predictor-" still maps right.
func serviceOfPod(pod string) string {
	end := -1
	for _, marker := range []string{"-predictor-", "-transformer-", "-explainer-"} {
		if i := strings.LastIndex(pod, marker); i > end {
			end = i
		}
	}
	if end <= 0 {
		return ""
	}
	return pod[:end]
}
