package kfp

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mltop/mltop/sources"
)

// Runs started from an uploaded pipeline name it by ID only
// (pipeline_version_reference). Names are looked up with GetPipeline and
// kept: a pipeline's name does not change, and there are few pipelines.
const (
	// maxLookupsPerFetch bounds the extra requests one fetch may make, so a
	// first fetch over many pipelines cannot eat the poll's timeout.
	maxLookupsPerFetch = 16
	// lookupRetryAfter is how long a pipeline the server refused to name
	// (deleted, or not readable by this token) keeps its ID as its name.
	lookupRetryAfter = 10 * time.Minute
	// maxKnownPipelines bounds the cache; beyond it the cache starts over.
	maxKnownPipelines = 1000
)

// pipelineNames caches pipeline ID -> name for one client.
type pipelineNames struct {
	mu    sync.Mutex
	known map[string]pipelineName
}

type pipelineName struct {
	name    string    // empty when the lookup was refused
	retryAt time.Time // when a refused lookup may be tried again
}

func newPipelineNames() *pipelineNames {
	return &pipelineNames{known: make(map[string]pipelineName)}
}

// namePipelines fills the Pipeline field of the runs refs point at. It is
// best effort: a run whose pipeline cannot be named keeps the ID, and no
// lookup failure fails the fetch.
func (c *Client) namePipelines(ctx context.Context, token string, now time.Time, runs []sources.PipelineRun, refs []pipelineRef) {
	lookups := 0
	for _, ref := range refs {
		name, ok := c.names.cached(ref.id, now)
		if !ok && lookups < maxLookupsPerFetch && ctx.Err() == nil {
			lookups++
			var err error
			name, err = c.pipelineName(ctx, ref.id, token)
			c.names.remember(ref.id, name, err, now)
		}
		if name != "" {
			runs[ref.index].Pipeline = name
		}
	}
}

// cached returns a known name; ok is false when the ID must be looked up.
func (p *pipelineNames) cached(id string, now time.Time) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, found := p.known[id]
	if !found {
		return "", false
	}
	if e.name == "" && !now.Before(e.retryAt) {
		return "", false
	}
	return e.name, true
}

// remember records a lookup. Only the server's refusal is remembered: a
// timeout or a dropped connection says nothing about the pipeline.
func (p *pipelineNames) remember(id, name string, err error, now time.Time) {
	var apiErr *APIError
	if err != nil && !errors.As(err, &apiErr) {
		return
	}
	if err == nil && name == "" {
		// A pipeline without a name is named by its ID, as before the lookup.
		name = id
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.known) >= maxKnownPipelines {
		clear(p.known)
	}
	p.known[id] = pipelineName{name: name, retryAt: now.Add(lookupRetryAfter)}
}

// pipelineName asks GET /apis/v2beta1/pipelines/{id}.
func (c *Client) pipelineName(ctx context.Context, id, token string) (string, error) {
	var body struct {
		DisplayName string `json:"display_name"`
		Name        string `json:"name"`
	}
	if err := c.getJSON(ctx, c.endpoint(nil, "pipelines", id), token, nil, &body); err != nil {
		return "", err
	}
	return cleanLine(firstNonEmpty(body.DisplayName, body.Name), maxNameRunes), nil
}
