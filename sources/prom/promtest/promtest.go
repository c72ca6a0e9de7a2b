// Package promtest runs a real Prometheus server on 127.0.0.1 that scrapes
// exporters the test controls. It is for tests only (sources/prom and the
// canary judge import it from _test files); nothing in the program does.
//
// The server binary is found by Binary: $MLTOP_PROMETHEUS, then
// $HOME/.cache/mltop/bin/prometheus (where `make test` and
// .ci/install-prometheus put it), then PATH.
//
// Typical use:
//
//	steady := promtest.NewSteady(time.Now().Add(-time.Hour))
//	steady.Counter("revision_request_count", labels, 40) // 40 per second
//	exp := promtest.NewExporter(steady)
//	defer exp.Close()
//	srv, err := promtest.Start(promtest.Config{Targets: []promtest.Target{{Job: "qp", Addr: exp.Addr()}}})
//	defer srv.Close()
//	err = srv.WaitCovered(ctx, 10*time.Second) // rate(x[10s]) is now exact
package promtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// ErrNoBinary says where to get the server when none is found.
var ErrNoBinary = errors.New("prometheus binary not found: run `make test` (it installs it) or .ci/install-prometheus")

// Binary returns the path of the prometheus binary to run.
func Binary() (string, error) {
	if p := os.Getenv("MLTOP_PROMETHEUS"); p != "" {
		if executable(p) {
			return p, nil
		}
		return "", fmt.Errorf("MLTOP_PROMETHEUS=%s is not an executable file: %w", p, ErrNoBinary)
	}
	if home, err := os.UserHomeDir(); err == nil {
		if p := filepath.Join(home, ".cache", "mltop", "bin", "prometheus"); executable(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p, nil
	}
	return "", ErrNoBinary
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Target is one scrape target.
type Target struct {
	Job  string
	Addr string // host:port serving /metrics
	// Labels are target labels the scrape configuration adds (as a
	// Kubernetes service discovery would add namespace or pod). With the
	// default honor_labels false, a series label of the same name arrives
	// renamed exported_<name>.
	Labels map[string]string
}

// Config shapes the server.
type Config struct {
	Targets []Target
	// ScrapeInterval defaults to 1s.
	ScrapeInterval time.Duration
	// Binary defaults to Binary().
	Binary string
}

// Server is a running Prometheus.
type Server struct {
	// URL is the server root, e.g. http://127.0.0.1:40123.
	URL      string
	interval time.Duration
	targets  int
	cmd      *exec.Cmd
	logs     *syncBuffer
	exited   chan struct{}
	api      v1.API
}

// Start writes the configuration, starts the server on a free loopback port
// with a temporary TSDB and waits until it is ready (/-/ready). Close stops
// it and removes its files.
func Start(cfg Config) (*Server, error) {
	if cfg.ScrapeInterval <= 0 {
		cfg.ScrapeInterval = time.Second
	}
	bin := cfg.Binary
	if bin == "" {
		var err error
		if bin, err = Binary(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "mltop-promtest-")
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(dir, "prometheus.yml")
	config, err := configYAML(cfg)
	if err == nil {
		err = os.WriteFile(configFile, config, 0o600)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// The free port is found by listening and closing; another process may
	// take it in between, so a server that exits at once is tried again.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		srv, err := launch(bin, configFile, dir, cfg)
		if err == nil {
			return srv, nil
		}
		lastErr = err
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func launch(bin, configFile, dir string, cfg Config) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data-"+strings.ReplaceAll(addr, ":", "-"))
	logs := &syncBuffer{}
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+data,
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, interval: cfg.ScrapeInterval, targets: len(cfg.Targets), cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		s.stop()
		return nil, err
	}
	s.api = v1.NewAPI(client)
	if err := s.waitReady(30 * time.Second); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("prometheus exited before it was ready:\n%s", s.Logs())
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("prometheus not ready after %v:\n%s", timeout, s.Logs())
}

// Close stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
// configuration and data.
func (s *Server) Close() {
	s.stop()
	if cfg := s.configDir(); cfg != "" {
		os.RemoveAll(cfg)
	}
}

func (s *Server) configDir() string {
	for _, arg := range s.cmd.Args {
		if f, ok := strings.CutPrefix(arg, "--config.file="); ok {
			return filepath.Dir(f)
		}
	}
	return ""
}

func (s *Server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Logs returns what the server wrote so far (for failure messages).
func (s *Server) Logs() string { return s.logs.String() }

// WaitCovered waits until every target is up and has been scraped across
// the whole of window, so that rate(x[window]) over a counter that grows at
// a constant pace returns exactly that pace: Prometheus extrapolates to the
// window's edges only when the first and last samples lie within 1.1 scrape
// intervals of them.
func (s *Server) WaitCovered(ctx context.Context, window time.Duration) error {
	need := int(window / s.interval)
	expr := fmt.Sprintf("count_over_time(up[%s])", model.Duration(window))
	var last string
	for {
		vec, err := s.Query(ctx, expr)
		switch {
		case err != nil:
			last = err.Error()
		case len(vec) < s.targets:
			last = fmt.Sprintf("%d of %d targets scraped", len(vec), s.targets)
		default:
			covered := true
			for _, sample := range vec {
				if int(sample.Value) < need {
					covered = false
					last = fmt.Sprintf("%s has %v samples in %v, needs %d", sample.Metric, sample.Value, window, need)
				}
			}
			if covered {
				return s.checkUp(ctx)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %v of scrapes: %s: %w\n%s", window, last, ctx.Err(), s.Logs())
		case <-s.exited:
			return fmt.Errorf("prometheus exited:\n%s", s.Logs())
		case <-time.After(s.interval / 4):
		}
	}
}

// checkUp fails when a target's last scrape failed, naming it.
func (s *Server) checkUp(ctx context.Context) error {
	vec, err := s.Query(ctx, "up == 0")
	if err != nil {
		return err
	}
	if len(vec) > 0 {
		return fmt.Errorf("targets down: %v", vec)
	}
	return nil
}

// Query runs an instant query now and returns its vector.
func (s *Server) Query(ctx context.Context, expr string) (model.Vector, error) {
	v, _, _, err := s.api.Query(ctx, expr, time.Now())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", expr, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("%s: a %s, not a vector", expr, v.Type())
	}
	return vec, nil
}

// configYAML is the server's configuration: one scrape job per Job name,
// one static target group per target (so each carries its own labels).
func configYAML(cfg Config) ([]byte, error) {
	type staticConfig struct {
		Targets []string          `yaml:"targets"`
		Labels  map[string]string `yaml:"labels,omitempty"`
	}
	type scrapeConfig struct {
		JobName       string         `yaml:"job_name"`
		StaticConfigs []staticConfig `yaml:"static_configs"`
	}
	interval := model.Duration(cfg.ScrapeInterval).String()
	doc := struct {
		Global struct {
			ScrapeInterval string `yaml:"scrape_interval"`
			ScrapeTimeout  string `yaml:"scrape_timeout"`
		} `yaml:"global"`
		ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
	}{}
	doc.Global.ScrapeInterval, doc.Global.ScrapeTimeout = interval, interval
	index := map[string]int{}
	for _, t := range cfg.Targets {
		job := t.Job
		if job == "" {
			job = "test"
		}
		i, ok := index[job]
		if !ok {
			i = len(doc.ScrapeConfigs)
			index[job] = i
			doc.ScrapeConfigs = append(doc.ScrapeConfigs, scrapeConfig{JobName: job})
		}
		sc := &doc.ScrapeConfigs[i]
		sc.StaticConfigs = append(sc.StaticConfigs, staticConfig{Targets: []string{t.Addr}, Labels: t.Labels})
	}
	return yaml.Marshal(doc)
}

// Exporter serves a registry's metrics on 127.0.0.1 for the server to scrape.
type Exporter struct {
	Registry *prometheus.Registry
	server   *httptest.Server
}

// NewExporter registers the collectors and starts serving /metrics.
func NewExporter(collectors ...prometheus.Collector) (*Exporter, error) {
	reg := prometheus.NewRegistry()
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	return &Exporter{Registry: reg, server: httptest.NewServer(mux)}, nil
}

// Addr is host:port.
func (e *Exporter) Addr() string { return strings.TrimPrefix(e.server.URL, "http://") }

// Close stops serving.
func (e *Exporter) Close() { e.server.Close() }

// syncBuffer is a bytes.Buffer the server's output goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if lines := strings.Split(s, "\n"); len(lines) > 40 {
		s = strings.Join(lines[len(lines)-40:], "\n")
	}
	return s
}
