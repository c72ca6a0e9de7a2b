package sim

import (
	"fmt"
	"maps"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
)

// The objects of the demo cluster: what the API server would hold for the
// simulated platform. They are generated from the platform's state, never
// stored, so they cannot drift from what the platform's own fetchers report
// (a test holds sources/kube.ServiceFrom to that).

// Labels Knative puts on a revision's pods, next to KServe's own.
const (
	revisionLabel      = "serving.knative.dev/revision"
	configurationLabel = "serving.knative.dev/configuration"
	knServiceLabel     = "serving.knative.dev/service"
)

// demoDomain is the ingress domain of the demo cluster's URLs.
const demoDomain = "example.com"

// modeAnnotation is the deployment-mode annotation a service was created
// with. The pre-0.16 spelling is the one most clusters still carry; status
// records the normalised mode, as KServe 0.16+ does (apis.md 1.2).
func (s *service) modeAnnotation() string {
	if s.knative() {
		return "Serverless"
	}
	return "RawDeployment"
}

// objectMeta is what the cluster holds about an object's identity.
type objectMeta struct {
	annotations map[string]string
	generation  int64
}

// inferenceService is the InferenceService the cluster holds for s at now,
// as client-go decodes it (integers are int64). meta carries what the
// platform does not model: annotations written by clients and the
// generation count.
func (w *world) inferenceService(s *service, now time.Time, meta objectMeta) *unstructured.Unstructured {
	first := s.revisions[0]
	metadata := map[string]any{
		"name":              s.name,
		"namespace":         s.namespace,
		"uid":               uuid4(w.h.key("uid/"+s.namespace+"/"+s.name), 0),
		"resourceVersion":   fmt.Sprint(s.resourceVersion),
		"generation":        meta.generation,
		"creationTimestamp": first.created.UTC().Format(time.RFC3339),
		"annotations":       stringMap(meta.annotations),
	}

	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kube.InferenceServices().GroupVersion().String(),
		"kind":       "InferenceService",
		"metadata":   metadata,
		"spec":       s.spec(),
		"status":     w.inferenceServiceStatus(s, now, meta.generation),
	}}
}

// spec is the InferenceService's spec: the predictor with its model.
func (s *service) spec() map[string]any {
	model := map[string]any{
		"modelFormat": map[string]any{"name": s.modelFormat},
		"runtime":     s.runtime,
		"storageUri":  s.storageURI,
	}
	if s.gpu {
		model["resources"] = map[string]any{
			"limits":   map[string]any{"nvidia.com/gpu": "1"},
			"requests": map[string]any{"nvidia.com/gpu": "1"},
		}
	}
	predictor := map[string]any{
		"minReplicas": int64(s.minReplicas),
		"maxReplicas": int64(s.maxReplicas),
		"model":       model,
	}
	if s.canary != nil {
		predictor["canaryTrafficPercent"] = int64(*s.canary)
	}
	return map[string]any{"predictor": predictor}
}

// inferenceServiceStatus is the status KServe writes for s: the same
// conditions, revisions and split the platform reports, in the CRD's shape.
// The demo's controller reconciles at once, so the observed generation is
// always the current one.
func (w *world) inferenceServiceStatus(s *service, now time.Time, generation int64) map[string]any {
	latest := s.latestCreated()
	failure := latest.failure
	since := latest.created.UTC().Format(time.RFC3339)
	var conds []sources.Condition
	mode := sources.ModeStandard
	if s.knative() {
		conds = knativeConditions(s.revisionName(latest.number), failure)
		mode = sources.ModeKnative
	} else {
		conds = standardConditions(failure)
	}
	conditions := make([]any, 0, len(conds))
	for _, c := range conds {
		cond := map[string]any{"type": c.Type, "status": c.Status, "lastTransitionTime": since}
		if c.Reason != "" {
			cond["reason"] = c.Reason
		}
		if c.Message != "" {
			cond["message"] = c.Message
		}
		conditions = append(conditions, cond)
	}

	host := fmt.Sprintf("%s.%s.%s", s.name, s.namespace, demoDomain)
	predictorHost := fmt.Sprintf("%s-predictor.%s.%s", s.name, s.namespace, demoDomain)
	predictor := map[string]any{"url": "http://" + predictorHost}
	if s.knative() {
		predictor["latestCreatedRevision"] = s.revisionName(latest.number)
		if ready := s.latestReady(); ready != 0 {
			predictor["latestReadyRevision"] = s.revisionName(ready)
		}
		if s.rolledOut != 0 {
			predictor["latestRolledoutRevision"] = s.revisionName(s.rolledOut)
		}
		if s.previous != 0 {
			predictor["previousRolledoutRevision"] = s.revisionName(s.previous)
		}
		if rt, _ := s.routeAt(now); rt != nil {
			traffic := make([]any, 0, len(rt.targets))
			for _, tg := range rt.targets {
				entry := map[string]any{
					"revisionName":   s.revisionName(tg.revision),
					"percent":        int64(tg.percent),
					"latestRevision": tg.latest,
				}
				if tg.prev {
					// Tagged targets get their own URL (apis.md 1.4).
					entry["tag"] = "prev"
					entry["url"] = "http://prev-" + predictorHost
				}
				traffic = append(traffic, entry)
			}
			predictor["traffic"] = traffic
		}
	}

	modelStatus := map[string]any{
		"transitionStatus": "UpToDate",
		"states":           map[string]any{"activeModelState": "Loaded", "targetModelState": "Loaded"},
		"copies":           map[string]any{"failedCopies": int64(0), "totalCopies": int64(1)},
	}
	if failure != "" {
		modelStatus = map[string]any{
			"transitionStatus": "BlockedByFailedLoad",
			"states":           map[string]any{"activeModelState": "Loaded", "targetModelState": "FailedToLoad"},
			"lastFailureInfo": map[string]any{
				"location": w.podName(s, latest.number, 0),
				"reason":   "ModelLoadFailed",
				"message":  failure,
				"time":     since,
			},
			"copies": map[string]any{"failedCopies": int64(1), "totalCopies": int64(1)},
		}
	}

	return map[string]any{
		"observedGeneration": generation,
		"deploymentMode":     mode,
		"url":                "http://" + host,
		"address":            map[string]any{"url": fmt.Sprintf("http://%s.%s.svc.cluster.local", s.name, s.namespace)},
		"conditions":         conditions,
		"components":         map[string]any{"predictor": predictor},
		"modelStatus":        modelStatus,
	}
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// defaultAnnotations are the annotations a service was created with.
func (s *service) defaultAnnotations() map[string]string {
	return map[string]string{kube.DeploymentModeAnnotation: s.modeAnnotation()}
}

// ---------------------------------------------------------------- pods

// revisionPodCount is how many pods one revision runs.
type revisionPodCount struct {
	revision int
	ready    int
	// crashing is true for the one pod of a revision whose model cannot load.
	crashing bool
}

// revisionPods breaks service.pods down by revision: every routed revision
// runs what its load needs, at least minReplicas and at most maxReplicas,
// and a latest revision that failed has one pod crash-looping. A test
// holds the sums to service.pods, which the platform's own fetcher uses.
func (s *service) revisionPods(t time.Time) []revisionPodCount {
	var out []revisionPodCount
	revs := s.revisionSamples(t)
	if rt, _ := s.routeAt(t); rt != nil {
		for _, tg := range rt.targets {
			var rps float64
			for _, rs := range revs {
				if rs.revision == tg.revision {
					rps = rs.rps
				}
			}
			n := int(math.Ceil(rps / s.podRPS))
			n = max(n, s.minReplicas)
			n = min(n, s.maxReplicas)
			out = append(out, revisionPodCount{revision: tg.revision, ready: n})
		}
	}
	if lc := s.latestCreated(); lc != nil && lc.failure != "" {
		out = append(out, revisionPodCount{revision: lc.number, crashing: true})
	}
	return out
}

// podName is the i-th pod of a revision. Knative names pods after the
// revision's Deployment, Standard mode after the predictor's, whose
// ReplicaSet hash changes with every pod template; the first pod of the
// rolled-out revision is world.servingPod, the one GPUs and OOM kills name.
func (w *world) podName(s *service, revision, i int) string {
	owner := s.name + "-predictor"
	rsKey := "pod/" + owner
	if s.knative() {
		owner = s.revisionName(revision) + "-deployment"
		rsKey = "pod/" + owner
	} else if revision != s.rolledOut {
		rsKey = fmt.Sprintf("pod/%s/%d", owner, revision)
	}
	k := w.h.key(rsKey)
	return owner + "-" + kubeSuffix(k, 0, 10) + "-" + kubeSuffix(k, 1+int64(i), 5)
}

// pods are the service's pods at now, as the kubelet reports them: ready
// serving pods, the crash-looping pod of a revision that failed, and the
// service's restarts and OOM kills on its first serving pod.
func (w *world) pods(s *service, now time.Time) []*corev1.Pod {
	var out []*corev1.Pod
	first := w.servingPod(s)
	for _, rp := range s.revisionPods(now) {
		rev := s.revision(rp.revision)
		n := rp.ready
		if rp.crashing {
			n = 1
		}
		for i := range n {
			pod := w.pod(s, rev, i, now)
			if rp.crashing {
				pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"}}
				pod.Status.ContainerStatuses[0].Ready = false
				pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
					Reason: "CrashLoopBackOff", Message: rev.failure}}
			}
			if pod.Name == first && !rp.crashing {
				w.addRestarts(s, pod, now)
			}
			out = append(out, pod)
		}
	}
	return out
}

// pod is one running, ready pod of a revision.
func (w *world) pod(s *service, rev *revision, i int, now time.Time) *corev1.Pod {
	name := w.podName(s, rev.number, i)
	labels := map[string]string{
		kube.ServiceLabel:   s.name,
		kube.ComponentLabel: "predictor",
		"app":               s.name + "-predictor",
	}
	containers := []corev1.ContainerStatus{{Name: "kserve-container", Ready: true}}
	if s.knative() {
		labels[revisionLabel] = s.revisionName(rev.number)
		labels[configurationLabel] = s.name + "-predictor"
		labels[knServiceLabel] = s.name + "-predictor"
		containers = append(containers, corev1.ContainerStatus{Name: "queue-proxy", Ready: true})
	}
	started := metav1.NewTime(rev.created)
	for i := range containers {
		containers[i].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name:              name,
			Namespace:         s.namespace,
			UID:               types.UID(uuid4(w.h.key("uid/pod/"+name), 0)),
			Labels:            labels,
			CreationTimestamp: started,
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: containers,
			StartTime:         &started,
		},
	}
}

// addRestarts puts the service's restarts on its model server container,
// with the OOM kill that caused the last one once it has happened.
func (w *world) addRestarts(s *service, pod *corev1.Pod, now time.Time) {
	cs := &pod.Status.ContainerStatuses[0]
	cs.RestartCount = int32(s.restarts)
	for _, o := range w.ooms {
		if o.pod != pod.Name || o.container != cs.Name || o.at.After(now) {
			continue
		}
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(o.at)}}
		cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(o.at.Add(2 * time.Second))}}
	}
}

// annotationsOrDefault returns a copy of the annotations a client wrote, or
// the ones the service was created with.
func annotationsOrDefault(s *service, written map[string]string) map[string]string {
	if written == nil {
		return s.defaultAnnotations()
	}
	return maps.Clone(written)
}

// ---------------------------------------------------------------- Knative revisions

// knativeRevisions is the resource of Knative's revisions, which a Knative-
// mode predictor is made of.
func knativeRevisions() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
}

// storageURIAnnotation is where KServe records, on the pod template and so
// on the revision, the model its storage initializer downloads.
const storageURIAnnotation = "serving.kserve.io/storage-initializer-sourceuri"

// knativeRevisionObjects are the Knative Revisions of a Knative-mode
// service at now: Ready unless its model failed to load, Active while it
// runs pods, with as many replicas as revisionPods gives it.
func (w *world) knativeRevisionObjects(s *service, now time.Time) []*unstructured.Unstructured {
	if !s.knative() {
		return nil
	}
	ready := map[int]int{}
	for _, rp := range s.revisionPods(now) {
		ready[rp.revision] += rp.ready
	}
	var out []*unstructured.Unstructured
	for i, rev := range s.revisions {
		since := rev.created.UTC().Format(time.RFC3339)
		cond := func(typ string, ok bool, reason, message string) map[string]any {
			c := map[string]any{"type": typ, "status": "True", "lastTransitionTime": since}
			if !ok {
				c["status"], c["reason"], c["message"] = "False", reason, message
			}
			return c
		}
		healthy := rev.failure == ""
		failed := "Container failed with: " + rev.failure
		n := ready[rev.number]
		conditions := []any{
			cond("Active", n > 0, "NoTraffic", "The target is not receiving traffic."),
			cond("ContainerHealthy", healthy, "ExitCode1", failed),
			cond("Ready", healthy, "ExitCode1", failed),
			cond("ResourcesAvailable", healthy, "ExitCode1", failed),
		}
		configuration := s.name + "-predictor"
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": knativeRevisions().GroupVersion().String(),
			"kind":       "Revision",
			"metadata": map[string]any{
				"name":              s.revisionName(rev.number),
				"namespace":         s.namespace,
				"uid":               uuid4(w.h.key("uid/revision/"+s.revisionName(rev.number)), 0),
				"resourceVersion":   fmt.Sprint(s.resourceVersion),
				"generation":        int64(1),
				"creationTimestamp": since,
				"labels": map[string]any{
					configurationLabel: configuration,
					"serving.knative.dev/configurationGeneration": fmt.Sprint(i + 1),
					knServiceLabel:      configuration,
					kube.ServiceLabel:   s.name,
					kube.ComponentLabel: "predictor",
				},
				"annotations": map[string]any{storageURIAnnotation: rev.storageURI},
			},
			"spec": map[string]any{
				"containers": []any{map[string]any{
					"name": "kserve-container",
					"env":  []any{map[string]any{"name": "STORAGE_URI", "value": rev.storageURI}},
				}},
			},
			"status": map[string]any{
				"observedGeneration": int64(1),
				"conditions":         conditions,
				"actualReplicas":     int64(n),
				"desiredReplicas":    int64(n),
			},
		}})
	}
	return out
}

// ---------------------------------------------------------------- namespaces

// namespaceObjects are the demo cluster's namespaces: the platform's and
// the system ones a KServe cluster has.
func (w *world) namespaceObjects() []*corev1.Namespace {
	var out []*corev1.Namespace
	for _, name := range []string{"default", "kube-system", "knative-serving", "kserve", "kubeflow", w.namespace} {
		out = append(out, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uuid4(w.h.key("uid/namespace/"+name), 0))},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
		})
	}
	return out
}
