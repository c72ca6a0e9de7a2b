package kube

import (
	"errors"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"
)

func kserveController(namespace string, images ...string) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "kserve-controller-manager"}}
	names := []string{"kube-rbac-proxy", "manager"}
	for i, image := range images {
		d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: names[i%2], Image: image})
	}
	return d
}

// TestFetchReportsClusterVersions: the doctor's version check reads the
// API server's gitVersion and the KServe controller's image tag, and asks
// again only after a while.
func TestFetchReportsClusterVersions(t *testing.T) {
	dyn, typed := newFakes(nil)
	if err := typed.Tracker().Add(kserveController("kserve", "gcr.io/kubebuilder/kube-rbac-proxy:v0.13.1", "kserve/kserve-controller:v0.14.1")); err != nil {
		t.Fatal(err)
	}
	typed.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.29.4-gke.1043002"}
	clock := fixedClock()
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, Now: func() time.Time { return clock }})
	inv := fetchOK(t, s)
	if inv.KubernetesVersion != "v1.29.4-gke.1043002" || inv.KServeVersion != "v0.14.1" {
		t.Fatalf("versions %q %q", inv.KubernetesVersion, inv.KServeVersion)
	}
	probes := func() (n int) {
		for _, a := range typed.Actions() {
			if a.GetVerb() == "get" && (a.GetResource().Resource == "version" || a.GetResource().Resource == "deployments") {
				n++
			}
		}
		return n
	}
	if n := probes(); n != 2 {
		t.Fatalf("%d probe calls, want 2", n)
	}
	clock = clock.Add(time.Minute)
	fetchOK(t, s)
	if n := probes(); n != 2 {
		t.Errorf("asked again within the lifetime: %d calls", n)
	}
	typed.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.30.2"}
	clock = clock.Add(versionsTTL)
	if inv := fetchOK(t, s); inv.KubernetesVersion != "v1.30.2" || probes() != 4 {
		t.Errorf("after the lifetime: %q after %d calls", inv.KubernetesVersion, probes())
	}
}

// TestUnreadableKServeIsUnknownNotAnError: a user who may not read
// Deployments in the KServe namespace, or a cluster without KServe there,
// still gets the inventory; only the version is unknown.
func TestUnreadableKServeIsUnknownNotAnError(t *testing.T) {
	for name, setup := range map[string]func(f *k8stesting.Fake){
		"forbidden": func(f *k8stesting.Fake) {
			f.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(appsv1.Resource("deployments"), "kserve-controller-manager", errors.New("RBAC"))
			})
		},
		"not installed":    func(*k8stesting.Fake) {},
		"unreleased build": func(*k8stesting.Fake) {}, // the fake reports v0.0.0-master+$Format:%H$
		"version hidden": func(f *k8stesting.Fake) {
			f.PrependReactor("get", "version", func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, errors.New("the server could not find the requested resource")
			})
		},
	} {
		t.Run(name, func(t *testing.T) {
			dyn, typed := newFakes(nil)
			setup(&typed.Fake)
			s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}})
			inv := fetchOK(t, s)
			if inv.KServeVersion != "" {
				t.Errorf("KServe version %q", inv.KServeVersion)
			}
			if (name == "version hidden" || name == "unreleased build") && inv.KubernetesVersion != "" {
				t.Errorf("Kubernetes version %q", inv.KubernetesVersion)
			}
		})
	}
}

// TestKServeNamespaceIsConfigurable: an install outside "kserve".
func TestKServeNamespaceIsConfigurable(t *testing.T) {
	dyn, typed := newFakes(nil)
	if err := typed.Tracker().Add(kserveController("kserve-system", "kserve/kserve-controller:v0.13.2")); err != nil {
		t.Fatal(err)
	}
	s := startSource(t, Options{Dynamic: dyn, Typed: typed, Namespaces: []string{"ml-prod"}, KServeNamespace: "kserve-system"})
	if inv := fetchOK(t, s); inv.KServeVersion != "v0.13.2" {
		t.Errorf("KServe version %q", inv.KServeVersion)
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"kserve/kserve-controller:v0.14.1":                       "v0.14.1",
		"registry.local:5000/kserve/kserve-controller:v0.13.0":   "v0.13.0",
		"registry.local:5000/kserve/kserve-controller":           "",
		"kserve/kserve-controller:v0.14.1@sha256:0123456789abcd": "v0.14.1",
		"kserve/kserve-controller@sha256:0123456789abcd":         "",
		"kserve-controller":                                      "",
	} {
		if got := imageTag(image); got != want {
			t.Errorf("imageTag(%q) = %q, want %q", image, got, want)
		}
	}
}
