package wasmhost

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/wasmvoice/wasmvoice/sdk"
)

// decodeDecision parses and validates a guest's reply to an event of type t.
// Unknown members are refused: within ABI v1 they can only be typos.
func decodeDecision(b []byte, t sdk.EventType) (sdk.Decision, error) {
	if d, ok := sdk.DecodeDecision(b); ok {
		if err := d.Validate(t); err != nil {
			return sdk.Decision{}, err
		}
		return d, nil
	}
	// Anything unusual, errors included, takes the reference path.
	var d sdk.Decision
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return sdk.Decision{}, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return sdk.Decision{}, fmt.Errorf("decode: trailing data after the decision")
	}
	if err := d.Validate(t); err != nil {
		return sdk.Decision{}, err
	}
	return d, nil
}

// decisionError extracts the error member of a (possibly partial) reply.
func decisionError(b []byte) string {
	var d struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &d) != nil || d.Error == "" {
		return "no message"
	}
	return d.Error
}
