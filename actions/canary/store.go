package canary

import (
	"maps"
	"sync"

	"github.com/mltop/mltop/sources"
)

// Store holds the latest verdict of every service for readers on other
// goroutines: the dashboard publishes what its tracker decided, and the
// action pipeline's preflight, running in a command, reads the verdict of
// the service it is about to change. The tracker itself stays single-owner.
type Store struct {
	mu       sync.RWMutex
	verdicts map[sources.ServiceKey]Verdict
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{verdicts: map[sources.ServiceKey]Verdict{}} }

// Publish replaces every verdict with vs (a copy is kept).
func (s *Store) Publish(vs map[sources.ServiceKey]Verdict) {
	c := maps.Clone(vs)
	s.mu.Lock()
	s.verdicts = c
	s.mu.Unlock()
}

// Verdict returns a service's current verdict.
func (s *Store) Verdict(k sources.ServiceKey) (Verdict, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.verdicts[k]
	return v.clone(), ok
}
