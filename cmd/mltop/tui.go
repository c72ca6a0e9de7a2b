package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/health"
	"github.com/mltop/mltop/ui"
	"github.com/mltop/mltop/ui/theme"
)

func newDemoCommand(a *app) *cobra.Command {
	var d demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the dashboard on the embedded simulated platform",
		Long: `demo plays a simulated ML platform in namespace ml-prod: fraud-detector in a 20% canary that
regresses about three minutes in, a pipeline below its success target, a training metric that
dropped, model versions waiting for promotion and an OOM-killed GPU pod. No cluster is needed.`,
		Example: `  mltop demo
  mltop demo --speed 10 --at 2m        # ten times faster, starting just before the regression
  mltop demo --scenario calm --ascii`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			p, err := newDemoPlatform(cfg, d, false)
			if err != nil {
				return err
			}
			if err := a.needTerminal(); err != nil {
				return err
			}
			logger, closeLog, err := openLog(cfg.LogPath(a.env))
			if err != nil {
				return err
			}
			defer closeLog()
			p, closeCluster, err := a.withDemoCluster(cmd.Context(), cfg, p, logger)
			if err != nil {
				return err
			}
			defer closeCluster()
			return a.runTUI(cmd.Context(), cfg, p, logger)
		},
	}
	d.register(cmd, 0)
	return cmd
}

// needTerminal refuses to draw the dashboard into a pipe or a file.
func (a *app) needTerminal() error {
	if f, ok := a.out.(*os.File); !ok || !term.IsTerminal(f.Fd()) {
		return errors.New("the dashboard needs a terminal; for scripts use 'mltop snapshot' (text or -o json)")
	}
	return nil
}

// runLive runs the dashboard on the configured platform.
func (a *app) runLive(cmd *cobra.Command) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	if err := a.needTerminal(); err != nil {
		return err
	}
	logger, closeLog, err := openLog(cfg.LogPath(a.env))
	if err != nil {
		return err
	}
	defer closeLog()
	// The dashboard does not wait long for the first lists: the next
	// refresh comes soon and the status bar says it is waiting.
	p, err := a.newLivePlatform(cfg, liveOptions{logger: logger, kubeSyncWait: time.Second})
	if err != nil {
		return err
	}
	p, closeActions := a.withLiveActions(cmd.Context(), cfg, p, logger)
	defer closeActions()
	return a.runTUI(cmd.Context(), cfg, p, logger)
}

// runTUI polls the platform's sources in the background and runs the
// dashboard until the user quits. A failing source never ends it.
func (a *app) runTUI(ctx context.Context, cfg config.Config, p platform, logger *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer p.run(ctx)()

	poller := sources.NewPoller(p.sources, sources.WithClock(p.clock), sources.WithLogger(logger))
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		_ = poller.Run(ctx)
	}()

	model := dashboardModel(cfg, p, poller, a.out)
	logger.Info("dashboard starting", "context", p.context, "namespace", p.namespace, "version", version)
	prog := tea.NewProgram(model, tea.WithAltScreen(), tea.WithInput(a.in), tea.WithOutput(a.out), tea.WithContext(ctx))
	_, err := prog.Run()
	cancel()
	<-polled
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}

// dashboardModel is the dashboard for a platform whose sources poller
// polls, drawn for out (whose colour profile the theme detects). It needs no
// terminal, so tests drive it as runTUI's program does.
func dashboardModel(cfg config.Config, p platform, poller *sources.Poller, out io.Writer) ui.Model {
	return ui.New(ui.Options{
		Updates:    poller.Updates(),
		Initial:    poller.Initial(),
		Thresholds: cfg.Thresholds,
		Theme:      theme.New(theme.Options{Color: !cfg.UI.NoColor, ASCII: cfg.UI.ASCII, Output: out}),
		Now:        p.now,
		ReadOnly:   cfg.ReadOnly,
		Context:    p.context,
		Namespace:  p.namespace,
		Refresh:    poller.Refresh,
		Version:    version,
		Actions:    p.actions,
		Verdicts:   p.verdicts,
		Findings:   health.NewFindingsConfig(cfg),
	})
}

// openLog opens the log file: the terminal belongs to the dashboard, so
// nothing is ever logged to it.
func openLog(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil)), func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(f, nil))
	// client-go logs through klog, which writes to stderr by default: that
	// would draw over the dashboard, so its lines go to the log file too.
	klog.SetSlogLogger(logger)
	return logger, func() { _ = f.Close() }, nil
}
