package main

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

// faultsOf lists the failures each source is put through once it has
// shown its first value, in the order they are injected (refused last).
//
// For Kubernetes, a hang fails no call: the informers' new watches wait
// for an answer for minutes. The source notices the request left waiting
// (5 s), probes the API server within the Fetch timeout, and once healed
// drops the waiting watches so its informers start afresh.
func faultsOf(id sources.SourceID) []fault {
	return []fault{hang, unauthorized, forbidden, serverError, malformed, refused}
}

// faultWords are what the status line must say for a fault of a source:
// the source's name and address (Kubernetes errors are about the cluster
// of the kubeconfig, named in the status bar) and the cause in words that
// say what to check.
func faultWords(id sources.SourceID, f fault, w *world) []string {
	var lead string
	switch id {
	case sources.SourceKube:
		lead = ""
	case sources.SourceProm:
		lead = "prometheus " + w.prom.URL() + ": "
	case sources.SourceMLflow:
		lead = "mlflow " + w.mlflow.URL() + ": "
	case sources.SourceKFP:
		lead = "kfp " + w.kfp.URL() + ": "
	}
	words := map[sources.SourceID]map[fault][]string{
		sources.SourceKube: {
			refused:      {"API server unreachable", "connection refused"},
			hang:         {"API server not answering since", "no reply to a probe within"},
			unauthorized: {"unauthorized", "kubeconfig's credentials"},
			forbidden:    {"forbidden: you may not", "in ml-prod (RBAC)"},
			serverError:  {"API server error", "etcdserver: request timed out"},
			// The cause is named; the lead "unreachable" is not right for
			// an answer that does not parse (reported to sources/kube).
			malformed: {"json parse error: unexpected end of JSON input"},
		},
		sources.SourceProm: {
			refused:      {"connection refused: is the server running"},
			hang:         {"no answer within 2s", "timed out"},
			unauthorized: {"401 Unauthorized: check bearer_token_file"},
			forbidden:    {"403 Forbidden"},
			serverError:  {"500 Internal Server Error", "opening storage failed"},
			malformed:    {"malformed response", "is the URL a Prometheus server?"},
		},
		sources.SourceMLflow: {
			refused:      {"connection refused: is the server running"},
			hang:         {"no answer within 2s", "in time"},
			unauthorized: {"401 unauthorized", "MLFLOW_TRACKING_TOKEN"},
			forbidden:    {"permission denied"},
			serverError:  {"500 Internal Server Error", "INTERNAL_ERROR", "mlflow-db"},
			malformed:    {"malformed JSON from", "unexpected end of JSON input"},
		},
		sources.SourceKFP: {
			refused:      {"connection refused: is the server running"},
			hang:         {"no answer within 2s", "timed out"},
			unauthorized: {"401 Unauthorized", "KF_PIPELINES_SA_TOKEN_PATH"},
			forbidden:    {"403 Forbidden", "runs.pipelines.kubeflow.org"},
			serverError:  {"500 Internal Server Error", "Failed to list runs"},
			malformed:    {"malformed JSON from /apis/v2beta1/runs", "unexpected end of input"},
		},
	}[id][f]
	if lead != "" {
		words = append(words, lead)
	}
	return words
}

// checkMessage checks a failing source's status line.
func checkMessage(t *testing.T, id sources.SourceID, f fault, w *world, msg string) {
	t.Helper()
	words := faultWords(id, f, w)
	if len(words) == 0 {
		t.Fatalf("no expected words for %s %s", id, f)
	}
	for _, word := range words {
		if !strings.Contains(msg, word) {
			t.Errorf("%s %s: status says %q, which lacks %q", id, f, msg, word)
		}
	}
	if strings.Contains(msg, e2eToken) {
		t.Errorf("%s %s: the status line shows the kubeconfig's token: %q", id, f, msg)
	}
	if strings.ContainsAny(msg, "\n\r\x1b") {
		t.Errorf("%s %s: the status line is not one clean line: %q", id, f, msg)
	}
}

// The degrade tests run the live platform, wait until every source is
// fresh, then break one source: it must turn STALE with a message naming
// the cause while the other three keep publishing fresh values and its
// pane keeps the last good value; healing the fault must bring it back.

// testDegradeInTurn puts one source of one platform through faults one
// after the other. A refused connection comes last: a closed server does
// not come back on its port.
func testDegradeInTurn(t *testing.T, pf *promFixture, id sources.SourceID, faults []fault) {
	w, watch := startDegradeWorld(t, pf)
	for _, f := range faults {
		if !t.Run(f.String(), func(t *testing.T) { degradeOnce(t, w, watch, id, f) }) {
			return // the source did not recover: later faults would prove nothing
		}
	}
}

// testDegradeEach gives each fault a platform of its own, all at once.
func testDegradeEach(t *testing.T, pf *promFixture, id sources.SourceID, faults []fault) {
	var wg sync.WaitGroup
	for _, f := range faults {
		wg.Go(func() {
			t.Run(f.String(), func(t *testing.T) {
				w, watch := startDegradeWorld(t, pf)
				degradeOnce(t, w, watch, id, f)
			})
		})
	}
	wg.Wait()
}

// startDegradeWorld runs a platform with short refresh intervals and
// waits until every source has shown a value.
func startDegradeWorld(t *testing.T, pf *promFixture) (*world, *statusWatch) {
	t.Helper()
	w := newWorld(t, pf)
	_, p := livePlatform(t, writeConfig(t, pollConfig()), w.args()...)
	watch := newStatusWatch(runPoller(t, p))
	began := time.Now()
	watch.until(t, 30*time.Second, "first fresh value of every source", watch.allOK)
	t.Logf("every source ok after %s", time.Since(began).Round(time.Millisecond))
	return w, watch
}

func degradeOnce(t *testing.T, w *world, watch *statusWatch, id sources.SourceID, f fault) {
	injected := time.Now()
	w.server(id).inject(f)
	watch.until(t, 30*time.Second, string(id)+" turning STALE", func() bool {
		return watch.status[id].Health == sources.HealthStale
	})
	staleAt := watch.status[id].AttemptedAt
	msg := watch.status[id].Err
	t.Logf("%s STALE after %s: %s", id, time.Since(injected).Round(time.Millisecond), msg)
	checkMessage(t, id, f, w, msg)
	if id == sources.SourceKube && !strings.Contains(msg, "(showing cached state)") {
		t.Errorf("kube %s: status %q does not say the inventory on screen is cached", f, msg)
	}

	// The others keep refreshing: each publishes a fresh value fetched
	// after the failure showed.
	watch.until(t, 30*time.Second, "fresh values of the other sources", func() bool {
		for _, other := range sources.AllSources() {
			st := watch.status[other]
			if other != id && (st.Health != sources.HealthOK || !st.FetchedAt.After(staleAt)) {
				return false
			}
		}
		return true
	})

	// The failing source's pane keeps its last good value.
	snap := watch.board.Snapshot(time.Now())
	switch id {
	case sources.SourceKube:
		if len(snap.Serving) != 3 {
			t.Errorf("serving rows = %d while kube is stale, want the 3 cached", len(snap.Serving))
		}
	case sources.SourceProm:
		if row, ok := snap.Row(sources.ServiceKey{Namespace: e2eNamespace, Name: "fraud-detector"}); !ok || !row.HasMetrics {
			t.Errorf("fraud-detector lost its metrics while prom is stale")
		}
	case sources.SourceMLflow:
		if len(snap.Training.Runs) != 7 || len(snap.Registry.Waiting) != 2 {
			t.Errorf("training %d runs, registry %d waiting while mlflow is stale; want 7 and 2", len(snap.Training.Runs), len(snap.Registry.Waiting))
		}
	case sources.SourceKFP:
		if len(snap.Pipelines.Runs) != 115 {
			t.Errorf("pipelines %d runs while kfp is stale, want the 115 cached", len(snap.Pipelines.Runs))
		}
	}
	if f == refused {
		return
	}

	healed := time.Now()
	w.server(id).inject(healthy)
	watch.until(t, 30*time.Second, string(id)+" recovering", func() bool {
		st := watch.status[id]
		return st.Health == sources.HealthOK && st.FetchedAt.After(healed)
	})
	t.Logf("%s ok again %s after healing", id, time.Since(healed).Round(time.Millisecond))
}

// testDown breaks one source before the first fetch: it is DOWN (nothing to
// show) with its cause, and the other three show fresh values meanwhile.
func testDown(t *testing.T, pf *promFixture, id sources.SourceID, f fault) {
	w := newWorld(t, pf)
	w.server(id).inject(f)
	_, p := livePlatform(t, writeConfig(t, pollConfig()), w.args()...)
	poller := runPoller(t, p)
	watch := newStatusWatch(poller)
	began := time.Now()
	watch.until(t, 30*time.Second, string(id)+" DOWN", func() bool {
		return watch.status[id].Health == sources.HealthDown
	})
	downAt := watch.status[id].AttemptedAt
	msg := watch.status[id].Err
	t.Logf("%s DOWN after %s: %s", id, time.Since(began).Round(time.Millisecond), msg)
	if id == sources.SourceKube && f == hang {
		// No list has answered yet, so this is what there is to say.
		if !strings.Contains(msg, "waiting for the first list of") || !strings.Contains(msg, "from the API server") {
			t.Errorf("kube with an API server that does not answer: status %q", msg)
		}
	} else {
		checkMessage(t, id, f, w, msg)
	}
	watch.until(t, 30*time.Second, "fresh values of the other sources", func() bool {
		for _, other := range sources.AllSources() {
			st := watch.status[other]
			if other != id && (st.Health != sources.HealthOK || !st.FetchedAt.After(downAt)) {
				return false
			}
		}
		return watch.status[id].Health == sources.HealthDown
	})
}
