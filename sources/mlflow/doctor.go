package mlflow

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mltop/mltop/sources"
)

// What the doctor's checks read beyond the panes: the server's version, and
// per registered version the metric of the run that produced it and whether
// its MLmodel declares a signature. All of it is best effort: a server that
// hides /version or does not serve artifacts leaves these unknown and never
// fails the fetch, because the panes' data is good without them.
const (
	// versionsPerModel bounds Registry.Versions: the newest versions of
	// each model (plus promoted and waiting ones), enough to match what
	// InferenceServices load.
	versionsPerModel = 50
	// newestDetailed is how many of each model's newest versions get a
	// metric and a signature, besides the promoted and the waiting ones.
	newestDetailed = 2
	// maxDetailed bounds those lookups per fetch; the cache fills the rest
	// on later fetches.
	maxDetailed = 20
	// detailConcurrency is how many MLmodel reads run at once.
	detailConcurrency = 4
	// serverVersionTTL: a server's version changes only on upgrade.
	serverVersionTTL = 10 * time.Minute
	// retryUnknown is when a lookup that failed is tried again.
	retryUnknown = time.Minute
	// signatureRetry is when an MLmodel that could not be read is tried
	// again: a server without artifact serving will not start serving soon.
	signatureRetry = 10 * time.Minute
)

// doctorCache remembers what costs requests and rarely changes. A model
// version's MLmodel never changes once registered and a finished run's
// metric hardly ever, so both are kept; what could not be learned is
// retried after a while rather than on every refresh.
type doctorCache struct {
	now func() time.Time

	mu             sync.Mutex
	serverVersion  string
	versionExpires time.Time
	metrics        map[string]runMetric // by run id, finished runs only
	signatures     map[string]sources.Signature
	retrySignature map[string]time.Time // by signature key: no lookup before then
}

type runMetric struct {
	value float64
	ok    bool
}

func newDoctorCache(now func() time.Time) *doctorCache {
	return &doctorCache{now: now, metrics: map[string]runMetric{}, signatures: map[string]sources.Signature{},
		retrySignature: map[string]time.Time{}}
}

// keptVersions is what Registry.Versions holds of one model: its newest
// versions and the promoted one, newest first.
func keptVersions(vs []numberedVersion, promoted int) []sources.ModelVersion {
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return vs[order[a]].number > vs[order[b]].number })
	var out []sources.ModelVersion
	for rank, i := range order {
		if rank < versionsPerModel || i == promoted {
			out = append(out, valueOf(vs[i]))
		}
	}
	return out
}

// addDoctorDetails fills the server version and the registry's metrics and
// signatures into t. It never fails: what cannot be learned stays unknown.
func (c *Client) addDoctorDetails(ctx context.Context, t *sources.Tracking) {
	t.ServerVersion = c.cachedServerVersion(ctx)
	detailed := detailedVersions(t.Registry)
	metrics := c.versionMetrics(ctx, detailed, t.Training)
	signatures := c.versionSignatures(ctx, detailed)
	apply := func(list []sources.ModelVersion) {
		for i := range list {
			k := versionKey(list[i])
			if m, ok := metrics[list[i].RunID]; ok && m.ok {
				list[i].Metric, list[i].HasMetric = m.value, true
			}
			list[i].Signature = signatures[k]
		}
	}
	apply(t.Registry.Versions)
	apply(t.Registry.Promoted)
	apply(t.Registry.Waiting)
}

// cachedServerVersion is the server's version, asked again only when the
// cached answer has expired.
func (c *Client) cachedServerVersion(ctx context.Context) string {
	d := c.doctor
	d.mu.Lock()
	if d.now().Before(d.versionExpires) {
		v := d.serverVersion
		d.mu.Unlock()
		return v
	}
	d.mu.Unlock()
	v, err := c.Version(ctx)
	ttl := serverVersionTTL
	if err != nil {
		v, ttl = "", retryUnknown
	}
	d.mu.Lock()
	d.serverVersion, d.versionExpires = v, d.now().Add(ttl)
	d.mu.Unlock()
	return v
}

func versionKey(v sources.ModelVersion) string {
	return v.Model + "\x00" + v.Version + "\x00" + v.Source
}

// detailedVersions are the versions whose metric and signature are looked
// up: the promoted ones, the waiting ones and each model's newest few
// (Versions is newest first per model), at most maxDetailed.
func detailedVersions(r sources.Registry) []sources.ModelVersion {
	seen := map[string]bool{}
	var out []sources.ModelVersion
	add := func(v sources.ModelVersion) {
		k := versionKey(v)
		if seen[k] || len(out) == maxDetailed {
			return
		}
		seen[k] = true
		out = append(out, v)
	}
	for _, v := range r.Promoted {
		add(v)
	}
	perModel := map[string]int{}
	for _, v := range r.Versions {
		if perModel[v.Model] < newestDetailed {
			perModel[v.Model]++
			add(v)
		}
	}
	for _, v := range r.Waiting {
		add(v)
	}
	return out
}

// ---------------------------------------------------------------- metrics

type searchRunsByIDRequest struct {
	ExperimentIDs []string `json:"experiment_ids"`
	Filter        string   `json:"filter"`
	RunViewType   string   `json:"run_view_type"`
	MaxResults    int      `json:"max_results"`
}

type getRunResponse struct {
	Run run `json:"run"`
}

// versionMetrics finds the watched metric of each version's run: from the
// training runs already fetched, the cache, then one runs/search of the
// watched experiment for the rest (run_id IN (...)); a run that lives in
// another experiment is read with runs/get.
func (c *Client) versionMetrics(ctx context.Context, versions []sources.ModelVersion, training sources.Training) map[string]runMetric {
	out := map[string]runMetric{}
	for _, r := range training.Runs {
		if r.HasValue {
			out[r.ID] = runMetric{value: r.Value, ok: true}
		}
	}
	var missing []string
	d := c.doctor
	d.mu.Lock()
	for _, v := range versions {
		id := v.RunID
		if id == "" || strings.ContainsAny(id, `'"\`) {
			continue
		}
		if _, ok := out[id]; ok {
			continue
		}
		if m, ok := d.metrics[id]; ok {
			out[id] = m
			continue
		}
		if !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	d.mu.Unlock()
	if len(missing) == 0 {
		return out
	}
	found := map[string]run{}
	if exp, err := c.experiment(ctx); err == nil {
		quoted := make([]string, len(missing))
		for i, id := range missing {
			quoted[i] = "'" + id + "'"
		}
		req := searchRunsByIDRequest{
			ExperimentIDs: []string{exp.ExperimentID},
			Filter:        "attributes.run_id IN (" + strings.Join(quoted, ", ") + ")",
			RunViewType:   "ALL",
			MaxResults:    len(missing),
		}
		var resp searchRunsResponse
		if c.post(ctx, call{endpoint: "runs/search", subject: "the registered versions' runs"}, req, &resp) == nil {
			for _, r := range resp.Runs {
				if slices.Contains(missing, r.Info.id()) {
					found[r.Info.id()] = r
				}
			}
		}
	}
	for _, id := range missing {
		if _, ok := found[id]; ok || ctx.Err() != nil {
			continue
		}
		var resp getRunResponse
		if c.get(ctx, call{endpoint: "runs/get", subject: fmt.Sprintf("run %q", id)}, url.Values{"run_id": {id}}, &resp) == nil {
			found[id] = resp.Run
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, r := range found {
		m := runMetric{}
		for _, mt := range r.Data.Metrics {
			if v := float64(mt.Value); mt.Key == c.opts.Metric && !math.IsNaN(v) && !math.IsInf(v, 0) {
				m = runMetric{value: v, ok: true}
			}
		}
		out[id] = m
		// A run still going may log the metric later: only a finished
		// run's answer is kept.
		if s := strings.ToUpper(r.Info.Status); s == "FINISHED" || s == "FAILED" || s == "KILLED" {
			d.metrics[id] = m
		}
	}
	return out
}

// ---------------------------------------------------------------- signatures

// versionSignatures reads each version's MLmodel, a few at a time, unless
// the cache knows the answer or a recent attempt failed.
func (c *Client) versionSignatures(ctx context.Context, versions []sources.ModelVersion) map[string]sources.Signature {
	out := map[string]sources.Signature{}
	d := c.doctor
	var todo []sources.ModelVersion
	d.mu.Lock()
	for _, v := range versions {
		k := versionKey(v)
		if s, ok := d.signatures[k]; ok {
			out[k] = s
			continue
		}
		if d.now().Before(d.retrySignature[k]) {
			continue
		}
		todo = append(todo, v)
	}
	d.mu.Unlock()

	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, detailConcurrency)
	for _, v := range todo {
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			sig := c.readSignature(ctx, v)
			mu.Lock()
			out[versionKey(v)] = sig
			mu.Unlock()
			d.mu.Lock()
			if sig == sources.SignatureUnknown {
				d.retrySignature[versionKey(v)] = d.now().Add(signatureRetry)
			} else {
				d.signatures[versionKey(v)] = sig
			}
			d.mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// readSignature reads a version's MLmodel through the tracking server:
// the artifact proxy for mlflow-artifacts: sources (a server run with
// --serve-artifacts), else the run artifact endpoint the MLflow UI uses,
// which works when the server can read the artifact store. Anything else,
// or any failure, is unknown.
func (c *Client) readSignature(ctx context.Context, v sources.ModelVersion) sources.Signature {
	target, ok := c.mlmodelURL(v)
	if !ok {
		return sources.SignatureUnknown
	}
	cl := call{endpoint: "MLmodel", subject: fmt.Sprintf("model %q version %s", v.Model, v.Version)}
	status, _, body, err := c.send(ctx, cl, http.MethodGet, target, nil, "*/*")
	if err != nil || status != http.StatusOK {
		return sources.SignatureUnknown
	}
	return signatureOf(body)
}

// mlmodelURL is where the tracking server serves a version's MLmodel.
func (c *Client) mlmodelURL(v sources.ModelVersion) (string, bool) {
	src := strings.TrimRight(v.Source, "/")
	if rest, ok := strings.CutPrefix(src, "mlflow-artifacts:"); ok {
		// mlflow-artifacts:/path or mlflow-artifacts://host:port/path:
		// the path is relative to the server's artifact root.
		rest = strings.TrimPrefix(rest, "//")
		if strings.HasPrefix(src, "mlflow-artifacts://") {
			_, rest, _ = strings.Cut(rest, "/")
		}
		rest = strings.TrimLeft(rest, "/")
		if rest == "" {
			return "", false
		}
		return c.base.JoinPath("api/2.0/mlflow-artifacts/artifacts", rest, "MLmodel").String(), true
	}
	if v.RunID == "" {
		return "", false
	}
	var rel string
	if r, ok := strings.CutPrefix(src, "runs:/"+v.RunID+"/"); ok {
		rel = r
	} else if _, r, ok := strings.Cut(src, "/"+v.RunID+"/artifacts/"); ok {
		rel = r
	}
	if rel == "" {
		return "", false
	}
	u := c.base.JoinPath("get-artifact")
	q := u.Query()
	q.Set("path", rel+"/MLmodel")
	q.Set("run_uuid", v.RunID)
	u.RawQuery = q.Encode()
	return u.String(), true
}

// signatureOf reads an MLmodel file. Its signature's inputs and outputs
// are JSON text inside the YAML (mlflow/models/signature.py to_dict), so a
// signature counts when its inputs hold a JSON value; inputs that are not
// JSON leave it unknown.
func signatureOf(mlmodel []byte) sources.Signature {
	var doc struct {
		Flavors   map[string]any `yaml:"flavors"`
		Signature *struct {
			Inputs string `yaml:"inputs"`
		} `yaml:"signature"`
	}
	if err := yaml.Unmarshal(mlmodel, &doc); err != nil || doc.Flavors == nil {
		// Not an MLmodel: a login page or another file answered.
		return sources.SignatureUnknown
	}
	if doc.Signature == nil {
		return sources.SignatureMissing
	}
	inputs := strings.TrimSpace(doc.Signature.Inputs)
	if inputs == "" || inputs == "null" {
		return sources.SignatureMissing
	}
	if !json.Valid([]byte(inputs)) {
		return sources.SignatureUnknown
	}
	return sources.SignaturePresent
}
