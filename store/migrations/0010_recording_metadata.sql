-- What a recording's metadata shows beyond the call's own fields: the
-- StartRecording recordingName, and for a transfer leg the caller ID and
-- target it was placed with. file_path is '' once the media is deleted
-- (deleteRecordingMedia) while the metadata stays.
ALTER TABLE recordings ADD COLUMN recording_name TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN transfer_caller_id TEXT NOT NULL DEFAULT '';
ALTER TABLE recordings ADD COLUMN transfer_to TEXT NOT NULL DEFAULT '';

-- The account-wide list (newest first, filtered by start time) and the
-- retention sweep (every account, oldest first) read by start time.
CREATE INDEX recordings_account_start ON recordings (account_id, start_time);
CREATE INDEX recordings_start ON recordings (start_time);
