package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/mltop/mltop/sources"
)

// pipelineWindow is how far back the Pipelines pane looks.
const pipelineWindow = 24 * time.Hour

// The steps of the training pipeline that can fail, with the error its run
// reports. The messages are the ones the seed article's failure scenarios
// and an on-call engineer's week produce.
const (
	stepValidate = iota
	stepPreprocess
	stepTrain
	stepRegister
)

func failureMessage(step int, partition time.Time) string {
	switch step {
	case stepValidate:
		return "validate-data: schema check failed: column 'user_age' missing"
	case stepPreprocess:
		return fmt.Sprintf("preprocess-data: FileNotFoundError: no parquet files under gs://ml-data/recommendation/%s/",
			partition.Format("2006-01-02"))
	case stepTrain:
		return "train-model: OOMKilled (exit code 137)"
	default:
		return "register-model: ConnectionError: HTTPConnectionPool(host='mlflow.ml-platform.svc', port=5000): " +
			"Max retries exceeded with url: /api/2.0/mlflow/runs/create"
	}
}

// pipelinePlan is a scenario's recurring training pipeline. Run k is the
// k-th scheduled run after the anchor (negative k ran before the scenario
// started), so every run, past or future, is computed on its own from k.
type pipelinePlan struct {
	name string
	// evalName is the pipeline of the scheduled runs that only evaluate:
	// they log nothing to the watched experiment, so the doctor must not
	// expect an MLflow run for them. Empty: they belong to name too.
	evalName string
	// serverVersion is the KFP API server's release (healthz tag_name).
	serverVersion string
	interval      time.Duration
	anchor        time.Time // scheduled creation of run 0
	// Failures are spread evenly, about failRate of all runs, with run
	// firstFailure failing at firstFailureStep: an even spread keeps the 24 h
	// success rate steady as the window slides, as a chronic problem does.
	failRate         float64
	firstFailure     int64
	firstFailureStep int
	// Every retrainEvery-th run (k mod retrainEvery == retrainPhase) finds a
	// new data partition, retrains the model and logs a run to the watched
	// MLflow experiment; the others warm-start from the last model and only
	// evaluate it, which also takes a GPU.
	retrainEvery, retrainPhase int64
	key                        uint64
}

// kfpRun is one run of the plan.
type kfpRun struct {
	k        int64
	id       string
	pipeline string
	name     string
	created  time.Time
	started  time.Time // leaves PENDING
	finished time.Time
	failed   bool
	step     int // the failing step, when failed
	err      string
	retrains bool
	// gpuFrom..gpuTo is when its train-model or evaluate-model step holds a
	// GPU; both zero when it failed before reaching it.
	gpuFrom, gpuTo time.Time
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

func (pl pipelinePlan) retrains(k int64) bool {
	return pl.retrainEvery > 0 && floorMod(k, pl.retrainEvery) == pl.retrainPhase
}

// fails reports whether run k fails: the running count of failures,
// floor((k-first)*rate + rate/2), steps up at k.
func (pl pipelinePlan) fails(k int64) bool {
	if pl.failRate <= 0 {
		return false
	}
	f := func(k int64) float64 { return math.Floor(float64(k-pl.firstFailure)*pl.failRate + pl.failRate/2) }
	return f(k) > f(k-1)
}

// run computes run k: when it was created, how long it takes, whether and
// where it fails.
func (pl pipelinePlan) run(k int64) kfpRun {
	r := kfpRun{k: k, retrains: pl.retrains(k)}
	// The scheduler creates a run a few seconds late and it waits for a node.
	r.created = pl.anchor.Add(time.Duration(k)*pl.interval + time.Duration(40*unit(pl.key^0x11, k)*float64(time.Second)))
	r.started = r.created.Add(time.Duration((8 + 27*unit(pl.key^0x12, k)) * float64(time.Second)))
	r.id = uuid4(pl.key^0x13, k)
	r.pipeline = pl.name
	if !r.retrains && pl.evalName != "" {
		r.pipeline = pl.evalName
	}
	r.name = r.pipeline + "-" + r.created.UTC().Format("20060102-150405")
	// 28 to 42 minutes, clustered around 35 (failed runs end early, so the
	// average over all finished runs is about 34).
	d := time.Duration((28 + 14*triangular(pl.key^0x14, k)) * float64(time.Minute))
	r.finished = r.created.Add(d)
	r.gpuFrom = r.started.Add(6 * time.Minute)
	r.gpuTo = r.finished.Add(-3 * time.Minute)
	if !pl.fails(k) {
		return r
	}
	r.failed = true
	r.step = pl.firstFailureStep
	if k != pl.firstFailure {
		steps := []int{stepValidate, stepPreprocess, stepRegister}
		if r.retrains {
			steps = append(steps, stepTrain)
		}
		r.step = steps[at(pl.key^0x15, k)%uint64(len(steps))]
	}
	r.err = failureMessage(r.step, r.created)
	u := unit(pl.key^0x16, k)
	switch r.step {
	case stepValidate:
		r.finished = r.started.Add(time.Duration((60 + 90*u) * float64(time.Second)))
	case stepPreprocess:
		r.finished = r.started.Add(time.Duration((180 + 120*u) * float64(time.Second)))
	case stepTrain:
		r.finished = r.gpuFrom.Add(time.Duration((4 + 10*u) * float64(time.Minute)))
		r.gpuTo = r.finished
	case stepRegister:
		// The client retries for about a minute before giving up.
		r.finished = r.gpuTo.Add(time.Duration((60 + 60*u) * float64(time.Second)))
	}
	if r.step == stepValidate || r.step == stepPreprocess {
		r.gpuFrom, r.gpuTo = time.Time{}, time.Time{}
	}
	return r
}

// state is the run's KFP state at t; empty before it was created.
func (r kfpRun) state(t time.Time) string {
	switch {
	case t.Before(r.created):
		return ""
	case t.Before(r.started):
		return sources.RunPending
	case t.Before(r.finished):
		return sources.RunRunning
	case r.failed:
		return sources.RunFailed
	}
	return sources.RunSucceeded
}

// runsAround lists the indexes of runs that can have been created between
// from and to (a superset: callers check the creation time).
func (pl pipelinePlan) runsAround(from, to time.Time) (first, last int64) {
	iv := int64(pl.interval)
	return floorDiv(int64(from.Sub(pl.anchor)), iv) - 1, floorDiv(int64(to.Sub(pl.anchor)), iv) + 1
}

// pipelines is the Kubeflow Pipelines source's value at now: the runs
// created in the last 24 h, newest first.
func (pl pipelinePlan) pipelines(now time.Time) sources.Pipelines {
	out := sources.Pipelines{Window: pipelineWindow, ServerVersion: pl.serverVersion}
	first, last := pl.runsAround(now.Add(-pipelineWindow), now)
	for k := last; k >= first; k-- {
		r := pl.run(k)
		if r.created.After(now) || !r.created.After(now.Add(-pipelineWindow)) {
			continue
		}
		pr := sources.PipelineRun{
			ID:       r.id,
			Name:     r.name,
			Pipeline: r.pipeline,
			State:    r.state(now),
			Created:  r.created,
		}
		if !now.Before(r.finished) {
			pr.Finished = r.finished
			if r.failed {
				pr.Error = r.err
			}
		}
		out.Runs = append(out.Runs, pr)
	}
	return out
}

// gpuHolder is the run whose step holds training GPU slot at t, if any.
// Runs alternate between the two training GPUs, so consecutive runs that
// overlap do not share one.
func (pl pipelinePlan) gpuHolder(slot int64, t time.Time) (kfpRun, bool) {
	first, last := pl.runsAround(t.Add(-time.Hour), t)
	for k := first; k <= last; k++ {
		if floorMod(k, 2) != slot {
			continue
		}
		r := pl.run(k)
		if !r.gpuFrom.IsZero() && !t.Before(r.gpuFrom) && t.Before(r.gpuTo) {
			return r, true
		}
	}
	return kfpRun{}, false
}

// stepPod is the name Argo gives the pod of the run's GPU step.
func (pl pipelinePlan) stepPod(r kfpRun) string {
	return fmt.Sprintf("%s-%s-system-container-impl-%d", r.pipeline, kubeSuffix(pl.key^0x17, r.k, 5),
		1_000_000_000+at(pl.key^0x18, r.k)%9_000_000_000)
}
