package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/signet-oci/signet/pkg/errdef"
)

// A flagGroup is a set of flags several commands share (registry access,
// output format and file, …). It registers its flags, and once cobra has
// parsed them, checks and completes its own values: a command does not
// call a group's check itself, so it cannot forget it (as oras's
// option.FlagApplier and option.FlagParser).
type flagGroup interface {
	addFlags(f *pflag.FlagSet)
	parse(cmd *cobra.Command, streams IOStreams) error
}

// A groupCloser is a flag group with something to do once the command has
// run, whatever its outcome (remoteOptions prints the request count).
type groupCloser interface {
	close(streams IOStreams)
}

// An errorExplainer is a flag group that turns the command's error into
// the user's line with its hint (remoteOptions: what a registry or
// transport failure means and what to do). It is the one place a command's
// registry errors are explained.
type errorExplainer interface {
	explain(err error) error
}

// withGroups registers the flags of groups on cmd and wraps its RunE: the
// groups are parsed, in order, before the command runs, and closed after
// it, and a failed command's error is explained by the groups that can.
// It is the one place where groups are checked, cleaned up, and turn
// errors into the user's line.
func withGroups(cmd *cobra.Command, streams IOStreams, groups ...flagGroup) *cobra.Command {
	for _, g := range groups {
		g.addFlags(cmd.Flags())
	}
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) (err error) {
		defer func() {
			for _, g := range groups {
				if ex, ok := g.(errorExplainer); ok && err != nil {
					err = ex.explain(err)
				}
			}
		}()
		defer func() {
			for _, g := range groups {
				if cl, ok := g.(groupCloser); ok {
					cl.close(streams)
				}
			}
		}()
		for _, g := range groups {
			if err := g.parse(c, streams); err != nil {
				return err
			}
		}
		return run(c, args)
	}
	return cmd
}

// formatNames are every output format signet knows. A value of -o/--output
// that is one of them selects the format, as --output did before 0.x (a
// deprecated spelling, kept for one release).
var formatNames = []string{"text", "json", "tree", "table"}

// outputOptions is the output flag group (docs/cli-conventions.md):
// --format selects how results are printed (from the command's own set),
// and -o/--output names the file or directory results are written to, for
// the commands that write one.
type outputOptions struct {
	Format string // --format
	Path   string // -o/--output, when the command writes a file or directory

	formats  []string // allowed formats, the default first; none: no --format
	path     string   // "file" or "dir" when the command takes -o; "" when not
	pathDef  string   // default of -o
	pathHelp string
	oldName  string // the deprecated long name of -o (output-file, output-dir)
}

// formats makes an output group with --format only.
func formats(allowed ...string) outputOptions {
	return outputOptions{formats: allowed}
}

// withFile adds -o/--output FILE (old name --output-file) to the group.
func (o outputOptions) withFile(help string) outputOptions {
	o.path, o.pathHelp, o.oldName = "file", help, "output-file"
	return o
}

// withDir adds -o/--output DIR (old name --output-dir, default def).
func (o outputOptions) withDir(def, help string) outputOptions {
	o.path, o.pathDef, o.pathHelp, o.oldName = "dir", def, help, "output-dir"
	return o
}

func (o *outputOptions) addFlags(f *pflag.FlagSet) {
	if len(o.formats) > 0 {
		f.StringVar(&o.Format, "format", o.formats[0], "output format: "+strings.Join(o.formats, ", "))
	}
	if o.path != "" {
		f.StringVarP(&o.Path, "output", "o", o.pathDef, o.pathHelp)
		f.StringVar(&o.Path, o.oldName, o.pathDef, o.pathHelp)
		_ = f.MarkHidden(o.oldName)
		return
	}
	if len(o.formats) > 0 {
		// The --output FORMAT of earlier releases.
		f.String("output", "", "deprecated: use --format")
		_ = f.MarkHidden("output")
	}
}

func (o *outputOptions) parse(cmd *cobra.Command, streams IOStreams) error {
	f := cmd.Flags()
	if o.path != "" && f.Changed(o.oldName) {
		fmt.Fprintf(streams.Err, "Warning: --%s is deprecated; use -o/--output\n", o.oldName)
	}
	if f.Changed("output") {
		v, _ := f.GetString("output")
		switch {
		case len(o.formats) > 0 && slices.Contains(formatNames, v):
			if f.Changed("format") && o.Format != v {
				return errdef.Usage(fmt.Errorf("--format %s and --output %s disagree: give the format with --format only", o.Format, v))
			}
			fmt.Fprintf(streams.Err, "Warning: --output %s selecting the output format is deprecated; use --format %s (-o/--output names the output file)\n", v, v)
			if !slices.Contains(o.formats, v) {
				return errdef.Usage(fmt.Errorf("--output %q is not one of %s", v, strings.Join(o.formats, ", ")))
			}
			o.Format = v
			o.Path = o.pathDef
		case o.path == "":
			return errdef.Usage(fmt.Errorf("--output %q is not one of %s (%s writes no file; the output format is --format)",
				v, strings.Join(o.formats, ", "), cmd.CommandPath()))
		}
	}
	if len(o.formats) > 0 && !slices.Contains(o.formats, o.Format) {
		return errdef.Usage(fmt.Errorf("--format %q is not one of %s", o.Format, strings.Join(o.formats, ", ")))
	}
	return nil
}

// json reports whether the results are to be printed as JSON.
func (o *outputOptions) json() bool { return o.Format == "json" }
