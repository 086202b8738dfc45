// Command gendocs writes what is generated from signet's cobra command tree:
//
//   - the Markdown CLI reference (docs/cli): one file per command
//     (signet.md, signet_sign.md, …) and an index, README.md. It is
//     committed; the output is deterministic (no dates), so that
//     `make docs-check` can diff a fresh run against docs/cli.
//   - man pages (--man DIR): one roff page per command, signet.1,
//     signet-sign.1, …, for the release archives (not committed).
//   - shell completion scripts (--completions DIR): signet.bash,
//     signet.zsh, signet.fish and signet.ps1, for the release archives
//     (not committed).
//
// Usage:
//
//	go run ./internal/gendocs DIR
//	go run ./internal/gendocs [--man DIR] [--completions DIR] [--version V] [--date RFC3339] [DIR]
//
// The man pages' date is --date, else $SOURCE_DATE_EPOCH, else today; the
// release build passes the commit date so that the pages are reproducible
// (a zero date, 0001-01-01T00:00:00Z, counts as unset).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/signet-oci/signet/internal/cli"
)

const usage = "usage: go run ./internal/gendocs [--man DIR] [--completions DIR] [--version V] [--date RFC3339] [MARKDOWN-DIR]"

func main() {
	fs := flag.NewFlagSet("gendocs", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	manDir := fs.String("man", "", "write man pages into `DIR`")
	complDir := fs.String("completions", "", "write shell completion scripts into `DIR`")
	version := fs.String("version", "", "the signet version named in the man pages' footer")
	date := fs.String("date", "", "the man pages' date, RFC 3339 (default $SOURCE_DATE_EPOCH, else now)")
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() > 1 || (fs.NArg() == 0 && *manDir == "" && *complDir == "") {
		if err != nil {
			fmt.Fprintln(os.Stderr, "gendocs: "+err.Error())
		}
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var manDate *time.Time
	if *date != "" {
		d, err := time.Parse(time.RFC3339, *date)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gendocs: --date %q is not an RFC 3339 date\n", *date)
			os.Exit(2)
		}
		manDate = &d
	}
	run := func(what string, f func() error) {
		if err := f(); err != nil {
			fmt.Fprintf(os.Stderr, "gendocs: %s: %v\n", what, err)
			os.Exit(1)
		}
	}
	if fs.NArg() == 1 {
		run("markdown", func() error { return generate(fs.Arg(0)) })
	}
	if *manDir != "" {
		run("man pages", func() error { return generateMan(*manDir, *version, manDate) })
	}
	if *complDir != "" {
		run("completions", func() error { return generateCompletions(*complDir) })
	}
}

// rootCmd is the command tree as users get it: the completion and help
// commands, which cobra adds when the command runs, are added here so that
// the reference shows them too.
func rootCmd() *cobra.Command {
	root := cli.NewRootCmd(cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	disableAutoGenTag(root)
	return root
}

// removeGenerated removes what an earlier run wrote into dir (the files
// matching the patterns), so that a removed command leaves no stale page
// behind; it creates dir if needed. Nothing else in dir is touched.
func removeGenerated(dir string, patterns ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range patterns {
		old, err := filepath.Glob(filepath.Join(dir, p))
		if err != nil {
			return err
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	return nil
}

// generate writes the Markdown reference into dir, replacing what an
// earlier run wrote there.
func generate(dir string) error {
	root := rootCmd()
	if err := removeGenerated(dir, "signet*.md", "README.md"); err != nil {
		return err
	}
	prepend := func(string) string { return "" }
	link := func(name string) string { return name }
	if err := doc.GenMarkdownTreeCustom(root, dir, prepend, link); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), index(root), 0o644)
}

// generateMan writes one man page (section 1) per command into dir,
// replacing what an earlier run wrote there.
func generateMan(dir, version string, date *time.Time) error {
	root := rootCmd()
	if err := removeGenerated(dir, "signet*.1"); err != nil {
		return err
	}
	source := "signet"
	if version != "" {
		source += " " + version
	}
	// goreleaser passes the zero date when it has no git information (a
	// snapshot in a clone without a remote): treat it as unset.
	if date != nil && date.IsZero() {
		date = nil
	}
	header := &doc.GenManHeader{Section: "1", Source: source, Manual: "signet manual", Date: date}
	return doc.GenManTree(root, header, dir)
}

// completionFiles maps each completion script's file name to the function
// writing it; descriptions are included where the shell shows them.
var completionFiles = map[string]func(*cobra.Command, io.Writer) error{
	"signet.bash": func(c *cobra.Command, w io.Writer) error { return c.GenBashCompletionV2(w, true) },
	"signet.zsh":  func(c *cobra.Command, w io.Writer) error { return c.GenZshCompletion(w) },
	"signet.fish": func(c *cobra.Command, w io.Writer) error { return c.GenFishCompletion(w, true) },
	"signet.ps1":  func(c *cobra.Command, w io.Writer) error { return c.GenPowerShellCompletionWithDesc(w) },
}

// generateCompletions writes the bash, zsh, fish and PowerShell completion
// scripts into dir: the scripts `signet completion SHELL` prints.
func generateCompletions(dir string) error {
	root := rootCmd()
	if err := removeGenerated(dir, "signet.*"); err != nil {
		return err
	}
	for name, gen := range completionFiles {
		var b bytes.Buffer
		if err := gen(root, &b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func disableAutoGenTag(c *cobra.Command) {
	c.DisableAutoGenTag = true
	for _, sub := range c.Commands() {
		disableAutoGenTag(sub)
	}
}

// index lists every documented command with its short description.
func index(root *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString("# signet CLI reference\n\n")
	b.WriteString("Generated from the cobra commands by `make docs` (`go run ./internal/gendocs docs/cli`);\n")
	b.WriteString("do not edit by hand. `make docs-check` fails when these pages are stale.\n\n")
	b.WriteString("| command | what it does |\n|---|---|\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			return
		}
		file := strings.ReplaceAll(c.CommandPath(), " ", "_") + ".md"
		fmt.Fprintf(&b, "| [`%s`](%s) | %s |\n", c.CommandPath(), file, c.Short)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	b.WriteString("\nSee also: [exit statuses](../exit-codes.md), [JSON output schemas](../schemas/), [the walkthrough](../walkthrough.md).\n")
	return b.Bytes()
}
