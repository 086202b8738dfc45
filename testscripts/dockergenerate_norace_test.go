//go:build !race

package testscripts

// dgRaceEnabled: the tests run under the race detector (go test -race).
const dgRaceEnabled = false
