package mlflow

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/mltop/mltop/sources/clean"
)

// MLflow error codes the adapter words differently (mlflow/protos/databricks.proto).
const (
	codeNotFound         = "RESOURCE_DOES_NOT_EXIST"
	codePermissionDenied = "PERMISSION_DENIED"
	codeUnauthenticated  = "UNAUTHENTICATED"
)

// Lengths that keep an error one status-bar line (the poller cuts at 200 runes).
const (
	maxMessageRunes = 120
	maxPageRunes    = 80
)

// Error is a failed call to the MLflow server. Its text is one line for the
// status bar: the source, the server (never its credentials), what went
// wrong and, when we know, what to do. The fields let a caller (the doctor)
// tell the cases apart without parsing the text.
type Error struct {
	Server   string // base URL without credentials
	Endpoint string // the call, e.g. "runs/search"
	Status   int    // HTTP status; 0 when no answer came
	Code     string // MLflow's error_code, when the body carried one
	Message  string // the server's message, cleaned and shortened
	Err      error  // the cause (network, context, JSON), for errors.Is and errors.As
	text     string
}

func (e *Error) Error() string { return e.text }

// Unwrap returns the cause, so errors.Is(err, context.Canceled) holds for
// a cancelled fetch.
func (e *Error) Unwrap() error { return e.Err }

// NotFound reports whether the server said the object does not exist.
func (e *Error) NotFound() bool { return e.Code == codeNotFound }

// call describes one request for the error messages: which endpoint, and
// which object it reads (`experiment "x"`), for "not found" and "needs READ on".
type call struct {
	endpoint string
	subject  string
}

// transportError words a request that got no HTTP answer.
func (c *Client) transportError(cl call, err error) *Error {
	e := &Error{Server: c.shownURL, Endpoint: cl.endpoint, Err: err}
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		e.text = c.prefix() + cl.endpoint + " cancelled"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		e.text = c.prefix() + "no answer to " + cl.endpoint + " in time: is the server or the network slow?"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.text = c.prefix() + "connection refused: is the server running and the URL right?"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			e.text = c.prefix() + fmt.Sprintf("host %q not found: is the URL right?", dnsErr.Name)
		} else {
			e.text = c.prefix() + fmt.Sprintf("DNS lookup of %q failed: %s", dnsErr.Name, shorten(dnsErr.Err, maxMessageRunes))
		}
	case errors.As(err, &hostErr):
		e.text = c.prefix() + "TLS certificate is not valid for this host (" + shorten(hostErr.Error(), maxMessageRunes) + "): is the URL right?"
	case errors.As(err, &authErr) || errors.As(err, &certErr):
		e.text = c.prefix() + "TLS certificate not trusted: set " + EnvServerCertPath + " to the server's CA bundle"
	case errors.As(err, &recErr):
		e.text = c.prefix() + "the server does not speak TLS: use an http:// URL"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		e.text = c.prefix() + "connection closed before the answer to " + cl.endpoint + ": is a proxy or the server restarting?"
	default:
		cause := err
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			// url.Error repeats the full request URL; the prefix already names the server.
			cause = urlErr.Err
		}
		e.text = c.prefix() + cl.endpoint + ": " + shorten(cause.Error(), maxMessageRunes)
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// statusError words an answer whose status is not 200.
func (c *Client) statusError(cl call, status int, contentType string, body []byte) *Error {
	e := &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: status}
	var apiErr struct {
		Code    string `json:"error_code"`
		Message string `json:"message"`
	}
	page := ""
	if json.Unmarshal(body, &apiErr) == nil && (apiErr.Code != "" || apiErr.Message != "") {
		e.Code = shorten(apiErr.Code, 40)
		e.Message = shorten(apiErr.Message, maxMessageRunes)
	} else if isHTML(contentType, body) {
		page = htmlSummary(body)
	} else {
		e.Message = shorten(string(body), maxMessageRunes)
	}
	statusText := fmt.Sprintf("%d %s", status, http.StatusText(status))

	switch {
	case status == http.StatusUnauthorized || e.Code == codeUnauthenticated:
		e.text = c.prefix() + "401 unauthorized: " + c.unauthorizedHint
	case status == http.StatusForbidden || e.Code == codePermissionDenied:
		if c.auth == authNone {
			e.text = c.prefix() + "permission denied on " + cl.subject + ": set " +
				EnvUsername + "/PASSWORD or " + EnvToken
		} else {
			e.text = c.prefix() + "permission denied: the MLflow user needs READ on " + cl.subject
		}
	case e.Code == codeNotFound:
		e.text = "mlflow: " + cl.subject + " not found on " + c.shownURL
	case status == http.StatusNotFound:
		// No MLflow error body: the path does not exist, so the URL does not
		// point at MLflow's root (a UI path, or /api/2.0/mlflow twice).
		e.text = c.prefix() + statusText + " from " + cl.endpoint + ": is the URL the MLflow server's root?"
	default:
		e.text = c.prefix() + statusText + " from " + cl.endpoint
		if e.Code != "" {
			e.text += ": " + e.Code
		}
		if e.Message != "" {
			e.text += ": " + e.Message
		}
		if page != "" && !strings.EqualFold(page, statusText) {
			e.text += ": " + page
		}
		if page != "" {
			e.text += " (an HTML page: from a proxy in front of MLflow?)"
		}
	}
	return e
}

// decodeError words a 200 answer that is not the JSON we expect.
func (c *Client) decodeError(cl call, contentType string, body []byte, err error) *Error {
	e := &Error{Server: c.shownURL, Endpoint: cl.endpoint, Status: http.StatusOK, Err: err}
	if isHTML(contentType, body) {
		e.text = c.prefix() + cl.endpoint + " answered with an HTML page, not JSON: is the URL MLflow's, or a login proxy in front of it?"
		return e
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	detail := shorten(err.Error(), maxMessageRunes)
	switch {
	case errors.As(err, &syntaxErr):
		detail = fmt.Sprintf("%s at byte %d", strings.TrimPrefix(syntaxErr.Error(), "json: "), syntaxErr.Offset)
	case errors.As(err, &typeErr):
		// The Go type would mean nothing to the reader; the field and what
		// it held point at the server's mistake.
		detail = fmt.Sprintf("%s holds an unexpected JSON %s at byte %d", typeErr.Field, typeErr.Value, typeErr.Offset)
	}
	e.text = c.prefix() + "malformed JSON from " + cl.endpoint + ": " + detail
	return e
}

// prefix starts every message that is about the server as a whole.
func (c *Client) prefix() string { return "mlflow " + c.shownURL + ": " }

func isHTML(contentType string, body []byte) bool {
	if strings.HasPrefix(strings.ToLower(contentType), "text/html") {
		return true
	}
	trimmed := strings.TrimSpace(string(body[:min(len(body), 64)]))
	return strings.HasPrefix(trimmed, "<")
}

// htmlSummary is an error page's <title>, or its text when it has none.
func htmlSummary(body []byte) string {
	s := string(body)
	lower := strings.ToLower(s)
	if i := strings.Index(lower, "<title>"); i >= 0 {
		rest := s[i+len("<title>"):]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			return shorten(rest[:j], maxPageRunes)
		}
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return shorten(b.String(), maxPageRunes)
}

// shorten makes server text safe and short: no escape sequences or control
// characters, single spaces, at most n runes.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(clean.Text(s)), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// redactURL is raw without its user information (user:password@) and its
// query, either of which may hold a secret, for messages. An unparsable URL
// is shown as a placeholder rather than risk printing a secret inside it.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.User = nil
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	return u.String()
}
