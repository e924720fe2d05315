-- Calls live in the engine's memory while up; a call's record, SIP trace and
-- log are written here when it ends. Recordings are files under the data
-- directory, indexed here.
CREATE TABLE calls (
    id               TEXT PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    application_id   TEXT NOT NULL,
    parent_call_id   TEXT NOT NULL DEFAULT '',
    direction        TEXT NOT NULL,
    from_addr        TEXT NOT NULL,
    to_addr          TEXT NOT NULL,
    state            TEXT NOT NULL,
    sip_call_id      TEXT NOT NULL DEFAULT '',
    tag              TEXT NOT NULL DEFAULT '',
    variables        TEXT NOT NULL DEFAULT '{}',
    enqueued_time    TIMESTAMP NULL,
    start_time       TIMESTAMP NOT NULL,
    answer_time      TIMESTAMP NULL,
    end_time         TIMESTAMP NULL,
    disconnect_cause TEXT NOT NULL DEFAULT '',
    error_message    TEXT NOT NULL DEFAULT '',
    error_id         TEXT NOT NULL DEFAULT '',
    last_update      TIMESTAMP NOT NULL
);
CREATE INDEX calls_account_start ON calls (account_id, start_time, id);

CREATE TABLE call_sip_messages (
    call_id     TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    at          TIMESTAMP NOT NULL,
    direction   TEXT NOT NULL,
    transport   TEXT NOT NULL,
    local_addr  TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE call_log (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      TIMESTAMP NOT NULL,
    level   TEXT NOT NULL,
    source  TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (call_id, seq)
);

CREATE TABLE recordings (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    application_id TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    parent_call_id TEXT NOT NULL DEFAULT '',
    direction      TEXT NOT NULL,
    from_addr      TEXT NOT NULL,
    to_addr        TEXT NOT NULL,
    channels       INTEGER NOT NULL,
    file_format    TEXT NOT NULL,
    status         TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    start_time     TIMESTAMP NOT NULL,
    end_time       TIMESTAMP NOT NULL
);
CREATE INDEX recordings_call ON recordings (account_id, call_id, start_time);
