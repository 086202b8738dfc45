package cli

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"

	"github.com/signet-oci/signet/internal/target"
	"github.com/signet-oci/signet/pkg/discover"
	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/reference"
)

type discoverOptions struct {
	ArtifactType string
	Depth        int
	MaxReferrers int
	Platform     string
	remote       remoteOptions
	output       outputOptions
}

func newDiscoverCmd(streams IOStreams) *cobra.Command {
	opts := &discoverOptions{output: formats("tree", "table", "json")}
	cmd := &cobra.Command{
		Use:   "discover REFERENCE",
		Short: "List the signatures and other artifacts that refer to an image",
		Long: `List the referrers of REFERENCE: signatures and other artifacts pointing at it.
This replaces the walkthrough's 'curl …/links?artifact-type=… | jq'.

signet asks every mechanism the registry supports — the prototype links API,
the OCI 1.1 referrers API, and on registries without that API the
sha256-<hex> tag fallback — merges the answers by digest and shows which
mechanism found each referrer. Referrers of referrers are followed up to
--depth levels (1 to 8; 1 lists the direct referrers only). By default signet
follows up to 8 levels while a level costs at most 1,000 requests: a subject
with thousands of referrers gets its direct referrers, a warning, and
"truncated": true, instead of one request per referrer against a registry
that may rate-limit; --depth 8 follows every level whatever it costs. On
registries without the referrers API, one tag listing tells which referrers
have referrers of their own, so deeper levels cost only what they hold.

Without --artifact-type the links API is asked for every type; a registry
that requires a type (the 2021 prototype registry: 400
ARTIFACT_TYPE_UNSPECIFIED) is asked once per signature type signet knows
(application/vnd.cncf.notary.v2 and application/vnd.cncf.notary.signature),
which a warning and "links": "used per artifact type" in the JSON output say:
links of other types cannot be listed there.

The links API does not give an artifact's digest; signet computes it from
the entry and confirms it with the registry (one HEAD per entry, for at most
16 entries per run; the others are shown as not confirmed).

Requests: one per page per mechanism for each subject asked; a mechanism the
registry lacks is asked once per run. On registries without the referrers
API, deeper levels list the tags once and ask only the referrers that have a
sha256-<hex> referrers tag.

REFERENCE may also be oci-layout:DIR[:tag|@digest], an OCI image layout
(offline, no registry; docs/offline.md): its referrers are the manifests
stored there whose subject is the image (found by oras-go's oci.Store, as
'oras discover --oci-layout' finds them), shown as found by "referrers";
the links API and the tag fallback do not apply, and every level is
followed up to --depth (no request budget).

An image index (or Docker manifest list) is shown with its own referrers,
then each manifest it lists, with its platform, and that manifest's
referrers (at most 64 manifests; the index costs one GET more, and each
manifest one discovery). --platform os/arch[/variant] shows only the
referrers of the index's manifest for that platform.

Output: tree (default), table, or json (schema: docs/schemas/discover.json).
Exit status 4 when REFERENCE is unknown; an image with no referrers is not an
error (use 'signet verify' to require a signature).`,
		Example: `  signet discover 127.0.0.1:5000/busybox:latest
  signet discover oci-layout:./busybox-layout:v1
  signet discover 127.0.0.1:5000/busybox@sha256:… --artifact-type application/vnd.cncf.notary.v2 --format json
  signet discover 127.0.0.1:5000/multi:v1 --platform linux/arm64`,
		Args: exactArgs("REFERENCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiscover(cmd, opts, streams, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ArtifactType, "artifact-type", "", "list only referrers of this artifact type")
	f.IntVar(&opts.Depth, "depth", 0, "levels of referrers to follow, 1 to 8 (default: up to 8 while a level costs at most 1,000 requests)")
	f.IntVar(&opts.MaxReferrers, "max-referrers", discover.DefaultMaxReferrers, "most referrers listed per subject")
	f.StringVar(&opts.Platform, "platform", "", "REFERENCE is an image index: list the referrers of its manifest for this platform, os/arch[/variant]")
	return withGroups(cmd, streams, &opts.remote, &opts.output)
}

func runDiscover(cmd *cobra.Command, opts *discoverOptions, streams IOStreams, refArg string) error {
	if opts.Depth < 0 || (opts.Depth == 0 && cmd.Flags().Changed("depth")) {
		return errdef.Usage(fmt.Errorf("--depth %d: give 1 to %d", opts.Depth, discover.DefaultMaxDepth))
	}
	if opts.MaxReferrers < 1 {
		return errdef.Usage(fmt.Errorf("--max-referrers %d: give 1 or more", opts.MaxReferrers))
	}
	ref, err := reference.Parse(refArg)
	if err != nil {
		return err
	}
	platform, err := parsePlatformFlag(opts.Platform)
	if err != nil {
		return err
	}
	client, err := opts.remote.newClient(streams)
	if err != nil {
		return err
	}
	d, err := target.Discoverer(cmd.Context(), "discover", ref, client, discover.Options{ArtifactType: opts.ArtifactType, Depth: opts.Depth, MaxReferrers: opts.MaxReferrers, ResolveLinkDigests: true})
	if err != nil {
		return err
	}
	if platform != nil {
		return runDiscoverPlatform(cmd, opts, streams, ref, d, *platform)
	}
	g, err := d.Discover(cmd.Context())
	if err != nil {
		return err
	}
	warnTag(streams, ref, g.Subject.Digest)
	res := newDiscoverResult(g)
	if err := addIndexManifests(cmd, d, g, &res); err != nil {
		return err
	}
	for _, w := range g.Warnings {
		fmt.Fprintln(streams.Err, "Warning: "+w)
	}
	res.repo = placeName(ref)
	return opts.output.print(streams.Out, res)
}

// DiscoverResult is 'signet discover --format json'
// (docs/schemas/discover.json).
type DiscoverResult struct {
	Reference          string             `json:"reference"`
	Subject            ocispec.Descriptor `json:"subject"`
	Mechanisms         map[string]string  `json:"mechanisms"`
	LinksArtifactTypes []string           `json:"linksArtifactTypes,omitempty"`
	Truncated          bool               `json:"truncated"`
	Referrers          []DiscoverReferrer `json:"referrers" stream:"lines"`
	// Index, with --platform, is the image index the subject was
	// selected from, and Platform the platform asked for.
	Index    *ocispec.Descriptor `json:"index,omitempty"`
	Platform string              `json:"platform,omitempty"`
	// Manifests, when the subject is an image index, are the manifests it
	// lists (with their platforms) and their referrers.
	Manifests []DiscoverManifest `json:"manifests,omitempty"`

	repo string // for the tree's first line
}

func (DiscoverResult) streamJSON() {}

// DiscoverReferrer is one referrer in DiscoverResult, with its own
// referrers.
type DiscoverReferrer struct {
	ocispec.Descriptor
	DigestVerified bool                `json:"digestVerified"`
	FoundBy        []string            `json:"foundBy"`
	Config         *ocispec.Descriptor `json:"config,omitempty"`
	Referrers      []DiscoverReferrer  `json:"referrers"`
}

func newDiscoverResult(g *discover.Graph) DiscoverResult {
	return DiscoverResult{Reference: g.Reference, Subject: g.Subject, Mechanisms: g.Mechanisms,
		LinksArtifactTypes: g.LinksArtifactTypes, Truncated: g.Truncated, Referrers: discoverReferrers(g.Referrers)}
}

func discoverReferrers(ns []*discover.Node) []DiscoverReferrer {
	out := make([]DiscoverReferrer, 0, len(ns))
	for _, n := range ns {
		out = append(out, DiscoverReferrer{Descriptor: n.Descriptor, DigestVerified: n.DigestVerified, FoundBy: n.Mechanisms, Config: n.Config, Referrers: discoverReferrers(n.Referrers)})
	}
	return out
}

// writeTree prints the referrers as a tree, grouped by artifact type (as
// oras discover does).
func (g DiscoverResult) writeTree(out io.Writer) error {
	w := bufio.NewWriterSize(out, 64<<10)
	fmt.Fprintf(w, "%s@%s\n", g.repo, g.Subject.Digest)
	var walk func(ns []DiscoverReferrer, prefix string, more bool)
	walk = func(ns []DiscoverReferrer, prefix string, more bool) {
		byType := map[string][]DiscoverReferrer{}
		var types []string
		for _, n := range ns {
			t := n.ArtifactType
			if t == "" {
				t = n.MediaType
			}
			if _, ok := byType[t]; !ok {
				types = append(types, t)
			}
			byType[t] = append(byType[t], n)
		}
		sort.Strings(types)
		for i, t := range types {
			last := i == len(types)-1 && !more
			branch, next := "├── ", "│   "
			if last {
				branch, next = "└── ", "    "
			}
			fmt.Fprintf(w, "%s%s%s\n", prefix, branch, t)
			nodes := byType[t]
			for j, n := range nodes {
				lastN := j == len(nodes)-1
				b2, n2 := "├── ", "│   "
				if lastN {
					b2, n2 = "└── ", "    "
				}
				note := " [" + strings.Join(n.FoundBy, ", ") + "]"
				if !n.DigestVerified {
					note += " (digest computed, not confirmed by the registry)"
				}
				fmt.Fprintf(w, "%s%s%s%s\n", prefix+next, b2, n.Digest, note)
				if len(n.Referrers) > 0 {
					walk(n.Referrers, prefix+next+n2, false)
				}
			}
		}
	}
	walk(g.Referrers, "", len(g.Manifests) > 0)
	for i, m := range g.Manifests {
		branch, next := "├── ", "│   "
		if i == len(g.Manifests)-1 {
			branch, next = "└── ", "    "
		}
		fmt.Fprintf(w, "%s%s %s\n", branch, manifestLabel(m.Descriptor), m.Digest)
		walk(m.Referrers, next, false)
	}
	return w.Flush()
}

// writeTable prints one row per referrer, with its depth, in columns
// aligned by the standard library's text/tabwriter. (tablewriter, used here
// before, allocates a 663 KB width cache at package initialisation: every
// signet process paid for it, whatever the command; see docs/performance.md.)
func (g DiscoverResult) writeTable(w io.Writer) error {
	t := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(cells ...string) {
		for i, c := range cells {
			// A cell is one line: a tab or newline from the registry
			// would break the columns.
			c = strings.Map(func(r rune) rune {
				if r == '\t' || r == '\n' || r == '\r' {
					return ' '
				}
				return r
			}, c)
			if i > 0 {
				fmt.Fprint(t, "\t")
			}
			fmt.Fprint(t, c)
		}
		fmt.Fprint(t, "\n")
	}
	row("DEPTH", "DIGEST", "ARTIFACT TYPE", "FOUND BY", "SIZE")
	var walk func(ns []DiscoverReferrer, depth int)
	walk = func(ns []DiscoverReferrer, depth int) {
		for _, n := range ns {
			at := n.ArtifactType
			if at == "" {
				at = n.MediaType
			}
			dg := n.Digest.String()
			if !n.DigestVerified {
				dg += " (computed)"
			}
			row(fmt.Sprint(depth), dg, at, strings.Join(n.FoundBy, ","), fmt.Sprint(n.Size))
			walk(n.Referrers, depth+1)
		}
	}
	walk(g.Referrers, 1)
	for _, m := range g.Manifests {
		row("-", m.Digest.String(), manifestLabel(m.Descriptor), "index", fmt.Sprint(m.Size))
		walk(m.Referrers, 1)
	}
	return t.Flush()
}
