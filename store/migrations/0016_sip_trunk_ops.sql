-- SIP trunk operations (issue 16 items 4, 7, 8): advanced trunk settings
-- (failover servers, codecs, alert thresholds), number verification, and
-- number porting. Portable SQL (SQLite and PostgreSQL); JSON kept as TEXT.

-- One row per phone number or trunk of an account: scope is 'number' or
-- 'trunk', scope_id the E.164 number or the trunk ID. A number's own row
-- wins over its trunk's. Each JSON column is null-equivalent '' when unset.
CREATE TABLE sip_trunk_settings (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL,
    scope_id   TEXT NOT NULL,
    failover   TEXT NOT NULL DEFAULT '',
    codecs     TEXT NOT NULL DEFAULT '',
    alerts     TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, scope, scope_id)
);

-- Numbers whose owner proved they answer them (PUT /v1/sip/verify) or that
-- this server ported in. Numbers with an outbound configuration before
-- this migration are taken as verified, so upgrading with
-- --sip-require-verification does not cut existing trunks off.
CREATE TABLE sip_verified_numbers (
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL,
    method       TEXT NOT NULL,
    verified_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, phone_number)
);
INSERT INTO sip_verified_numbers (account_id, phone_number, method, verified_at)
    SELECT DISTINCT account_id, phone_number, 'existing', CURRENT_TIMESTAMP FROM sip_configurations WHERE direction = 'outbound';

-- Letters of authorization and bills uploaded for ports: the file lives
-- under the data dir (ports/<account>/<id>), the row says what it is.
CREATE TABLE sip_port_documents (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX sip_port_documents_account ON sip_port_documents (account_id, created_at);

CREATE TABLE sip_ports (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    representative  TEXT NOT NULL,
    service_address TEXT NOT NULL,
    target_date     TEXT NOT NULL,
    document_id     TEXT NOT NULL REFERENCES sip_port_documents (id),
    webhook_url     TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    history         TEXT NOT NULL DEFAULT '[]',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX sip_ports_account ON sip_ports (account_id, created_at, id);

-- The numbers of each port; active is true while the port is not final,
-- so a number is in at most one active port (any account).
CREATE TABLE sip_port_numbers (
    port_id      TEXT NOT NULL REFERENCES sip_ports (id) ON DELETE CASCADE,
    phone_number TEXT NOT NULL,
    active       BOOLEAN NOT NULL,
    PRIMARY KEY (port_id, phone_number)
);
CREATE INDEX sip_port_numbers_number ON sip_port_numbers (phone_number, active);

-- Numbers a completed port brought to this server: the account owns them
-- here (no other account may attach them).
CREATE TABLE sip_owned_numbers (
    phone_number TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    port_id      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
