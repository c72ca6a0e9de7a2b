package prom

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"unicode/utf8"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/mltop/mltop/sources/clean"
)

// errUnexpectedResult marks an answer of the wrong shape (a scalar where a
// vector was expected): the query template is wrong, not the server.
var errUnexpectedResult = errors.New("unexpected result type")

// Error is a failed query, described in one line that names the server, the
// query and what to check. Unwrap gives the underlying error (a *v1.Error,
// a *url.Error, a context error).
type Error struct {
	Query string // the query's name, e.g. "p99 latency"
	msg   string
	err   error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// maxDetail bounds the server's own words in a message: an HTML error page
// must not flood the status line.
const maxDetail = 120

// describe turns a query's failure into an *Error whose text says what went
// wrong in the operator's terms.
func (c *Client) describe(queryName string, err error) error {
	where := "prometheus " + c.where
	var msg string
	var apiErr *v1.Error
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	var credErr *credentialError
	switch {
	case errors.As(err, &apiErr):
		msg = c.describeAPI(where, queryName, apiErr)
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("%s: timed out (query %q): the server is slow or unreachable; raise prometheus.timeout or shorten prometheus.window", where, queryName)
	case errors.Is(err, context.Canceled):
		msg = fmt.Sprintf("%s: canceled (query %q)", where, queryName)
	case errors.Is(err, syscall.ECONNREFUSED):
		msg = where + ": connection refused: is the server running and the URL right?"
	case errors.As(err, &dnsErr):
		msg = fmt.Sprintf("%s: cannot resolve host %q: check prometheus.url", where, clean.Text(dnsErr.Name))
	case errors.As(err, &unknownCA):
		msg = where + ": TLS certificate signed by an unknown authority: set prometheus.ca_file"
	case errors.As(err, &hostErr):
		msg = fmt.Sprintf("%s: TLS certificate is not valid for this host: %s", where, shorten(hostErr.Error()))
	case errors.As(err, &credErr):
		msg = fmt.Sprintf("%s: cannot read a credential: %s", where, shorten(credErr.Error()))
	case errors.Is(err, errUnexpectedResult):
		msg = fmt.Sprintf("%s: query %q: %s: check the metric profile's template", where, queryName, shorten(err.Error()))
	case errors.As(err, &netErr) && netErr.Timeout():
		msg = fmt.Sprintf("%s: timed out (query %q): the server is slow or unreachable", where, queryName)
	default:
		msg = fmt.Sprintf("%s: query %q: %s", where, queryName, shorten(err.Error()))
	}
	return &Error{Query: queryName, msg: msg, err: err}
}

// describeAPI explains an error of Prometheus's API. The Go client parses
// the JSON body of 400 and 422 answers only; every other non-2xx answer
// arrives as client_error or server_error with "client error: 401" in Msg
// and the raw body in Detail (so a 503 query timeout is a server_error).
func (c *Client) describeAPI(where, queryName string, e *v1.Error) string {
	switch e.Type {
	case v1.ErrBadData:
		hint := ""
		if strings.Contains(e.Msg, `parameter "query"`) || strings.Contains(e.Msg, "parse error") {
			hint = ": check the metric profile's template"
		}
		return fmt.Sprintf("%s: query %q rejected (bad_data): %s%s", where, queryName, shorten(e.Msg), hint)
	case v1.ErrExec:
		return fmt.Sprintf("%s: query %q failed (execution): %s", where, queryName, shorten(e.Msg))
	case v1.ErrTimeout:
		return fmt.Sprintf("%s: query %q timed out on the server: %s; shorten prometheus.window or raise prometheus.timeout", where, queryName, shorten(e.Msg))
	case v1.ErrCanceled:
		return fmt.Sprintf("%s: query %q canceled by the server: %s", where, queryName, shorten(e.Msg))
	case v1.ErrBadResponse:
		return fmt.Sprintf("%s: malformed response to query %q: %s: is the URL a Prometheus server?", where, queryName, shorten(e.Msg))
	case v1.ErrClient, v1.ErrServer:
		code := statusCode(e.Msg)
		status := fmt.Sprintf("%d %s", code, http.StatusText(code))
		detail := bodyMessage(e.Detail)
		switch code {
		case http.StatusUnauthorized:
			return fmt.Sprintf("%s: %s: check bearer_token_file (or username and password_file)", where, status)
		case http.StatusForbidden:
			return fmt.Sprintf("%s: %s: check bearer_token_file and that the token may query Prometheus (POST /api/v1/query)", where, status)
		case http.StatusNotFound:
			return fmt.Sprintf("%s: %s for /api/v1/query: is the URL the server's root (no /graph, with any route prefix)?", where, status)
		}
		if code == 0 {
			status = e.Msg
		}
		if detail != "" {
			return fmt.Sprintf("%s: %s (query %q): %s", where, status, queryName, detail)
		}
		return fmt.Sprintf("%s: %s (query %q)", where, status, queryName)
	}
	return fmt.Sprintf("%s: query %q: %s: %s", where, queryName, e.Type, shorten(e.Msg))
}

// statusCode reads the HTTP status from the client's "client error: 401" or
// "server error: 503" message; 0 when there is none.
func statusCode(msg string) int {
	var code int
	for _, format := range []string{"client error: %d", "server error: %d", "bad response code %d"} {
		if n, _ := fmt.Sscanf(msg, format, &code); n == 1 {
			return code
		}
	}
	return 0
}

// bodyMessage is the server's own words from an error body: the "error"
// field of Prometheus's JSON envelope, or the start of a text body.
func bodyMessage(body string) string {
	var envelope struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(body), &envelope) == nil && envelope.Error != "" {
		return shorten(envelope.Error)
	}
	return shorten(htmlTag.ReplaceAllString(body, " "))
}

// htmlTag matches the tags of an HTML error page (proxies answer with one).
var htmlTag = regexp.MustCompile(`<[^>]*>`)

// shorten cleans text from the server and keeps its first maxDetail runes.
func shorten(s string) string {
	s = strings.Join(strings.Fields(clean.Text(s)), " ")
	if utf8.RuneCountInString(s) <= maxDetail {
		return s
	}
	r := []rune(s)
	return string(r[:maxDetail-1]) + "…"
}
