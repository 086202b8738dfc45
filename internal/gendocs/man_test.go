package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Every command in the Markdown reference gets a man page, dated and
// versioned as asked, and a rerun removes the pages of removed commands
// but nothing else in the directory.
func TestManPagesCoverEveryDocumentedCommand(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "signet-removed.1")
	other := filepath.Join(dir, "notes.txt")
	for _, f := range []string{stale, other} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	date := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := generateMan(dir, "1.2.3", &date); err != nil {
		t.Fatal(err)
	}

	md, err := filepath.Glob("../../docs/cli/signet*.md")
	if err != nil || len(md) == 0 {
		t.Fatalf("no pages in docs/cli: %v", err)
	}
	var want []string
	for _, p := range md {
		want = append(want, strings.ReplaceAll(strings.TrimSuffix(filepath.Base(p), ".md"), "_", "-")+".1")
	}
	got, _ := filepath.Glob(filepath.Join(dir, "signet*.1"))
	for i := range got {
		got[i] = filepath.Base(got[i])
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("man pages:\n got %v\nwant %v", got, want)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file gendocs did not write was removed: %v", err)
	}

	page, err := os.ReadFile(filepath.Join(dir, "signet-verify.1"))
	if err != nil {
		t.Fatal(err)
	}
	if th := `.TH "SIGNET-VERIFY" "1" "Mar 2026" "signet 1.2.3" "signet manual"`; !strings.Contains(string(page), th+"\n") {
		t.Errorf("signet-verify.1 has no line %s:\n%.300s", th, page)
	}
	for _, s := range []string{"signet-verify - ", `\fB--max-signatures\fP=`, ".SH SEE ALSO"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("signet-verify.1 does not contain %q", s)
		}
	}
}

func TestCompletionScriptsForEveryShell(t *testing.T) {
	dir := t.TempDir()
	if err := generateCompletions(dir); err != nil {
		t.Fatal(err)
	}
	for name, head := range map[string]string{
		"signet.bash": "# bash completion V2 for signet",
		"signet.zsh":  "#compdef signet",
		"signet.fish": "# fish completion for signet",
		"signet.ps1":  "# powershell completion for signet",
	} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.HasPrefix(string(b), head) {
			t.Errorf("%s starts with %.40q, want %q", name, b, head)
		}
	}
}

// goreleaser's zero commit date (no git information) does not date the
// pages "Jan 0001": $SOURCE_DATE_EPOCH, else today, is used instead.
func TestManPagesZeroDateCountsAsUnset(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1772366400") // 2026-03-01
	dir := t.TempDir()
	if err := generateMan(dir, "", &time.Time{}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "signet.1"))
	if err != nil {
		t.Fatal(err)
	}
	if th := `.TH "SIGNET" "1" "Mar 2026" "signet" "signet manual"`; !strings.Contains(string(page), th+"\n") {
		t.Errorf("signet.1 has no line %s:\n%.200s", th, page)
	}
}
