package notation

import (
	"encoding/json"

	"github.com/veraison/go-cose"
)

// chainLength counts the certificates an envelope carries without parsing
// them: a JWS's unprotected "x5c", a COSE_Sign1's unprotected x5chain
// (label 33), read as notation-core-go reads them (encoding/json; go-cose).
// An envelope it cannot read counts 0: parsing refuses it next.
func chainLength(envelope []byte, format string) int {
	switch format {
	case FormatJWS:
		var e struct {
			Header struct {
				X5C []json.RawMessage `json:"x5c"`
			} `json:"header"`
		}
		if json.Unmarshal(envelope, &e) != nil {
			return 0
		}
		return len(e.Header.X5C)
	case FormatCOSE:
		var msg cose.Sign1Message
		if msg.UnmarshalCBOR(envelope) != nil {
			return 0
		}
		if certs, ok := msg.Headers.Unprotected[cose.HeaderLabelX5Chain].([]any); ok {
			return len(certs)
		}
	}
	return 0
}
