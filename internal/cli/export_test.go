package cli

import "io"

// PretendTerminal makes delete-signature treat stdin as a terminal (so
// that tests can answer its prompt) until the returned function runs.
func PretendTerminal() func() {
	old := isTerminal
	isTerminal = func(io.Reader) bool { return true }
	return func() { isTerminal = old }
}
