package signature

// MaxEnvelopeSize bounds a signature envelope of any format (the
// prototype's JWT, notation's JWS and COSE): 1 MiB. Larger ones are
// refused unread, by the CLI reading a signature file, by discovery
// fetching a signature blob (discover.MaxSignatureSize), by the JWT
// verifier (jwt.DefaultMaxTokenSize) and by the JWS/COSE verifier
// (notation.Verify); this is the one place the figure is written.
const MaxEnvelopeSize = 1 << 20

// MaxCertificateChain bounds the certificates a signature may carry (a
// JWT's x5c, a JWS or COSE envelope's chain): validating a chain costs
// signature checks per certificate before any trust decision.
const MaxCertificateChain = 10

// MaxTrustFileSize bounds a key, certificate or trust policy file: far more
// than any holds (a system CA bundle is a few hundred KB), and read no
// further, so a pipe or a device named by mistake cannot exhaust memory.
const MaxTrustFileSize = 8 << 20
