package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasmvoice/wasmvoice/sip"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// frontDoor is what the SIP front door looks up: applications by ID (their
// Inbound SIP URI settings) and, through the trunks, phone numbers.
type frontDoor struct {
	st *store.Store
	*trunkops.Trunks
}

var (
	_ sip.Applications = frontDoor{}
	_ sip.Numbers      = frontDoor{}
)

func (f frontDoor) SIPApplication(ctx context.Context, id string) (sip.Application, error) {
	app, err := f.st.ApplicationByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return sip.Application{}, fmt.Errorf("%w: %s", sip.ErrApplicationNotFound, id)
	}
	if err != nil {
		return sip.Application{}, err
	}
	return trunkops.SIPApplication(app)
}
