package sim

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

// trackingPlan is a scenario's MLflow experiment and model registry. Every
// retraining run of the pipeline logs one MLflow run; registered versions
// come from some of those runs.
type trackingPlan struct {
	experiment   string
	experimentID string
	metric       string
	shown        int // runs the source returns, newest
	// The metric drifts as base + slope*(k-pivot) with noise of +-jitter;
	// when hasDrop, run dropRun scores drop below the run before it.
	base, slope, jitter float64
	pivot               int64
	hasDrop             bool
	dropRun             int64
	drop                float64
	model               string
	alias               string
	champion            int
	versions            []versionPlan
	// served is the version the classifier's InferenceService loads: the
	// champion unless the deploy step missed a promotion.
	served int
	// lost is a retraining run whose MLflow run never reached the
	// tracking server (hasLost): its pod could not connect and the
	// component swallowed the error, so KFP shows it green (the seed's
	// scenario 1).
	lost    int64
	hasLost bool
	// serverVersion is the tracking server's MLflow version.
	serverVersion string
	key           uint64
}

// versionPlan is a registered version and the pipeline run it came from.
type versionPlan struct {
	version int
	run     int64
}

// mlflowRun is the MLflow run a retraining pipeline run logs, if any.
type mlflowRun struct {
	kfp    kfpRun
	id     string
	name   string
	start  time.Time
	end    time.Time // when training ended (finished or failed)
	failed bool      // train-model was killed
}

// logged reports whether the pipeline run k logs an MLflow run, and that run.
// Runs that fail before training never start one.
func (tp trackingPlan) logged(pl pipelinePlan, k int64) (mlflowRun, bool) {
	r := pl.run(k)
	if !r.retrains || r.gpuFrom.IsZero() || tp.hasLost && k == tp.lost {
		return mlflowRun{}, false
	}
	return mlflowRun{
		kfp:    r,
		id:     hex32(tp.key^0x21, k),
		name:   runName(tp.key^0x22, k),
		start:  r.gpuFrom,
		end:    r.gpuTo,
		failed: r.failed && r.step == stepTrain,
	}, true
}

// value is the metric run k logged. The dropped run is measured against the
// scored run before it, so the drop is exact whatever the noise.
func (tp trackingPlan) value(pl pipelinePlan, k int64) float64 {
	if tp.hasDrop && k == tp.dropRun {
		for j := k - 1; j > k-50*pl.retrainEvery; j-- {
			if m, ok := tp.logged(pl, j); ok && !m.failed {
				return tp.value(pl, j) - tp.drop + 0.0008*signed(tp.key^0x23, k)
			}
		}
	}
	return tp.base + tp.slope*float64(k-tp.pivot) + tp.jitter*signed(tp.key^0x24, k)
}

// training is the experiment's newest runs at now, oldest first.
func (tp trackingPlan) training(pl pipelinePlan, now time.Time) sources.Training {
	out := sources.Training{Experiment: tp.experiment, Metric: tp.metric}
	_, last := pl.runsAround(now, now)
	var runs []sources.TrainingRun
	// Look back at most a week of schedule for the newest runs.
	for k := last; k > last-int64(7*24*time.Hour/pl.interval) && len(runs) < tp.shown; k-- {
		m, ok := tp.logged(pl, k)
		if !ok || m.start.After(now) {
			continue
		}
		tr := sources.TrainingRun{ID: m.id, Name: m.name, Start: m.start, KFPRunID: m.kfp.id, Status: "RUNNING"}
		if !now.Before(m.end) {
			tr.End = m.end
			tr.Status = "FINISHED"
			if m.failed {
				tr.Status = "FAILED"
			} else {
				tr.Value, tr.HasValue = tp.value(pl, k), true
			}
		}
		runs = append(runs, tr)
	}
	for i := len(runs) - 1; i >= 0; i-- {
		out.Runs = append(out.Runs, runs[i])
	}
	return out
}

// version is a registered version as the registry reports it; ok is false
// before it was registered.
func (tp trackingPlan) version(pl pipelinePlan, v versionPlan, now time.Time) (sources.ModelVersion, bool) {
	m, ok := tp.logged(pl, v.run)
	if !ok {
		return sources.ModelVersion{}, false
	}
	// register-model runs right after training and the quality gate.
	created := m.end.Add(90 * time.Second)
	if created.After(now) {
		return sources.ModelVersion{}, false
	}
	mv := sources.ModelVersion{
		Model:   tp.model,
		Version: strconv.Itoa(v.version),
		Stage:   "None",
		Status:  "READY",
		Created: created,
		Source:  tp.artifact(m.id),
		RunID:   m.id,
		// The pipeline logs every model with a signature.
		Signature: sources.SignaturePresent,
	}
	if !m.failed {
		mv.Metric, mv.HasMetric = tp.value(pl, v.run), true
	}
	if v.version == tp.champion {
		mv.Aliases = []string{tp.alias}
	}
	return mv, true
}

// artifact is where MLflow stores a run's logged model.
func (tp trackingPlan) artifact(runID string) string {
	return fmt.Sprintf("gs://mlflow-artifacts/%s/%s/artifacts/model", tp.experimentID, runID)
}

// sourceOf is the artifact of a registered version and when it was
// registered; the classifier's InferenceService serves tp.served.
func (tp trackingPlan) sourceOf(pl pipelinePlan, version int) (uri string, registered time.Time) {
	for _, v := range tp.versions {
		if v.version != version {
			continue
		}
		if m, ok := tp.logged(pl, v.run); ok {
			return tp.artifact(m.id), m.end.Add(90 * time.Second)
		}
	}
	return "", time.Time{}
}

// registry is the registry at now: the champion, the newer versions
// without an alias that wait for promotion, oldest first, and every
// registered version, newest first.
func (tp trackingPlan) registry(pl pipelinePlan, now time.Time) sources.Registry {
	out := sources.Registry{PromotedAlias: tp.alias}
	for _, v := range tp.versions {
		mv, ok := tp.version(pl, v, now)
		switch {
		case !ok:
			continue
		case v.version == tp.champion:
			out.Promoted = append(out.Promoted, mv)
		case v.version > tp.champion:
			out.Waiting = append(out.Waiting, mv)
		}
		out.Versions = append([]sources.ModelVersion{mv}, out.Versions...)
	}
	return out
}

// runName is a run name in MLflow's generated style, e.g. "brave-owl-417".
func runName(key uint64, k int64) string {
	adjectives := strings.Fields("agreeable bold brave calm capable clean crisp dapper eager fluffy gentle " +
		"glamorous honest kindly learned lyrical marvelous merciful nimble polite redolent rumbling " +
		"sedate shivering silent skillful smiling spiffy stylish thoughtful trusting unique upbeat welcoming")
	animals := strings.Fields("ant bass bat bear boar carp cat colt conch cow crab crane deer doe eel " +
		"finch foal fox frog gnat goat gull hare hawk hen hog horse jay koi lark lynx mink mole moth " +
		"mouse newt owl ox panda pig rat ray roo seal shrew skink sloth snail stoat swan toad trout wasp whale wolf wren yak")
	x := at(key, k)
	return fmt.Sprintf("%s-%s-%d", adjectives[x%uint64(len(adjectives))],
		animals[(x>>16)%uint64(len(animals))], 100+(x>>32)%900)
}
