-- The nodes that share this database (issue 19): each registers itself at
-- start and beats every --node-heartbeat; a node whose beat is three
-- intervals old is dead, and the first live node to claim it (claimed_by)
-- reconciles its calls as a restart would. The journal says which node
-- carries each live call (its media is there), so the Voice API on any node
-- can forward a request for the call to the node that owns it. Rows journaled
-- before this migration have node_id '' and belong to the node that restarts
-- on this database (a single node).
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    api_url      TEXT NOT NULL,
    sip_addr     TEXT NOT NULL,
    media_ip     TEXT NOT NULL,
    region       TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    heartbeat_at TIMESTAMP NOT NULL,
    claimed_by   TEXT NOT NULL DEFAULT '', -- the node that reconciled it after it died
    claimed_at   TIMESTAMP
);

ALTER TABLE live_calls ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
ALTER TABLE live_recordings ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
CREATE INDEX live_calls_node ON live_calls (node_id);
