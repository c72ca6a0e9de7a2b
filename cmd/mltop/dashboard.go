package main

import (
	"context"
	"log/slog"

	"github.com/mltop/mltop/actions/canary"
	"github.com/mltop/mltop/actions/kserve"
	"github.com/mltop/mltop/config"
	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/kube"
)

// withDemoCluster gives a running demo dashboard what a real cluster gives:
// the demo's fake clients carry both the Kubernetes source (the real
// informers of sources/kube, not the simulation's shortcut) and the action
// executor, so the keys P, B and M patch the simulated platform through the
// same code as a real one, and the panes see the change through the same
// watch.
func (a *app) withDemoCluster(ctx context.Context, cfg config.Config, p platform, logger *slog.Logger) (platform, func(), error) {
	p.verdicts = canary.NewStore()
	exec, cluster, closeExec, err := a.demoExecutor(ctx, cfg, p, true, logger)
	if err != nil {
		return p, nil, err
	}
	src, err := kube.New(kube.Options{
		Dynamic: cluster.Dynamic(), Typed: cluster.Typed(), Context: p.context,
		Namespaces: []string{p.namespace}, Now: p.now, Logger: logger,
	})
	if err != nil {
		closeExec()
		return p, nil, err
	}
	for i, sc := range p.sources {
		if sc.ID == sources.SourceKube {
			p.sources[i].Fetcher = src
		}
	}
	p.start = append(p.start,
		func(ctx context.Context) { src.Start(ctx) },
		// The simulation moves on its own (pods, conditions); informers see
		// it only through watch events, which a sync of the fake objects sends.
		func(ctx context.Context) { go func() { _ = cluster.KeepSynced(ctx, cfg.Refresh) }() },
	)
	p.stop = append(p.stop, src.Stop)
	p.actions = exec
	return p, closeExec, nil
}

// withLiveActions gives the live dashboard its action executor when the
// cluster is reachable. Without one the dashboard still runs; it only
// offers no action keys, and the log says why.
func (a *app) withLiveActions(ctx context.Context, cfg config.Config, p platform, logger *slog.Logger) (platform, func()) {
	if p.clients == nil {
		return p, func() {}
	}
	var promFetcher sources.Fetcher
	promHint := ""
	for _, sc := range p.sources {
		if sc.ID == sources.SourceProm {
			promFetcher, promHint = sc.Fetcher, sc.Hint
		}
	}
	p.verdicts = canary.NewStore()
	exec, closeExec, err := a.newExecutor(ctx, cfg, executorClients{
		dynamic: p.clients.Dynamic, typed: p.clients.Typed, context: p.clients.Context,
		prom: promFetcher, promHint: promHint, now: p.now, verdicts: p.verdicts,
		previousModel: kserve.RevisionModel(p.clients.Dynamic),
	}, !cfg.ReadOnly, logger)
	if err != nil {
		logger.Warn("actions are unavailable", "err", err)
		return p, func() {}
	}
	p.actions = exec
	return p, closeExec
}
