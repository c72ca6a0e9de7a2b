package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/sources/report"
)

// Exit codes of `mltop doctor`, for scripts and CI, beside 0 (no finding
// above information) and 2 (bad flags).
const (
	doctorFindings = 1 // at least one warning or critical finding
	doctorError    = 3 // the check could not run or could not read a source
)

func newDoctorCommand(a *app) *cobra.Command {
	var (
		output string
		demo   bool
		d      demoFlags
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the seams between Kubeflow Pipelines, MLflow and KServe, and say what to fix",
		Long: `doctor fetches every configured source once and checks where the tools meet, where the seed
article's failures happen: a pipeline run that succeeded without an MLflow run (scenario 1), a
storageUri that misses the MLmodel directory (scenario 2), a canary or rollout whose rollback
would land on zero pods (scenario 3), serving a version other than the registry's champion,
a model without a signature under MLflow 2.16+, component versions outside the compatibility
matrix (doctor.compatibility), a new version that scores worse than the one before, and the
registry backlog and pipeline success rate. Each finding names the object, the evidence and the
remedy.

Exit codes: 0 no warning, 1 a warning or critical finding, 3 a source could not be read or the
check could not run (the findings printed are then incomplete), 2 bad flags.`,
		Example: `  mltop doctor --demo
  mltop doctor -n ml-prod --mlflow-url http://mlflow:5000 --kfp-url http://ml-pipeline.kubeflow:8888
  mltop doctor -o json | jq '.findings[] | select(.severity != "INFO")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return &usageError{fmt.Errorf("-o %q: the output format is text or json", output)}
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return &exitError{code: doctorError, err: err}
			}
			logger, closeLog, err := openLog(cfg.LogPath(a.env))
			if err != nil {
				return &exitError{code: doctorError, err: err}
			}
			defer closeLog()
			snap, err := a.fetchSnapshot(cmd.Context(), cfg, demo, d, logger)
			if err != nil {
				var ue *usageError
				if errors.As(err, &ue) {
					return err
				}
				return &exitError{code: doctorError, err: err}
			}
			findings := health.Findings(snap, health.NewFindingsConfig(cfg))
			doc := report.BuildDoctor(snap, findings)
			if output == "json" {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				err = enc.Encode(doc)
			} else {
				err = report.WriteDoctorText(a.out, doc)
			}
			if err != nil {
				return &exitError{code: doctorError, err: err}
			}
			return doctorVerdict(snap, findings)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&demo, "demo", false, "check the embedded simulated platform instead of a cluster")
	d.register(cmd, 10*time.Minute)
	return cmd
}

// doctorVerdict turns the findings into the exit code. A source that was
// configured but could not be read wins over findings: its seams were not
// checked, so a clean result would be a false all-clear.
func doctorVerdict(snap sources.Snapshot, findings []health.Finding) error {
	var unread []string
	configured := 0
	for _, st := range snap.Sources {
		if !st.Configured {
			continue
		}
		configured++
		if !st.HasData() {
			unread = append(unread, fmt.Sprintf("%s (%s)", st.ID, st.Err))
		}
	}
	switch {
	case configured == 0:
		return &exitError{code: doctorError, err: errors.New("nothing to check: no source is configured (see mltop config init)")}
	case len(unread) > 0:
		return &exitError{code: doctorError, err: fmt.Errorf("the check is incomplete: could not read %s", strings.Join(unread, ", "))}
	}
	if worst, ok := health.Worst(findings); ok && worst >= health.Warn {
		// The findings are printed already: exit 1 without repeating them.
		return &exitError{code: doctorFindings, err: errors.New("")}
	}
	return nil
}

// fetchSnapshot reads every source once, from the simulated platform or
// the live one, and composes the snapshot the headless commands print.
func (a *app) fetchSnapshot(ctx context.Context, cfg config.Config, demo bool, d demoFlags, logger *slog.Logger) (sources.Snapshot, error) {
	var plat platform
	var err error
	if demo {
		plat, err = newDemoPlatform(cfg, d, true)
	} else {
		// One look only: wait for the first lists as long as a Kubernetes
		// request may take.
		plat, err = a.newLivePlatform(cfg, liveOptions{logger: logger, kubeSyncWait: cfg.Kubernetes.Timeout})
	}
	if err != nil {
		return sources.Snapshot{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	defer plat.run(ctx)()
	board := sources.NewBoard(nil)
	for _, u := range sources.FetchOnce(ctx, plat.sources, plat.now) {
		board.Apply(u)
	}
	return board.Snapshot(plat.now()), nil
}
