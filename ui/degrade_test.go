package ui

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mltop/mltop/sources"
)

// oddUpdates are values a real cluster or a broken exporter can produce:
// empty parts, NaN and negative figures, zero times, huge and hostile names,
// wide runes, hundreds of services.
func oddUpdates() []sources.Update {
	long := strings.Repeat("very-long-name-", 20)
	hostile := "evil\x1b[2J\x1b]0;title\x07名前-サービス-🚀"
	inv := &sources.Inventory{Context: hostile, Namespaces: []string{long, "", hostile}}
	for i := 0; i < 200; i++ {
		inv.Services = append(inv.Services, sources.Service{
			Namespace: ns, Name: fmt.Sprintf("svc-%03d-%s", i, []string{"", long, hostile}[i%3]),
			Mode:  []string{"", sources.ModeKnative, sources.ModeStandard, sources.ModeModelMesh, "Weird"}[i%5],
			Ready: i%4 != 0, Reason: hostile, MinReplicas: i % 3, CanaryPercent: []int{0, 20, 100, -5, 250}[i%5],
			HasCanaryPercent: i%2 == 0, CanaryRevision: fmt.Sprintf("rev-%d", i), StableRevision: "",
			Traffic: []sources.TrafficTarget{{Revision: "", Percent: -1}}, GPU: i%7 == 0,
		})
	}
	inv.OOMKills = []sources.OOMKill{{Namespace: ns, Pod: hostile, Service: "svc-001-"}, {}}
	met := &sources.Metrics{
		Services: map[sources.ServiceKey]sources.ServiceMetrics{},
		Revisions: map[sources.ServiceKey]sources.RevisionMetrics{
			{Namespace: ns, Name: "rev-2"}: {Revision: "rev-2", Traffic: sources.Traffic{RPS: math.NaN(), ErrorRate: math.Inf(1), HasErrors: true}},
		},
		GPUs:     []sources.GPU{{Util: math.NaN()}, {Util: -20, Node: hostile}, {Util: 1e9}},
		GPUTrend: []sources.Point{{V: math.NaN()}, {V: math.Inf(-1)}},
	}
	for i := 0; i < 200; i += 3 {
		k := sources.ServiceKey{Namespace: ns, Name: inv.Services[i].Name}
		met.Services[k] = sources.ServiceMetrics{
			Traffic:  sources.Traffic{RPS: -1, ErrorRate: math.NaN(), HasErrors: true, P99: -time.Second, HasP99: true},
			RPSTrend: []sources.Point{{V: math.Inf(1)}, {V: -3}},
		}
	}
	tr := &sources.Tracking{
		Training: sources.Training{Metric: hostile, Runs: []sources.TrainingRun{
			{Value: math.NaN(), HasValue: true}, {Value: math.Inf(1), HasValue: true}, {Name: hostile},
		}},
		Registry: sources.Registry{Waiting: []sources.ModelVersion{{Model: hostile, Version: long}, {Created: fixtureNow.Add(time.Hour)}}},
	}
	pl := &sources.Pipelines{Window: -time.Hour, Runs: []sources.PipelineRun{
		{State: "WEIRD", Name: hostile, Error: hostile},
		{State: sources.RunFailed, Created: fixtureNow, Finished: fixtureNow.Add(-time.Hour)},
	}}
	st := func(id sources.SourceID, h sources.Health) sources.SourceStatus {
		return sources.SourceStatus{ID: id, Health: h, Configured: true, Seq: 9, Err: hostile,
			FetchedAt: fixtureNow.Add(time.Minute), Interval: -time.Second}
	}
	return []sources.Update{
		{Status: st(sources.SourceKube, sources.HealthOK), Part: sources.Part{Inventory: inv}},
		{Status: st(sources.SourceProm, sources.HealthStale), Part: sources.Part{Metrics: met}},
		{Status: st(sources.SourceMLflow, sources.HealthDown), Part: sources.Part{Tracking: tr}},
		{Status: st(sources.SourceKFP, sources.Health(42)), Part: sources.Part{Pipelines: pl}},
		{Status: sources.SourceStatus{ID: "unknown-source", Seq: 1}},
	}
}

// TestOddDataRendersAtEverySize is "degrade, never die": whatever the
// sources send, every screen draws at every size, exactly to size, and
// no escape sequence from the data reaches the frame.
func TestOddDataRendersAtEverySize(t *testing.T) {
	for _, sz := range [][2]int{{60, 16}, {80, 24}, {99, 31}, {120, 40}, {160, 48}, {250, 70}} {
		for _, keys := range [][]string{nil, {"enter"}, {"5", "enter"}, {"?", "G"}, {"G"}, {"/", "s", "v", "c"}} {
			name := fmt.Sprintf("%dx%d/%s", sz[0], sz[1], strings.Join(keys, ""))
			t.Run(name, func(t *testing.T) {
				m := newModel(fixtureOptions(nil, plainTheme()), testKit())
				m = step(m, updatesMsg(oddUpdates()), tickMsg{})
				m = step(m, updatesMsg{{Status: sources.SourceStatus{ID: sources.SourceKube, Seq: 10}}})
				m = step(m, tickMsg{})
				m = step(m, sizeMsg(sz))
				m, _ = press(m, keys...)
				v := m.View()
				checkFrame(t, v, sz[0], sz[1])
				if strings.ContainsAny(v, "\x1b\x07") {
					t.Errorf("escape sequence in the frame:\n%q", v)
				}
			})
		}
	}
}
