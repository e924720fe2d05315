-- A recording's transcription (Record transcribe="true", StartRecording's
-- transcribe, transcribeCallRecording): one per recording, replaced by a new
-- request, removed with the recording.
CREATE TABLE recording_transcriptions (
    recording_id   TEXT PRIMARY KEY REFERENCES recordings (id) ON DELETE CASCADE,
    account_id     TEXT NOT NULL,
    call_id        TEXT NOT NULL,
    id             TEXT NOT NULL, -- t-<uuid>, new for each request
    status         TEXT NOT NULL, -- processing, available, error
    result         TEXT NOT NULL DEFAULT '', -- the transcripts and clips (JSON) when available
    error_message  TEXT NOT NULL DEFAULT '',
    requested_time TIMESTAMP NOT NULL,
    completed_time TIMESTAMP NULL
);
