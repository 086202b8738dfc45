// Package notation makes and checks Notary Project signatures (JWS and COSE
// envelopes, spec/formats.md §6) with notation-go, the library behind the
// notation CLI, so that notation verifies what signet signs and the other
// way round. Nothing here writes envelopes or evaluates trust by hand:
// signing goes through notation-go's signer, verification through its
// verifier and trust policy.
//
// Every error is one line. Verification failures are *Error values with a
// short Class and match errdef.ErrVerification with errors.Is.
package notation

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	notationgo "github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/plugin"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/tspclient-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/signet-oci/signet/pkg/errdef"
)

// Envelope formats and their media types.
const (
	FormatJWS  = "jws"
	FormatCOSE = "cose"

	MediaTypeJWS  = jws.MediaTypeEnvelope  // application/jose+json
	MediaTypeCOSE = cose.MediaTypeEnvelope // application/cose
	// MediaTypePayload is the signed payload's content type.
	MediaTypePayload = "application/vnd.cncf.notary.payload.v1+json"

	// AnnotationThumbprints is the manifest annotation notation requires:
	// the chain's SHA-256 fingerprints, leaf first, as a JSON array string.
	AnnotationThumbprints = "io.cncf.notary.x509chain.thumbprint#S256"
)

// reservedPrefix is the annotation prefix user metadata may not use
// (notation refuses it too).
const reservedPrefix = "io.cncf.notary"

// MediaType returns the envelope media type of format ("jws" or "cose").
func MediaType(format string) (string, error) {
	switch format {
	case FormatJWS:
		return MediaTypeJWS, nil
	case FormatCOSE:
		return MediaTypeCOSE, nil
	}
	return "", fmt.Errorf("unknown Notary Project signature format %q; use jws or cose", format)
}

// SignOptions say how to sign.
type SignOptions struct {
	// Signer is the private key; it must be the first certificate's key.
	Signer crypto.Signer
	// Certificates is the chain, leaf first. The leaf must be what Notary
	// Project accepts: not a CA, digitalSignature key usage, and
	// codeSigning if it has extended key usages.
	Certificates []*x509.Certificate
	// Format is "jws" or "cose".
	Format string
	// Expiry is the signature's lifetime; 0 means no expiry.
	Expiry time.Duration
	// UserMetadata is signed into the payload (the target descriptor's
	// annotations), as `notation sign --user-metadata` does.
	UserMetadata map[string]string
	// SigningAgent names the signer in the envelope's unsigned attributes
	// (default: notation-go's).
	SigningAgent string
	// TimestampURL, when set, is an RFC 3161 time stamping authority: the
	// signature is countersigned by it (notation's --timestamp-url), so
	// that verifiers trusting the TSA accept the signature after the
	// signing certificate expires.
	TimestampURL string
	// TimestampRoots are the TSA's trusted root certificates (notation's
	// --timestamp-root-cert): the TSA's answer must chain to one of them,
	// or signing fails. Required with TimestampURL.
	TimestampRoots []*x509.Certificate
	// TimestampClient is the HTTP client for the TSA (nil: one with a
	// 30-second timeout).
	TimestampClient *http.Client
	// Plugin, when set, signs through the installed notation plugin of
	// that name (notation's plugin protocol, e.g. a KMS or HSM plugin)
	// instead of Signer and Certificates: the plugin holds the key and
	// returns the certificate chain.
	Plugin string
	// PluginDir is the notation plugin directory, holding
	// <name>/notation-<name> (empty: DefaultPluginDir()).
	PluginDir string
	// KeyID names the key to the plugin.
	KeyID string
	// PluginConfig is passed to the plugin (notation's --plugin-config).
	PluginConfig map[string]string
}

// DefaultPluginDir is notation's plugin directory:
// <user config dir>/notation/plugins (on Linux
// $XDG_CONFIG_HOME/notation/plugins, else ~/.config/notation/plugins).
func DefaultPluginDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("notation plugin directory: %v", err)
	}
	return filepath.Join(d, "notation", dir.PathPlugins), nil
}

// pluginSigner returns a signer backed by the plugin opts names.
func pluginSigner(ctx context.Context, opts SignOptions) (notationgo.Signer, error) {
	if opts.Signer != nil || len(opts.Certificates) > 0 {
		return nil, errors.New("notation sign: a plugin signs with its own key; give either a plugin or a key and certificate")
	}
	if opts.KeyID == "" {
		return nil, fmt.Errorf("notation sign: plugin %s needs the key ID of the key to sign with", opts.Plugin)
	}
	if opts.Plugin != filepath.Base(opts.Plugin) || strings.ContainsAny(opts.Plugin, `/\`) || opts.Plugin == "." || opts.Plugin == ".." {
		return nil, fmt.Errorf("notation sign: plugin name %q: give the plugin's name, not a path", opts.Plugin)
	}
	pluginDir := opts.PluginDir
	if pluginDir == "" {
		d, err := DefaultPluginDir()
		if err != nil {
			return nil, err
		}
		pluginDir = d
	}
	p, err := plugin.NewCLIManager(dir.NewSysFS(pluginDir)).Get(ctx, opts.Plugin)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("notation sign: plugin %q is not installed: no executable %s", opts.Plugin, filepath.Join(pluginDir, opts.Plugin, "notation-"+opts.Plugin))
		}
		return nil, fmt.Errorf("notation sign: plugin %q: %s", opts.Plugin, oneLine(err))
	}
	s, err := signer.NewPluginSigner(p, opts.KeyID, opts.PluginConfig)
	if err != nil {
		return nil, fmt.Errorf("notation sign: plugin %q: %s", opts.Plugin, oneLine(err))
	}
	return s, nil
}

// Sign signs subject and returns the envelope.
func Sign(ctx context.Context, subject ocispec.Descriptor, opts SignOptions) ([]byte, error) {
	mediaType, err := MediaType(opts.Format)
	if err != nil {
		return nil, err
	}
	if opts.Plugin == "" && (opts.Signer == nil || len(opts.Certificates) == 0) {
		return nil, errors.New("notation sign: a key and its certificate chain are required")
	}
	if opts.Expiry < 0 {
		return nil, fmt.Errorf("notation sign: expiry %s is negative", opts.Expiry)
	}
	if err := subject.Digest.Validate(); err != nil || subject.Size <= 0 || subject.MediaType == "" {
		return nil, fmt.Errorf("notation sign: the subject needs a media type, a valid digest and a size (got %s %q %d)", subject.MediaType, subject.Digest, subject.Size)
	}
	target := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	if len(opts.UserMetadata) > 0 {
		target.Annotations = make(map[string]string, len(opts.UserMetadata))
		for k, v := range opts.UserMetadata {
			if k == "" {
				return nil, errors.New("notation sign: user metadata key is empty; use key=value")
			}
			if strings.HasPrefix(k, reservedPrefix) {
				return nil, fmt.Errorf("notation sign: user metadata key %q uses the reserved prefix %s", k, reservedPrefix)
			}
			target.Annotations[k] = v
		}
	}
	var s notationgo.Signer
	if opts.Plugin != "" {
		if s, err = pluginSigner(ctx, opts); err != nil {
			return nil, err
		}
	} else if s, err = signer.NewGenericSigner(opts.Signer, opts.Certificates); err != nil {
		return nil, fmt.Errorf("notation sign: %s", oneLine(err))
	}
	signOpts := notationgo.SignerSignOptions{
		SignatureMediaType: mediaType,
		ExpiryDuration:     opts.Expiry,
		SigningAgent:       opts.SigningAgent,
	}
	if opts.TimestampURL != "" || len(opts.TimestampRoots) > 0 {
		if opts.TimestampURL == "" || len(opts.TimestampRoots) == 0 {
			return nil, errors.New("notation sign: a timestamp needs both the TSA's URL and its root certificate")
		}
		client := opts.TimestampClient
		if client == nil {
			client = &http.Client{Timeout: 30 * time.Second}
		}
		ts, err := tspclient.NewHTTPTimestamper(client, opts.TimestampURL)
		if err != nil {
			return nil, fmt.Errorf("notation sign: timestamp URL: %s", oneLine(err))
		}
		pool := x509.NewCertPool()
		for _, c := range opts.TimestampRoots {
			pool.AddCert(c)
		}
		signOpts.Timestamper, signOpts.TSARootCAs = ts, pool
	}
	env, _, err := s.Sign(ctx, target, signOpts)
	if err != nil {
		if signOpts.Timestamper != nil && strings.Contains(strings.ToLower(err.Error()), "timestamp") {
			return nil, fmt.Errorf("notation sign: timestamp from %s: %s", opts.TimestampURL, oneLine(err))
		}
		if opts.Plugin != "" {
			msg := strings.TrimPrefix(oneLine(err), "failed to sign with the plugin "+opts.Plugin+": ")
			return nil, fmt.Errorf("notation sign: plugin %q: %s", opts.Plugin, msg)
		}
		return nil, signError(err, opts.Certificates[0])
	}
	return env, nil
}

// signError turns notation-go's refusal into one actionable line.
func signError(err error, leaf *x509.Certificate) error {
	msg := oneLine(err)
	var hint string
	switch {
	case leaf.IsCA:
		hint = "the signing certificate is a CA (basicConstraints CA:TRUE), which Notary Project refuses; make a signing certificate with 'signet generate cert'"
	case strings.Contains(msg, "keyUsage") || strings.Contains(msg, "KeyUsage") || strings.Contains(msg, "key usage"):
		hint = "the signing certificate's key usages do not allow code signing (it needs digitalSignature, and codeSigning if it has extended key usages); make one with 'signet generate cert'"
	}
	if hint != "" {
		return fmt.Errorf("notation sign: %s (%s)", hint, msg)
	}
	return fmt.Errorf("notation sign: %s", msg)
}

// payload is the signed payload (formats.md §6).
type payload struct {
	TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
}

// content parses an envelope without verifying it.
func content(envelope []byte, format string) (*signature.EnvelopeContent, error) {
	mediaType, err := MediaType(format)
	if err != nil {
		return nil, err
	}
	env, err := signature.ParseEnvelope(mediaType, envelope)
	if err != nil {
		return nil, malformed("not a %s envelope: %s", format, oneLine(err))
	}
	c, err := env.Content()
	if err != nil {
		return nil, malformed("unreadable %s envelope: %s", format, oneLine(err))
	}
	return c, nil
}

// Subject returns the payload's targetArtifact descriptor without
// verifying anything: it tells push-signature which manifest the envelope
// is for. Never use it to decide trust.
func Subject(envelope []byte, format string) (ocispec.Descriptor, error) {
	c, err := content(envelope, format)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if c.Payload.ContentType != MediaTypePayload {
		return ocispec.Descriptor{}, malformed("payload content type is %q, want %s", c.Payload.ContentType, MediaTypePayload)
	}
	var p payload
	if err := json.Unmarshal(c.Payload.Content, &p); err != nil {
		return ocispec.Descriptor{}, malformed("payload is not JSON: %s", oneLine(err))
	}
	d := p.TargetArtifact
	if err := d.Digest.Validate(); err != nil {
		return ocispec.Descriptor{}, malformed("payload targetArtifact digest %q: %s", d.Digest, oneLine(err))
	}
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size}, nil
}

// ThumbprintAnnotation returns the value of the
// io.cncf.notary.x509chain.thumbprint#S256 manifest annotation for an
// envelope: a JSON array of the SHA-256 hex fingerprints of its
// certificate chain, leaf first.
func ThumbprintAnnotation(envelope []byte, format string) (string, error) {
	c, err := content(envelope, format)
	if err != nil {
		return "", err
	}
	return thumbprints(c.SignerInfo.CertificateChain)
}

func thumbprints(chain []*x509.Certificate) (string, error) {
	if len(chain) == 0 {
		return "", malformed("the envelope has no certificate chain")
	}
	prints := make([]string, len(chain))
	for i, c := range chain {
		sum := sha256.Sum256(c.Raw)
		prints[i] = hex.EncodeToString(sum[:])
	}
	b, err := json.Marshal(prints)
	return string(b), err
}

// ManifestAnnotations returns the annotations notation puts on a signature
// manifest for envelope: the chain thumbprints and
// org.opencontainers.image.created, the signing time in RFC 3339 (as
// notation-go's notation.Sign does).
func ManifestAnnotations(envelope []byte, format string) (map[string]string, error) {
	c, err := content(envelope, format)
	if err != nil {
		return nil, err
	}
	tp, err := thumbprints(c.SignerInfo.CertificateChain)
	if err != nil {
		return nil, err
	}
	a := map[string]string{AnnotationThumbprints: tp}
	if t := c.SignerInfo.SignedAttributes.SigningTime; !t.IsZero() {
		a[ocispec.AnnotationCreated] = t.Format(time.RFC3339)
	}
	return a, nil
}

// Error classes reported by Verify.
const (
	ClassMalformed       = "malformed"
	ClassBadSignature    = "bad signature"
	ClassUntrustedChain  = "untrusted chain"
	ClassIdentity        = "identity"
	ClassExpired         = "expired"
	ClassCertificate     = "certificate invalid"
	ClassRevoked         = "revoked"
	ClassSubjectMismatch = "subject mismatch"
	ClassTrustPolicy     = "trust policy"
	// ClassTimestamp: the RFC 3161 timestamp is missing, not from a
	// trusted TSA, not over this signature, or outside the signing
	// chain's validity.
	ClassTimestamp = "timestamp"
	// ClassTooLarge: the envelope exceeds signet's bound for any
	// signature envelope (1 MiB); refused before parsing.
	ClassTooLarge = "too large"
)

// Error is a verification failure: a short, stable Class and a one-line
// message. It matches errdef.ErrVerification with errors.Is.
type Error struct {
	Class string
	Msg   string
}

// Error returns the one-line reason.
func (e *Error) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, errdef.ErrVerification) hold (exit status 3).
func (e *Error) Unwrap() error { return errdef.ErrVerification }

func vErr(class, format string, args ...any) *Error {
	return &Error{Class: class, Msg: "notation signature: " + fmt.Sprintf(format, args...)}
}

func malformed(format string, args ...any) *Error { return vErr(ClassMalformed, format, args...) }

// oneLine flattens a (possibly multi-line, joined) error message.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
