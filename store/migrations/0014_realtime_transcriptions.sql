-- Real-time transcriptions (<StartTranscription>): one row per
-- transcription of a call, and its segments (one per utterance and track)
-- as the recogniser finishes them. listRealTimeTranscriptions,
-- getRealTimeTranscription and deleteRealTimeTranscription read them.
CREATE TABLE realtime_transcriptions (
    id             TEXT PRIMARY KEY, -- t-<uuid>
    account_id     TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    tracks         TEXT NOT NULL, -- inbound, outbound or inbound,outbound
    status         TEXT NOT NULL, -- active, available, failed
    start_time     TIMESTAMP NOT NULL,
    completed_time TIMESTAMP NULL
);
CREATE INDEX realtime_transcriptions_call ON realtime_transcriptions (account_id, call_id, start_time);
CREATE TABLE realtime_transcription_segments (
    transcription_id TEXT NOT NULL REFERENCES realtime_transcriptions (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    track            TEXT NOT NULL,
    transcript       TEXT NOT NULL,
    confidence       DOUBLE PRECISION NOT NULL,
    start_ms         INTEGER NOT NULL, -- from the transcription's start
    end_ms           INTEGER NOT NULL,
    PRIMARY KEY (transcription_id, seq)
);
