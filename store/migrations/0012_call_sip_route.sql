-- Which phone number's SIP configuration and trunk a call used, and the
-- final response of its INVITE (for inbound calls, what the server
-- answered): GET /v1/sip/calls lists calls by number and trunk.
ALTER TABLE calls ADD COLUMN phone_number TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN sip_configuration_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN trunk_id TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN sip_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calls ADD COLUMN sip_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_account_phone_number ON calls (account_id, phone_number, start_time, id);
CREATE INDEX calls_account_trunk ON calls (account_id, trunk_id, start_time, id);
