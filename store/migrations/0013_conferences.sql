-- Conferences (BXML <Conference>): a room lives in the engine while it has
-- members; its record, members and mix recordings are kept here so the
-- Voice API lists and gets them during and after the conference.
CREATE TABLE conferences (
    id                      TEXT PRIMARY KEY,
    account_id              TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    conference_event_url    TEXT NOT NULL DEFAULT '',
    conference_event_method TEXT NOT NULL DEFAULT '',
    tag                     TEXT NOT NULL DEFAULT '',
    created_time            TIMESTAMP NOT NULL,
    completed_time          TIMESTAMP NULL
);
CREATE INDEX conferences_account_created ON conferences (account_id, created_time, id);

-- One row per call that joined; exit_time is set when it left. The
-- member's mute, hold and coaching are kept current while it is in.
CREATE TABLE conference_members (
    conference_id     TEXT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    call_id           TEXT NOT NULL,
    mute              BOOLEAN NOT NULL DEFAULT FALSE,
    hold              BOOLEAN NOT NULL DEFAULT FALSE,
    call_ids_to_coach TEXT NULL, -- JSON array; NULL when the member coaches nobody
    join_time         TIMESTAMP NOT NULL,
    exit_time         TIMESTAMP NULL,
    PRIMARY KEY (conference_id, call_id)
);

-- Recordings of a conference's mix (StartRecording run against it).
CREATE TABLE conference_recordings (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    conference_id  TEXT NOT NULL REFERENCES conferences (id) ON DELETE CASCADE,
    channels       INTEGER NOT NULL,
    file_format    TEXT NOT NULL,
    status         TEXT NOT NULL,
    file_path      TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    start_time     TIMESTAMP NOT NULL,
    end_time       TIMESTAMP NOT NULL,
    recording_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX conference_recordings_conference ON conference_recordings (conference_id, start_time);
