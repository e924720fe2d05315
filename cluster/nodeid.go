package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// nodeIDFile holds the node's generated ID in its data directory, so the
// node keeps its name (and finds its own journal) across restarts.
const nodeIDFile = "node-id"

var validNodeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NodeID returns the node's ID: explicit when given (--node-id), else the
// one saved in dataDir, generated and saved the first time.
func NodeID(dataDir, explicit string) (string, error) {
	if explicit != "" {
		if !validNodeID.MatchString(explicit) {
			return "", fmt.Errorf("--node-id %q: want 1 to 64 letters, digits, '.', '_' or '-'", explicit)
		}
		return explicit, nil
	}
	path := filepath.Join(dataDir, nodeIDFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if !validNodeID.MatchString(id) {
			return "", fmt.Errorf("node id file %s: %q is not a node id", path, id)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read node id: %w", err)
	}
	raw := make([]byte, 6)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("generate node id: %w", err)
	}
	id := "node-" + hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("save node id: %w", err)
	}
	return id, nil
}
