-- Sessions of the web console: a browser signs in with an API client's
-- credentials and gets a random session ID in an HttpOnly cookie. Only its
-- SHA-256 is kept (a copy of this table signs no one in); the CSRF token is
-- sent back by the page in a header on every change. A session carries
-- exactly its client's rights, and ends with the client (ON DELETE CASCADE).
CREATE TABLE console_sessions (
    id_hash    TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
