// Command mltop is a terminal dashboard for the people on call for an ML
// platform built from Kubeflow Pipelines, MLflow and KServe on Kubernetes,
// with Prometheus for metrics. This package only wires the other packages
// together: flags and config in, sources and UI out.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}, os.Getenv))
}

// streams are the process's standard files, injected so commands are tested
// without a terminal.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// exitError carries a specific exit code (a failing `config check`, later
// doctor and judge verdicts) out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments: exit code 2 and a pointer to --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

// run executes one command line and returns the exit code. Every error
// becomes one clear message on stderr; nothing prints a stack trace.
func run(args []string, s streams, env func(string) string) int {
	root := newRootCommand(s, env)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(s.err, "mltop: "+ee.err.Error())
		}
		return ee.code
	}
	msg := strings.TrimSpace(err.Error())
	var ue *usageError
	if errors.As(err, &ue) || isCobraUsage(msg) {
		fmt.Fprintf(s.err, "mltop: %s\nRun 'mltop --help' for usage.\n", msg)
		return 2
	}
	fmt.Fprintln(s.err, "mltop: "+msg)
	return 1
}

// isCobraUsage recognises cobra's and pflag's own messages for bad flags and
// arguments, which come back as plain errors.
func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "invalid argument",
		"flag needs an argument", "accepts ", "requires at least", "requires at most", "bad flag syntax"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
