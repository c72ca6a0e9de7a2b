package kfp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"unicode"
)

// maxBodyBytes bounds one response. A page of 200 runs submitted from full
// pipeline specs weighs a few megabytes; anything far beyond is not KFP.
const maxBodyBytes = 64 << 20

// maxTokenBytes bounds the token file: service-account tokens are ~1 KiB,
// so a large file is the wrong file and must not be sent as a header.
const maxTokenBytes = 64 << 10

// endpoint is the URL of an API path under the base, with the base's own
// query parameters kept and q's added. The base path is kept escaped, so a
// service-proxy path survives untouched.
func (c *Client) endpoint(q url.Values, elems ...string) *url.URL {
	var p strings.Builder
	p.WriteString(c.base.EscapedPath())
	p.WriteString(apiPrefix)
	for _, e := range elems {
		p.WriteByte('/')
		p.WriteString(url.PathEscape(e))
	}
	u := *c.base
	// The parts are escaped already, so this cannot fail.
	_ = setEscapedPath(&u, p.String())
	if len(q) > 0 {
		merged := c.base.Query()
		for k, v := range q {
			merged[k] = v
		}
		u.RawQuery = merged.Encode()
	}
	return &u
}

// apiPath is u's path below the base, for messages that already name the base.
func (c *Client) apiPath(u *url.URL) string {
	return strings.TrimPrefix(u.EscapedPath(), c.base.EscapedPath())
}

// bearerToken reads the token file. It is read on every fetch: projected
// service-account tokens are rewritten by the kubelet (a symlink swap) well
// before they expire, and a file is cheaper to read than an expiry to track.
// The token never appears in an error.
func (c *Client) bearerToken() (string, error) {
	path := c.opts.TokenFile
	if path == "" {
		return "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("kfp: token file %s does not exist: fix kfp.token_file or %s", path, EnvTokenPath)
		case errors.Is(err, fs.ErrPermission):
			return "", fmt.Errorf("kfp: token file %s is not readable by this user", path)
		}
		return "", fmt.Errorf("kfp: cannot open token file %s: %v", path, causeText(err))
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxTokenBytes+1))
	if err != nil {
		return "", fmt.Errorf("kfp: cannot read token file %s: %v", path, causeText(err))
	}
	if len(raw) > maxTokenBytes {
		return "", fmt.Errorf("kfp: token file %s is larger than %d KiB: is it the right file?", path, maxTokenBytes>>10)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return "", fmt.Errorf("kfp: token file %s is empty", path)
	}
	if strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		// Whitespace inside would make an invalid (or smuggled) header.
		return "", fmt.Errorf("kfp: token file %s does not hold a single token (it contains spaces or line breaks)", path)
	}
	return token, nil
}

// getJSON GETs u and decodes a 200 answer into out. Every failure becomes
// one line that names the source and the URL and says what to do. buf holds
// the body; a caller reading many pages passes the same one so it grows
// once (decoded strings are copies, so reusing it is safe); nil: a new one.
func (c *Client) getJSON(ctx context.Context, u *url.URL, token string, buf *bytes.Buffer, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("%s: cannot build the request: %v", c.where, causeText(err))
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBodyBytes+1)); err != nil {
		return c.transportError(err)
	}
	body := buf.Bytes()
	if len(body) > maxBodyBytes {
		return fmt.Errorf("%s: the answer from %s is larger than %d MiB", c.where, c.apiPath(u), maxBodyBytes>>20)
	}
	if resp.StatusCode != http.StatusOK {
		return c.statusError(resp, body)
	}
	if isHTML(resp.Header.Get("Content-Type"), body) {
		return fmt.Errorf("%s: got an HTML page instead of JSON from %s (a login page? the Kubeflow gateway "+
			"wants a browser session: point kfp.url at the ml-pipeline service, e.g. k8s://kubeflow/ml-pipeline:8888, and use a token)",
			c.where, c.apiPath(u))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: malformed JSON from %s: %s", c.where, c.apiPath(u), jsonErrorText(err))
	}
	return nil
}

// isHTML tells a web page (a gateway's login page, a proxy's error page)
// from the API's JSON.
func isHTML(contentType string, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && mt == "text/html" {
		return true
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '<'
}

// jsonErrorText says where a body stopped being the expected JSON, without
// Go type names.
func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		msg := strings.TrimPrefix(syntax.Error(), "json: ")
		if msg == "unexpected end of JSON input" {
			msg = "unexpected end of input"
		}
		return fmt.Sprintf("%s at byte %d", msg, syntax.Offset)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "the top level"
		}
		return fmt.Sprintf("%s is a JSON %s, expected %s, at byte %d", field, typeErr.Value, jsonKind(typeErr.Type.Kind().String()), typeErr.Offset)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names a Go kind the way JSON does.
func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	}
	if strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") || strings.HasPrefix(goKind, "float") {
		return "a number"
	}
	return goKind
}
