package kserve

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
	"github.com/mltop/mltop/sources/kube"
)

// verify waits until the service reaches the plan's intent, the verify
// timeout passes or ctx ends. It watches the one service and falls back to
// polling GETs when the watch is refused or breaks. It returns the last
// state seen (at least the patch's answer), whether the intent was met, and
// what it was still waiting for; gone reports that the service was deleted.
func (e *Executor) verify(ctx context.Context, p actions.Plan, patched *unstructured.Unstructured, report func(string)) (final *unstructured.Unstructured, met, gone bool, waiting string) {
	ctx, cancel := context.WithTimeout(ctx, e.o.VerifyTimeout)
	defer cancel()

	final = patched
	lastReport := ""
	seen := func(obj *unstructured.Unstructured) bool {
		final = obj
		var missing []string
		met, missing = intentMet(p, obj)
		waiting = strings.Join(missing, "; ")
		msg := "patched, waiting for " + wanted(p)
		if waiting != "" {
			msg += " (now: " + waiting + ")"
		}
		if met {
			msg = "patched, " + wanted(p) + " reached"
		}
		if msg != lastReport {
			lastReport = msg
			report(msg)
		}
		return met
	}
	if seen(patched) {
		return final, true, false, ""
	}

	services := e.o.Dynamic.Resource(inferenceServices()).Namespace(p.Request.Namespace)
	selector := fields.OneTermEqualSelector("metadata.name", p.Request.Name).String()
	for {
		if obj, err := services.Get(ctx, p.Request.Name, metav1.GetOptions{}); err == nil {
			if seen(obj) {
				return final, true, false, ""
			}
		} else if ctx.Err() == nil {
			e.log.Debug("verify: reading the service failed", "service", keyOf(p).String(), "err", err)
		}
		w, err := services.Watch(ctx, metav1.ListOptions{FieldSelector: selector})
		if err == nil {
			done, deleted := e.consume(ctx, w, p.Request.Name, seen)
			w.Stop()
			if done || deleted {
				return final, done, deleted, waiting
			}
		} else if ctx.Err() == nil {
			e.log.Debug("verify: watch refused, polling instead", "service", keyOf(p).String(), "err", err)
		}
		if !sleep(ctx, e.pollInterval) {
			return final, false, false, waiting
		}
	}
}

// consume reads watch events until the intent is met (done), the service is
// deleted (gone), the watch ends or ctx ends.
func (e *Executor) consume(ctx context.Context, w watch.Interface, name string, seen func(*unstructured.Unstructured) bool) (done, gone bool) {
	for {
		select {
		case <-ctx.Done():
			return false, false
		case ev, open := <-w.ResultChan():
			if !open {
				return false, false
			}
			obj, ok := ev.Object.(*unstructured.Unstructured)
			switch {
			case ev.Type == watch.Error:
				e.log.Debug("verify: watch error, polling instead", "event", ev.Object)
				return false, false
			case !ok || obj.GetName() != name:
				// Not every server (nor every fake) applies the field selector.
				continue
			case ev.Type == watch.Deleted:
				return false, true
			case ev.Type == watch.Added || ev.Type == watch.Modified:
				if seen(obj) {
					return true, false
				}
			}
		}
	}
}

// wanted describes the state verify waits for, e.g. "traffic 0/100"
// (latest revision / the others).
func wanted(p actions.Plan) string {
	in := p.Intent
	switch {
	case in.CanaryTraffic != nil:
		return fmt.Sprintf("traffic %d/%d", *in.CanaryTraffic, 100-*in.CanaryTraffic)
	case p.Request.Kind == actions.Pin && in.MinReplicas != nil:
		return fmt.Sprintf("minReplicas %d and Ready", *in.MinReplicas)
	case p.Request.Kind == actions.Pin:
		return "minReplicas unset and Ready"
	case in.StorageURI != "":
		return "the previous model to be Ready"
	}
	return "Ready"
}

// intentMet compares an observed state with the plan: every changed field
// holds its new value, the controller has seen the change, the traffic split
// is the intended one, a new revision (after a pod template change) is
// ready, and the service is Ready. missing says what is not there yet.
func intentMet(p actions.Plan, obj *unstructured.Unstructured) (met bool, missing []string) {
	svc := kube.ServiceFrom(obj)
	for _, c := range p.Changes {
		got, present := fieldText(obj.Object, changePath(c.Path)...)
		switch {
		case c.ToAbsent && present:
			missing = append(missing, fmt.Sprintf("%s is still %s", lastSegment(c.Path), got))
		case !c.ToAbsent && (!present || got != c.To):
			missing = append(missing, fmt.Sprintf("%s is %s", lastSegment(c.Path), orDefault(got, "not set")))
		}
	}
	if gen, observedGen := obj.GetGeneration(), generationObserved(obj); observedGen < gen {
		missing = append(missing, fmt.Sprintf("the controller has not caught up (generation %d, observed %d)", gen, observedGen))
	}
	if want := p.Intent.CanaryTraffic; want != nil {
		latest, others, hasTraffic := split(svc)
		switch {
		case !hasTraffic:
			missing = append(missing, "no traffic in status yet")
		case latest != *want || others != 100-*want:
			missing = append(missing, fmt.Sprintf("traffic %d/%d", latest, others))
		}
	}
	if changesTemplate(p) && !trafficless(svc.Mode) {
		created := stringAt(obj.Object, "status", "components", "predictor", "latestCreatedRevision")
		ready := stringAt(obj.Object, "status", "components", "predictor", "latestReadyRevision")
		if created != "" && created != ready {
			missing = append(missing, fmt.Sprintf("new revision %s is not ready", clean.Text(created)))
		}
	}
	if !svc.Ready {
		missing = append(missing, "not Ready: "+orDefault(svc.Reason, "no reason given"))
	}
	return len(missing) == 0, missing
}

// split sums the traffic of the latest revision and of the others.
func split(svc sources.Service) (latest, others int, hasTraffic bool) {
	for _, t := range svc.Traffic {
		hasTraffic = true
		if t.Latest {
			latest += t.Percent
		} else {
			others += t.Percent
		}
	}
	return latest, others, hasTraffic
}

// changesTemplate reports whether the patch changes the predictor's pod
// template, which in Knative mode creates a new revision.
func changesTemplate(p actions.Plan) bool {
	for _, c := range p.Changes {
		if strings.HasPrefix(c.Path, "spec.predictor.") && c.Path != pathCanaryPercent {
			return true
		}
	}
	return false
}

func generationObserved(obj *unstructured.Unstructured) int64 {
	n, ok := intAt(obj.Object, "status", "observedGeneration")
	if !ok {
		// A status without observedGeneration cannot say it is behind.
		return obj.GetGeneration()
	}
	return int64(n)
}

func lastSegment(path string) string {
	if p := changePath(path); len(p) > 0 {
		return p[len(p)-1]
	}
	return path
}

// sleep waits d or until ctx is done; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
