package health

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

// maxListed bounds the items a finding's evidence lists one by one.
const maxListed = 3

// runsNotTracked is seed scenario 1: the pipeline shows green but MLflow
// has no run for it, because the pod could not reach the tracking server
// and the component did not fail.
//
// Which runs are judged: only successful runs of pipelines that log to the
// watched experiment (doctor.tracked_pipelines, else the pipelines some
// fetched MLflow run names), and only those created since the oldest
// fetched MLflow run started: the MLflow source reads the newest
// mlflow.runs_limit runs, so an older KFP run's MLflow run may simply not
// have been fetched. A run created after that moment logs its MLflow run
// later still, inside the fetched span.
func runsNotTracked(s sources.Snapshot, fc FindingsConfig) []Finding {
	if len(s.Training.Runs) == 0 || len(s.Pipelines.Runs) == 0 {
		return nil
	}
	tracked := map[string]bool{}
	var since time.Time
	for _, r := range s.Training.Runs {
		if r.KFPRunID != "" {
			tracked[r.KFPRunID] = true
		}
		if !r.Start.IsZero() && (since.IsZero() || r.Start.Before(since)) {
			since = r.Start
		}
	}
	if since.IsZero() {
		return nil
	}

	expected := map[string]bool{}
	for _, name := range fc.TrackedPipelines {
		expected[name] = true
	}
	inferred := len(expected) == 0
	trackedCount := map[string]int{} // per pipeline, successful runs in the span that are tracked
	for _, r := range s.Pipelines.Runs {
		if !tracked[r.ID] {
			continue
		}
		if inferred {
			expected[r.Pipeline] = true
		}
		if r.State == sources.RunSucceeded && !r.Created.Before(since) {
			trackedCount[r.Pipeline]++
		}
	}

	missing := map[string][]sources.PipelineRun{} // newest first, as the runs come
	var pipelines []string
	for _, r := range s.Pipelines.Runs {
		if r.State != sources.RunSucceeded || !expected[r.Pipeline] || tracked[r.ID] || r.Created.Before(since) {
			continue
		}
		if len(missing[r.Pipeline]) == 0 {
			pipelines = append(pipelines, r.Pipeline)
		}
		missing[r.Pipeline] = append(missing[r.Pipeline], r)
	}
	sort.Strings(pipelines)

	tag := fc.KFPRunTag
	if tag == "" {
		tag = "kfp_run_id"
	}
	experiment := s.Training.Experiment
	if experiment == "" {
		experiment = "the watched experiment"
	}
	var out []Finding
	for _, p := range pipelines {
		runs := missing[p]
		pipeline := p
		if pipeline == "" {
			pipeline = "its pipeline"
		}
		f := Finding{Severity: Warn, Check: CheckRunNotTracked}
		if len(runs) == 1 {
			r := runs[0]
			f.Object = runLabel(r)
			f.What = fmt.Sprintf("KFP run %s SUCCEEDED but no MLflow run carries its id", runLabel(r))
		} else {
			f.Object = pipeline
			f.What = fmt.Sprintf("%d successful runs of %s have no MLflow run", len(runs), pipeline)
		}
		var listed []string
		for i, r := range runs {
			if i == maxListed {
				listed = append(listed, fmt.Sprintf("%d more", len(runs)-maxListed))
				break
			}
			listed = append(listed, fmt.Sprintf("run %s succeeded %s ago", r.ID, Age(s.At.Sub(finishedOrCreated(r)))))
		}
		evidence := []string{
			strings.Join(listed, ", "),
			fmt.Sprintf("none of the %d fetched runs of MLflow experiment %s carries tag %s with its id, while %d other successful %s of %s in that span %s",
				len(s.Training.Runs), experiment, tag, trackedCount[p], plural(trackedCount[p], "run", "runs"), pipeline, plural(trackedCount[p], "does", "do")),
			fmt.Sprintf("only KFP runs created since the oldest fetched MLflow run started (%s ago) are judged; older ones may lie beyond mlflow.runs_limit",
				Age(s.At.Sub(since))),
		}
		f.Evidence = strings.Join(evidence, "; ")
		f.Remedy = "Allow traffic from the pipeline runner's namespace to MLflow's in the NetworkPolicy; check that the " +
			"pipeline's MLflow tracking URI is the cluster-internal DNS name (e.g. http://mlflow.<namespace>.svc:5000); " +
			"add retries to the component that logs to MLflow, and let it fail the run when MLflow stays unreachable."
		out = append(out, f)
	}
	return out
}

func runLabel(r sources.PipelineRun) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

func finishedOrCreated(r sources.PipelineRun) time.Time {
	if !r.Finished.IsZero() {
		return r.Finished
	}
	return r.Created
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// pipelineSuccess is the dashboard's success-rate rule as a finding, with
// the commonest failing step and what usually fixes it.
func pipelineSuccess(s sources.Snapshot, fc FindingsConfig) []Finding {
	st := s.Pipelines.Stats()
	if !st.HasRate || st.SuccessRate >= fc.Thresholds.PipelineSuccessMin {
		return nil
	}
	finished := st.Succeeded + st.Failed
	f := Finding{
		Severity: Warn, Check: CheckPipelineSuccess, Object: "pipelines",
		What: fmt.Sprintf("pipeline success %.1f%% is below %.0f%%", 100*st.SuccessRate, 100*fc.Thresholds.PipelineSuccessMin),
	}
	evidence := []string{fmt.Sprintf("%d of %d finished runs succeeded in %s, %d failed", st.Succeeded, finished, Window(s.Pipelines.Window), st.Failed)}
	step, n := commonestFailure(s.Pipelines.Runs)
	if step != "" {
		evidence = append(evidence, fmt.Sprintf("commonest failure: %s (%d of %d)", step, n, st.Failed))
	}
	if last := st.LastFailure; last != nil {
		evidence = append(evidence, fmt.Sprintf("newest failure %s ago, run %s: %s", Age(s.At.Sub(finishedOrCreated(*last))), runLabel(*last), last.Error))
	}
	f.Evidence = strings.Join(evidence, "; ")
	f.Remedy = failureRemedy(step, s.Pipelines.Runs)
	return []Finding{f}
}

// commonestFailure is the step most failed runs name (KFP errors read
// "step: message") and how many name it; ties go to the newest.
func commonestFailure(runs []sources.PipelineRun) (string, int) {
	counts := map[string]int{}
	var order []string
	for _, r := range runs {
		if r.State != sources.RunFailed || r.Error == "" {
			continue
		}
		step, _, ok := strings.Cut(r.Error, ":")
		if !ok || strings.ContainsAny(step, " \t") {
			step = "other"
		}
		if counts[step] == 0 {
			order = append(order, step)
		}
		counts[step]++
	}
	best := ""
	for _, step := range order {
		if best == "" || counts[step] > counts[best] {
			best = step
		}
	}
	return best, counts[best]
}

// failureRemedy names the usual fix of the commonest failure.
func failureRemedy(step string, runs []sources.PipelineRun) string {
	var msg string
	for _, r := range runs {
		if r.State == sources.RunFailed && strings.HasPrefix(r.Error, step+":") {
			msg = r.Error
			break
		}
	}
	base := "Fix the commonest failure first"
	if step != "" && step != "other" {
		base += " (" + step + ")"
	}
	switch {
	case strings.Contains(msg, "OOMKilled"):
		return base + ": the step ran out of memory; raise its memory request and limit, or lower its batch size."
	case strings.Contains(msg, "ConnectionError") || strings.Contains(msg, "Max retries exceeded"):
		return base + ": the step cannot reach a service; check the NetworkPolicy and the service's cluster-internal address, and add retries."
	}
	return base + ": read the failed step's logs in the KFP UI, fix it, and re-run."
}
