package kfp

import (
	"context"
	"sync"
	"time"
)

// How long the API server's version is kept: it changes only on upgrade,
// so it is not worth a request per refresh. An answer that failed is
// tried again sooner.
const (
	serverVersionTTL   = 10 * time.Minute
	serverVersionRetry = time.Minute
)

// versionCache keeps the API server's release (healthz tag_name) between
// fetches; it guards itself, so concurrent fetches may share it.
type versionCache struct {
	mu      sync.Mutex
	tag     string
	expires time.Time
}

// serverVersion is the API server's release for the doctor's version
// check, from healthz, asked again only when the kept answer is old. A
// failure leaves it unknown (empty) and never fails the fetch: the runs
// are good without it.
func (c *Client) serverVersion(ctx context.Context) string {
	c.version.mu.Lock()
	if c.opts.Now().Before(c.version.expires) {
		tag := c.version.tag
		c.version.mu.Unlock()
		return tag
	}
	c.version.mu.Unlock()
	h, err := c.Healthz(ctx)
	ttl := serverVersionTTL
	if err != nil || h.TagName == "" {
		ttl = serverVersionRetry
	}
	c.version.mu.Lock()
	defer c.version.mu.Unlock()
	c.version.tag, c.version.expires = h.TagName, c.opts.Now().Add(ttl)
	return h.TagName
}
