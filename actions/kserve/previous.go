package kserve

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// StorageURIAnnotation is where KServe writes the predictor's storageUri on
// the pod template; Knative keeps the template's annotations on every
// Revision, so each revision remembers the model it served.
const StorageURIAnnotation = "serving.kserve.io/storage-initializer-sourceuri"

// RevisionModel finds the previous stable model of a service from the
// cluster itself, for rollback --to-previous-model: the model the stable
// revision served while a canary runs, else the model of the previously
// rolled-out revision. It reads Knative Revisions, so it needs get on
// revisions.serving.knative.dev in the namespace.
func RevisionModel(dyn dynamic.Interface) func(ctx context.Context, svc sources.Service) (string, error) {
	return func(ctx context.Context, svc sources.Service) (string, error) {
		var tried []string
		var lastErr error
		for _, rev := range candidateRevisions(svc) {
			obj, err := dyn.Resource(knativeRevisions()).Namespace(svc.Namespace).Get(ctx, rev, metav1.GetOptions{})
			if err != nil {
				if apierrors.IsForbidden(err) {
					return "", fmt.Errorf("you may not read Knative revisions in %s (RBAC), so the previous model cannot be found", svc.Namespace)
				}
				lastErr = err
				tried = append(tried, rev)
				continue
			}
			tried = append(tried, rev)
			if uri := clean.Text(obj.GetAnnotations()[StorageURIAnnotation]); uri != "" && uri != svc.StorageURI {
				return uri, nil
			}
		}
		if len(tried) == 0 {
			return "", errors.New("no previous revision is recorded in the service's status")
		}
		msg := fmt.Sprintf("revisions %s record no model other than the current one (%s)", strings.Join(tried, ", "), StorageURIAnnotation)
		if lastErr != nil {
			msg += ": " + clean.Text(lastErr.Error())
		}
		return "", errors.New(msg)
	}
}

// candidateRevisions are the revisions that may hold the previous model, in
// order: the stable one (it still serves while a canary runs), then the one
// rolled out before it.
func candidateRevisions(svc sources.Service) []string {
	var out []string
	for _, r := range []string{svc.StableRevision, svc.PreviousRevision} {
		if r != "" && r != svc.CanaryRevision && !contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
