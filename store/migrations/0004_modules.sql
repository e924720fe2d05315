-- Wasm call-handler modules (issue 6). The module bytes live as files under
-- <data-dir>/modules/<sha256>.wasm; the rows hold what the API shows.
-- Portable SQL (SQLite and PostgreSQL): TEXT ids, TIMESTAMP, JSON kept as TEXT.

CREATE TABLE modules (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    abi_version INTEGER NOT NULL,
    exports     TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX modules_account ON modules (account_id, created_at);
CREATE INDEX modules_sha256 ON modules (sha256);

-- The per-application key-value store behind the guests' kv_get/kv_set.
CREATE TABLE app_kv (
    application_id TEXT NOT NULL REFERENCES voice_applications (id) ON DELETE CASCADE,
    k              BLOB NOT NULL,
    v              BLOB NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (application_id, k)
);

-- An application's module binding: '' is none. module_events is a JSON list
-- of event kinds ("call", "sip.inbound", "sip.outbound"). Limits of 0 take
-- the node defaults.
ALTER TABLE voice_applications ADD COLUMN module_id TEXT NOT NULL DEFAULT '';
ALTER TABLE voice_applications ADD COLUMN module_events TEXT NOT NULL DEFAULT '[]';
ALTER TABLE voice_applications ADD COLUMN module_memory_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE voice_applications ADD COLUMN module_timeout_ms INTEGER NOT NULL DEFAULT 0;
