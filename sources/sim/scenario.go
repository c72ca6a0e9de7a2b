package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

// The scenarios.
const (
	// ScenarioIncident is a platform having a bad morning: a canary that
	// regresses a few minutes in, a flaky training pipeline, a metric drop,
	// versions piling up in the registry and an OOM-killed GPU pod; and at
	// the seams between the tools (what `mltop doctor` finds): a green
	// pipeline run whose MLflow run never arrived, a new MLflow model
	// deployed without its /model path, a scale-to-zero service whose
	// rollback would start cold, and a champion the serving never picked up.
	ScenarioIncident = "incident"
	// ScenarioCalm is the same platform on a good day.
	ScenarioCalm = "calm"
)

// Scenarios lists the scenario names, the default first.
func Scenarios() []string { return []string{ScenarioIncident, ScenarioCalm} }

const (
	demoContext   = "demo"
	demoNamespace = "ml-prod"
)

// world is everything the platform is: the services, which actions change,
// and the plans of the pipeline, the experiment and the cluster, which
// never change and are computed from the clock.
type world struct {
	h         hasher
	context   string
	namespace string
	services  []*service // sorted by name
	pipeline  pipelinePlan
	tracking  trackingPlan
	gpuPlans  []gpuPlan
	ooms      []oomPlan
}

// clone copies what actions change; the plans are shared because nothing
// writes them after build.
func (w *world) clone() *world {
	c := *w
	c.services = make([]*service, len(w.services))
	for i, s := range w.services {
		c.services[i] = s.clone()
	}
	return &c
}

func (w *world) service(name string) *service {
	for _, s := range w.services {
		if s.name == name {
			return s
		}
	}
	return nil
}

// build lays out a scenario starting at start.
func build(name string, h hasher, start time.Time) (*world, error) {
	if name == "" {
		name = ScenarioIncident
	}
	if name != ScenarioIncident && name != ScenarioCalm {
		return nil, fmt.Errorf("unknown scenario %q (valid: %s)", name, strings.Join(Scenarios(), ", "))
	}
	incident := name == ScenarioIncident
	w := &world{h: h, context: demoContext, namespace: demoNamespace}

	// The pipeline runs every 24 minutes, 60 runs a day; the latest run was
	// created 3 minutes before the start, the one before is still running.
	// The runs that do not retrain belong to an evaluation pipeline, which
	// logs nothing to the watched experiment.
	w.pipeline = pipelinePlan{
		name:          "recommendation-training-pipeline",
		evalName:      "recommendation-eval-pipeline",
		serverVersion: "2.3.0",
		interval:      24 * time.Minute,
		anchor:        start.Add(-3 * time.Minute),
		retrainEvery:  5,
		key:           h.key("kfp"),
	}
	w.tracking = trackingPlan{
		experiment: "recommendation-v3", experimentID: "3", metric: "cv_f1_mean", shown: 12,
		base: 0.889, slope: 0.0002, jitter: 0.003,
		model: "recommendation-classifier", alias: "champion",
		serverVersion: "2.17.2",
		key:           h.key("mlflow"),
	}
	if incident {
		// About 8 % of runs fail; the newest failure (3 h ago) is the
		// retraining that ran out of memory, so the next retraining, 75
		// minutes before the start, scores 0.03 below the last good one
		// and is registered as v10, beside v8 (30 h) and v9 (5 h).
		w.pipeline.failRate, w.pipeline.firstFailure, w.pipeline.firstFailureStep = 0.085, -8, stepTrain
		w.pipeline.retrainPhase = floorMod(-3, 5)
		w.tracking.pivot, w.tracking.hasDrop, w.tracking.dropRun, w.tracking.drop = -3, true, -3, 0.030
		w.tracking.champion = 7
		w.tracking.versions = []versionPlan{{6, -228}, {7, -178}, {8, -78}, {9, -13}, {10, -3}}
		// v7 became champion three days ago, but the deploy step never
		// followed: the classifier still serves v6 (doctor: serving drift).
		w.tracking.served = 6
		// The retraining 7 hours ago could not reach MLflow (doctor: run
		// not tracked).
		w.tracking.lost, w.tracking.hasLost = -18, true
	} else {
		// About 2 % of runs fail; v10 waits two hours behind champion v9.
		w.pipeline.failRate, w.pipeline.firstFailure, w.pipeline.firstFailureStep = 0.02, -30, stepValidate
		w.pipeline.retrainPhase = floorMod(-1, 5)
		w.tracking.pivot = -1
		w.tracking.champion = 9
		w.tracking.versions = []versionPlan{{9, -11}, {10, -6}}
		w.tracking.served = 9
	}

	b := builder{h: h, w: w, start: start}
	day := 24 * time.Hour

	fraud := b.service(profile{name: "fraud-detector", mode: sources.ModeKnative, modelFormat: "sklearn",
		runtime: "kserve-sklearnserver", maxReplicas: 4, rps: 100, podRPS: 40, hasErrors: true,
		healthy: figures{0.005, 60 * time.Millisecond, 180 * time.Millisecond}}, 1)
	b.rollOut(fraud, 1, start.Add(-6*day-3*time.Hour), b.artifact(fraud, 5, 1), quality{good: fraud.healthy})
	canary := quality{good: figures{0.005, 62 * time.Millisecond, 185 * time.Millisecond}}
	if incident {
		// The canary is fine for three minutes, then its new feature
		// lookup starts timing out.
		canary.bad = figures{0.04, 160 * time.Millisecond, 700 * time.Millisecond}
		canary.regressAt = start.Add(3 * time.Minute)
	}
	b.startCanary(fraud, 2, start.Add(-20*time.Minute), b.artifact(fraud, 5, 2), canary, 20)

	classifier := b.service(profile{name: "recommendation-classifier", mode: sources.ModeKnative, modelFormat: "mlflow",
		runtime: "kserve-mlserver", maxReplicas: 10, rps: 50, podRPS: 30, hasErrors: true,
		healthy: figures{0.002, 85 * time.Millisecond, 240 * time.Millisecond}}, 2)
	served, registered := w.tracking.sourceOf(w.pipeline, w.tracking.served)
	b.rollOut(classifier, 4, start.Add(-12*day), b.artifact(classifier, 3, 4), quality{good: classifier.healthy})
	b.rollOut(classifier, 5, registered.Add(2*time.Hour), served, quality{good: classifier.healthy})

	churn := b.service(profile{name: "churn-model", mode: sources.ModeStandard, modelFormat: "mlflow",
		runtime: "kserve-mlserver", maxReplicas: 3, rps: 20, podRPS: 25,
		healthy: figures{0.001, 25 * time.Millisecond, 90 * time.Millisecond}}, 1)
	if incident {
		// Moved to MLflow's pyfunc flavour this morning, deployed with the
		// run's artifact root as storageUri: the MLmodel file is one level
		// down, in /model (the seed's scenario 2), so it never came up.
		b.failedDeploy(churn, 1, start.Add(-40*time.Minute), strings.TrimSuffix(b.artifact(churn, 7, 1), "/model"))
	} else {
		b.rollOut(churn, 1, start.Add(-9*day), b.artifact(churn, 7, 1), quality{good: churn.healthy})
	}

	ranker := b.service(profile{name: "search-ranker", mode: sources.ModeKnative, modelFormat: "lightgbm",
		runtime: "kserve-lgbserver", maxReplicas: 3, rps: 5, podRPS: 20, hasErrors: true,
		healthy: figures{0.001, 38 * time.Millisecond, 100 * time.Millisecond}}, 0)
	b.rollOut(ranker, 2, start.Add(-20*day), b.artifact(ranker, 9, 2), quality{good: ranker.healthy})
	b.rollOut(ranker, 3, start.Add(-4*day-5*time.Hour), b.artifact(ranker, 9, 3), quality{good: ranker.healthy})

	// Just under the 1 % alert even at the top of its wobble: a GPU service
	// under memory pressure, not yet an outage.
	embedderErrors := 0.0085
	if !incident {
		embedderErrors = 0.004
	}
	embedder := b.service(profile{name: "image-embedder", mode: sources.ModeKnative, modelFormat: "pytorch",
		runtime: "kserve-torchserve", gpu: true, maxReplicas: 2, rps: 12, podRPS: 20, hasErrors: true,
		healthy: figures{embedderErrors, 110 * time.Millisecond, 240 * time.Millisecond}}, 1)
	b.rollOut(embedder, 2, start.Add(-15*day), b.artifact(embedder, 11, 2), quality{good: embedder.healthy})
	b.rollOut(embedder, 3, start.Add(-2*day-7*time.Hour), b.artifact(embedder, 11, 3), quality{good: embedder.healthy})
	if incident {
		embedder.restarts = 1
		w.ooms = append(w.ooms, oomPlan{namespace: demoNamespace, pod: w.servingPod(embedder),
			container: "kserve-container", service: embedder.name,
			at: start.Add(-2*time.Hour - time.Duration(10*unit(h.key("oom"), 0)*float64(time.Minute)))})
	}

	sort.Slice(w.services, func(i, j int) bool { return w.services[i].name < w.services[j].name })

	w.gpuPlans = []gpuPlan{
		{node: "gpu-node-a", device: "0", use: gpuServing, service: embedder.name},
		{node: "gpu-node-a", device: "1", use: gpuTraining, slot: 0},
		{node: "gpu-node-b", device: "0", use: gpuTraining, slot: 1},
		{node: "gpu-node-b", device: "1", use: gpuIdle},
	}
	for i := range w.gpuPlans {
		w.gpuPlans[i].key = h.key("gpu/" + w.gpuPlans[i].node + "/" + w.gpuPlans[i].device)
	}
	return w, nil
}

// builder lays out the services of a scenario.
type builder struct {
	h     hasher
	w     *world
	start time.Time
}

func (b builder) service(p profile, minReplicas int) *service {
	s := &service{profile: p, namespace: b.w.namespace, minReplicas: minReplicas, loadKey: b.h.key("load/" + p.name)}
	b.w.services = append(b.w.services, s)
	return s
}

// artifact is the MLflow artifact of the n-th model of a service, logged in
// the given experiment.
func (b builder) artifact(s *service, experiment int, n int) string {
	return fmt.Sprintf("gs://mlflow-artifacts/%d/%s/artifacts/model", experiment, hex32(b.h.key("artifact/"+s.name), int64(n)))
}

func (b builder) addRevision(s *service, n int, created time.Time, uri string, q quality) {
	s.revisions = append(s.revisions, revision{number: n, created: created, storageURI: uri, quality: q,
		key: b.h.key(fmt.Sprintf("rev/%s/%d", s.name, n))})
	s.storageURI = uri
}

// failedDeploy records a first revision whose model cannot be loaded: the
// service never becomes ready and takes no traffic.
func (b builder) failedDeploy(s *service, n int, created time.Time, uri string) {
	failure := s.loadFailure(uri)
	b.addRevision(s, n, created, uri, quality{good: s.healthy})
	s.revisions[len(s.revisions)-1].failure = failure
}

// rollOut records a revision that took all traffic when it was created.
func (b builder) rollOut(s *service, n int, created time.Time, uri string, q quality) {
	b.addRevision(s, n, created, uri, q)
	if s.rolledOut != 0 {
		s.previous = s.rolledOut
	}
	s.rolledOut = n
	s.setRoute(created, target{revision: n, percent: 100, latest: true})
}

// startCanary records a revision deployed with canaryTrafficPercent set.
func (b builder) startCanary(s *service, n int, created time.Time, uri string, q quality, percent int) {
	b.addRevision(s, n, created, uri, q)
	s.canary = &percent
	s.setRoute(created, target{revision: n, percent: percent, latest: true},
		target{revision: s.rolledOut, percent: 100 - percent, prev: true})
}
