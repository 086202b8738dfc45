package discover

import "sync/atomic"

// support is what the registry has shown of a discovery mechanism, learnt
// from its first answer; an unsupported mechanism is never asked again.
type support int32

const (
	supportUnknown support = iota
	supported
	unsupported
	// supportedPerType: the links API answers only requests with an
	// artifact type (the 2021 prototype registry).
	supportedPerType
)

// mechanismState holds one mechanism's support, safe for the concurrent
// listings of a level.
type mechanismState struct{ v atomic.Int32 }

func (s *mechanismState) get() support { return support(s.v.Load()) }

// asked reports whether the mechanism is worth asking (not known to be
// unsupported).
func (s *mechanismState) asked() bool { return s.get() != unsupported }

// set records what an answer showed.
func (s *mechanismState) set(v support) { s.v.Store(int32(v)) }

// learn records v only if nothing was known yet (a per-type links API
// stays per-type when a later per-type request succeeds).
func (s *mechanismState) learn(v support) {
	s.v.CompareAndSwap(int32(supportUnknown), int32(v))
}

// truncation records that a bound cut the listing (Graph.Truncated), from
// any of the places a bound applies.
type truncation struct{ cut atomic.Bool }

func (t *truncation) mark()        { t.cut.Store(true) }
func (t *truncation) marked() bool { return t.cut.Load() }
