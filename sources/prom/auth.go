package prom

import (
	"fmt"
	"net/http"
	"os"
	"strings"
)

// bearerFile sends the token in file as a bearer token. The file is read
// on every request so that a rotated token (a projected service account
// token, a refreshed OIDC token) is picked up without a restart.
type bearerFile struct {
	file string
	next http.RoundTripper
}

func (b *bearerFile) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := readSecret(b.file)
	if err != nil {
		return nil, &credentialError{setting: "bearer_token_file", err: err}
	}
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+token)
	return b.next.RoundTrip(req)
}

// basicAuth sends a username and the password in passwordFile.
type basicAuth struct {
	username     string
	passwordFile string
	next         http.RoundTripper
}

func (b *basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	var password string
	if b.passwordFile != "" {
		var err error
		if password, err = readSecret(b.passwordFile); err != nil {
			return nil, &credentialError{setting: "password_file", err: err}
		}
	}
	req = req.Clone(req.Context())
	req.SetBasicAuth(b.username, password)
	return b.next.RoundTrip(req)
}

// readSecret reads a credential file; surrounding whitespace (the newline
// editors add) is not part of the secret. Errors name the file, never its content.
func readSecret(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return secret, nil
}

// credentialError is a credential file that cannot be used; it names the
// setting to fix.
type credentialError struct {
	setting string
	err     error
}

func (e *credentialError) Error() string { return "check " + e.setting + ": " + e.err.Error() }
func (e *credentialError) Unwrap() error { return e.err }
