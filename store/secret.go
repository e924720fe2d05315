package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
)

// sealer encrypts the few secrets the server must present to others (the Basic
// auth password it sends to webhooks), so a copy of the database alone does
// not reveal them. On SQLite (one node) the key lives in a file beside the
// database, not in it. Nodes sharing a PostgreSQL database must open what
// any of them sealed, so there the key lives in the database (shareSealer):
// whoever can read the database can then open the sealed passwords too, the
// price of having no other shared secret store (README: Running several
// nodes).
type sealer struct{ aead cipher.AEAD }

func loadSealer(path string) (*sealer, error) {
	key, err := readSealKey(path)
	if err != nil {
		return nil, err
	}
	return newSealer(key)
}

// settingSealKey is the setting that holds the sealing key on a shared
// database.
const settingSealKey = "webhook_seal_key"

// shareSealer makes the store seal with the key kept in the database,
// putting this node's file key there when none is yet: the first node keeps
// opening what it sealed before it shared the database, and every later
// node adopts that key (its own file then goes unused).
func (s *Store) shareSealer(ctx context.Context, path string) error {
	fileKey, err := readSealKey(path)
	if err != nil {
		return err
	}
	v, err := s.Setting(ctx, settingSealKey, func() (string, error) { return base64.StdEncoding.EncodeToString(fileKey), nil })
	if err != nil {
		return err
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return fmt.Errorf("setting %s is corrupt", settingSealKey)
	}
	sl, err := newSealer(key)
	if err != nil {
		return err
	}
	s.sealer = sl
	return nil
}

// readSealKey reads the key file at path, creating it with a random key the
// first time.
func readSealKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate secret key: %w", err)
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write secret key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key %s: want 32 bytes, have %d", path, len(key))
	}
	return key, nil
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: want 32 bytes, have %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(plain), nil)
	return base64.RawStdEncoding.EncodeToString(out), nil
}

func (s *sealer) open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("open sealed secret: malformed")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	if err != nil {
		return "", fmt.Errorf("open sealed secret: %w", err)
	}
	return string(plain), nil
}
