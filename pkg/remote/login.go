package remote

import (
	"context"
	"fmt"
	"net/http"

	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// CredentialStore opens the Docker credential store (DockerConfig, or the
// default ~/.docker/config.json, and its credential helpers). forWrite
// allows storing credentials in the config file itself when no helper is
// configured, as docker login does.
func (c *Client) CredentialStore(forWrite bool) (credentials.Store, error) {
	opts := credentials.StoreOptions{AllowPlaintextPut: forWrite, DetectDefaultNativeStore: forWrite}
	var (
		s   *credentials.DynamicStore
		err error
	)
	if c.opts.DockerConfig != "" {
		s, err = credentials.NewStore(c.opts.DockerConfig, opts)
	} else {
		s, err = credentials.NewStoreFromDocker(opts)
	}
	if err != nil {
		return nil, fmt.Errorf("opening the Docker credential store: %w", err)
	}
	return s, nil
}

// CredentialStoreName says where a store keeps credentials.
func (c *Client) CredentialStoreName(s credentials.Store) string {
	if ds, ok := s.(*credentials.DynamicStore); ok {
		return ds.ConfigPath()
	}
	return "the credential store"
}

// Login checks the client's username and password against host (a GET of
// /v2/ that must succeed with them) and stores them in store.
func (c *Client) Login(ctx context.Context, store credentials.Store, host string) error {
	if err := c.usable(); err != nil {
		return err
	}
	cred := auth.Credential{Username: c.opts.Username, Password: c.opts.Password}
	check := &auth.Client{
		Client:               c.auth.Client,
		Credential:           auth.StaticCredential(host, cred),
		Cache:                auth.NewCache(),
		BlockedRealmPrefixes: c.auth.BlockedRealmPrefixes,
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL(host)+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := check.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httpError(resp)
	}
	return store.Put(ctx, credentials.ServerAddressFromRegistry(host), cred)
}
