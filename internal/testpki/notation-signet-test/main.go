// Command notation-signet-test is a notation signing plugin for tests
// (plugin name "signet-test"): it speaks notation's plugin protocol through
// notation-plugin-framework-go, like a KMS or HSM plugin would, with a key
// on disk standing in for the key held elsewhere. The key ID is a path
// prefix: the key is ID.key (PKCS #8 PEM) and its chain ID.crt (PEM, leaf
// first). The key ID "fail" makes every request fail, as a plugin whose
// KMS refused would. Tests build it (go build) into a notation plugin
// directory: <dir>/signet-test/notation-signet-test.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"

	"github.com/notaryproject/notation-plugin-framework-go/cli"
	"github.com/notaryproject/notation-plugin-framework-go/plugin"
)

type testPlugin struct{}

func (testPlugin) GetMetadata(context.Context, *plugin.GetMetadataRequest) (*plugin.GetMetadataResponse, error) {
	return &plugin.GetMetadataResponse{
		Name:                      "signet-test",
		Description:               "signet's test signing plugin",
		Version:                   "1.0.0",
		URL:                       "https://github.com/signet-oci/signet",
		SupportedContractVersions: []string{plugin.ContractVersion},
		Capabilities:              []plugin.Capability{plugin.CapabilitySignatureGenerator},
	}, nil
}

func load(keyID string) (crypto.Signer, [][]byte, error) {
	if keyID == "fail" {
		return nil, nil, plugin.NewGenericError("the key service refused key fail: access denied")
	}
	kb, err := os.ReadFile(keyID + ".key")
	if err != nil {
		return nil, nil, plugin.NewValidationErrorf("unknown key %q: %v", keyID, err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, nil, plugin.NewGenericError("key file is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, plugin.NewGenericErrorf("key: %v", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, plugin.NewGenericError("key cannot sign")
	}
	cb, err := os.ReadFile(keyID + ".crt")
	if err != nil {
		return nil, nil, plugin.NewGenericErrorf("chain: %v", err)
	}
	var chain [][]byte
	for {
		var b *pem.Block
		b, cb = pem.Decode(cb)
		if b == nil {
			break
		}
		chain = append(chain, b.Bytes)
	}
	return signer, chain, nil
}

func keySpec(k crypto.Signer) (plugin.KeySpec, error) {
	switch pub := k.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return plugin.KeySpecEC256, nil
		case elliptic.P384():
			return plugin.KeySpecEC384, nil
		case elliptic.P521():
			return plugin.KeySpecEC521, nil
		}
	case *rsa.PublicKey:
		switch pub.N.BitLen() {
		case 2048:
			return plugin.KeySpecRSA2048, nil
		case 3072:
			return plugin.KeySpecRSA3072, nil
		case 4096:
			return plugin.KeySpecRSA4096, nil
		}
	}
	return "", plugin.NewGenericError("unsupported key type")
}

func (testPlugin) DescribeKey(_ context.Context, req *plugin.DescribeKeyRequest) (*plugin.DescribeKeyResponse, error) {
	k, _, err := load(req.KeyID)
	if err != nil {
		return nil, err
	}
	spec, err := keySpec(k)
	if err != nil {
		return nil, err
	}
	return &plugin.DescribeKeyResponse{KeyID: req.KeyID, KeySpec: spec}, nil
}

func (testPlugin) GenerateSignature(_ context.Context, req *plugin.GenerateSignatureRequest) (*plugin.GenerateSignatureResponse, error) {
	k, chain, err := load(req.KeyID)
	if err != nil {
		return nil, err
	}
	var h crypto.Hash
	switch req.Hash {
	case plugin.HashAlgorithmSHA256:
		h = crypto.SHA256
	case plugin.HashAlgorithmSHA384:
		h = crypto.SHA384
	case plugin.HashAlgorithmSHA512:
		h = crypto.SHA512
	default:
		return nil, plugin.NewValidationErrorf("hash %q", req.Hash)
	}
	d := h.New()
	d.Write(req.Payload)
	digest := d.Sum(nil)
	var sig []byte
	var alg plugin.SignatureAlgorithm
	switch k.(type) {
	case *ecdsa.PrivateKey:
		// Notary Project ECDSA signatures are r||s, each the curve size.
		r, s, err := ecdsa.Sign(rand.Reader, k.(*ecdsa.PrivateKey), digest)
		if err != nil {
			return nil, plugin.NewGenericErrorf("sign: %v", err)
		}
		size := (k.(*ecdsa.PrivateKey).Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		alg = map[crypto.Hash]plugin.SignatureAlgorithm{crypto.SHA256: plugin.SignatureAlgorithmECDSA_SHA256, crypto.SHA384: plugin.SignatureAlgorithmECDSA_SHA384, crypto.SHA512: plugin.SignatureAlgorithmECDSA_SHA512}[h]
	case *rsa.PrivateKey:
		sig, err = rsa.SignPSS(rand.Reader, k.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			return nil, plugin.NewGenericErrorf("sign: %v", err)
		}
		alg = map[crypto.Hash]plugin.SignatureAlgorithm{crypto.SHA256: plugin.SignatureAlgorithmRSASSA_PSS_SHA256, crypto.SHA384: plugin.SignatureAlgorithmRSASSA_PSS_SHA384, crypto.SHA512: plugin.SignatureAlgorithmRSASSA_PSS_SHA512}[h]
	default:
		return nil, plugin.NewGenericError("unsupported key type")
	}
	return &plugin.GenerateSignatureResponse{KeyID: req.KeyID, Signature: sig, SigningAlgorithm: alg, CertificateChain: chain}, nil
}

func (testPlugin) GenerateEnvelope(context.Context, *plugin.GenerateEnvelopeRequest) (*plugin.GenerateEnvelopeResponse, error) {
	return nil, plugin.NewUnsupportedError("envelope generation")
}

func (testPlugin) VerifySignature(context.Context, *plugin.VerifySignatureRequest) (*plugin.VerifySignatureResponse, error) {
	return nil, plugin.NewUnsupportedError("signature verification")
}

func main() {
	c, err := cli.New(testPlugin{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c.Execute(context.Background(), os.Args)
}
