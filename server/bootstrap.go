package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/wasmvoice/wasmvoice/store"
)

// Node settings kept in the store, generated at first start.
const (
	settingTokenKey = "api_token_key"
	settingNonceKey = "sip_nonce_key"
)

func randomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

func loadKey(ctx context.Context, st *store.Store, name string) ([]byte, error) {
	v, err := st.Setting(ctx, name, randomKey)
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("setting %s is corrupt", name)
	}
	return b, nil
}

// FirstStart creates an account and an API client when the store has no
// account yet, and returns the credentials (shown once); otherwise nil.
func FirstStart(ctx context.Context, st *store.Store) (*store.Credentials, error) {
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
	if err := st.SetAccountFeatures(ctx, a.ID, []string{store.FeatureSIP, store.FeatureAdmin}); err != nil {
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
func CreateCredentials(ctx context.Context, st *store.Store, account string) (store.Credentials, error) {
	accts, err := st.Accounts(ctx)
	if err != nil {
		return store.Credentials{}, err
	}
	switch {
	case account != "":
		if _, err := st.Account(ctx, account); errors.Is(err, store.ErrNotFound) {
			if _, err := st.CreateAccount(ctx, account); err != nil {
				return store.Credentials{}, err
			}
		} else if err != nil {
			return store.Credentials{}, err
		}
	case len(accts) == 0:
		a, err := st.CreateAccount(ctx, "")
		if err != nil {
			return store.Credentials{}, err
		}
		// The node's first account, as at first start.
		if err := st.SetAccountFeatures(ctx, a.ID, []string{store.FeatureSIP, store.FeatureAdmin}); err != nil {
			return store.Credentials{}, err
		}
		account = a.ID
	case len(accts) == 1:
		account = accts[0].ID
	default:
		return store.Credentials{}, fmt.Errorf("this node has %d accounts: name one with --account", len(accts))
	}
	return st.CreateClient(ctx, account)
}
