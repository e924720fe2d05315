package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Verified numbers (issue 16 item 7): numbers whose owner proved they
// answer them (a call that spoke a code keyed back by DTMF), that a
// completed port brought here, or that had an outbound configuration when
// verification arrived.

// Verification methods.
const (
	VerifiedByCall     = "call"
	VerifiedByPort     = "port"
	VerifiedByExisting = "existing"
)

// NumberVerified reports whether an account's number is verified, and how.
func (s *Store) NumberVerified(ctx context.Context, accountID, number string) (method string, at time.Time, ok bool, err error) {
	var r struct {
		Method string    `db:"method"`
		At     time.Time `db:"verified_at"`
	}
	err = s.db.GetContext(ctx, &r, s.rebind("SELECT method, verified_at FROM sip_verified_numbers WHERE account_id = ? AND phone_number = ?"), accountID, number)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("verified number %s: %w", number, err)
	}
	return r.Method, r.At.UTC(), true, nil
}

// SetNumberVerified records that an account's number is verified.
func (s *Store) SetNumberVerified(ctx context.Context, accountID, number, method string) error {
	return markVerified(ctx, s.db, s, accountID, number, method, time.Now().UTC().Truncate(time.Millisecond))
}

func markVerified(ctx context.Context, db sqlx.ExecerContext, s *Store, accountID, number, method string, at time.Time) error {
	if _, err := db.ExecContext(ctx, s.rebind("DELETE FROM sip_verified_numbers WHERE account_id = ? AND phone_number = ?"), accountID, number); err != nil {
		return fmt.Errorf("verify %s: %w", number, err)
	}
	if _, err := db.ExecContext(ctx, s.rebind("INSERT INTO sip_verified_numbers (account_id, phone_number, method, verified_at) VALUES (?, ?, ?, ?)"),
		accountID, number, method, at); err != nil {
		return fmt.Errorf("verify %s: %w", number, err)
	}
	return nil
}
