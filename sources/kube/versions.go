package kube

import (
	"context"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	"github.com/mltop/mltop/sources/clean"
)

// Where KServe's controller runs in a default install (config/default in
// kserve/kserve), and the container whose image names the release.
const (
	DefaultKServeNamespace = "kserve"
	kserveControllerName   = "kserve-controller-manager"
	kserveManagerContainer = "manager"
)

// The versions change only on upgrade: they are asked for again after
// versionsTTL, each request bounded by versionsTimeout so a slow API server
// delays a refresh by little.
const (
	versionsTTL     = 5 * time.Minute
	versionsTimeout = 3 * time.Second
)

// versionProbe reads the cluster's Kubernetes and KServe versions for the
// doctor's version check and keeps them for a while. Either may stay
// unknown (empty): an API server that hides /version, a user not allowed to
// read Deployments in the KServe namespace, KServe installed elsewhere.
// None of that is an error of the source.
type versionProbe struct {
	typed     kubernetes.Interface
	namespace string
	now       func() time.Time

	mu         sync.Mutex
	kubernetes string
	kserve     string
	expires    time.Time
}

func newVersionProbe(typed kubernetes.Interface, namespace string, now func() time.Time) *versionProbe {
	if namespace == "" {
		namespace = DefaultKServeNamespace
	}
	return &versionProbe{typed: typed, namespace: namespace, now: now}
}

// current returns the versions, asking the API server when the kept ones
// are older than versionsTTL. A failed answer keeps the last known value.
func (p *versionProbe) current(ctx context.Context) (kubernetesVersion, kserveVersion string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.now().Before(p.expires) {
		return p.kubernetes, p.kserve
	}
	if v, ok := p.kubernetesVersion(ctx); ok {
		p.kubernetes = v
	}
	if v, ok := p.kserveVersion(ctx); ok {
		p.kserve = v
	}
	p.expires = p.now().Add(versionsTTL)
	return p.kubernetes, p.kserve
}

func (p *versionProbe) kubernetesVersion(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, versionsTimeout)
	defer cancel()
	info, err := discovery.ToServerVersionInterfaceWithContext(p.typed.Discovery()).ServerVersionWithContext(ctx)
	if err != nil || info == nil {
		return "", false
	}
	if strings.HasPrefix(info.GitVersion, "v0.0.0") {
		// A build without version stamping (v0.0.0-master+$Format:%H$, as
		// client-go's fake and development clusters report) names no
		// release the compatibility matrix could judge.
		return "", true
	}
	return clean.Text(info.GitVersion), true
}

// kserveVersion is the tag of the controller's image. ok is true when the
// answer is definite, including "not installed here" and "not allowed to
// look": both leave the version unknown until the next probe.
func (p *versionProbe) kserveVersion(ctx context.Context) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, versionsTimeout)
	defer cancel()
	d, err := p.typed.AppsV1().Deployments(p.namespace).Get(ctx, kserveControllerName, metav1.GetOptions{})
	if err != nil {
		return "", ctx.Err() == nil
	}
	containers := d.Spec.Template.Spec.Containers
	for _, c := range containers {
		if c.Name == kserveManagerContainer {
			return clean.Text(imageTag(c.Image)), true
		}
	}
	if len(containers) > 0 {
		return clean.Text(imageTag(containers[0].Image)), true
	}
	return "", true
}

// imageTag is the tag of an image reference: kserve/kserve-controller:v0.14.1
// gives v0.14.1, and a reference pinned by digest only gives "" (a digest
// names no release).
func imageTag(image string) string {
	image, _, _ = strings.Cut(image, "@")
	slash := strings.LastIndex(image, "/")
	colon := strings.LastIndex(image, ":")
	if colon <= slash { // no tag, or the colon belongs to a registry's port
		return ""
	}
	return image[colon+1:]
}
