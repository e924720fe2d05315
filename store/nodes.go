package store

import (
	"context"
	"fmt"
	"time"
)

// Nodes sharing one database (migration 0019). Each node registers itself
// at start and beats while it runs; the journal names the node that carries
// each live call. A node whose beat is too old is claimed by one live node
// (an UPDATE that only one can win), which reconciles its calls.

// Node is a registered node.
type Node struct {
	ID          string     `db:"id"`
	APIURL      string     `db:"api_url"`  // where other nodes forward requests for its calls
	SIPAddr     string     `db:"sip_addr"` // host:port of its SIP listener
	MediaIP     string     `db:"media_ip"` // the address its SDP advertises
	Region      string     `db:"region"`
	Version     string     `db:"version"`
	StartedAt   time.Time  `db:"started_at"`
	HeartbeatAt time.Time  `db:"heartbeat_at"`
	ClaimedBy   string     `db:"claimed_by"` // the node that reconciled it after it died ("" while it runs)
	ClaimedAt   *time.Time `db:"claimed_at"`
}

// SetNodeID names this node in the journal: the calls and recordings it
// journals from now on are its own. Call it before the engine takes calls.
func (s *Store) SetNodeID(id string) { s.nodeID = id }

// NodeID is the name SetNodeID gave.
func (s *Store) NodeID() string { return s.nodeID }

const nodeColumns = "id, api_url, sip_addr, media_ip, region, version, started_at, heartbeat_at, claimed_by, claimed_at"

// RegisterNode records that n runs from n.StartedAt, beating now: a node
// that comes back after it was claimed is live again.
func (s *Store) RegisterNode(ctx context.Context, n Node) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO nodes (`+nodeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', NULL)
		ON CONFLICT (id) DO UPDATE SET api_url = excluded.api_url, sip_addr = excluded.sip_addr, media_ip = excluded.media_ip,
		region = excluded.region, version = excluded.version, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
		claimed_by = '', claimed_at = NULL`),
		n.ID, n.APIURL, n.SIPAddr, n.MediaIP, n.Region, n.Version, n.StartedAt.UTC(), n.HeartbeatAt.UTC())
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.ID, err)
	}
	return nil
}

// BeatNode records that node id runs at now. It reports the node that
// claimed it ("" normally): a node whose beats did not reach the database
// for long enough was declared dead and its calls reconciled. ErrNotFound
// means the row is gone (register again).
func (s *Store) BeatNode(ctx context.Context, id string, now time.Time) (claimedBy string, err error) {
	res, err := s.db.ExecContext(ctx, s.rebind("UPDATE nodes SET heartbeat_at = ? WHERE id = ?"), now.UTC(), id)
	if err != nil {
		return "", fmt.Errorf("heartbeat of node %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return "", fmt.Errorf("heartbeat of node %s: %w", id, ErrNotFound)
	}
	n, err := s.Node(ctx, id)
	if err != nil {
		return "", err
	}
	return n.ClaimedBy, nil
}

// Node returns the node called id.
func (s *Store) Node(ctx context.Context, id string) (Node, error) {
	var n Node
	if err := s.db.GetContext(ctx, &n, s.rebind("SELECT "+nodeColumns+" FROM nodes WHERE id = ?"), id); err != nil {
		return Node{}, notFound(err, "node "+id)
	}
	n.StartedAt, n.HeartbeatAt = n.StartedAt.UTC(), n.HeartbeatAt.UTC()
	return n, nil
}

// Nodes returns every registered node, live or not, by ID.
func (s *Store) Nodes(ctx context.Context) ([]Node, error) {
	var out []Node
	if err := s.db.SelectContext(ctx, &out, "SELECT "+nodeColumns+" FROM nodes ORDER BY id"); err != nil {
		return nil, fmt.Errorf("nodes: %w", err)
	}
	for i := range out {
		out[i].StartedAt, out[i].HeartbeatAt = out[i].StartedAt.UTC(), out[i].HeartbeatAt.UTC()
	}
	return out, nil
}

// ClaimNode makes by the one node that reconciles node id, if id's last beat
// is before deadBefore and no node claimed it since it last registered. The
// UPDATE is atomic on both engines, so of several nodes claiming at once
// exactly one gets true. A node claims itself at start (deadBefore in the
// future) so that no other node reconciles the calls it is reconciling.
func (s *Store) ClaimNode(ctx context.Context, id, by string, deadBefore, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.rebind("UPDATE nodes SET claimed_by = ?, claimed_at = ? WHERE id = ? AND claimed_by = '' AND heartbeat_at < ?"),
		by, now.UTC(), id, deadBefore.UTC())
	if err != nil {
		return false, fmt.Errorf("claim node %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim node %s: %w", id, err)
	}
	return n == 1, nil
}

// CallOwner returns the node that carries the live call id (ErrNotFound
// when no node journals it: it ended, or never was).
func (s *Store) CallOwner(ctx context.Context, id string) (string, error) {
	var node string
	if err := s.db.GetContext(ctx, &node, s.rebind("SELECT node_id FROM live_calls WHERE call_id = ?"), id); err != nil {
		return "", notFound(err, "live call "+id)
	}
	return node, nil
}

// OtherNodesLiveCalls returns the calls of accountID that other nodes
// journal as live, as they began (their live state is on their node),
// oldest first.
func (s *Store) OtherNodesLiveCalls(ctx context.Context, accountID string) ([]CallRecord, error) {
	lives, err := s.liveCalls(ctx, "account_id = ? AND node_id NOT IN (?, '')", accountID, s.nodeID)
	if err != nil {
		return nil, err
	}
	out := make([]CallRecord, len(lives))
	for i, lc := range lives {
		out[i] = lc.Record
	}
	return out, nil
}
