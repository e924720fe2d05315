-- The digest algorithms an application's Inbound SIP URI challenges with,
-- most preferred first (JSON list); '[]' takes the node default
-- (--sip-digest-algorithms).
ALTER TABLE voice_applications ADD COLUMN sip_digest_algorithms TEXT NOT NULL DEFAULT '[]';
