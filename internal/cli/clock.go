package cli

import (
	"context"
	"time"
)

type clockKey struct{}

// withVerifyTime returns ctx under which `signet verify` checks signatures
// at the time t instead of the current time. Only this package's tests set
// it (the adversarial corpus in testdata/jwt-corpus runs at each case's
// fixed time), through the context Run is given, so tests with different
// times can run in parallel.
func withVerifyTime(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, t)
}

// verifyTime is the verification time for ctx; the zero time (the default)
// lets each verifier use the current time.
func verifyTime(ctx context.Context) time.Time {
	t, _ := ctx.Value(clockKey{}).(time.Time)
	return t
}
