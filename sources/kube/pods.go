package kube

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// Labels KServe puts on the pods of every component of an InferenceService
// (apis.md 2.4).
const (
	ServiceLabel   = "serving.kserve.io/inferenceservice"
	ComponentLabel = "component"
	predictor      = "predictor"
)

// OOMWindow is how far back OOM kills are reported: the alert rule counts
// kills per day.
const OOMWindow = 24 * time.Hour

// podFigures are one service's pod counts.
type podFigures struct {
	ready, total, restarts int
}

// summarisePods counts each service's pods and collects the OOM kills of
// the last OOMWindow before now, newest first.
//
// Ready and total count running predictor pods, the ones minReplicas and
// maxReplicas size; restarts add up every component's containers, because a
// crash-looping transformer breaks the service just as well. Pods in a
// final phase (evicted, completed) are history, not capacity, so they only
// contribute OOM kills.
func summarisePods(pods []*corev1.Pod, now time.Time) (map[sources.ServiceKey]podFigures, []sources.OOMKill) {
	figures := make(map[sources.ServiceKey]podFigures)
	var kills []sources.OOMKill
	for _, pod := range pods {
		service := pod.Labels[ServiceLabel]
		if service == "" {
			continue
		}
		kills = append(kills, oomKillsOf(pod, now)...)
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		key := sources.ServiceKey{Namespace: clean.Text(pod.Namespace), Name: clean.Text(service)}
		f := figures[key]
		for _, cs := range pod.Status.ContainerStatuses {
			f.restarts += int(cs.RestartCount)
		}
		if c := pod.Labels[ComponentLabel]; c == "" || c == predictor {
			f.total++
			if podReady(pod) {
				f.ready++
			}
		}
		figures[key] = f
	}
	sort.Slice(kills, func(i, j int) bool {
		a, b := kills[i], kills[j]
		if !a.At.Equal(b.At) {
			return a.At.After(b.At)
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Pod != b.Pod {
			return a.Pod < b.Pod
		}
		return a.Container < b.Container
	})
	return figures, kills
}

func podReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// oomKillsOf returns the pod's containers that were OOM-killed within
// OOMWindow before now: the current state (a container that stays dead)
// and the last termination (one that was restarted). The API keeps only the
// last termination of each container, so a container killed twice since
// its previous look counts once: this is a lower bound, and restarts tell
// the rest.
func oomKillsOf(pod *corev1.Pod, now time.Time) []sources.OOMKill {
	var out []sources.OOMKill
	since := now.Add(-OOMWindow)
	add := func(container string, t *corev1.ContainerStateTerminated) {
		if t == nil || t.Reason != "OOMKilled" || t.FinishedAt.IsZero() || t.FinishedAt.Time.Before(since) {
			return
		}
		for _, k := range out {
			if k.Container == container && k.At.Equal(t.FinishedAt.Time) {
				return // the same kill seen as state and as last state
			}
		}
		out = append(out, sources.OOMKill{
			Namespace: clean.Text(pod.Namespace),
			Pod:       clean.Text(pod.Name),
			Container: clean.Text(container),
			Service:   clean.Text(pod.Labels[ServiceLabel]),
			At:        t.FinishedAt.Time,
		})
	}
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, cs := range statuses {
			add(cs.Name, cs.State.Terminated)
			add(cs.Name, cs.LastTerminationState.Terminated)
		}
	}
	return out
}

// trimPod keeps only what summarisePods reads, so a namespace of model
// servers costs the cache a few hundred bytes per pod instead of its whole
// spec. It runs before the object reaches the cache and is idempotent, as
// client-go requires of a transform.
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:              pod.Name,
			Namespace:         pod.Namespace,
			UID:               pod.UID,
			ResourceVersion:   pod.ResourceVersion,
			DeletionTimestamp: pod.DeletionTimestamp,
		},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}
	if v, ok := pod.Labels[ServiceLabel]; ok {
		out.Labels = map[string]string{ServiceLabel: v}
		if c, ok := pod.Labels[ComponentLabel]; ok {
			out.Labels[ComponentLabel] = c
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			out.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
		}
	}
	out.Status.InitContainerStatuses = trimStatuses(pod.Status.InitContainerStatuses)
	out.Status.ContainerStatuses = trimStatuses(pod.Status.ContainerStatuses)
	return out, nil
}

func trimStatuses(in []corev1.ContainerStatus) []corev1.ContainerStatus {
	if len(in) == 0 {
		return nil
	}
	out := make([]corev1.ContainerStatus, len(in))
	for i, cs := range in {
		out[i] = corev1.ContainerStatus{
			Name:                 cs.Name,
			RestartCount:         cs.RestartCount,
			State:                corev1.ContainerState{Terminated: trimTerminated(cs.State.Terminated)},
			LastTerminationState: corev1.ContainerState{Terminated: trimTerminated(cs.LastTerminationState.Terminated)},
		}
	}
	return out
}

func trimTerminated(t *corev1.ContainerStateTerminated) *corev1.ContainerStateTerminated {
	if t == nil {
		return nil
	}
	return &corev1.ContainerStateTerminated{Reason: t.Reason, ExitCode: t.ExitCode, FinishedAt: t.FinishedAt}
}
