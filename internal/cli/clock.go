package cli

import "time"

// verifyClock gives `signet verify` its verification time; the zero time
// (the default) lets each verifier use the current time. It is a variable
// only so that this package's tests can run the adversarial corpus
// (testdata/jwt-corpus) at each case's fixed time; nothing else sets it.
var verifyClock = func() time.Time { return time.Time{} }
