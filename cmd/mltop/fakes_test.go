package main

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fault is how a fake server misbehaves. Every fake (the Kubernetes API
// server, MLflow, Kubeflow Pipelines and the proxy in front of the real
// Prometheus) can be switched into any of them while the dashboard runs.
type fault int

const (
	healthy fault = iota
	// refused: the server's listener is closed, so connecting is refused.
	refused
	// hang: requests get no answer until the client gives up.
	hang
	// unauthorized: 401, as a server or an authenticating proxy rejects
	// credentials.
	unauthorized
	// forbidden: 403, the caller may not read this.
	forbidden
	// serverError: 500 with the server's own error body.
	serverError
	// malformed: 200 with a body cut in the middle of its JSON.
	malformed
)

func (f fault) String() string {
	switch f {
	case healthy:
		return "healthy"
	case refused:
		return "connection refused"
	case hang:
		return "timeout"
	case unauthorized:
		return "401"
	case forbidden:
		return "403"
	case serverError:
		return "5xx"
	case malformed:
		return "malformed body"
	}
	return "?"
}

// faultyServer is an httptest server whose handler can be switched into a
// fault. Handlers that block (watches, the hang fault) end when the request
// ends or when the server is broken, so Close never waits for them.
type faultyServer struct {
	srv *httptest.Server

	mu    sync.Mutex
	fault fault
	// broken is closed (and replaced) when a fault is injected, to end the
	// open watches so that clients come back and meet the fault.
	broken chan struct{}
	// closing is closed when the server closes, to end every handler that
	// blocks, so that Close does not wait for them.
	closing   chan struct{}
	closeOnce sync.Once
}

// startFaulty serves next while healthy and the fault's answer otherwise.
// faultBody writes the body of the 401, 403 and 500 answers in the
// server's own error format.
func startFaulty(t testing.TB, next http.Handler, faultBody func(w http.ResponseWriter, code int)) *faultyServer {
	t.Helper()
	return startFaultyServer(t, false, next, faultBody)
}

// startFaultyTLS is startFaulty over TLS with httptest's certificate for
// 127.0.0.1 (see CertificatePEM).
func startFaultyTLS(t testing.TB, next http.Handler, faultBody func(w http.ResponseWriter, code int)) *faultyServer {
	t.Helper()
	return startFaultyServer(t, true, next, faultBody)
}

func startFaultyServer(t testing.TB, useTLS bool, next http.Handler, faultBody func(w http.ResponseWriter, code int)) *faultyServer {
	fs := &faultyServer{broken: make(chan struct{}), closing: make(chan struct{})}
	fs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, broken := fs.state()
		switch f {
		case healthy:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), brokenKey{}, broken)))
		case hang:
			// Healing does not answer a request already hanging: its client
			// gives up, as it would with a server that never answered.
			select {
			case <-r.Context().Done():
			case <-fs.closing:
			}
			panic(http.ErrAbortHandler) // no answer at all, not an empty 200
		case unauthorized:
			faultBody(w, http.StatusUnauthorized)
		case forbidden:
			faultBody(w, http.StatusForbidden)
		case serverError:
			faultBody(w, http.StatusInternalServerError)
		case malformed:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"truncated": [{"by": "a proxy", "at`))
		default:
			http.Error(w, "fault "+f.String()+" is not served by a handler", http.StatusTeapot)
		}
	}))
	if useTLS {
		fs.srv.StartTLS()
	} else {
		fs.srv.Start()
	}
	t.Cleanup(fs.close)
	return fs
}

// CertificatePEM is the PEM of the TLS server's certificate, which is its
// own CA.
func (fs *faultyServer) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fs.srv.Certificate().Raw})
}

// URL is the server's root.
func (fs *faultyServer) URL() string { return fs.srv.URL }

func (fs *faultyServer) state() (fault, chan struct{}) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fault, fs.broken
}

// brokenKey holds, in a healthy request's context, the broken channel of
// the moment it arrived: a fault injected while it is served ends it.
type brokenKey struct{}

// block returns when a blocked handler (a watch) must end: when its
// request ends, at the first fault after it arrived, or when the server
// closes.
func (fs *faultyServer) block(r *http.Request) {
	broken, _ := r.Context().Value(brokenKey{}).(chan struct{})
	select {
	case <-r.Context().Done():
	case <-broken:
	case <-fs.closing:
	}
}

// inject switches the server into f. Open watches end, so clients come
// back and meet the fault; refused closes the server.
func (fs *faultyServer) inject(f fault) {
	fs.mu.Lock()
	fs.fault = f
	close(fs.broken)
	fs.broken = make(chan struct{})
	fs.mu.Unlock()
	if f == refused {
		fs.close()
	}
}

// close ends blocked handlers, then the server.
func (fs *faultyServer) close() {
	fs.closeOnce.Do(func() { close(fs.closing) })
	fs.srv.CloseClientConnections()
	fs.srv.Close()
}
