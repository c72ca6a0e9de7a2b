package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/config"
)

func newConfigCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check or locate the config file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	var force bool
	initCmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented config file holding every setting with its default",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path := a.configFilePath()
			if err := config.WriteTemplate(path, force); err != nil {
				return err
			}
			_, err := fmt.Fprintf(a.out, "wrote %s\nedit it, then run 'mltop config check'\n", path)
			return err
		},
	}
	initCmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")

	checkCmd := &cobra.Command{
		Use:   "check",
		Short: "Check the config file and print every effective setting with where it came from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				var ps config.Problems
				if errors.As(err, &ps) {
					fmt.Fprintln(a.out, ps.Error())
					return &exitError{code: 1, err: fmt.Errorf("%d problem(s) in the configuration", len(ps))}
				}
				return err
			}
			path, found := cfg.File()
			if found {
				fmt.Fprintf(a.out, "%s: ok\n\n", path)
			} else {
				fmt.Fprintf(a.out, "no config file at %s: defaults apply ('mltop config init' writes one)\n\n", a.configFilePath())
			}
			tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
			for _, s := range cfg.Settings() {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, s.Value, s.Origin)
			}
			return tw.Flush()
		},
	}
	pathCmd := &cobra.Command{
		Use:   "path",
		Short: "Print the config file's path",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.out, a.configFilePath())
			return err
		},
	}
	cmd.AddCommand(initCmd, checkCmd, pathCmd)
	return cmd
}

// configFilePath is the file the commands read (see config.FilePath).
func (a *app) configFilePath() string {
	path, _ := config.FilePath(a.g.configPath, a.env)
	return path
}
