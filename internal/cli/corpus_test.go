package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const corpusDir = "../../testdata/jwt-corpus"

// TestVerifyCorpus runs every case of the adversarial corpus
// (testdata/jwt-corpus, written by pkg/signature/jwt/internal/corpusgen)
// through `signet verify -f token.jwt -c trusted… file:manifest.json`
// in process, at the case's fixed time: valid controls exit 0, rejects exit
// 3 (the case's cliExit), and --format json reports the verdict and class.
func TestVerifyCorpus(t *testing.T) {
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(corpusDir, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "case.json"))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Name    string    `json:"name"`
			Expect  string    `json:"expect"`
			Class   string    `json:"class"`
			Now     time.Time `json:"now"`
			Trusted []string  `json:"trusted"`
			CLIExit int       `json:"cliExit"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel() // each case's time goes with its context
			args := []string{"verify", "-f", filepath.Join(dir, "token.jwt")}
			for _, p := range c.Trusted {
				args = append(args, "-c", filepath.Join(dir, p))
			}
			args = append(args, "file:"+filepath.Join(dir, "manifest.json"))
			for _, format := range []string{"text", "json"} {
				code, out, errb := runCLIAt(c.Now, append(append([]string{}, args...), "--format", format)...)
				if code != c.CLIExit {
					t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", format, code, c.CLIExit, out, errb)
				}
				if format != "json" || c.CLIExit == 1 {
					continue
				}
				var rep struct {
					Verified   bool `json:"verified"`
					Signatures []struct {
						Valid  bool   `json:"valid"`
						Reason string `json:"reason"`
						Class  string `json:"errorClass"`
					} `json:"signatures"`
				}
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("--format json: %v\n%s", err, out)
				}
				if len(rep.Signatures) != 1 || rep.Verified != (c.Expect == "valid") || rep.Signatures[0].Valid != rep.Verified {
					t.Fatalf("--format json: %s", out)
				}
				if c.Expect == "reject" && (rep.Signatures[0].Class != c.Class || rep.Signatures[0].Reason == "") {
					t.Fatalf("--format json: class %q reason %q, want class %q", rep.Signatures[0].Class, rep.Signatures[0].Reason, c.Class)
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d corpus cases", n)
	}
}
