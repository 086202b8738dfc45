//go:build race

package testscripts

// raceEnabled: the tests run under the race detector (go test -race).
const raceEnabled = true
