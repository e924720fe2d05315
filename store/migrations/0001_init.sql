-- Portable SQL (SQLite and PostgreSQL): TEXT ids, TIMESTAMP, BOOLEAN, JSON kept as TEXT.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    features   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE api_clients (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX api_clients_account ON api_clients (account_id);

CREATE TABLE voice_applications (
    id                             TEXT PRIMARY KEY,
    account_id                     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                           TEXT NOT NULL,
    call_initiated_callback_url    TEXT NOT NULL DEFAULT '',
    call_initiated_method          TEXT NOT NULL DEFAULT 'POST',
    call_initiated_fallback_url    TEXT NOT NULL DEFAULT '',
    call_initiated_fallback_method TEXT NOT NULL DEFAULT 'POST',
    call_status_callback_url       TEXT NOT NULL DEFAULT '',
    call_status_callback_method    TEXT NOT NULL DEFAULT 'POST',
    callback_username              TEXT NOT NULL DEFAULT '',
    callback_password_sealed       TEXT NOT NULL DEFAULT '',
    inbound_sip_enabled            BOOLEAN NOT NULL DEFAULT FALSE,
    password_auth_enabled          BOOLEAN NOT NULL DEFAULT FALSE,
    sip_ha1_md5                    TEXT NOT NULL DEFAULT '',
    sip_ha1_sha256                 TEXT NOT NULL DEFAULT '',
    allowed_source_ips             TEXT NOT NULL DEFAULT '[]',
    allowed_regions                TEXT NOT NULL DEFAULT '[]',
    created_at                     TIMESTAMP NOT NULL,
    updated_at                     TIMESTAMP NOT NULL
);
CREATE INDEX voice_applications_account ON voice_applications (account_id, created_at);
