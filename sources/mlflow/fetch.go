package mlflow

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// Paging sizes. Runs are asked for in pages of at most runsPageMax (the
// documented default of runs/search; servers accept far more, proxies and
// hosted servers may not). Registered models use the endpoint's default
// page of 100; model versions are asked for explicitly because the backend
// picks their default.
const (
	runsPageMax        = 1000
	modelsPageSize     = 100
	versionsPageSize   = 1000
	maxPages           = 10000 // a server that never stops paging is a bug, not a registry
	versionConcurrency = 4     // model-version searches in flight at once
)

// Stage names (mlflow/entities/model_registry/model_version_stages.py);
// the server canonicalises their case.
const (
	stageProduction = "Production"
	stageArchived   = "Archived"
	statusReady     = "READY"
)

// runNameTag holds a run's name on servers older than RunInfo.run_name.
const runNameTag = "mlflow.runName"

// Fetch reads the experiment's newest runs and the registry, concurrently,
// and returns them as one Tracking value. Any failure fails the fetch (see
// the package comment); the first failure is the one reported.
func (c *Client) Fetch(ctx context.Context) (sources.Part, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first firstError
	var (
		training sources.Training
		registry sources.Registry
		wg       sync.WaitGroup
	)
	wg.Go(func() {
		t, err := c.Training(ctx)
		if err != nil {
			first.set(err, cancel)
			return
		}
		training = t
	})
	wg.Go(func() {
		r, err := c.Registry(ctx)
		if err != nil {
			first.set(err, cancel)
			return
		}
		registry = r
	})
	wg.Wait()
	if err := first.get(); err != nil {
		return sources.Part{}, err
	}
	tracking := &sources.Tracking{Training: training, Registry: registry}
	c.addDoctorDetails(ctx, tracking)
	return sources.Part{Tracking: tracking}, nil
}

// firstError keeps the first error of concurrent calls and cancels the
// others: their "context canceled" is a consequence, not the cause.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error, cancel context.CancelFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
		cancel()
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// ---------------------------------------------------------------- Training

// Training reads the experiment and its newest Options.RunsLimit active
// runs, and returns them oldest first.
func (c *Client) Training(ctx context.Context) (sources.Training, error) {
	exp, err := c.experiment(ctx)
	if err != nil {
		return sources.Training{}, err
	}
	runs, err := c.searchRuns(ctx, exp.ExperimentID)
	if err != nil {
		return sources.Training{}, err
	}
	name := clean.Text(exp.Name)
	if name == "" {
		name = clean.Text(c.opts.Experiment)
	}
	return trainingFrom(name, c.opts.Metric, c.opts.KFPRunTag, runs), nil
}

// experiment looks the experiment up by name. get-by-name may answer with
// a deleted experiment when no active one has the name; for the dashboard
// that is as good as missing, but the message says which it is.
func (c *Client) experiment(ctx context.Context) (experiment, error) {
	cl := call{endpoint: "experiments/get-by-name", subject: fmt.Sprintf("experiment %q", c.opts.Experiment)}
	var resp getExperimentResponse
	if err := c.get(ctx, cl, url.Values{"experiment_name": {c.opts.Experiment}}, &resp); err != nil {
		return experiment{}, err
	}
	exp := resp.Experiment
	if exp.ExperimentID == "" {
		return experiment{}, &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: 200,
			text: c.prefix() + cl.endpoint + " answered without an experiment id"}
	}
	if strings.EqualFold(exp.LifecycleStage, "deleted") {
		return experiment{}, &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: 200, Code: codeNotFound,
			text: "mlflow: " + cl.subject + " not found on " + c.shownURL + ": it is deleted (restore it, or set mlflow.experiment to an active one)"}
	}
	return exp, nil
}

// searchRuns pages through runs/search, newest first, until RunsLimit runs
// are collected or the server has no more. MLflow's page token is an
// offset, so a run started between two pages shifts the next page by one
// and repeats a run: repeats are dropped.
func (c *Client) searchRuns(ctx context.Context, experimentID string) ([]run, error) {
	cl := call{endpoint: "runs/search", subject: fmt.Sprintf("experiment %q", c.opts.Experiment)}
	limit := c.opts.RunsLimit
	runs := make([]run, 0, min(limit, runsPageMax))
	seen := make(map[string]bool, min(limit, runsPageMax))
	token := ""
	for page := 0; len(runs) < limit; page++ {
		if page == maxPages {
			return nil, c.pagingError(cl)
		}
		req := searchRunsRequest{
			ExperimentIDs: []string{experimentID},
			RunViewType:   "ACTIVE_ONLY",
			MaxResults:    min(limit-len(runs), runsPageMax),
			OrderBy:       []string{"attributes.start_time DESC"},
			PageToken:     token,
		}
		var resp searchRunsResponse
		if err := c.post(ctx, cl, req, &resp); err != nil {
			return nil, err
		}
		for _, r := range resp.Runs {
			id := r.Info.id()
			if seen[id] || len(runs) == limit {
				continue
			}
			seen[id] = true
			runs = append(runs, r)
		}
		if resp.NextPageToken == "" {
			break
		}
		if resp.NextPageToken == token {
			return nil, c.pagingError(cl)
		}
		token = resp.NextPageToken
	}
	return runs, nil
}

func (c *Client) pagingError(cl call) *Error {
	return &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: 200,
		text: c.prefix() + cl.endpoint + " keeps answering the same page: paging stopped"}
}

func (i runInfo) id() string {
	if i.RunID != "" {
		return i.RunID
	}
	return i.RunUUID
}

// trainingFrom turns runs (newest first, as searched) into the pane's value
// (oldest first). A run that is RUNNING or SCHEDULED has no end even when
// end_time is set: resuming a finished run keeps its old end_time.
func trainingFrom(experimentName, metricKey, kfpTag string, newestFirst []run) sources.Training {
	out := sources.Training{Experiment: experimentName, Metric: clean.Text(metricKey)}
	out.Runs = make([]sources.TrainingRun, 0, len(newestFirst))
	for i := len(newestFirst) - 1; i >= 0; i-- {
		r := newestFirst[i]
		tr := sources.TrainingRun{
			ID:     clean.Text(r.Info.id()),
			Name:   clean.Text(r.Info.RunName),
			Status: clean.Text(r.Info.Status),
			Start:  r.Info.StartTime.time(),
		}
		if tr.Status != "RUNNING" && tr.Status != "SCHEDULED" {
			tr.End = r.Info.EndTime.time()
		}
		for _, m := range r.Data.Metrics {
			// A NaN or infinite value cannot be plotted or compared; the run
			// counts as not having logged the metric.
			if v := float64(m.Value); m.Key == metricKey && !math.IsNaN(v) && !math.IsInf(v, 0) {
				tr.Value, tr.HasValue = v, true
			}
		}
		for _, t := range r.Data.Tags {
			switch {
			case t.Key == kfpTag:
				tr.KFPRunID = clean.Text(t.Value)
			case t.Key == runNameTag && tr.Name == "":
				tr.Name = clean.Text(t.Value)
			}
		}
		out.Runs = append(out.Runs, tr)
	}
	return out
}

// time is the timestamp in UTC; zero (absent) stays the zero time.
func (m millis) time() time.Time {
	if m <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// ---------------------------------------------------------------- Registry

// Registry reads the registered models (all, or Options.Models) and their
// versions, and returns each model's promoted version and the versions
// waiting for promotion.
func (c *Client) Registry(ctx context.Context) (sources.Registry, error) {
	models, err := c.registeredModels(ctx)
	if err != nil {
		return sources.Registry{}, err
	}
	versions, err := c.allModelVersions(ctx, models)
	if err != nil {
		return sources.Registry{}, err
	}
	return c.registryFrom(models, versions)
}

// registeredModels lists every registered model, or finds each configured
// one by an exact-name filter (one short search per name rather than
// paging through a large registry).
func (c *Client) registeredModels(ctx context.Context) ([]registeredModel, error) {
	if len(c.opts.Models) == 0 {
		return c.searchRegisteredModels(ctx, call{endpoint: "registered-models/search", subject: "the registered models"}, "")
	}
	var out []registeredModel
	for _, name := range c.opts.Models {
		cl := call{endpoint: "registered-models/search", subject: fmt.Sprintf("registered model %q", name)}
		found, err := c.searchRegisteredModels(ctx, cl, nameFilter(name))
		if err != nil {
			return nil, err
		}
		var match *registeredModel
		for i := range found {
			if found[i].Name == name {
				match = &found[i]
			}
		}
		if match == nil {
			return nil, &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: 200, Code: codeNotFound,
				text: "mlflow: " + cl.subject + " not found on " + c.shownURL}
		}
		out = append(out, *match)
	}
	return out, nil
}

func nameFilter(name string) string { return "name = '" + name + "'" }

func (c *Client) searchRegisteredModels(ctx context.Context, cl call, filter string) ([]registeredModel, error) {
	var out []registeredModel
	token := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, c.pagingError(cl)
		}
		q := url.Values{"max_results": {strconv.Itoa(modelsPageSize)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp searchRegisteredModelsResponse
		if err := c.get(ctx, cl, q, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.RegisteredModels...)
		if resp.NextPageToken == "" {
			return out, nil
		}
		if resp.NextPageToken == token {
			return nil, c.pagingError(cl)
		}
		token = resp.NextPageToken
	}
}

// allModelVersions searches each model's versions, a few models at a time
// so a registry of many models fits in one fetch timeout. versions[i]
// belongs to models[i].
func (c *Client) allModelVersions(ctx context.Context, models []registeredModel) ([][]modelVersion, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	versions := make([][]modelVersion, len(models))
	var first firstError
	slots := make(chan struct{}, versionConcurrency)
	var wg sync.WaitGroup
	for i, m := range models {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			vs, err := c.searchModelVersions(ctx, m.Name)
			if err != nil {
				first.set(err, cancel)
				return
			}
			versions[i] = vs
		})
	}
	wg.Wait()
	if err := first.get(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, c.transportError(call{endpoint: "model-versions/search"}, err)
	}
	return versions, nil
}

func (c *Client) searchModelVersions(ctx context.Context, model string) ([]modelVersion, error) {
	cl := call{endpoint: "model-versions/search", subject: fmt.Sprintf("registered model %q", model)}
	var out []modelVersion
	token := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, c.pagingError(cl)
		}
		q := url.Values{
			"filter":      {nameFilter(model)},
			"max_results": {strconv.Itoa(versionsPageSize)},
		}
		if token != "" {
			q.Set("page_token", token)
		}
		var resp searchModelVersionsResponse
		if err := c.get(ctx, cl, q, &resp); err != nil {
			return nil, err
		}
		out = append(out, resp.ModelVersions...)
		if resp.NextPageToken == "" {
			return out, nil
		}
		if resp.NextPageToken == token {
			return nil, c.pagingError(cl)
		}
		token = resp.NextPageToken
	}
}

// numberedVersion is a version with its number parsed: versions are
// strings on the wire and "10" must sort after "9".
type numberedVersion struct {
	modelVersion
	number  int64
	aliases []string
}

// registryFrom picks each model's promoted version and the waiting ones.
//
// Promoted: the version carrying the promoted alias (RegisteredModel.aliases
// or ModelVersion.aliases), else the newest version in stage Production
// (stages are deprecated since MLflow 2.9 but still in use).
//
// Waiting: READY, not Archived, neither promoted-alias nor Production, and
// newer than the promoted version; with no promoted version every READY,
// non-archived version waits. The wait counts from creation_timestamp.
func (c *Client) registryFrom(models []registeredModel, versions [][]modelVersion) (sources.Registry, error) {
	alias := c.opts.PromotedAlias
	out := sources.Registry{PromotedAlias: clean.Text(alias)}
	for i, m := range models {
		aliasesOf := map[string][]string{} // version -> aliases from the registered model
		for _, a := range m.Aliases {
			aliasesOf[a.Version] = append(aliasesOf[a.Version], a.Alias)
		}
		vs := make([]numberedVersion, 0, len(versions[i]))
		for _, v := range versions[i] {
			n, err := strconv.ParseInt(strings.TrimSpace(v.Version), 10, 64)
			if err != nil {
				return sources.Registry{}, &Error{Server: c.shownURL, Endpoint: "model-versions/search", Status: 200,
					text: fmt.Sprintf("%smodel %q has version %q, which is not a number", c.prefix(), clean.Text(m.Name), clean.Text(v.Version))}
			}
			if v.Name == "" {
				v.Name = m.Name
			}
			vs = append(vs, numberedVersion{modelVersion: v, number: n, aliases: union(v.Aliases, aliasesOf[v.Version])})
		}

		promoted := -1
		for j, v := range vs {
			if slices.Contains(v.aliases, alias) {
				promoted = j
				break
			}
		}
		if promoted < 0 {
			for j, v := range vs {
				if isStage(v, stageProduction) && (promoted < 0 || v.number > vs[promoted].number) {
					promoted = j
				}
			}
		}
		if promoted >= 0 {
			out.Promoted = append(out.Promoted, valueOf(vs[promoted]))
		}
		out.Versions = append(out.Versions, keptVersions(vs, promoted)...)

		for j, v := range vs {
			switch {
			case j == promoted,
				v.Status != statusReady,
				isStage(v, stageArchived),
				isStage(v, stageProduction),
				slices.Contains(v.aliases, alias),
				promoted >= 0 && v.number <= vs[promoted].number:
				continue
			}
			out.Waiting = append(out.Waiting, valueOf(v))
		}
	}
	sort.SliceStable(out.Promoted, func(i, j int) bool { return out.Promoted[i].Model < out.Promoted[j].Model })
	sort.SliceStable(out.Waiting, func(i, j int) bool {
		a, b := out.Waiting[i], out.Waiting[j]
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		if a.Model != b.Model {
			return a.Model < b.Model
		}
		return versionLess(a.Version, b.Version)
	})
	return out, nil
}

func isStage(v numberedVersion, stage string) bool { return strings.EqualFold(v.CurrentStage, stage) }

// versionLess orders cleaned version strings numerically (they parsed before).
func versionLess(a, b string) bool {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return x < y
}

func valueOf(v numberedVersion) sources.ModelVersion {
	aliases := make([]string, 0, len(v.aliases))
	for _, a := range v.aliases {
		aliases = append(aliases, clean.Text(a))
	}
	if len(aliases) == 0 {
		aliases = nil
	}
	return sources.ModelVersion{
		Model:   clean.Text(v.Name),
		Version: strconv.FormatInt(v.number, 10),
		Stage:   clean.Text(v.CurrentStage),
		Aliases: aliases,
		Status:  clean.Text(v.Status),
		Created: v.CreationTimestamp.time(),
		Source:  clean.Text(v.Source),
		RunID:   clean.Text(v.RunID),
	}
}

// union is a followed by the elements of b not in a.
func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
