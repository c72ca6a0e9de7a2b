package kserve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mltop/mltop/sources/clean"
)

// maxListedServices bounds the names a "no such service" error lists.
const maxListedServices = 8

// get reads one InferenceService, explaining a failure in the user's terms.
func (e *Executor) get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	obj, err := e.o.Dynamic.Resource(inferenceServices()).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case err == nil:
		return obj, nil
	case apierrors.IsNotFound(err):
		return nil, e.explainMissing(ctx, namespace, name)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("you may not read InferenceService %q in namespace %s: %s", name, namespace, apiMessage(err))
	}
	return nil, fmt.Errorf("reading InferenceService %s/%s: %s", namespace, name, apiMessage(err))
}

// explainMissing says why a service was not found: the namespace does not
// exist, KServe is not installed, or the namespace has other services (named,
// when the user may list them), and where a service of that name lives if
// the user may list across namespaces.
func (e *Executor) explainMissing(ctx context.Context, namespace, name string) error {
	_, nsErr := e.o.Typed.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	var msg string
	if apierrors.IsNotFound(nsErr) {
		msg = fmt.Sprintf("namespace %q does not exist, so it has no InferenceService %q", namespace, name)
	} else {
		msg = fmt.Sprintf("no InferenceService %q in namespace %s", name, namespace)
		// A user who may not read the namespace may still list services in
		// it: the list decides, the namespace read only sharpens the message.
		list, err := e.o.Dynamic.Resource(inferenceServices()).Namespace(namespace).List(ctx, metav1.ListOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return fmt.Errorf("%s: this cluster does not serve %s (is KServe installed?)", msg, inferenceServices().GroupResource())
		case err == nil && len(list.Items) == 0:
			msg += " (it has no InferenceServices)"
		case err == nil:
			msg += "; it has " + listNames(list.Items)
		}
	}
	if elsewhere := e.namespacesHolding(ctx, name, namespace); len(elsewhere) > 0 {
		msg += fmt.Sprintf("; an InferenceService %q exists in %s", name, strings.Join(elsewhere, ", "))
	}
	return errors.New(msg)
}

// namespacesHolding lists the other namespaces with a service of that name,
// when the user may list services cluster-wide; nil otherwise.
func (e *Executor) namespacesHolding(ctx context.Context, name, except string) []string {
	list, err := e.o.Dynamic.Resource(inferenceServices()).List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return nil
	}
	var out []string
	for _, it := range list.Items {
		// Filtered again: not every server (nor every fake) applies the selector.
		if it.GetName() == name && it.GetNamespace() != except {
			out = append(out, clean.Text(it.GetNamespace()))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func listNames(items []unstructured.Unstructured) string {
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, clean.Text(it.GetName()))
	}
	slices.Sort(names)
	if len(names) > maxListedServices {
		return strings.Join(names[:maxListedServices], ", ") + fmt.Sprintf(" and %d more", len(names)-maxListedServices)
	}
	return strings.Join(names, ", ")
}

// apiMessage is an API error's message, cleaned: it comes from the server
// (and from admission webhooks) and may carry terminal escapes.
func apiMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return clean.Text(status.Status().Message)
	}
	return clean.Text(err.Error())
}
