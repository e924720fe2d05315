package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wasmvoice/wasmvoice/api"
	"github.com/wasmvoice/wasmvoice/store"
	"github.com/wasmvoice/wasmvoice/trunkops"
)

// portingAPI is the porting desk as the API sees it.
type portingAPI struct{ p *trunkops.Porting }

var _ api.SIPPorting = portingAPI{}

func (a portingAPI) CheckPort(ctx context.Context, accountID string, numbers []string) ([]api.SIPPortCheck, error) {
	cs, err := a.p.Check(ctx, accountID, numbers)
	if err != nil {
		return nil, err
	}
	out := make([]api.SIPPortCheck, 0, len(cs))
	for _, c := range cs {
		v := api.SIPPortCheck{PhoneNumber: c.Number, Valid: c.Valid, Portable: c.Portable}
		if c.Reason != "" {
			v.Reason = &c.Reason
		}
		out = append(out, v)
	}
	return out, nil
}

func (a portingAPI) SavePortDocument(ctx context.Context, accountID, fileName string, r io.Reader) (store.PortDocument, error) {
	d, err := a.p.SaveDocument(ctx, accountID, fileName, r)
	if errors.Is(err, trunkops.ErrDocumentTooLarge) {
		return d, api.ErrDocumentTooLarge
	}
	return d, err
}

func (a portingAPI) InitiatePort(ctx context.Context, accountID string, r api.SIPPortRequest) (store.Port, error) {
	return a.p.Initiate(ctx, accountID, trunkops.PortRequest{Numbers: r.PhoneNumbers,
		Representative: store.PortRepresentative(r.AuthorizedRepresentative), ServiceAddress: store.PortAddress(r.ServiceAddress),
		TargetDate: r.TargetDate, DocumentID: r.DocumentID, WebhookURL: r.WebhookURL})
}

func (a portingAPI) Ports(ctx context.Context, accountID string) ([]store.Port, error) {
	return a.p.Ports(ctx, accountID)
}

func (a portingAPI) Port(ctx context.Context, accountID, id string) (store.Port, error) {
	return a.p.Port(ctx, accountID, id)
}

func (a portingAPI) CancelPort(ctx context.Context, accountID, id string) (store.Port, error) {
	return portErr(a.p.Cancel(ctx, accountID, id))
}

func (a portingAPI) AdvancePort(ctx context.Context, id, status, reason string) (store.Port, error) {
	return portErr(a.p.Advance(ctx, id, status, reason))
}

func portErr(p store.Port, err error) (store.Port, error) {
	if errors.Is(err, trunkops.ErrInvalidTransition) {
		return p, fmt.Errorf("%w%s", api.ErrPortTransition, strings.TrimPrefix(err.Error(), trunkops.ErrInvalidTransition.Error()))
	}
	return p, err
}
