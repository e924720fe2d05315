package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wasmvoice/wasmvoice/headermap"
)

// CreateSIPTrunk stores a new trunk (validated by TrunkPatch.Apply); its ID
// and times are set here.
func (s *Store) CreateSIPTrunk(ctx context.Context, t SIPTrunk) (SIPTrunk, error) {
	t.ID = "trk_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	now := time.Now().UTC().Truncate(time.Millisecond)
	t.CreatedAt, t.UpdatedAt, t.NumberCount = now, now, 0
	if err := s.writeTrunk(ctx, t, true); err != nil {
		return SIPTrunk{}, err
	}
	return t, nil
}

// UpdateSIPTrunk writes every field of t (read, changed and validated by the
// caller). A trunk without sip_endpoint is refused while outbound numbers
// inherit the endpoint from it, so no number is left without a route.
func (s *Store) UpdateSIPTrunk(ctx context.Context, t SIPTrunk) (SIPTrunk, error) {
	t.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if t.SIPEndpoint == "" {
		var n int
		if err := s.db.GetContext(ctx, &n, s.rebind("SELECT COUNT(*) FROM sip_configurations WHERE trunk_id = ? AND account_id = ? AND direction = ? AND sip_endpoint = ''"),
			t.ID, t.AccountID, string(headermap.Outbound)); err != nil {
			return SIPTrunk{}, fmt.Errorf("update sip trunk %s: %w", t.ID, err)
		}
		if n > 0 {
			return SIPTrunk{}, invalid("sip_endpoint", "", "%d outbound configurations inherit it; give them their own sip_endpoint or detach them first", n)
		}
	}
	if err := s.writeTrunk(ctx, t, false); err != nil {
		return SIPTrunk{}, err
	}
	return t, nil
}

func (s *Store) writeTrunk(ctx context.Context, t SIPTrunk, create bool) error {
	sp, err := s.sealer.seal(t.Options.SIPPassword)
	if err != nil {
		return err
	}
	rp, err := s.sealer.seal(t.Register.Password)
	if err != nil {
		return err
	}
	if create {
		_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO sip_trunks (id, account_id, name, sip_endpoint, port, transport,
			secure_media, sip_username, sip_password_sealed, auth_mode, register_username, register_password_sealed,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, t.AccountID, t.Name, t.SIPEndpoint, t.Options.Port, string(t.Options.Transport), t.Options.SecureMedia,
			t.Options.SIPUsername, sp, string(t.AuthMode), t.Register.Username, rp, t.CreatedAt, t.UpdatedAt)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("create sip trunk: account %s: %w", t.AccountID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create sip trunk: %w", err)
		}
		return nil
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sip_trunks SET name = ?, sip_endpoint = ?, port = ?, transport = ?,
		secure_media = ?, sip_username = ?, sip_password_sealed = ?, auth_mode = ?, register_username = ?,
		register_password_sealed = ?, updated_at = ? WHERE id = ? AND account_id = ?`),
		t.Name, t.SIPEndpoint, t.Options.Port, string(t.Options.Transport), t.Options.SecureMedia, t.Options.SIPUsername, sp,
		string(t.AuthMode), t.Register.Username, rp, t.UpdatedAt, t.ID, t.AccountID)
	if err != nil {
		return fmt.Errorf("update sip trunk %s: %w", t.ID, err)
	}
	return mustAffect(res, "sip trunk "+t.ID)
}

// SIPTrunk returns one trunk of an account.
func (s *Store) SIPTrunk(ctx context.Context, accountID, id string) (SIPTrunk, error) {
	var r sipTrunkRow
	err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+sipTrunkColumns+" FROM sip_trunks t WHERE t.id = ? AND t.account_id = ?"), id, accountID)
	if err != nil {
		return SIPTrunk{}, notFound(err, "sip trunk "+id)
	}
	return s.trunkFromRow(r)
}

// SIPTrunks lists an account's trunks, oldest first.
func (s *Store) SIPTrunks(ctx context.Context, accountID string) ([]SIPTrunk, error) {
	var rows []sipTrunkRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+sipTrunkColumns+" FROM sip_trunks t WHERE t.account_id = ? ORDER BY t.created_at, t.id"), accountID); err != nil {
		return nil, fmt.Errorf("list sip trunks: %w", err)
	}
	out := make([]SIPTrunk, 0, len(rows))
	for _, r := range rows {
		t, err := s.trunkFromRow(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// DeleteSIPTrunk removes a trunk; while numbers are bound to it the answer is
// ErrTrunkInUse (detach them first), so no number silently loses its route.
func (s *Store) DeleteSIPTrunk(ctx context.Context, accountID, id string) error {
	return retryBusyErr(ctx, s, func() error { return s.deleteSIPTrunk(ctx, accountID, id) })
}

func (s *Store) deleteSIPTrunk(ctx context.Context, accountID, id string) error {
	tx, err := s.beginCheckedTx(ctx)
	if err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.GetContext(ctx, &n, s.rebind("SELECT COUNT(DISTINCT phone_number) FROM sip_configurations WHERE trunk_id = ? AND account_id = ?"), id, accountID); err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	if n > 0 {
		return fmt.Errorf("delete sip trunk %s: %d numbers are bound to it: %w", id, n, ErrTrunkInUse)
	}
	res, err := tx.ExecContext(ctx, s.rebind("DELETE FROM sip_trunks WHERE id = ? AND account_id = ?"), id, accountID)
	if err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	if err := mustAffect(res, "sip trunk "+id); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete sip trunk %s: %w", id, err)
	}
	return nil
}

// ---- attach, update, detach ----
