package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/sources/report"
)

func newSnapshotCommand(a *app) *cobra.Command {
	var (
		output string
		demo   bool
		d      demoFlags
	)
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Print every pane once, as plain text or JSON, and exit",
		Long: `snapshot fetches every configured source once and prints the whole dashboard: pipelines,
training, registry, serving, canary, infra, the active alerts, the doctor's findings and each
source's health. It needs no terminal, so it suits scripts, tickets and CronJobs. With --demo it
reads the simulated platform, --at minutes into its scenario.`,
		Example: `  mltop snapshot --demo -o json | jq '.alerts'
  mltop snapshot -n ml-prod --prometheus-url http://prometheus:9090 -o text`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return &usageError{fmt.Errorf("-o %q: the output format is text or json", output)}
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			logger, closeLog, err := openLog(cfg.LogPath(a.env))
			if err != nil {
				return err
			}
			defer closeLog()
			snap, err := a.fetchSnapshot(cmd.Context(), cfg, demo, d, logger)
			if err != nil {
				return err
			}
			doc := report.Build(snap, health.Evaluate(snap, cfg.Thresholds), cfg.Thresholds)
			doc.AddFindings(health.Findings(snap, health.NewFindingsConfig(cfg)))
			if output == "json" {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(doc)
			}
			return report.WriteText(a.out, doc)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&demo, "demo", false, "read the embedded simulated platform instead of a cluster")
	d.register(cmd, 10*time.Minute)
	return cmd
}
