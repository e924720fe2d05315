-- A call's SIP trace as one row: the messages framed and deflated
-- (store/tracecodec.go). Calls saved before this keep their rows in
-- call_sip_messages, which CallTrace still reads when a call has no row here.
CREATE TABLE call_traces (
    call_id  TEXT PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    messages INTEGER NOT NULL,
    trace    BLOB NOT NULL
);
