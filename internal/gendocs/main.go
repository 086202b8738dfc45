// Command gendocs writes signet's Markdown CLI reference from the cobra
// command tree: one file per command (signet.md, signet_sign.md, …) and an
// index, README.md. The output is deterministic (no dates), so that
// `make docs-check` can diff a fresh run against the committed docs/cli.
//
//	go run ./internal/gendocs DIR
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/signet-oci/signet/internal/cli"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./internal/gendocs DIR")
		os.Exit(2)
	}
	if err := generate(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs: "+err.Error())
		os.Exit(1)
	}
}

// generate writes the reference into dir, replacing what an earlier run
// wrote there (so a removed command leaves no stale page behind).
func generate(dir string) error {
	root := cli.NewRootCmd(cli.IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	root.DisableAutoGenTag = true
	// The completion and help commands are added by cobra when the command
	// runs; add them here so the reference shows what users get.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	disableAutoGenTag(root)

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := filepath.Glob(filepath.Join(dir, "signet*.md"))
	if err != nil {
		return err
	}
	for _, f := range append(old, filepath.Join(dir, "README.md")) {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	prepend := func(string) string { return "" }
	link := func(name string) string { return name }
	if err := doc.GenMarkdownTreeCustom(root, dir, prepend, link); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), index(root), 0o644)
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
