package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// ErrNoSession is returned for a session ID that is unknown or expired.
var ErrNoSession = errors.New("no such console session")

// Session is a signed-in web console: the API client whose rights it
// carries and the token the page must echo on every change.
type Session struct {
	ClientID  string    `db:"client_id"`
	AccountID string    `db:"account_id"`
	CSRFToken string    `db:"csrf_token"`
	CreatedAt time.Time `db:"created_at"`
	ExpiresAt time.Time `db:"expires_at"`
}

// maxSessionsPerClient bounds the sessions one client keeps: signing in
// again and again (a script, a browser that loses its cookie) cannot grow
// the table without limit; the oldest go first.
const maxSessionsPerClient = 20

// CreateSession starts a console session for a client whose credentials
// the caller has verified. It returns the session and its ID in clear
// (only its hash is kept), which goes into the cookie.
func (s *Store) CreateSession(ctx context.Context, clientID, accountID string, ttl time.Duration) (Session, string, error) {
	id, err := randomToken()
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := randomToken()
	if err != nil {
		return Session{}, "", err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	sess := Session{ClientID: clientID, AccountID: accountID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return Session{}, "", fmt.Errorf("create session: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM console_sessions WHERE expires_at <= ?"), now); err != nil {
		return Session{}, "", fmt.Errorf("expire sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM console_sessions WHERE client_id = ? AND id_hash NOT IN
		(SELECT id_hash FROM console_sessions WHERE client_id = ? ORDER BY created_at DESC LIMIT ?)`), clientID, clientID, maxSessionsPerClient-1); err != nil {
		return Session{}, "", fmt.Errorf("trim sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO console_sessions (id_hash, client_id, account_id, csrf_token, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`), hashSecret(id), clientID, accountID, csrf, now, sess.ExpiresAt); err != nil {
		if isForeignKeyViolation(err) {
			return Session{}, "", fmt.Errorf("create session for client %s: %w", clientID, ErrNotFound)
		}
		return Session{}, "", fmt.Errorf("create session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Session{}, "", fmt.Errorf("create session: %w", err)
	}
	return sess, id, nil
}

// LookupSession returns the live session with this ID, or ErrNoSession.
func (s *Store) LookupSession(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 128 {
		return Session{}, ErrNoSession
	}
	var sess Session
	err := s.db.GetContext(ctx, &sess, s.rebind(`SELECT client_id, account_id, csrf_token, created_at, expires_at
		FROM console_sessions WHERE id_hash = ? AND expires_at > ?`), hashSecret(id), time.Now().UTC())
	if err != nil {
		if isNotFound(notFound(err, "")) {
			return Session{}, ErrNoSession
		}
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return sess, nil
}

// DeleteSession ends a session (signing out); an unknown ID is no error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind("DELETE FROM console_sessions WHERE id_hash = ?"), hashSecret(id)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
