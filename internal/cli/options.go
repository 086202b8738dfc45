package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/remote"
)

// remoteOptions is the flag group every command that talks to a registry
// takes (as oras's option.Remote).
type remoteOptions struct {
	Username      string
	Password      string
	PasswordStdin bool
	PlainHTTP     bool
	Insecure      bool
	CAFile        string
	Debug         bool
	Timeout       time.Duration
	Config        string

	client       *remote.Client
	plainHTTPSet bool
}

func (o *remoteOptions) addFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.Username, "username", "u", "", "registry username (default: from the Docker config and credential helpers)")
	f.StringVarP(&o.Password, "password", "p", "", "registry password or identity token (prefer --password-stdin)")
	f.BoolVar(&o.PasswordStdin, "password-stdin", false, "read the password from stdin")
	f.BoolVar(&o.PlainHTTP, "plain-http", false, "use plain HTTP (automatic for localhost and 127.0.0.1; --plain-http=false forces HTTPS there)")
	f.BoolVar(&o.Insecure, "insecure", false, "skip TLS certificate verification")
	f.StringVar(&o.CAFile, "ca-file", "", "trust the CA certificates in this PEM file for TLS")
	f.BoolVar(&o.Debug, "debug", false, "trace HTTP requests to stderr (credentials redacted) and count them")
	f.DurationVar(&o.Timeout, "timeout", 0, "bound on the whole command, and on the wait for a registry to start answering (default: no overall bound; a registry must answer each request within 20s, tried twice)")
	f.StringVar(&o.Config, "registry-config", "", "Docker config file holding credentials (default ~/.docker/config.json)")
}

func (o *remoteOptions) parse(cmd *cobra.Command, _ IOStreams) error {
	o.plainHTTPSet = cmd.Flags().Changed("plain-http")
	return nil
}

func (o *remoteOptions) newClient(streams IOStreams) (*remote.Client, error) {
	if o.client != nil {
		return o.client, nil
	}
	if o.Password != "" && !o.PasswordStdin {
		// As docker and oras do: a password in the arguments shows in
		// the process list and the shell's history.
		fmt.Fprintln(streams.Err, "Warning: a password given with -p/--password is visible to other users and kept in the shell history; use --password-stdin")
	}
	if o.PasswordStdin {
		if o.Password != "" {
			return nil, errdef.Usage(errors.New("--password and --password-stdin are mutually exclusive"))
		}
		pw, err := readSecret(streams.In)
		if err != nil {
			return nil, err
		}
		o.Password = pw
	}
	opts := remote.Options{
		Username:     o.Username,
		Password:     o.Password,
		DockerConfig: o.Config,
		PlainHTTP:    o.PlainHTTP,
		ForceHTTPS:   o.plainHTTPSet && !o.PlainHTTP,
		Insecure:     o.Insecure,
		CAFile:       o.CAFile,
		// --timeout bounds the whole command (its context, set in
		// NewRootCmd); it is also the longest wait for a registry to
		// start answering. Each request keeps the transport's bounds.
		HeaderTimeout: headerWait,
		Deadline:      o.Timeout,
		UserAgent:     "signet/" + Version,
	}
	if o.Timeout > 0 {
		opts.HeaderTimeout = o.Timeout
	}
	if o.Debug {
		opts.Debug = streams.Err
	}
	c, err := remote.New(opts)
	if err != nil {
		return nil, err
	}
	o.client = c
	return c, nil
}

// headerWait is how long a request waits for a registry to start
// answering without --timeout (a variable for tests). Twice it, plus
// back-off, stays under the 45 s a hung registry may cost a command.
var headerWait = remote.DefaultHeaderTimeout

// inputs are the files the remote flags read (an output must not replace
// them).
func (o *remoteOptions) inputs() []string {
	return []string{o.CAFile, o.Config}
}

// explain turns a registry or transport failure into one line with what to
// do (remote.Explain), for the host the error names or else the host of
// the command's latest request.
func (o *remoteOptions) explain(err error) error {
	host := remote.HostOf(err)
	if host == "" && o.client != nil {
		host = o.client.LastHost()
	}
	if host == "" {
		return err
	}
	return o.explainHost(host, err)
}

// explainHost is explain for an error of a request to host.
func (o *remoteOptions) explainHost(host string, err error) error {
	if err == nil {
		return nil
	}
	// -p without -u is sent as an identity token (remote.Options); a
	// registry asking for basic auth gets no username, which oras-go
	// reports with this text only (not auth.ErrBasicCredentialNotFound).
	var done *remote.ExplainedError
	if o.Username == "" && o.Password != "" && !errors.As(err, &done) && strings.Contains(err.Error(), "missing username or password for basic auth") {
		return &remote.ExplainedError{Hint: fmt.Sprintf("registry %s asks for a username and password; -p without -u is sent as an identity token: add -u USERNAME", host), Err: err}
	}
	return remote.Explain(host, err)
}

// close prints the request count with --debug.
func (o *remoteOptions) close(streams IOStreams) {
	if o.Debug && o.client != nil {
		fmt.Fprintf(streams.Err, "debug: %d HTTP request(s)\n", o.client.Requests())
	}
}

func readSecret(r io.Reader) (string, error) {
	if r == nil {
		return "", errdef.Usage(errors.New("--password-stdin: no standard input"))
	}
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errdef.Usage(errors.New("--password-stdin: standard input is empty"))
	}
	return pw, nil
}

func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errdef.Usage(fmt.Errorf("%s %q is not one of %s", flag, v, strings.Join(allowed, ", ")))
}
