-- The journal of what is live on the node, so a start after a crash (kill -9,
-- power loss) finds the calls and recordings that never ended: each row is
-- written when a call (recording) begins and removed in the transaction that
-- saves its end. A heartbeat in settings (node_alive_at) bounds when they
-- ended.
CREATE TABLE live_calls (
    call_id    TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    record     TEXT NOT NULL, -- the call record as the call began (JSON)
    disconnect TEXT NOT NULL DEFAULT '', -- its own disconnect callback (JSON, password sealed), '' for the application's
    started_at TIMESTAMP NOT NULL
);

CREATE TABLE live_recordings (
    recording_id TEXT PRIMARY KEY,
    call_id      TEXT NOT NULL,
    record       TEXT NOT NULL, -- the recording's metadata as it began (JSON)
    started_at   TIMESTAMP NOT NULL
);
