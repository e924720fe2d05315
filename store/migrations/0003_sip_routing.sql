-- SIP trunks and phone-number routing (issue 7), and API keys.
-- Portable SQL (SQLite and PostgreSQL): TEXT ids, TIMESTAMP, BOOLEAN, JSON kept as TEXT.
-- Passwords the server must present or answer digest challenges with are
-- sealed (AES-GCM, key beside the database), never stored in clear.

CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name       TEXT NOT NULL DEFAULT '',
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at);

CREATE TABLE sip_trunks (
    id                       TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                     TEXT NOT NULL,
    sip_endpoint             TEXT NOT NULL DEFAULT '',
    port                     INTEGER NOT NULL DEFAULT 0,
    transport                TEXT NOT NULL DEFAULT '',
    secure_media             BOOLEAN NOT NULL DEFAULT FALSE,
    sip_username             TEXT NOT NULL DEFAULT '',
    sip_password_sealed      TEXT NOT NULL DEFAULT '',
    auth_mode                TEXT NOT NULL DEFAULT 'ip',
    register_username        TEXT NOT NULL DEFAULT '',
    register_password_sealed TEXT NOT NULL DEFAULT '',
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL
);
CREATE INDEX sip_trunks_account ON sip_trunks (account_id, created_at);

-- One row per (number, direction, trunk): a number may be reached through
-- several trunks, up to 10 configurations per number (enforced in code).
-- route_key is the trunk ID or '' so the uniqueness rule also covers
-- configurations without a trunk (NULLs never collide in a UNIQUE index).
CREATE TABLE sip_configurations (
    id                       TEXT PRIMARY KEY,
    account_id               TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    phone_number             TEXT NOT NULL,
    direction                TEXT NOT NULL,
    trunk_id                 TEXT REFERENCES sip_trunks (id),
    route_key                TEXT NOT NULL DEFAULT '',
    sip_endpoint             TEXT NOT NULL DEFAULT '',
    port                     INTEGER NOT NULL DEFAULT 0,
    transport                TEXT NOT NULL DEFAULT '',
    secure_media             BOOLEAN NOT NULL DEFAULT FALSE,
    sip_username             TEXT NOT NULL DEFAULT '',
    sip_password_sealed      TEXT NOT NULL DEFAULT '',
    auth_mode                TEXT NOT NULL DEFAULT 'ip',
    register_username        TEXT NOT NULL DEFAULT '',
    register_password_sealed TEXT NOT NULL DEFAULT '',
    headers                  TEXT NOT NULL DEFAULT '[]',
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sip_configurations_route ON sip_configurations (account_id, phone_number, direction, route_key);
CREATE INDEX sip_configurations_number ON sip_configurations (phone_number, direction);
CREATE INDEX sip_configurations_trunk ON sip_configurations (trunk_id);
