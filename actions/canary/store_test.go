package canary

import (
	"sync"
	"testing"

	"github.com/mltop/mltop/sources"
)

func TestStorePublishesCopies(t *testing.T) {
	s := NewStore()
	k := sources.ServiceKey{Namespace: "ml-prod", Name: "fraud-detector"}
	if _, ok := s.Verdict(k); ok {
		t.Fatal("an empty store has a verdict")
	}
	vs := map[sources.ServiceKey]Verdict{k: {Decision: Rollback, Reasons: []string{"a"}}}
	s.Publish(vs)
	vs[k] = Verdict{Decision: Promote} // the publisher's map is not shared
	v, ok := s.Verdict(k)
	if !ok || v.Decision != Rollback {
		t.Fatalf("verdict %+v %v", v, ok)
	}
	v.Reasons[0] = "changed" // nor is the returned verdict
	if again, _ := s.Verdict(k); again.Reasons[0] != "a" {
		t.Fatal("a reader changed the stored verdict")
	}
}

func TestStoreConcurrentUse(t *testing.T) {
	s := NewStore()
	k := sources.ServiceKey{Namespace: "n", Name: "s"}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				s.Publish(map[sources.ServiceKey]Verdict{k: {Tick: j}})
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				s.Verdict(k)
			}
		}()
	}
	wg.Wait()
}
