package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/actions/audit"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources/clean"
)

func newAuditCommand(a *app) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List the actions taken or attempted from this machine",
		Long: `audit prints mltop's audit log, oldest first: every promote, rollback and pin that was applied,
refused, declined or failed, with who asked, in which context and namespace, and what came of it.
The log is $XDG_STATE_HOME/mltop/audit.jsonl (one JSON object per line, readable by you only).`,
		Example: `  mltop audit
  mltop audit -o json | jq '.[] | select(.result != "succeeded")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return &usageError{fmt.Errorf("-o %q: the output format is text or json", output)}
			}
			dir := config.StateDir(a.env)
			if dir == "" {
				return errors.New("no state directory: set XDG_STATE_HOME or HOME")
			}
			path := audit.DefaultPath(dir)
			entries, notes, err := audit.ReadWithNotes(path)
			missing := errors.Is(err, fs.ErrNotExist)
			if err != nil && !missing {
				return err
			}
			for _, n := range notes {
				fmt.Fprintf(a.err, "mltop: %s: %s\n", path, n)
			}
			if output == "json" {
				if entries == nil {
					entries = []audit.Entry{}
				}
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(entries)
			}
			if missing {
				fmt.Fprintf(a.out, "no audit log yet (%s): no action was taken from this machine\n", path)
				return nil
			}
			return writeAudit(a.out, entries)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// writeAudit prints one line per entry: time (UTC), user, action, service,
// result and message. Entries come cleaned from audit.Read.
func writeAudit(w io.Writer, entries []audit.Entry) error {
	if len(entries) == 0 {
		_, err := fmt.Fprintln(w, "the audit log is empty")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tUSER\tACTION\tSERVICE\tRESULT\tMESSAGE")
	for _, e := range entries {
		action := string(e.Action)
		switch {
		case e.ToPreviousModel:
			action += " --to-previous-model"
		case e.Unpin:
			action += " --unpin"
		case e.MinReplicas > 0:
			action += fmt.Sprintf(" --min %d", e.MinReplicas)
		}
		service := e.Namespace + "/" + e.Service
		if e.Context != "" {
			service = e.Context + ":" + service
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.UTC().Format(time.DateTime+"Z"), orNone(e.User), action, service, e.Result, clean.Text(e.Message))
	}
	return tw.Flush()
}
