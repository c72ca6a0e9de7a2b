// Package prom reads serving, GPU and OOM figures from Prometheus.
//
// A metric Profile names the series of one way of exporting request metrics
// (Knative's queue-proxy before and after 1.19, the KServe model server, the
// seed article's names); "auto" probes which one the server has. Every query
// aggregates with `sum by (namespace, service[, revision])` over the watched
// namespaces, so one refresh costs the same small, fixed number of queries
// for 5 services or 500.
//
// A query that fails does not fail the refresh: its figures are left out and
// the failure is logged (Options.Logger). Fetch fails only when every
// service-level query failed, or every query did; its error is one line that
// names the server and says what to check.
package prom

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/mltop/mltop/sources"
)

// Defaults of the Options.
const (
	DefaultWindow     = "5m"
	DefaultTrendRange = time.Hour
	DefaultTrendStep  = time.Minute
	DefaultProbeEvery = 10 * time.Minute
	DefaultParallel   = 4
	// defaultHTTPTimeout bounds a request when the caller's context has no
	// deadline (the poller always sets one).
	defaultHTTPTimeout = time.Minute
)

// Options configure a Client.
type Options struct {
	// BaseURL is the server root, e.g. http://prometheus:9090, or an API
	// server service proxy URL (its path is kept; API paths are appended).
	BaseURL string
	// HTTPClient carries the requests; nil builds one from the TLS and auth
	// fields below. When it is set those fields must be empty: it already
	// carries its own credentials (the Kubernetes API proxy's), and a second
	// Authorization header would replace them.
	HTTPClient *http.Client

	// BearerTokenFile is read on every request, so a rotated token is used.
	BearerTokenFile string
	// Username and PasswordFile enable basic auth.
	Username     string
	PasswordFile string
	// CAFile holds PEM certificates trusted for the server, on top of the
	// system's.
	CAFile string

	// Profile is a name in Profiles, or "auto" (the default) to probe.
	Profile string
	// Profiles are the metric profiles by name; nil means DefaultProfiles().
	Profiles map[string]Profile
	// Namespaces are the watched namespaces; empty means all.
	Namespaces []string
	// Window is the PromQL range of rates, e.g. 5m (default).
	Window string
	// TrendRange and TrendStep shape the trends (default 1h at 1m).
	TrendRange time.Duration
	TrendStep  time.Duration
	// ProbeEvery is how long auto keeps the profile it found (default 10m).
	ProbeEvery time.Duration
	// Parallel is how many queries are in flight at once (default 4).
	Parallel int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives partial failures and server warnings (default: none).
	Logger *slog.Logger
}

// Client fetches the Prometheus source's value. It is safe for concurrent
// use, although the poller never calls Fetch twice at once.
type Client struct {
	api       v1.API
	where     string // the server, without credentials, for error messages
	opts      Options
	window    time.Duration
	plans     map[string]plan
	autoNames []string // profiles auto may choose, in order of preference
	log       *slog.Logger

	mu   sync.Mutex
	auto autoChoice
	// bounds keeps the canary judge's latency bounds (counters.go).
	bounds boundsCache
}

// New validates the options and builds a client; it does no network I/O
// (it reads CAFile, so a bad file is reported at once).
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		return nil, errors.New("prometheus: the URL is empty: set prometheus.url")
	}
	base, err := url.Parse(o.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("prometheus: %q is not an http(s) URL", redact(o.BaseURL))
	}
	o = withDefaults(o)
	window, err := model.ParseDuration(o.Window)
	if err != nil || window <= 0 {
		return nil, fmt.Errorf("prometheus: window %q is not a PromQL duration such as 5m", o.Window)
	}
	if o.TrendStep <= 0 || o.TrendRange < o.TrendStep {
		return nil, fmt.Errorf("prometheus: trend range %v must be at least one step (%v)", o.TrendRange, o.TrendStep)
	}
	if o.TrendRange/o.TrendStep > 11000 {
		return nil, fmt.Errorf("prometheus: trend range %v at step %v exceeds Prometheus's 11000 points", o.TrendRange, o.TrendStep)
	}
	if o.Profile != ProfileAuto {
		if _, ok := o.Profiles[o.Profile]; !ok {
			return nil, fmt.Errorf("prometheus: unknown profile %q (known: %s)", o.Profile, strings.Join(profileNames(o.Profiles), ", "))
		}
	}
	plans := make(map[string]plan, len(o.Profiles))
	for name, p := range o.Profiles {
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("prometheus: %w", err)
		}
		plans[name] = newPlan(p, o.Window, o.Namespaces)
	}
	httpClient, err := buildHTTPClient(o)
	if err != nil {
		return nil, err
	}
	apiClient, err := api.NewClient(api.Config{Address: o.BaseURL, Client: httpClient})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", redact(o.BaseURL), err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Client{
		api:       v1.NewAPI(apiClient),
		where:     redact(o.BaseURL),
		opts:      o,
		window:    time.Duration(window),
		plans:     plans,
		autoNames: autoCandidates(o.Profiles),
		log:       log,
	}, nil
}

func withDefaults(o Options) Options {
	if o.Profile == "" {
		o.Profile = ProfileAuto
	}
	if o.Profiles == nil {
		o.Profiles = DefaultProfiles()
	}
	// A copy: the caller may go on changing its map.
	profiles := make(map[string]Profile, len(o.Profiles))
	for name, p := range o.Profiles {
		if p.Name == "" {
			p.Name = name
		}
		profiles[name] = p
	}
	o.Profiles = profiles
	if o.Window == "" {
		o.Window = DefaultWindow
	}
	if o.TrendRange == 0 {
		o.TrendRange = DefaultTrendRange
	}
	if o.TrendStep == 0 {
		o.TrendStep = DefaultTrendStep
	}
	if o.ProbeEvery <= 0 {
		o.ProbeEvery = DefaultProbeEvery
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Namespaces = slices.Clone(o.Namespaces)
	return o
}

func profileNames(profiles map[string]Profile) []string {
	names := []string{ProfileAuto}
	for name := range profiles {
		names = append(names, name)
	}
	sort.Strings(names[1:])
	return names
}

// buildHTTPClient returns the caller's client, or one with the TLS and auth
// options applied over a clone of the default transport.
func buildHTTPClient(o Options) (*http.Client, error) {
	auth := o.BearerTokenFile != "" || o.Username != "" || o.PasswordFile != "" || o.CAFile != ""
	if o.HTTPClient != nil {
		if auth {
			return nil, errors.New("prometheus: bearer_token_file, username, password_file and ca_file apply to a direct URL only; through the Kubernetes API proxy the kubeconfig's credentials are used")
		}
		return o.HTTPClient, nil
	}
	if o.BearerTokenFile != "" && (o.Username != "" || o.PasswordFile != "") {
		return nil, errors.New("prometheus: set bearer_token_file or username/password_file, not both")
	}
	if o.PasswordFile != "" && o.Username == "" {
		return nil, errors.New("prometheus: password_file is set without username")
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.ResponseHeaderTimeout = defaultHTTPTimeout
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("prometheus: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("prometheus: ca_file %s holds no PEM certificate", o.CAFile)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	var rt http.RoundTripper = transport
	switch {
	case o.BearerTokenFile != "":
		rt = &bearerFile{file: o.BearerTokenFile, next: rt}
	case o.Username != "":
		rt = &basicAuth{username: o.Username, passwordFile: o.PasswordFile, next: rt}
	}
	return &http.Client{Transport: rt, Timeout: defaultHTTPTimeout}, nil
}

// redact drops the credentials and the query string of a URL: both may
// carry secrets, and neither helps the reader find the server.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}

// Fetch returns the metrics of the watched namespaces: per service and per
// revision traffic, the trends of the last TrendRange, GPUs and OOM kills.
func (c *Client) Fetch(ctx context.Context) (sources.Part, error) {
	now := c.opts.Now()
	name, err := c.profile(ctx, now)
	if err != nil {
		return sources.Part{}, err
	}
	queries := c.queries(name)
	results := c.run(ctx, queries, now)

	failedCore, core, failed := 0, 0, 0
	var firstCore, first error
	for i, q := range queries {
		err := results[i].err
		if q.core {
			core++
		}
		if err == nil {
			continue
		}
		failed++
		if first == nil {
			first = err
		}
		if q.core {
			failedCore++
			if firstCore == nil {
				firstCore = err
			}
		}
	}
	switch {
	case core > 0 && failedCore == core:
		return sources.Part{}, firstCore
	case failed == len(queries):
		return sources.Part{}, first
	}
	for i, q := range queries {
		if results[i].err != nil {
			c.log.Warn("prometheus query failed; its figures are left out", "query", q.name, "err", results[i].err.Error())
		}
	}

	m := c.assemble(name, queries, results, now)
	c.fillCounters(ctx, name, now, &m)
	return sources.Part{Metrics: &m}, nil
}

// Profile reports the profile the client uses now: the configured one, or
// the one auto chose last ("" before the first probe).
func (c *Client) Profile() string {
	if c.opts.Profile != ProfileAuto {
		return c.opts.Profile
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.auto.name
}

// run sends the queries, at most Parallel at once, and returns their results
// in order. A failure of one does not stop the others.
func (c *Client) run(ctx context.Context, queries []query, now time.Time) []result {
	results := make([]result, len(queries))
	sem := make(chan struct{}, c.opts.Parallel)
	var wg sync.WaitGroup
	trend := c.trendRange(now)
	for i, q := range queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = result{err: c.describe(q.name, ctx.Err())}
				return
			}
			defer func() { <-sem }()
			results[i] = c.do(ctx, q, now, trend)
		}()
	}
	wg.Wait()
	return results
}

// trendRange is the last TrendRange, aligned to the step so that the points
// of consecutive refreshes fall on the same timestamps.
func (c *Client) trendRange(now time.Time) v1.Range {
	end := now.Truncate(c.opts.TrendStep)
	return v1.Range{Start: end.Add(-c.opts.TrendRange), End: end, Step: c.opts.TrendStep}
}

func (c *Client) do(ctx context.Context, q query, now time.Time, trend v1.Range) result {
	var opts []v1.Option
	if deadline, ok := ctx.Deadline(); ok {
		// Let the server give up when the caller does. The client sends
		// Duration.String(), and Prometheus parses "9.5s" as no duration:
		// whole seconds only, and none below one.
		if left := time.Until(deadline).Truncate(time.Second); left >= time.Second {
			opts = append(opts, v1.WithTimeout(left))
		}
	}
	var (
		value    model.Value
		warnings v1.Warnings
		err      error
	)
	if q.trend {
		value, warnings, _, err = c.api.QueryRange(ctx, q.expr, trend, opts...)
	} else {
		value, warnings, _, err = c.api.Query(ctx, q.expr, now, opts...)
	}
	for _, w := range warnings {
		c.log.Warn("prometheus warning", "query", q.name, "warning", w)
	}
	if err != nil {
		return result{err: c.describe(q.name, err)}
	}
	want := model.ValVector
	if q.trend {
		want = model.ValMatrix
	}
	if value == nil || value.Type() != want {
		got := "nothing"
		if value != nil {
			got = "a " + value.Type().String()
		}
		return result{err: c.describe(q.name, fmt.Errorf("%w: %s, not a %s", errUnexpectedResult, got, want))}
	}
	return result{value: value}
}
