package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
	"github.com/mltop/mltop/sources/sim"
)

// platform is what a command reads: one poller config per source, the clock
// the data lives on, and the labels of the status bar.
type platform struct {
	sources   []sources.SourceConfig
	clock     sources.Clock
	now       func() time.Time
	context   string
	namespace string
	// sim is the simulated platform in demo mode (actions will change it).
	sim *sim.Platform
	// start and stop run with the command: informers start watching before
	// the first fetch and stop when the command ends.
	start []func(context.Context)
	stop  []func()
	// clients are the live cluster's clients (nil in the demo or when the
	// kubeconfig could not be used).
	clients *kube.Clients
	// actions is the executor the dashboard's action keys use; nil: none.
	actions actions.Executor
	// verdicts carries the dashboard's canary verdicts to the executor's
	// preflight; nil when there is no executor.
	verdicts *canary.Store
}

// run starts what the platform needs (informers) and returns the function
// that stops it.
func (p platform) run(ctx context.Context) (stop func()) {
	for _, f := range p.start {
		f(ctx)
	}
	return func() {
		for _, f := range p.stop {
			f()
		}
	}
}

// demoFlags choose the simulated platform.
type demoFlags struct {
	scenario string
	speed    float64
	seed     int64
	at       time.Duration
}

func (d *demoFlags) register(cmd *cobra.Command, defaultAt time.Duration) {
	cmd.Flags().StringVar(&d.scenario, "scenario", "incident", "demo scenario: "+strings.Join(sim.Scenarios(), ", "))
	cmd.Flags().Float64Var(&d.speed, "speed", 1, "simulated seconds per real second")
	cmd.Flags().Int64Var(&d.seed, "seed", 1, "seed of the simulation: the same seed plays the same platform")
	cmd.Flags().DurationVar(&d.at, "at", defaultAt, "start this far into the scenario (the canary regresses about 3m in)")
}

// newDemoPlatform builds the simulated platform and polls it like a real one.
// In a snapshot the simulation stands still at --at; in the dashboard it runs
// at --speed, and the pollers' clock runs on simulated time too, so data ages
// and refresh intervals are simulated seconds.
func newDemoPlatform(cfg config.Config, d demoFlags, frozen bool) (platform, error) {
	if d.speed <= 0 || d.speed > 1000 {
		return platform{}, &usageError{fmt.Errorf("--speed %g: must be greater than 0 and at most 1000", d.speed)}
	}
	if d.at < 0 {
		return platform{}, &usageError{fmt.Errorf("--at %s: must not be negative", d.at)}
	}
	speed := d.speed
	if frozen {
		speed = 0
	}
	p, err := sim.New(sim.Options{Scenario: d.scenario, Seed: d.seed, Speed: speed})
	if err != nil {
		return platform{}, &usageError{err}
	}
	p.Advance(d.at)
	clock := simClock{p: p, speed: d.speed}
	out := platform{clock: clock, now: p.Now, context: "demo", namespace: "ml-prod", sim: p}
	fetchers := p.Fetchers()
	for _, id := range sources.AllSources() {
		sc := sources.SourceConfig{ID: id, Fetcher: sources.FetcherFunc(fetchers[id]), Live: id == sources.SourceKube}
		switch id {
		case sources.SourceProm:
			sc.Interval, sc.Timeout = cfg.SourceRefresh(cfg.Prometheus.Source), cfg.Prometheus.Timeout
		case sources.SourceKube:
			sc.Interval, sc.Timeout = cfg.Refresh, cfg.Kubernetes.Timeout
		case sources.SourceMLflow:
			sc.Interval, sc.Timeout = cfg.SourceRefresh(cfg.MLflow.Source), cfg.MLflow.Timeout
		case sources.SourceKFP:
			sc.Interval, sc.Timeout = cfg.SourceRefresh(cfg.KFP.Source), cfg.KFP.Timeout
		}
		out.sources = append(out.sources, sc)
	}
	return out, nil
}

// simClock runs the pollers on simulated time: timestamps are the
// simulation's, and a wait of d simulated seconds takes d/speed real ones.
type simClock struct {
	p     *sim.Platform
	speed float64
}

func (c simClock) Now() time.Time { return c.p.Now() }

func (c simClock) NewTimer(d time.Duration) sources.Timer {
	return sources.RealClock{}.NewTimer(time.Duration(float64(d) / c.speed))
}
