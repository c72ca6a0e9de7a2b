package prom

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// ProfileNone is what Metrics.Profile says when auto found no serving
// series in the watched namespaces: only GPUs and OOM kills are read.
const ProfileNone = "none"

// profileLabel carries the profile's name in the probe's answer.
const profileLabel = "mltop_profile"

// autoChoice is what auto found, and until when it is trusted.
type autoChoice struct {
	name  string
	until time.Time
}

// autoCandidates lists the profiles auto may choose: those with a probe,
// built-in ones in their preferred order, then the others by name.
func autoCandidates(profiles map[string]Profile) []string {
	var names []string
	for _, name := range autoOrder() {
		if p, ok := profiles[name]; ok && p.Probe != "" {
			names = append(names, name)
		}
	}
	var extra []string
	for name, p := range profiles {
		if p.Probe != "" && !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return append(names, extra...)
}

// profile returns the profile to use at now: the configured one, or auto's
// choice, probed again when it is older than ProbeEvery. Finding nothing is
// not cached, so serving metrics that appear later are found on the next
// refresh.
func (c *Client) profile(ctx context.Context, now time.Time) (string, error) {
	if c.opts.Profile != ProfileAuto {
		return c.opts.Profile, nil
	}
	c.mu.Lock()
	choice := c.auto
	c.mu.Unlock()
	if choice.name != "" && choice.name != ProfileNone && now.Before(choice.until) {
		return choice.name, nil
	}
	name, err := c.probe(ctx, now)
	if err != nil {
		if choice.name != "" && choice.name != ProfileNone {
			// Keep the last choice: a failed probe says nothing about the
			// series, and the refresh will report its own errors.
			c.log.Warn("prometheus profile probe failed; keeping the last choice", "profile", choice.name, "err", err.Error())
			return choice.name, nil
		}
		return "", err
	}
	c.mu.Lock()
	c.auto = autoChoice{name: name, until: now.Add(c.opts.ProbeEvery)}
	c.mu.Unlock()
	return name, nil
}

// probe asks, in one query, how many series of each candidate profile exist
// in the watched namespaces, and picks a profile that can tell errors
// apart over one that cannot, then the one with most series (during a
// Knative upgrade both families exist), then the preferred order.
func (c *Client) probe(ctx context.Context, now time.Time) (string, error) {
	if len(c.autoNames) == 0 {
		return ProfileNone, nil
	}
	res := c.do(ctx, query{name: "profile probe", expr: c.probeExpr()}, now, c.trendRange(now))
	if res.err != nil {
		return "", res.err
	}
	vec, _ := res.value.(model.Vector) // do checked the type
	counts := map[string]float64{}
	for _, s := range vec {
		if v := float64(s.Value); v > 0 && !math.IsNaN(v) {
			counts[string(s.Metric[profileLabel])] = v
		}
	}
	best, bestRank := ProfileNone, [2]float64{-1, -1}
	for _, name := range c.autoNames { // in preference order: ties keep the first
		n, found := counts[name]
		if !found {
			continue
		}
		errorsKnown := 0.0
		if c.opts.Profiles[name].HasErrors() {
			errorsKnown = 1
		}
		rank := [2]float64{errorsKnown, n}
		if rank[0] > bestRank[0] || (rank[0] == bestRank[0] && rank[1] > bestRank[1]) {
			best, bestRank = name, rank
		}
	}
	if best == ProfileNone {
		c.log.Info("prometheus: no serving series of any profile in the watched namespaces", "profiles", strings.Join(c.autoNames, ", "))
	}
	return best, nil
}

// probeExpr counts each candidate's series, labelled with the profile name:
// label_replace(count(<probe>), "mltop_profile", "<name>", "", "") or ...
func (c *Client) probeExpr() string {
	parts := make([]string, 0, len(c.autoNames))
	for _, name := range c.autoNames {
		p := c.opts.Profiles[name]
		v := queryVars{Window: c.opts.Window, Namespaces: namespaceMatcher(p.NamespaceLabel, c.opts.Namespaces), By: strings.Join(p.serviceBy(), ", ")}
		expr, _ := v.render(p.Probe) // validated in New
		parts = append(parts, fmt.Sprintf(`label_replace(count(%s), %q, %s, "", "")`, expr, profileLabel, strconv.Quote(name)))
	}
	return strings.Join(parts, " or ")
}
