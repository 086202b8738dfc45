package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"

	"github.com/signet-oci/signet/pkg/errdef"
	"github.com/signet-oci/signet/pkg/remote"
)

func newLoginCmd(streams IOStreams) *cobra.Command {
	opts := &remoteOptions{}
	cmd := &cobra.Command{
		Use:   "login REGISTRY -u USERNAME [-p PASSWORD | --password-stdin]",
		Short: "Check credentials with a registry and store them in the Docker config",
		Long: `Log in to REGISTRY (host[:port]): the credentials are checked against the
registry, then stored where Docker keeps them — the credential helper named in
~/.docker/config.json (or --registry-config), or the file itself. Every
signet command, and docker, oras and notation, then use them.`,
		Example: `  signet login 127.0.0.1:5000 -u alice --password-stdin < password.txt
  echo "$TOKEN" | signet login registry.example.com -u ci --password-stdin`,
		Args: exactArgs("REGISTRY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Username == "" {
				return errdef.Usage(errors.New("give the username with -u"))
			}
			if opts.Password == "" && !opts.PasswordStdin {
				return errdef.Usage(errors.New("give the password with --password-stdin (or -p)"))
			}
			client, err := opts.newClient(streams)
			if err != nil {
				return err
			}
			host := args[0]
			store, err := client.CredentialStore(true)
			if err != nil {
				return err
			}
			if err := client.Login(cmd.Context(), store, host); err != nil {
				if remote.IsUnauthorized(err) {
					// Not Explain's hint: it advises 'signet login'.
					return fmt.Errorf("registry %s refused the credentials of %q (401); check the username and password: nothing was stored", host, opts.Username)
				}
				return fmt.Errorf("logging in to %s: %w", host, err)
			}
			fmt.Fprintf(streams.Err, "Login to %s succeeded; credentials stored via %s\n", host, client.CredentialStoreName(store))
			return nil
		},
	}
	return withGroups(cmd, streams, opts)
}

func newLogoutCmd(streams IOStreams) *cobra.Command {
	opts := &remoteOptions{}
	cmd := &cobra.Command{
		Use:   "logout REGISTRY",
		Short: "Remove the stored credentials of a registry",
		Args:  exactArgs("REGISTRY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := opts.newClient(streams)
			if err != nil {
				return err
			}
			store, err := client.CredentialStore(false)
			if err != nil {
				return err
			}
			host := args[0]
			cred, err := store.Get(cmd.Context(), credentials.ServerAddressFromRegistry(host))
			if err != nil {
				return fmt.Errorf("reading the credentials of %s: %w", host, err)
			}
			if cred == auth.EmptyCredential {
				fmt.Fprintf(streams.Err, "Not logged in to %s (no credentials stored via %s); nothing removed\n", host, client.CredentialStoreName(store))
				return nil
			}
			if err := credentials.Logout(cmd.Context(), store, host); err != nil {
				return fmt.Errorf("logging out of %s: %w", host, err)
			}
			fmt.Fprintf(streams.Err, "Removed the credentials of %s from %s\n", host, client.CredentialStoreName(store))
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Config, "registry-config", "", "Docker config file holding credentials (default ~/.docker/config.json)")
	return cmd
}
