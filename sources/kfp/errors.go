package kfp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
)

// maxServerMessageRunes bounds the server's own words in an error: the
// status line has 200 runes and KFP chains wrapped messages.
const maxServerMessageRunes = 160

// APIError is an answer other than 200 OK. Its text is one line that says
// what to do; the fields let callers (a doctor command) tell cases apart.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the gRPC code from the body (3 InvalidArgument, 7
	// PermissionDenied, 16 Unauthenticated...); zero when absent.
	Code int
	// Message is the server's message, cleaned and on one line.
	Message string
	// NeedsNamespace is true when the server runs in multi-user mode and
	// was asked without a namespace.
	NeedsNamespace bool
	text           string
}

// Error is the one-line explanation.
func (e *APIError) Error() string { return e.text }

// gatewayError is grpc-gateway's error body. Version 1 sends "error" and
// "message" (the same text), version 2 only "message".
type gatewayError struct {
	Error   string `json:"error"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// statusError explains a non-200 answer.
func (c *Client) statusError(resp *http.Response, body []byte) error {
	e := &APIError{StatusCode: resp.StatusCode}
	var ge gatewayError
	if !isHTML(resp.Header.Get("Content-Type"), body) && json.Unmarshal(body, &ge) == nil {
		e.Code = ge.Code
		e.Message = cleanLine(firstNonEmpty(ge.Message, ge.Error), maxServerMessageRunes)
	} else if !isHTML(resp.Header.Get("Content-Type"), body) {
		// A proxy's plain-text answer is still the best clue there is.
		e.Message = cleanLine(string(body), maxServerMessageRunes)
	}
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	said := ""
	if e.Message != "" {
		said = " (server: " + e.Message + ")"
	}
	full := strings.ToLower(firstNonEmpty(ge.Message, ge.Error))
	switch {
	case strings.Contains(full, "empty namespace in multi-user mode"):
		e.NeedsNamespace = true
		e.text = fmt.Sprintf("%s: Kubeflow Pipelines is in multi-user mode: set kfp.namespace to the profile namespace whose runs to show", c.where)
	case resp.StatusCode == http.StatusUnauthorized:
		e.text = fmt.Sprintf("%s: %s: %s%s", c.where, status, c.tokenHint(), said)
	case resp.StatusCode == http.StatusForbidden:
		e.text = fmt.Sprintf("%s: %s: %s%s", c.where, status, c.permissionHint(), said)
	case resp.StatusCode == http.StatusNotFound:
		e.text = fmt.Sprintf("%s: %s: no KFP API at %s%s: is the URL the ml-pipeline service (port 8888) or the Kubeflow gateway with /pipeline?",
			c.where, status, c.shown, apiPrefix)
	case e.Message != "":
		e.text = fmt.Sprintf("%s: %s: %s", c.where, status, e.Message)
	default:
		e.text = fmt.Sprintf("%s: %s", c.where, status)
	}
	return e
}

func (c *Client) tokenHint() string {
	if c.opts.TokenFile == "" {
		return fmt.Sprintf("no token is configured: set kfp.token_file or %s to a service-account token with audience pipelines.kubeflow.org", EnvTokenPath)
	}
	return fmt.Sprintf("check the token file %s (kfp.token_file or %s): it must hold a valid service-account token with audience pipelines.kubeflow.org",
		c.opts.TokenFile, EnvTokenPath)
}

func (c *Client) permissionHint() string {
	ns := c.opts.Namespace
	if ns == "" {
		ns = "(none set: kfp.namespace)"
	}
	who := "the token's service account"
	if c.opts.TokenFile == "" {
		who = "this caller (no token: kfp.token_file or " + EnvTokenPath + ")"
	}
	return fmt.Sprintf("in multi-user mode %s needs list on runs.pipelines.kubeflow.org in namespace %s", who, ns)
}

// fetchError is a transport failure: its text is written for the on-call
// engineer, and Unwrap keeps the cause for errors.Is (context deadlines).
type fetchError struct {
	text  string
	cause error
}

func (e *fetchError) Error() string { return e.text }
func (e *fetchError) Unwrap() error { return e.cause }

// transportError explains a request that got no HTTP answer. The *url.Error
// text is not used: it repeats the whole URL, filter included.
func (c *Client) transportError(err error) error {
	var dnsErr *net.DNSError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	var verifyErr *tls.CertificateVerificationError
	var notTLS tls.RecordHeaderError
	var text string
	switch {
	case errors.Is(err, context.Canceled):
		text = "request canceled"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		text = "timed out waiting for the server: is it reachable from here (proxy, firewall, port-forward)?"
	case errors.Is(err, syscall.ECONNREFUSED):
		text = "connection refused: is the server running and the URL right?"
	case errors.Is(err, syscall.ECONNRESET):
		text = "connection reset by the server: is the URL's scheme (http or https) right?"
	case errors.As(err, &dnsErr):
		text = fmt.Sprintf("cannot resolve host %q: is the URL right?", dnsErr.Name)
	case errors.As(err, &notTLS), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http checks the TLS record itself and returns a bare message.
		text = "the server does not speak TLS: use http:// instead of https://?"
	case errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr), errors.As(err, &certInvalid), errors.As(err, &verifyErr):
		text = "TLS certificate not accepted: " + causeText(err)
	default:
		text = causeText(err)
	}
	return &fetchError{text: c.where + ": " + text, cause: err}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// causeText is the innermost useful message: a *url.Error's own text
// carries the URL with its query, which is noise in a status line.
func causeText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return cleanLine(err.Error(), maxServerMessageRunes)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}
