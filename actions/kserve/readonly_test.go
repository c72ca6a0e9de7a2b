package kserve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/mltop/mltop/actions"
	"github.com/mltop/mltop/actions/audit"
)

// requestLog is shared by the recording transports of every client.
type requestLog struct {
	mu   sync.Mutex
	seen []string // "METHOD path?query"
}

func (l *requestLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

// recordingTransport records every request that leaves a client.
type recordingTransport struct {
	next http.RoundTripper
	log  *requestLog
}

func (r recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.log.mu.Lock()
	r.log.seen = append(r.log.seen, req.Method+" "+req.URL.RequestURI())
	r.log.mu.Unlock()
	return r.next.RoundTrip(req)
}

// TestReadOnlySendsNoMutatingRequest drives the whole pipeline in read-only
// mode through real client-go clients against an HTTP server, recording
// every request on the wire: only reads may leave mltop.
func TestReadOnlySendsNoMutatingRequest(t *testing.T) {
	fixture, err := loadFixture(t, "knative-canary").MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/apis/serving.kserve.io/v1beta1/namespaces/ml-prod/inferenceservices/fraud-model" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(fixture)
			return
		}
		// Whatever else arrives is answered like a real server would, so a
		// mutating request would succeed here and only the record catches it.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Status","status":"Success"}`))
	}))
	defer srv.Close()

	rec := &requestLog{}
	cfg := &rest.Config{Host: srv.URL, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return recordingTransport{next: rt, log: rec}
	}}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	auditLog, path := openAudit(t)
	e, err := New(Options{
		Dynamic: dyn, Typed: typed, ReadOnly: true, Audit: auditLog, Context: "prod-gke",
		Verdict: func(string, string) string { return "ROLLBACK at 3m" },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	p, err := e.Plan(ctx, actions.Request{Kind: actions.Rollback, Namespace: "ml-prod", Name: "fraud-model"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.requests(); len(got) != 1 || !strings.HasPrefix(got[0], "GET /apis/serving.kserve.io/") {
		t.Fatalf("the plan's read was not recorded: %v", got)
	}
	pre := e.Preflight(ctx, p)
	if len(pre.Checks) != 1 || pre.Checks[0].Status != actions.CheckFail || pre.Checks[0].Detail != "read-only mode: mltop will not change anything" {
		t.Errorf("read-only preflight %+v", pre.Checks)
	}
	if got := rec.requests(); len(got) != 1 {
		t.Errorf("preflight sent requests in read-only mode: %v", got[1:])
	}
	// Even a caller that ignores the checks is refused.
	unchecked := actions.Preflight{PlanID: p.ID}
	out := e.Execute(ctx, p, unchecked, nil)
	if out.Result != actions.Refused || !strings.Contains(out.Message, "read-only mode") {
		t.Errorf("outcome %+v", out)
	}
	e.Record(ctx, p, pre, actions.Outcome{Result: actions.Declined})

	for _, r := range rec.requests() {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("read-only mode sent %s", r)
		}
	}
	entries, err := audit.Read(path)
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit %+v %v", entries, err)
	}
	if entries[0].Result != actions.Refused || entries[0].User != "unknown" {
		t.Errorf("audit line %+v", entries[0])
	}
}
