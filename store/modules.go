package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Module event kinds an application may hand to its module.
const (
	ModuleEventCall        = "call"         // the Bandwidth call events, answered with BXML
	ModuleEventSIPInbound  = "sip.inbound"  // each INVITE to the application, before the call exists
	ModuleEventSIPOutbound = "sip.outbound" // each INVITE the server sends for the application's calls
	ModuleEventSIPRefer    = "sip.refer"    // each REFER a peer sends in the application's calls
)

// ModuleEventKinds are the valid ModuleBinding.Events values.
var ModuleEventKinds = []string{ModuleEventCall, ModuleEventSIPInbound, ModuleEventSIPOutbound, ModuleEventSIPRefer}

// Node-independent bounds of the per-application limits; the engine clamps
// them further to the node maxima.
const (
	MaxModuleMemoryPages = 65536 // 4 GiB, the wasm32 ceiling
	MaxModuleTimeoutMS   = 60000
)

// ModuleBinding binds an application to an uploaded Wasm module.
type ModuleBinding struct {
	// ModuleID is the module of the same account ("" for none).
	ModuleID string
	// ModuleEvents are the event kinds the module answers; empty means all
	// of ModuleEventKinds. Kinds not listed go to the webhooks.
	ModuleEvents []string
	// ModuleMemoryPages and ModuleTimeoutMS lower or raise the node's
	// default limits for this application (0: node default); the engine
	// clamps them to the node maxima.
	ModuleMemoryPages int
	ModuleTimeoutMS   int
}

// Handles reports whether the bound module answers events of kind.
func (b ModuleBinding) Handles(kind string) bool {
	if b.ModuleID == "" {
		return false
	}
	return len(b.ModuleEvents) == 0 || slices.Contains(b.ModuleEvents, kind)
}

// EventsInForce are the event kinds the bound module answers: the listed
// ones, all of ModuleEventKinds when none are listed, none without a module.
func (b ModuleBinding) EventsInForce() []string {
	switch {
	case b.ModuleID == "":
		return []string{}
	case len(b.ModuleEvents) == 0:
		return slices.Clone(ModuleEventKinds)
	}
	return slices.Clone(b.ModuleEvents)
}

// ModuleBindingPatch is a partial change of a ModuleBinding; nil fields stay.
// Whether ModuleID names a module of the account is checked by the caller,
// which has the store at hand.
type ModuleBindingPatch struct {
	ModuleID          *string
	ModuleEvents      *[]string
	ModuleMemoryPages *int
	ModuleTimeoutMS   *int
}

func (p ModuleBindingPatch) apply(b *ModuleBinding) error {
	n := *b
	if p.ModuleID != nil {
		if len(*p.ModuleID) > 64 {
			return invalid("moduleId", *p.ModuleID, "must be at most 64 characters")
		}
		n.ModuleID = *p.ModuleID
	}
	if p.ModuleEvents != nil {
		evs := []string{}
		for _, e := range *p.ModuleEvents {
			if !slices.Contains(ModuleEventKinds, e) {
				return invalid("moduleEvents", *p.ModuleEvents, "unknown event kind %q (known: call, sip.inbound, sip.outbound)", e)
			}
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
		n.ModuleEvents = evs
	}
	if p.ModuleMemoryPages != nil {
		if *p.ModuleMemoryPages < 0 || *p.ModuleMemoryPages > MaxModuleMemoryPages {
			return invalid("moduleMemoryPages", *p.ModuleMemoryPages, "must be 0 (node default) to %d", MaxModuleMemoryPages)
		}
		n.ModuleMemoryPages = *p.ModuleMemoryPages
	}
	if p.ModuleTimeoutMS != nil {
		if *p.ModuleTimeoutMS < 0 || *p.ModuleTimeoutMS > MaxModuleTimeoutMS {
			return invalid("moduleTimeoutMs", *p.ModuleTimeoutMS, "must be 0 (node default) to %d", MaxModuleTimeoutMS)
		}
		n.ModuleTimeoutMS = *p.ModuleTimeoutMS
	}
	*b = n
	return nil
}

// ModuleInfo is an uploaded module as stored; the bytes are the file
// ModulePath names.
type ModuleInfo struct {
	ID         string
	AccountID  string
	Name       string
	SHA256     string
	Size       int
	ABIVersion int
	Exports    []string
	CreatedAt  time.Time
}

// ErrModuleInUse is returned when deleting a module an application is bound to.
var ErrModuleInUse = errors.New("module in use")

type moduleRow struct {
	ID         string    `db:"id"`
	AccountID  string    `db:"account_id"`
	Name       string    `db:"name"`
	SHA256     string    `db:"sha256"`
	Size       int64     `db:"size"`
	ABIVersion int64     `db:"abi_version"`
	Exports    string    `db:"exports"`
	CreatedAt  time.Time `db:"created_at"`
}

const moduleColumns = "id, account_id, name, sha256, size, abi_version, exports, created_at"

func (r moduleRow) info() (ModuleInfo, error) {
	m := ModuleInfo{
		ID: r.ID, AccountID: r.AccountID, Name: r.Name, SHA256: r.SHA256, Size: int(r.Size),
		ABIVersion: int(r.ABIVersion), CreatedAt: r.CreatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(r.Exports), &m.Exports); err != nil {
		return ModuleInfo{}, fmt.Errorf("module %s: exports: %w", r.ID, err)
	}
	return m, nil
}

// ModulePath is where the bytes of the module with this digest live.
func (s *Store) ModulePath(sha256Hex string) string {
	return filepath.Join(s.dataDir, "modules", sha256Hex+".wasm")
}

// CreateModule writes the module's bytes (once per digest) and its row; ID,
// SHA256, Size and CreatedAt are set here. The caller has validated wasm.
func (s *Store) CreateModule(ctx context.Context, m ModuleInfo, wasm []byte) (ModuleInfo, error) {
	sum := sha256.Sum256(wasm)
	m.SHA256 = hex.EncodeToString(sum[:])
	m.Size = len(wasm)
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	m.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	if err := s.writeModuleFile(m.SHA256, wasm); err != nil {
		return ModuleInfo{}, err
	}
	exports, err := json.Marshal(nonNil(m.Exports))
	if err != nil {
		return ModuleInfo{}, fmt.Errorf("encode exports: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.rebind("INSERT INTO modules ("+moduleColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
		m.ID, m.AccountID, m.Name, m.SHA256, m.Size, m.ABIVersion, string(exports), m.CreatedAt)
	if err != nil {
		if isForeignKeyViolation(err) {
			return ModuleInfo{}, fmt.Errorf("create module: account %s: %w", m.AccountID, ErrNotFound)
		}
		return ModuleInfo{}, fmt.Errorf("create module: %w", err)
	}
	return m, nil
}

// writeModuleFile stores the bytes under their digest, atomically, so a
// reader never sees a partial file and equal uploads share one file. It
// always rewrites, so an upload racing a delete of the same bytes leaves the
// file in place once its row exists.
func (s *Store) writeModuleFile(sum string, wasm []byte) error {
	path := s.ModulePath(sum)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("module dir: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return fmt.Errorf("module file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(wasm); err != nil {
		f.Close()
		return fmt.Errorf("module file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("module file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("module file: %w", err)
	}
	return nil
}

// ModuleBytes reads a module's bytes and checks them against its digest.
func (s *Store) ModuleBytes(m ModuleInfo) ([]byte, error) {
	b, err := os.ReadFile(s.ModulePath(m.SHA256))
	if err != nil {
		return nil, fmt.Errorf("module %s bytes: %w", m.ID, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != m.SHA256 {
		return nil, fmt.Errorf("module %s: file %s does not match its sha256", m.ID, s.ModulePath(m.SHA256))
	}
	return b, nil
}

// Module returns one module of an account.
func (s *Store) Module(ctx context.Context, accountID, id string) (ModuleInfo, error) {
	var r moduleRow
	if err := s.db.GetContext(ctx, &r, s.rebind("SELECT "+moduleColumns+" FROM modules WHERE id = ? AND account_id = ?"), id, accountID); err != nil {
		return ModuleInfo{}, notFound(err, "module "+id)
	}
	return r.info()
}

// Modules lists an account's modules, oldest first.
func (s *Store) Modules(ctx context.Context, accountID string) ([]ModuleInfo, error) {
	var rows []moduleRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind("SELECT "+moduleColumns+" FROM modules WHERE account_id = ? ORDER BY created_at, id"), accountID); err != nil {
		return nil, fmt.Errorf("list modules: %w", err)
	}
	out := make([]ModuleInfo, 0, len(rows))
	for _, r := range rows {
		m, err := r.info()
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// DeleteModule removes a module no application is bound to (ErrModuleInUse
// otherwise), and its file when no other module row shares the digest.
func (s *Store) DeleteModule(ctx context.Context, accountID, id string) error {
	return retryBusyErr(ctx, s, func() error { return s.deleteModule(ctx, accountID, id) })
}

func (s *Store) deleteModule(ctx context.Context, accountID, id string) error {
	tx, err := s.beginCheckedTx(ctx)
	if err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	defer tx.Rollback()
	var m moduleRow
	if err := tx.GetContext(ctx, &m, s.rebind("SELECT "+moduleColumns+" FROM modules WHERE id = ? AND account_id = ?"), id, accountID); err != nil {
		return notFound(err, "module "+id)
	}
	var users []string
	if err := tx.SelectContext(ctx, &users, s.rebind("SELECT id FROM voice_applications WHERE module_id = ? ORDER BY id LIMIT 5"), id); err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	if len(users) > 0 {
		return fmt.Errorf("module %s is bound to application %s: %w", id, strings.Join(users, ", "), ErrModuleInUse)
	}
	if _, err := tx.ExecContext(ctx, s.rebind("DELETE FROM modules WHERE id = ?"), id); err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	var shared int
	if err := tx.GetContext(ctx, &shared, s.rebind("SELECT COUNT(*) FROM modules WHERE sha256 = ?"), m.SHA256); err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete module %s: %w", id, err)
	}
	if shared == 0 {
		os.Remove(s.ModulePath(m.SHA256))
	}
	return nil
}
