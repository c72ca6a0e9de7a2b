// Package mlflow reads an MLflow tracking server over its REST API 2.0
// (no SDK): the newest runs of one experiment for the Training pane, and the
// model registry's promoted and waiting versions for the Registry pane.
//
// Failure policy: any failed call fails the whole Fetch. The poller then
// keeps the last good Tracking value on screen, marks the source STALE and
// shows this package's one-line error. We chose this over returning
// Training with an old Registry (or the reverse) because a Part is a full
// value stamped with one fetch time: a half-fresh value would show old
// registry data as fresh, and keeping per-half state here would duplicate
// the poller's job. The doctor's details (doctor.go: server version,
// version metrics and signatures) are the exception: best effort, they
// stay unknown when their calls fail and never fail the fetch.
package mlflow

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/mltop/mltop/sources/clean"
)

// apiPath is where REST API 2.0 lives under the server's root.
const apiPath = "api/2.0/mlflow"

// Limits on what one answer may weigh. A page of 1000 runs with their
// params, metrics and tags is a few MB; an error page is small.
const (
	maxBodyBytes  = 64 << 20
	maxErrorBytes = 64 << 10
)

// Timeouts of the client built when Options.HTTPClient is nil. The poller
// bounds each fetch with its own deadline; these only stop a dead network
// path from holding a connection attempt longer than any fetch would.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 5 * time.Second
	clientTimeout    = 2 * time.Minute
)

// Client talks to one MLflow tracking server. Its only mutable state is
// the doctor's cache, which guards itself, so one Client may serve
// concurrent fetches.
type Client struct {
	opts     Options
	base     *url.URL
	shownURL string // base URL without credentials or query, for messages
	http     *http.Client
	doctor   *doctorCache

	auth             authKind
	authHeader       string // the Authorization value; empty when auth is authNone
	unauthorizedHint string
}

// New validates the options and prepares a client. It makes no request;
// the only I/O is reading Options.CAFile when the client builds its own
// HTTP client, so a wrong path fails here rather than on every fetch.
func New(o Options) (*Client, error) {
	o = o.withDefaults()
	base, err := parseBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.Experiment) == "" {
		return nil, errors.New("mlflow: no experiment set (mlflow.experiment)")
	}
	if o.RunsLimit < 1 {
		return nil, fmt.Errorf("mlflow: runs limit %d: must be at least 1 (mlflow.runs_limit)", o.RunsLimit)
	}
	for _, m := range o.Models {
		// Registry filters quote names with single quotes and MLflow's
		// parser has no escape for a quote inside them.
		if m == "" || strings.Contains(m, "'") {
			return nil, fmt.Errorf("mlflow: registered model name %q cannot be searched for (empty or with a single quote)", m)
		}
	}
	for name, v := range map[string]string{EnvUsername: o.Username, EnvPassword: o.Password, EnvToken: o.Token} {
		// A control character would break the header or smuggle another
		// one; the value itself is never printed.
		if strings.ContainsFunc(v, unicode.IsControl) {
			return nil, fmt.Errorf("mlflow: %s contains a control character", name)
		}
	}

	c := &Client{opts: o, base: base, shownURL: redactURL(o.BaseURL), auth: o.auth(), doctor: newDoctorCache(time.Now)}
	switch c.auth {
	case authBasic:
		c.authHeader = "Basic " + base64.StdEncoding.EncodeToString([]byte(o.Username+":"+o.Password))
		c.unauthorizedHint = "the server rejected " + EnvUsername + "/PASSWORD"
	case authBearer:
		c.unauthorizedHint = "the server rejected " + EnvToken
		c.authHeader = "Bearer " + o.Token
	default:
		c.unauthorizedHint = "set " + EnvUsername + "/PASSWORD or " + EnvToken
		if (o.Username == "") != (o.Password == "") {
			c.unauthorizedHint = "set both " + EnvUsername + " and " + EnvPassword + " (only one is set)"
		}
	}

	c.http = o.HTTPClient
	if c.http == nil {
		c.http, err = buildHTTPClient(o)
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parseBaseURL checks the server URL. The API path is joined under it, so
// a URL that already ends in /api/2.0/mlflow would double it: that is a
// mistake worth naming rather than a 404 on every fetch.
func parseBaseURL(raw string) (*url.URL, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("mlflow: no URL set (mlflow.url)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mlflow: URL %s does not parse", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("mlflow: URL %s: the scheme must be http or https", redactURL(raw))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("mlflow: URL %s has no host", redactURL(raw))
	}
	if p := strings.TrimRight(u.Path, "/"); strings.HasSuffix(p, "/api/2.0/mlflow") || strings.HasSuffix(p, "/ajax-api/2.0/mlflow") {
		return nil, fmt.Errorf("mlflow: URL %s: give the server's root, without the API path", redactURL(raw))
	}
	return u, nil
}

// buildHTTPClient makes the client MLflow's own would: verification off
// with InsecureTLS, or against CAFile alone (requests' verify=path replaces
// the default roots), else the system roots; proxies from the environment.
func buildHTTPClient(o Options) (*http.Client, error) {
	if o.InsecureTLS && o.CAFile != "" {
		return nil, fmt.Errorf("mlflow: %s and %s are both set: only one of them may be", EnvInsecureTLS, EnvServerCertPath)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.InsecureTLS {
		// The user asked for it explicitly, as MLflow's client allows.
		tlsConfig.InsecureSkipVerify = true //nolint:gosec
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mlflow: CA bundle (%s): %w", EnvServerCertPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mlflow: CA bundle %s (%s) holds no PEM certificate", o.CAFile, EnvServerCertPath)
		}
		tlsConfig.RootCAs = pool
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		TLSHandshakeTimeout:   handshakeTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: transport, Timeout: clientTimeout}, nil
}

// apiURL is the base URL with the API path and the endpoint joined under
// its path, and query added to whatever query the base URL carries.
func (c *Client) apiURL(endpoint string, query url.Values) string {
	u := c.base.JoinPath(apiPath, endpoint)
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			q[k] = append(q[k], vs...)
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// get calls a GET endpoint and decodes its JSON answer into out.
func (c *Client) get(ctx context.Context, cl call, query url.Values, out any) error {
	return c.do(ctx, cl, http.MethodGet, c.apiURL(cl.endpoint, query), nil, out)
}

// post calls a POST endpoint with a JSON body and decodes its answer into out.
func (c *Client) post(ctx context.Context, cl call, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("mlflow: encoding the %s request: %w", cl.endpoint, err)
	}
	return c.do(ctx, cl, http.MethodPost, c.apiURL(cl.endpoint, nil), body, out)
}

func (c *Client) do(ctx context.Context, cl call, method, target string, body []byte, out any) error {
	status, contentType, answer, err := c.send(ctx, cl, method, target, body, "application/json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.statusError(cl, status, contentType, answer)
	}
	if err := json.Unmarshal(answer, out); err != nil {
		return c.decodeError(cl, contentType, answer, err)
	}
	return nil
}

// send makes one request and reads the whole answer (bounded). Errors are
// *Error values, worded for the status line.
func (c *Client) send(ctx context.Context, cl call, method, target string, body []byte, accept string) (status int, contentType string, answer []byte, err error) {
	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reader)
	if err != nil {
		return 0, "", nil, &Error{Server: c.shownURL, Endpoint: cl.endpoint, Err: err,
			text: c.prefix() + "cannot build the " + cl.endpoint + " request"}
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "mltop")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.authHeader != "" {
		req.Header.Set("Authorization", c.authHeader)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", nil, c.transportError(cl, err)
	}
	defer resp.Body.Close()
	limit := int64(maxBodyBytes)
	if resp.StatusCode != http.StatusOK {
		limit = maxErrorBytes
	}
	answer, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, "", nil, c.transportError(cl, err)
	}
	if resp.StatusCode == http.StatusOK && int64(len(answer)) > limit {
		return 0, "", nil, &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: resp.StatusCode,
			text: fmt.Sprintf("%sthe answer to %s is larger than %d MiB", c.prefix(), cl.endpoint, maxBodyBytes>>20)}
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), answer, nil
}

// Version asks the server for its MLflow version (GET /version, plain text,
// served next to the API by `mlflow server`).
func (c *Client) Version(ctx context.Context) (string, error) {
	cl := call{endpoint: "version", subject: "the server version"}
	status, contentType, answer, err := c.send(ctx, cl, http.MethodGet, c.base.JoinPath("version").String(), nil, "text/plain")
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", c.statusError(cl, status, contentType, answer)
	}
	v := strings.TrimSpace(string(answer))
	// A version is short and has no markup: anything else is another
	// service's page (a login proxy, a UI) answering for the path.
	if v == "" || len(v) > 64 || strings.ContainsAny(v, "<>{} \n") {
		return "", &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: status,
			text: c.prefix() + "/version did not answer a version: is the URL MLflow's?"}
	}
	return clean.Text(v), nil
}
