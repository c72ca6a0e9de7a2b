package kube

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mltop/mltop/sources"
)

func TestOOMKillWindow(t *testing.T) {
	now := fixedClock()
	terminated := func(reason string, at time.Time) *corev1.ContainerStateTerminated {
		return &corev1.ContainerStateTerminated{Reason: reason, ExitCode: 137, FinishedAt: metav1.NewTime(at)}
	}
	pod := predictorPod("ml-prod", "fraud-model-predictor-00002-deployment-7f9-abcde", "fraud-model", false, 4)
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "queue-proxy"}, corev1.Container{Name: "agent"}, corev1.Container{Name: "logger"})
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{
		// Restarted after an OOM kill an hour ago: counted.
		{Name: "kserve-container", LastTerminationState: corev1.ContainerState{Terminated: terminated("OOMKilled", now.Add(-time.Hour))}},
		// Exactly 24 h ago: still inside the window.
		{Name: "queue-proxy", LastTerminationState: corev1.ContainerState{Terminated: terminated("OOMKilled", now.Add(-24*time.Hour))}},
		// One second too old.
		{Name: "agent", LastTerminationState: corev1.ContainerState{Terminated: terminated("OOMKilled", now.Add(-24*time.Hour-time.Second))}},
		// A recent exit for another reason.
		{Name: "logger", LastTerminationState: corev1.ContainerState{Terminated: terminated("Error", now.Add(-time.Minute))}},
	}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{
		// Dead right now from an OOM kill (no restart yet), with the same
		// kill also in its last state: counted once.
		{Name: "storage-initializer",
			State:                corev1.ContainerState{Terminated: terminated("OOMKilled", now.Add(-2*time.Minute))},
			LastTerminationState: corev1.ContainerState{Terminated: terminated("OOMKilled", now.Add(-2*time.Minute))}},
	}
	want := []sources.OOMKill{
		{Namespace: "ml-prod", Pod: pod.Name, Container: "storage-initializer", Service: "fraud-model", At: now.Add(-2 * time.Minute)},
		{Namespace: "ml-prod", Pod: pod.Name, Container: "kserve-container", Service: "fraud-model", At: now.Add(-time.Hour)},
		{Namespace: "ml-prod", Pod: pod.Name, Container: "queue-proxy", Service: "fraud-model", At: now.Add(-24 * time.Hour)},
	}
	_, got := summarisePods([]*corev1.Pod{pod}, now)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("OOM kills:\n got %+v\nwant %+v", got, want)
	}

	// The same pod a day later: the window has moved past every kill.
	if _, later := summarisePods([]*corev1.Pod{pod}, now.Add(24*time.Hour)); len(later) != 0 {
		t.Errorf("a day later still %d kills: %+v", len(later), later)
	}
}

func TestSummarisePods(t *testing.T) {
	now := fixedClock()
	transformer := predictorPod("ml-prod", "fraud-model-transformer-1", "fraud-model", true, 5)
	transformer.Labels[ComponentLabel] = "transformer"
	evicted := predictorPod("ml-prod", "fraud-model-predictor-old", "fraud-model", false, 9)
	evicted.Status.Phase = corev1.PodFailed
	oomEvicted := oomKilledAt(predictorPod("ml-prod", "churn-old", "churn-xgb", false, 0), now.Add(-3*time.Hour))
	oomEvicted.Status.Phase = corev1.PodFailed
	noLabel := predictorPod("ml-prod", "some-job", "", true, 7)
	delete(noLabel.Labels, ServiceLabel)
	pods := []*corev1.Pod{
		predictorPod("ml-prod", "fraud-model-predictor-1", "fraud-model", true, 1),
		predictorPod("ml-prod", "fraud-model-predictor-2", "fraud-model", false, 2),
		transformer, evicted, oomEvicted, noLabel,
		predictorPod("ml-staging", "fraud-model-predictor-1", "fraud-model", true, 0),
	}
	figures, kills := summarisePods(pods, now)
	want := map[sources.ServiceKey]podFigures{
		// 2 running predictor pods, 1 ready; restarts 1+2 plus the transformer's 5.
		{Namespace: "ml-prod", Name: "fraud-model"}:    {ready: 1, total: 2, restarts: 8},
		{Namespace: "ml-staging", Name: "fraud-model"}: {ready: 1, total: 1, restarts: 0},
	}
	if !reflect.DeepEqual(figures, want) {
		t.Errorf("figures:\n got %+v\nwant %+v", figures, want)
	}
	// A pod that is gone for good still tells of its OOM kill.
	if len(kills) != 1 || kills[0].Pod != "churn-old" || kills[0].Service != "churn-xgb" {
		t.Errorf("kills = %+v", kills)
	}
}

// Trimming a pod for the cache keeps every figure, and trimming twice
// changes nothing (client-go requires transforms to be idempotent).
func TestTrimPodKeepsTheFigures(t *testing.T) {
	now := fixedClock()
	p := oomKilledAt(predictorPod("ml-prod", "fraud-model-predictor-1", "fraud-model", true, 3), now.Add(-time.Hour))
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "storage-initializer",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", FinishedAt: metav1.NewTime(now)}}}}
	once, _ := trimPod(p.DeepCopy())
	twice, _ := trimPod(once)
	if !reflect.DeepEqual(once, twice) {
		t.Error("trimPod is not idempotent")
	}
	fullFigures, fullKills := summarisePods([]*corev1.Pod{p}, now)
	trimFigures, trimKills := summarisePods([]*corev1.Pod{once.(*corev1.Pod)}, now)
	if !reflect.DeepEqual(fullFigures, trimFigures) || !reflect.DeepEqual(fullKills, trimKills) || len(fullKills) != 2 {
		t.Errorf("trimmed pod reads differently:\n full %+v %+v\n trim %+v %+v", fullFigures, fullKills, trimFigures, trimKills)
	}
	if len(once.(*corev1.Pod).Spec.Containers) != 0 {
		t.Error("the spec was kept")
	}
}
