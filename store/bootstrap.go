package store

import (
	"context"
	"errors"
	"fmt"
)

// FirstStart creates an account and an API client when the store has no
// account yet, and returns the credentials (shown once); otherwise nil.
func (st *Store) FirstStart(ctx context.Context) (*Credentials, error) {
	accts, err := st.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	if len(accts) > 0 {
		return nil, nil
	}
	a, err := st.CreateAccount(ctx, "")
	if err != nil {
		return nil, err
	}
	// A self-hosted node's own account gets every feature, SIP trunking and
	// operating the node included.
	if err := st.SetAccountFeatures(ctx, a.ID, []string{FeatureSIP, FeatureAdmin}); err != nil {
		return nil, err
	}
	c, err := st.CreateClient(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CreateCredentials makes an API client for account (or for the only
// account, creating one when there is none).
func (st *Store) CreateCredentials(ctx context.Context, account string) (Credentials, error) {
	accts, err := st.Accounts(ctx)
	if err != nil {
		return Credentials{}, err
	}
	switch {
	case account != "":
		if _, err := st.Account(ctx, account); errors.Is(err, ErrNotFound) {
			if _, err := st.CreateAccount(ctx, account); err != nil {
				return Credentials{}, err
			}
		} else if err != nil {
			return Credentials{}, err
		}
	case len(accts) == 0:
		a, err := st.CreateAccount(ctx, "")
		if err != nil {
			return Credentials{}, err
		}
		// The node's first account, as at first start.
		if err := st.SetAccountFeatures(ctx, a.ID, []string{FeatureSIP, FeatureAdmin}); err != nil {
			return Credentials{}, err
		}
		account = a.ID
	case len(accts) == 1:
		account = accts[0].ID
	default:
		return Credentials{}, fmt.Errorf("this node has %d accounts: name one with --account", len(accts))
	}
	return st.CreateClient(ctx, account)
}
