package sim

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

func fraudKey() sources.ServiceKey {
	return sources.ServiceKey{Namespace: demoNamespace, Name: "fraud-detector"}
}

func intp(v int) *int { return &v }

func serviceOf(t testing.TB, p *Platform, name string) sources.Service {
	t.Helper()
	s, ok := p.Service(demoNamespace, name)
	if !ok {
		t.Fatalf("no service %s", name)
	}
	return s
}

func resourceVersion(t testing.TB, s sources.Service) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", s.ResourceVersion, err)
	}
	return v
}

func TestRollbackEndsTheRegressionWithinSeconds(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	p.Advance(5 * time.Minute)
	if row, _ := snapshot(t, p).Row(fraudKey()); row.Metrics.ErrorRate < 0.01 {
		t.Fatalf("no regression to roll back: service errors %.4f", row.Metrics.ErrorRate)
	}
	if err := p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)); err != nil {
		t.Fatal(err)
	}
	svc := serviceOf(t, p, "fraud-detector")
	if svc.InCanary() || !svc.HasCanaryPercent || svc.CanaryPercent != 0 {
		t.Errorf("after rollback: in canary %v, canaryTrafficPercent %d/%v", svc.InCanary(), svc.CanaryPercent, svc.HasCanaryPercent)
	}
	want := []sources.TrafficTarget{
		{Revision: "fraud-detector-predictor-00002", Percent: 0, Latest: true},
		{Revision: "fraud-detector-predictor-00001", Percent: 100, Tag: "prev"},
	}
	if !equalTraffic(svc.Traffic, want) {
		t.Errorf("traffic %v, want %v", svc.Traffic, want)
	}

	p.Advance(10 * time.Second)
	s := snapshot(t, p)
	row, _ := s.Row(fraudKey())
	within(t, "service errors 10 s after rollback", row.Metrics.ErrorRate, 0.004, 0.006)
	within(t, "service p99 10 s after rollback (ms)", ms(row.Metrics.P99), 150, 220)
	within(t, "service RPS", row.Metrics.RPS, 85, 115)
	if len(s.Canaries) != 0 {
		t.Errorf("canary view after rollback: %+v", s.Canaries)
	}
	p.Advance(time.Second)
	m := fetchAll(t, p).met
	canary := m.Revisions[sources.ServiceKey{Namespace: demoNamespace, Name: "fraud-detector-predictor-00002"}]
	if canary.RPS != 0 {
		t.Errorf("canary still gets %.2f req/s", canary.RPS)
	}
	// The chart shows the rollback: errors were high a few minutes ago.
	trend := m.Services[fraudKey()].ErrTrend
	if trend[len(trend)-2].V < 0.01 {
		t.Errorf("error trend forgot the regression: %.4f a minute ago", trend[len(trend)-2].V)
	}
}

func TestPromoteMakesTheCanaryTheService(t *testing.T) {
	p := newPlatform(t, Options{Seed: 2})
	p.Advance(5 * time.Minute)
	if err := p.SetCanaryPercent(demoNamespace, "fraud-detector", nil); err != nil {
		t.Fatal(err)
	}
	svc := serviceOf(t, p, "fraud-detector")
	if svc.InCanary() || svc.HasCanaryPercent || svc.CanaryRevision != "" {
		t.Errorf("after promote: %+v", svc)
	}
	if svc.StableRevision != "fraud-detector-predictor-00002" || svc.PreviousRevision != "fraud-detector-predictor-00001" {
		t.Errorf("stable %s previous %s", svc.StableRevision, svc.PreviousRevision)
	}
	want := []sources.TrafficTarget{{Revision: "fraud-detector-predictor-00002", Percent: 100, Latest: true}}
	if !equalTraffic(svc.Traffic, want) {
		t.Errorf("traffic %v", svc.Traffic)
	}
	p.Advance(10 * time.Second)
	row, _ := snapshot(t, p).Row(fraudKey())
	// The promoted revision had regressed: the service is now as bad as it.
	within(t, "service errors after promoting a bad canary", row.Metrics.ErrorRate, 0.034, 0.046)
	within(t, "service p99 after promoting a bad canary (ms)", ms(row.Metrics.P99), 600, 800)

	// Rolling back a completed rollout points the traffic at the previous
	// revision again, as KServe does.
	if err := p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)); err != nil {
		t.Fatal(err)
	}
	svc = serviceOf(t, p, "fraud-detector")
	if svc.StableRevision != "fraud-detector-predictor-00001" || svc.CanaryRevision != "fraud-detector-predictor-00002" {
		t.Errorf("after rolling back the rollout: stable %s canary %s", svc.StableRevision, svc.CanaryRevision)
	}
	p.Advance(10 * time.Second)
	row, _ = snapshot(t, p).Row(fraudKey())
	within(t, "service errors after rolling back the rollout", row.Metrics.ErrorRate, 0.004, 0.006)
}

func TestSetMinReplicasShowsOnTheService(t *testing.T) {
	p := newPlatform(t, Options{Seed: 3})
	before := serviceOf(t, p, "recommendation-classifier")
	if err := p.SetMinReplicas(demoNamespace, "recommendation-classifier", 4); err != nil {
		t.Fatal(err)
	}
	after := serviceOf(t, p, "recommendation-classifier")
	if after.MinReplicas != 4 || after.PodsTotal < 4 || after.PodsReady != after.PodsTotal {
		t.Errorf("minReplicas %d, pods %d/%d", after.MinReplicas, after.PodsReady, after.PodsTotal)
	}
	if resourceVersion(t, after) <= resourceVersion(t, before) {
		t.Errorf("resourceVersion %s -> %s did not increase", before.ResourceVersion, after.ResourceVersion)
	}
	if err := p.SetMinReplicas(demoNamespace, "search-ranker", 1); err != nil {
		t.Fatal(err)
	}
	if got := serviceOf(t, p, "search-ranker").MinReplicas; got != 1 {
		t.Errorf("search-ranker minReplicas %d after pinning to 1", got)
	}
}

func TestResourceVersionIncreasesOnEveryChange(t *testing.T) {
	p := newPlatform(t, Options{Seed: 4})
	last := resourceVersion(t, serviceOf(t, p, "fraud-detector"))
	changes := []func() error{
		func() error { return p.SetMinReplicas(demoNamespace, "fraud-detector", 2) },
		func() error { return p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(50)) },
		func() error { return p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(0)) },
		func() error {
			return p.SetStorageURI(demoNamespace, "fraud-detector", "gs://mlflow-artifacts/5/0123456789abcdef0123456789abcdef/artifacts/model")
		},
		func() error { return p.SetCanaryPercent(demoNamespace, "fraud-detector", nil) },
	}
	for i, change := range changes {
		p.Advance(time.Second)
		if err := change(); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		rv := resourceVersion(t, serviceOf(t, p, "fraud-detector"))
		if rv <= last {
			t.Errorf("change %d: resourceVersion %d after %d", i, rv, last)
		}
		last = rv
	}
	// An untouched service keeps its version; a refused change changes nothing.
	churn := serviceOf(t, p, "churn-model")
	if err := p.SetCanaryPercent(demoNamespace, "churn-model", intp(10)); err == nil {
		t.Fatal("canary accepted on a Standard-mode service")
	}
	if got := serviceOf(t, p, "churn-model"); got.ResourceVersion != churn.ResourceVersion || got.HasCanaryPercent {
		t.Errorf("refused change altered churn-model: %+v", got)
	}
}

func TestUnknownServiceIsAClearError(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	for _, err := range []error{
		p.SetCanaryPercent(demoNamespace, "xyz", intp(0)),
		p.SetMinReplicas(demoNamespace, "xyz", 1),
		p.SetStorageURI(demoNamespace, "xyz", "gs://a/artifacts/model"),
	} {
		if err == nil || err.Error() != "no InferenceService ml-prod/xyz" {
			t.Errorf("error %v, want \"no InferenceService ml-prod/xyz\"", err)
		}
		var nf *NotFoundError
		if !errors.As(err, &nf) || nf.Key.Name != "xyz" {
			t.Errorf("error %v is not a NotFoundError", err)
		}
	}
	if err := p.SetMinReplicas("default", "fraud-detector", 1); err == nil || !strings.Contains(err.Error(), "default/fraud-detector") {
		t.Errorf("wrong namespace: %v", err)
	}
	if _, ok := p.Service(demoNamespace, "xyz"); ok {
		t.Error("Service found xyz")
	}
}

func TestInvalidChangesAreRefused(t *testing.T) {
	p := newPlatform(t, Options{Seed: 1})
	cases := map[string]error{
		"percent above 100":        p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(101)),
		"negative percent":         p.SetCanaryPercent(demoNamespace, "fraud-detector", intp(-1)),
		"canary in Standard mode":  p.SetCanaryPercent(demoNamespace, "churn-model", intp(20)),
		"negative minReplicas":     p.SetMinReplicas(demoNamespace, "fraud-detector", -1),
		"minReplicas over maximum": p.SetMinReplicas(demoNamespace, "fraud-detector", 5),
		"MLflow URI scheme":        p.SetStorageURI(demoNamespace, "recommendation-classifier", "runs:/abc/model"),
	}
	for what, err := range cases {
		if err == nil {
			t.Errorf("%s accepted", what)
		}
	}
	if got := serviceOf(t, p, "fraud-detector"); got.CanaryPercent != 20 || got.MinReplicas != 1 {
		t.Errorf("refused changes altered fraud-detector: %+v", got)
	}
}

func TestStorageURIWithoutModelSuffixFailsToLoad(t *testing.T) {
	p := newPlatform(t, Options{Seed: 5})
	before := serviceOf(t, p, "recommendation-classifier")
	broken := strings.TrimSuffix(before.StorageURI, "/model")
	if err := p.SetStorageURI(demoNamespace, "recommendation-classifier", broken); err != nil {
		t.Fatal(err)
	}
	svc := serviceOf(t, p, "recommendation-classifier")
	if svc.Ready || !strings.Contains(svc.Reason, `Could not find an "MLmodel" configuration file`) {
		t.Errorf("ready %v, reason %q", svc.Ready, svc.Reason)
	}
	if !equalTraffic(svc.Traffic, before.Traffic) || svc.StableRevision != before.StableRevision {
		t.Errorf("a revision that failed took traffic: %v", svc.Traffic)
	}
	if svc.PodsReady >= svc.PodsTotal {
		t.Errorf("pods %d/%d: the failing revision's pod should not be ready", svc.PodsReady, svc.PodsTotal)
	}
	p.Advance(30 * time.Second)
	row, _ := snapshot(t, p).Row(sources.ServiceKey{Namespace: demoNamespace, Name: "recommendation-classifier"})
	if row.Metrics.RPS <= 0 {
		t.Error("the old revision stopped serving")
	}

	// Fixing the path rolls a new revision out.
	if err := p.SetStorageURI(demoNamespace, "recommendation-classifier", broken+"/model"); err != nil {
		t.Fatal(err)
	}
	svc = serviceOf(t, p, "recommendation-classifier")
	if !svc.Ready || svc.StableRevision != "recommendation-classifier-predictor-00007" ||
		svc.PreviousRevision != "recommendation-classifier-predictor-00005" {
		t.Errorf("after the fix: ready %v stable %s previous %s", svc.Ready, svc.StableRevision, svc.PreviousRevision)
	}

	// Standard mode rolls the Deployment; a bad path leaves it not ready too.
	churn := serviceOf(t, p, "churn-model")
	if err := p.SetStorageURI(demoNamespace, "churn-model", strings.TrimSuffix(churn.StorageURI, "/model")); err != nil {
		t.Fatal(err)
	}
	if got := serviceOf(t, p, "churn-model"); got.Ready || got.Traffic != nil || got.StableRevision != "" {
		t.Errorf("churn-model with a bad path: %+v", got)
	}
}

func TestNewModelDuringACanaryBecomesTheCanary(t *testing.T) {
	p := newPlatform(t, Options{Seed: 6})
	p.Advance(5 * time.Minute)
	stable := serviceOf(t, p, "fraud-detector")
	// Redeploying the stable model as the canary is the seed's advice for a
	// rollback that canaryTrafficPercent cannot do.
	prev := p.w.service("fraud-detector").revision(1).storageURI
	if err := p.SetStorageURI(demoNamespace, "fraud-detector", prev); err != nil {
		t.Fatal(err)
	}
	svc := serviceOf(t, p, "fraud-detector")
	if svc.CanaryRevision != "fraud-detector-predictor-00003" || svc.StableRevision != stable.StableRevision || svc.CanaryPercent != 20 {
		t.Errorf("canary %s stable %s percent %d", svc.CanaryRevision, svc.StableRevision, svc.CanaryPercent)
	}
	p.Advance(10 * time.Second)
	c := fraudCanary(t, snapshot(t, p))
	within(t, "new canary errors", c.Canary.ErrorRate, 0.004, 0.006)
}
