// Package kfp reads Kubeflow Pipelines runs through the v2beta1 REST API
// (GET /apis/v2beta1/runs) and turns them into the Pipelines pane's value:
// the runs created within a window, newest first, from which
// sources.Pipelines.Stats derives the success rate and durations.
//
// The client speaks plain net/http: the KFP Go client would pull in gRPC
// and the whole KFP backend module for three GET endpoints.
package kfp

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mltop/mltop/sources"
)

// Defaults and limits of Options.
const (
	DefaultWindow   = 24 * time.Hour
	DefaultPageSize = 100
	// MaxPageSize is the server's own limit (backend list/list.go).
	MaxPageSize = 200
	// DefaultMaxRuns bounds one fetch: 20 pages of 100 runs.
	DefaultMaxRuns = 2000
	// EnvTokenPath is the variable the KFP SDK reads for the path of a
	// projected service-account token (audience pipelines.kubeflow.org).
	EnvTokenPath = "KF_PIPELINES_SA_TOKEN_PATH"
)

// apiPrefix is where the v2beta1 API lives under the base URL.
const apiPrefix = "/apis/v2beta1"

// Options configure a Client. Only BaseURL is required.
type Options struct {
	// BaseURL is the root the API hangs off: http://ml-pipeline.kubeflow:8888,
	// https://HOST/pipeline through the Kubeflow gateway, or an API server
	// service-proxy URL (.../services/ml-pipeline:8888/proxy). A trailing
	// /apis/v2beta1 is accepted and dropped; a query string is kept and sent
	// with every request.
	BaseURL string
	// HTTPClient carries the requests; nil builds one with sane timeouts.
	// The wiring passes a client whose transport goes through the Kubernetes
	// API server for k8s:// URLs.
	HTTPClient *http.Client
	// Namespace is the profile namespace whose runs to list. Multi-user
	// installations require it; single-user ones ignore it.
	Namespace string
	// ExperimentID limits the runs to one experiment (optional). The server
	// then uses the experiment's namespace.
	ExperimentID string
	// Window is how far back runs are listed, by creation time (default 24h).
	Window time.Duration
	// Pipeline keeps only runs whose display name contains it (empty: all).
	// The server applies it (IS_SUBSTRING on display_name), so MaxRuns counts
	// matching runs only; the pipeline's own name is not a filterable field.
	Pipeline string
	// TokenFile holds a bearer token sent as Authorization. It is read on
	// every fetch because projected service-account tokens rotate. Empty:
	// no Authorization header.
	TokenFile string
	// PageSize is the number of runs asked per request (default 100, at most 200).
	PageSize int
	// MaxRuns bounds the runs one fetch reads (default 2000). When the
	// window holds more, the newest MaxRuns are kept and the published
	// window shrinks to the span they cover, so the figures stay honest.
	MaxRuns int
	// Now is the clock the window is measured from (default time.Now).
	Now func() time.Time
}

// OptionsFromEnv returns the options the environment sets: TokenFile from
// KF_PIPELINES_SA_TOKEN_PATH, as the KFP SDK does in a pod. The caller fills
// the rest from the configuration, where kfp.token_file, when set, should
// win over the variable.
func OptionsFromEnv(getenv func(string) string) Options {
	return Options{TokenFile: strings.TrimSpace(getenv(EnvTokenPath))}
}

// Client reads runs from one KFP API server. It is safe for concurrent use.
type Client struct {
	base *url.URL // scheme, host and path prefix; no trailing slash
	// shown is the base URL for messages: no password, no query (which
	// might carry a secret); where prefixes every error with it.
	shown string
	where string
	http  *http.Client
	opts  Options // with defaults filled
	names *pipelineNames
	// version keeps the server's release between fetches.
	version *versionCache
}

// New validates the options and builds a client. It does no I/O.
func New(o Options) (*Client, error) {
	base, err := parseBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if o.Window < 0 {
		return nil, fmt.Errorf("kfp: window %s is negative; use a positive duration such as 24h", o.Window)
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.PageSize < 0 || o.PageSize > MaxPageSize {
		return nil, fmt.Errorf("kfp: page size %d is out of range; use 1 to %d", o.PageSize, MaxPageSize)
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.MaxRuns < 0 {
		return nil, fmt.Errorf("kfp: max runs %d is negative", o.MaxRuns)
	}
	if o.MaxRuns == 0 {
		o.MaxRuns = DefaultMaxRuns
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Namespace = strings.TrimSpace(o.Namespace)
	o.ExperimentID = strings.TrimSpace(o.ExperimentID)
	o.Pipeline = strings.TrimSpace(o.Pipeline)
	o.TokenFile = strings.TrimSpace(o.TokenFile)
	hc := o.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	shown := *base
	shown.RawQuery, shown.ForceQuery = "", false
	return &Client{
		base:    base,
		shown:   shown.Redacted(),
		where:   "kfp " + shown.Redacted(),
		http:    hc,
		opts:    o,
		names:   newPipelineNames(),
		version: &versionCache{},
	}, nil
}

// parseBaseURL checks the base URL and normalises its path: no trailing
// slash and no /apis/v2beta1, which people paste from the API reference.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("kfp: no URL; set kfp.url, e.g. http://ml-pipeline.kubeflow:8888 or https://HOST/pipeline")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("kfp: URL %q does not parse: %v", redactRaw(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("kfp: URL %q must start with http:// or https://", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("kfp: URL %q has no host", u.Redacted())
	}
	u.Fragment, u.RawFragment = "", ""
	p := strings.TrimRight(u.EscapedPath(), "/")
	p = strings.TrimSuffix(p, apiPrefix)
	p = strings.TrimRight(p, "/")
	if err := setEscapedPath(u, p); err != nil {
		return nil, fmt.Errorf("kfp: URL %q has a bad path: %v", u.Redacted(), err)
	}
	return u, nil
}

// setEscapedPath sets u's path from its escaped form, so escapes in a proxy
// path survive (services/https:name:port/proxy and friends).
func setEscapedPath(u *url.URL, escaped string) error {
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	u.Path, u.RawPath = unescaped, ""
	if u.EscapedPath() != escaped {
		u.RawPath = escaped
	}
	return nil
}

// redactRaw hides the password of a URL that does not parse.
func redactRaw(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if user, _, hasPass := strings.Cut(rest[:at], ":"); hasPass {
			return scheme + "://" + user + ":xxxxx@" + rest[at+1:]
		}
	}
	return raw
}

// defaultHTTPClient bounds each stage of a request; the poller's context
// bounds the whole fetch, and Timeout is a backstop for callers without one.
func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: time.Minute,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
		},
	}
}

// Fetch lists the runs created within the window and returns them as the
// Pipelines part. It implements sources.Fetcher.
func (c *Client) Fetch(ctx context.Context) (sources.Part, error) {
	p, err := c.Pipelines(ctx)
	if err != nil {
		return sources.Part{}, err
	}
	p.ServerVersion = c.serverVersion(ctx)
	return sources.Part{Pipelines: &p}, nil
}

// Healthz is what the API server says about itself.
type Healthz struct {
	CommitSHA string
	TagName   string // release, e.g. 2.5.0
	MultiUser bool   // the server requires a namespace and authenticates callers
}

// Healthz asks GET /apis/v2beta1/healthz.
func (c *Client) Healthz(ctx context.Context) (Healthz, error) {
	token, err := c.bearerToken()
	if err != nil {
		return Healthz{}, err
	}
	var body struct {
		CommitSHA string `json:"commit_sha"`
		TagName   string `json:"tag_name"`
		MultiUser bool   `json:"multi_user"`
	}
	if err := c.getJSON(ctx, c.endpoint(nil, "healthz"), token, nil, &body); err != nil {
		return Healthz{}, err
	}
	return Healthz{
		CommitSHA: cleanLine(body.CommitSHA, maxNameRunes),
		TagName:   cleanLine(body.TagName, maxNameRunes),
		MultiUser: body.MultiUser,
	}, nil
}
