package kfp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mltop/mltop/sources"
	"github.com/mltop/mltop/sources/clean"
)

// Text bounds for values that land in the pane: a run's error is one line
// of a list, and KFP errors can carry whole stack traces.
const (
	maxErrorRunes = 300
	maxNameRunes  = 200
)

// sortNewestFirst is the sort_by every request sends: the newest runs come
// first, so MaxRuns keeps the most recent ones.
const sortNewestFirst = "created_at desc"

// listRunsResponse is ListRunsResponse as the server marshals it (proto
// names, so snake_case).
type listRunsResponse struct {
	Runs          []apiRun `json:"runs"`
	TotalSize     int      `json:"total_size"`
	NextPageToken string   `json:"next_page_token"`
}

// apiRun holds the fields of a v2beta1 Run that the pane uses.
type apiRun struct {
	RunID                    string            `json:"run_id"`
	DisplayName              string            `json:"display_name"`
	PipelineVersionReference *versionReference `json:"pipeline_version_reference"`
	PipelineSpec             *pipelineSpec     `json:"pipeline_spec"`
	CreatedAt                time.Time         `json:"created_at"`
	FinishedAt               time.Time         `json:"finished_at"`
	State                    string            `json:"state"`
	Error                    *rpcStatus        `json:"error"`
	StateHistory             []runtimeStatus   `json:"state_history"`
}

type versionReference struct {
	PipelineID        string `json:"pipeline_id"`
	PipelineVersionID string `json:"pipeline_version_id"`
}

// pipelineSpec is the compiled pipeline a run was submitted with. The
// struct is stored as the SDK wrote it (camelCase), either bare or, when the
// run carries a platform spec too, wrapped as {pipeline_spec, platform_spec}.
// Only the name is decoded; the rest of a large spec is skipped.
type pipelineSpec struct {
	PipelineInfo pipelineInfo `json:"pipelineInfo"`
	Wrapped      *struct {
		PipelineInfo pipelineInfo `json:"pipelineInfo"`
	} `json:"pipeline_spec"`
}

type pipelineInfo struct {
	Name string `json:"name"`
}

func (s *pipelineSpec) name() string {
	if s == nil {
		return ""
	}
	if s.PipelineInfo.Name != "" {
		return s.PipelineInfo.Name
	}
	if s.Wrapped != nil {
		return s.Wrapped.PipelineInfo.Name
	}
	return ""
}

// rpcStatus is google.rpc.Status.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type runtimeStatus struct {
	UpdateTime time.Time  `json:"update_time"`
	State      string     `json:"state"`
	Error      *rpcStatus `json:"error"`
}

// filter and predicate are KFP's Filter proto in the JSON the server
// parses with protojson (backend/api/v2beta1/filter.proto).
type filter struct {
	Predicates []predicate `json:"predicates"`
}

type predicate struct {
	Key            string `json:"key"`
	Operation      string `json:"operation"`
	TimestampValue string `json:"timestamp_value,omitempty"`
	StringValue    string `json:"string_value,omitempty"`
}

// listQuery is the query of every page. A page token is only valid with the
// same sort_by and filter, so they are built once per fetch and reused.
func (c *Client) listQuery(since time.Time) (url.Values, error) {
	f := filter{Predicates: []predicate{{
		Key:            "created_at",
		Operation:      "GREATER_THAN",
		TimestampValue: since.UTC().Format(time.RFC3339),
	}}}
	if c.opts.Pipeline != "" {
		// The server matches with SQL LIKE: usually case-insensitive (MySQL's
		// default collation), and % or _ in the text act as wildcards.
		f.Predicates = append(f.Predicates, predicate{
			Key:         "display_name",
			Operation:   "IS_SUBSTRING",
			StringValue: c.opts.Pipeline,
		})
	}
	encoded, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("kfp: cannot encode the run filter: %v", err)
	}
	q := url.Values{}
	q.Set("filter", string(encoded))
	q.Set("sort_by", sortNewestFirst)
	q.Set("page_size", strconv.Itoa(c.opts.PageSize))
	if c.opts.Namespace != "" {
		q.Set("namespace", c.opts.Namespace)
	}
	if c.opts.ExperimentID != "" {
		q.Set("experiment_id", c.opts.ExperimentID)
	}
	return q, nil
}

// Pipelines lists the runs created within the window, newest first, at most
// MaxRuns of them.
func (c *Client) Pipelines(ctx context.Context) (sources.Pipelines, error) {
	token, err := c.bearerToken()
	if err != nil {
		return sources.Pipelines{}, err
	}
	now := c.opts.Now()
	q, err := c.listQuery(now.Add(-c.opts.Window))
	if err != nil {
		return sources.Pipelines{}, err
	}
	var (
		runs      []sources.PipelineRun
		refs      []pipelineRef // runs whose pipeline is known by ID only
		pageToken string
		truncated bool
		body      bytes.Buffer // reused by every page
	)
	for {
		if pageToken != "" {
			q.Set("page_token", pageToken)
		}
		var page listRunsResponse
		if err := c.getJSON(ctx, c.endpoint(q, "runs"), token, &body, &page); err != nil {
			return sources.Pipelines{}, err
		}
		if runs == nil {
			runs = make([]sources.PipelineRun, 0, min(max(page.TotalSize, len(page.Runs)), c.opts.MaxRuns))
		}
		for i := range page.Runs {
			if len(runs) == c.opts.MaxRuns {
				truncated = true
				break
			}
			run, pipelineID := toPipelineRun(&page.Runs[i])
			if pipelineID != "" {
				refs = append(refs, pipelineRef{index: len(runs), id: pipelineID})
			}
			runs = append(runs, run)
		}
		next := page.NextPageToken
		if truncated || next == "" {
			break
		}
		if len(runs) == c.opts.MaxRuns {
			truncated = true
			break
		}
		if next == pageToken || len(page.Runs) == 0 {
			// A server that hands out the same token, or empty pages with
			// more to come, would keep this loop going until the timeout.
			return sources.Pipelines{}, fmt.Errorf("%s: the server's paging does not advance (page token repeated or empty page); giving up after %d runs",
				c.where, len(runs))
		}
		pageToken = next
	}

	c.namePipelines(ctx, token, now, runs, refs)

	// The server sorts already; checking costs one pass and keeps the pane's
	// newest-first promise even if a server ignored sort_by. The stable sort
	// keeps the server's order among runs created in the same second.
	newestFirst := func(a, b sources.PipelineRun) int { return b.Created.Compare(a.Created) }
	if !slices.IsSortedFunc(runs, newestFirst) {
		slices.SortStableFunc(runs, newestFirst)
	}
	window := c.opts.Window
	if truncated && len(runs) > 0 {
		// The figures describe only the newest MaxRuns runs: say which span.
		if span := now.Sub(runs[len(runs)-1].Created); span > 0 && span < window {
			window = span
		}
	}
	return sources.Pipelines{Window: window, Runs: runs}, nil
}

// pipelineRef marks a run whose pipeline name must be looked up by ID.
type pipelineRef struct {
	index int
	id    string
}

// toPipelineRun maps one run. It returns the pipeline ID when the run
// refers to a stored pipeline whose name must be looked up.
func toPipelineRun(a *apiRun) (sources.PipelineRun, string) {
	r := sources.PipelineRun{
		ID:      cleanLine(a.RunID, maxNameRunes),
		Name:    cleanLine(a.DisplayName, maxNameRunes),
		State:   normaliseState(a.State),
		Created: a.CreatedAt,
	}
	// An unfinished run reports finished_at 1970-01-01T00:00:00Z (a zero
	// unix time); only a final state makes the finish time a real one.
	if r.Done() && a.FinishedAt.Unix() > 0 {
		r.Finished = a.FinishedAt
	}
	r.Error = runError(a, r.State)
	pipelineID := ""
	if name := a.PipelineSpec.name(); name != "" {
		r.Pipeline = cleanLine(name, maxNameRunes)
	} else if a.PipelineVersionReference != nil && a.PipelineVersionReference.PipelineID != "" {
		pipelineID = a.PipelineVersionReference.PipelineID
		// Until the name is known, the ID is better than nothing.
		r.Pipeline = cleanLine(pipelineID, maxNameRunes)
	}
	return r, pipelineID
}

// normaliseState upper-cases the enum so a server or proxy that spells it
// otherwise still matches sources.Run*; an absent state is unspecified.
func normaliseState(s string) string {
	s = strings.ToUpper(cleanLine(s, 40))
	if s == "" {
		return "RUNTIME_STATE_UNSPECIFIED"
	}
	return s
}

// runError is the run's own error when it has one; a failed run without it
// falls back to the newest error in its state history.
func runError(a *apiRun, state string) string {
	if a.Error != nil && strings.TrimSpace(a.Error.Message) != "" {
		return cleanLine(a.Error.Message, maxErrorRunes)
	}
	if state != sources.RunFailed {
		return ""
	}
	for i := len(a.StateHistory) - 1; i >= 0; i-- {
		if e := a.StateHistory[i].Error; e != nil && strings.TrimSpace(e.Message) != "" {
			return cleanLine(e.Message, maxErrorRunes)
		}
	}
	return ""
}

// cleanLine makes API text safe and one line: no escapes or control
// characters, single spaces, at most maxRunes runes.
func cleanLine(s string, maxRunes int) string {
	s = clean.Text(s)
	if !singleSpaced(s) {
		s = strings.Join(strings.Fields(s), " ")
	}
	if utf8.RuneCountInString(s) <= maxRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxRunes-1]) + "…"
}

// singleSpaced reports whether s has no leading, trailing or repeated
// spaces, the common case that needs no copy. clean.Text has already turned
// other whitespace controls into spaces; other Unicode spaces take the slow path.
func singleSpaced(s string) bool {
	prevSpace := true // a leading space counts as repeated
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return false
		}
		space := c == ' '
		if space && prevSpace {
			return false
		}
		prevSpace = space
	}
	return !prevSpace || s == ""
}
