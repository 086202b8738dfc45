package remote

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
)

// Signet's embedded registry answers a referrers request carrying
// HeaderWantNested with HeaderNested: "none" when no referrer of the
// subject has referrers or links of its own (pkg/registry/nested.go), so
// that a discovery following the referrers of referrers need not ask
// about each of them. Other registries do not send it; nothing changes
// there.
const (
	HeaderWantNested = "Signet-Want-Nested"
	HeaderNested     = "Signet-Nested-Referrers"
)

// NestedProbe records the HeaderNested answers to the referrers requests
// sent with a context from WithNestedProbe.
type NestedProbe struct {
	none, other atomic.Int32
}

type nestedKey struct{}

// WithNestedProbe returns a context whose referrers requests ask for the
// nested-referrers hint, and the probe that records the answers.
func WithNestedProbe(ctx context.Context) (context.Context, *NestedProbe) {
	p := &NestedProbe{}
	return context.WithValue(ctx, nestedKey{}, p), p
}

// None reports that every referrers answer seen said "none" (and there was
// at least one): no referrer of the subject has referrers of its own.
func (p *NestedProbe) None() bool { return p.none.Load() > 0 && p.other.Load() == 0 }

// nestedRequest adds HeaderWantNested to a referrers GET whose context
// holds a probe; it returns the probe (nil: none asked).
func nestedRequest(req *http.Request) (*http.Request, *NestedProbe) {
	p, _ := req.Context().Value(nestedKey{}).(*NestedProbe)
	if p == nil || req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/referrers/") {
		return req, nil
	}
	req = req.Clone(req.Context())
	req.Header.Set(HeaderWantNested, "1")
	return req, p
}

// record notes one answer.
func (p *NestedProbe) record(resp *http.Response) {
	if resp.StatusCode == http.StatusOK && resp.Header.Get(HeaderNested) == "none" {
		p.none.Add(1)
		return
	}
	p.other.Add(1)
}
