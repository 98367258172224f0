// Every SQL text SqliteStore runs, in one place: the schema migrations (DDL) and the statements
// (DML). Types are the portable subset (TEXT, BIGINT, INTEGER, BLOB ~ BYTEA); times are BIGINT
// milliseconds UTC; no statement relies on rowid. Parameters are ?N. A PostgreSQL backend keeps
// its own file like this one.
#pragma once

namespace sinetti::store::sqlite::sql {

// ---- read snapshots -------------------------------------------------------------------------------

// A reader's snapshot over several statements; prepared once per connection like every statement
// here, so a read does not parse SQL.
inline constexpr const char* begin_read = "BEGIN";
inline constexpr const char* end_read = "COMMIT";

// ---- schema ---------------------------------------------------------------------------------------

// The applied migrations; the highest version is the schema's version.
inline constexpr const char* create_schema_version = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version     INTEGER NOT NULL PRIMARY KEY,
  applied_at  BIGINT  NOT NULL,
  description TEXT    NOT NULL
))sql";
inline constexpr const char* current_schema_version = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
inline constexpr const char* record_schema_version =
    "INSERT INTO schema_version (version, applied_at, description) VALUES (?1, ?2, ?3)";

// Version 1.
inline constexpr const char* migration_1 = R"sql(
-- messages: one row per stored message of any kind. The content is in content_chunks; the data key
-- that opens it is wrapped_key (wrapped by key-encryption key kek_id). Shredding sets wrapped_key
-- NULL, deletes the chunks and keeps the row (state, times, reason) for the audit.
CREATE TABLE messages (
  id              TEXT    NOT NULL PRIMARY KEY,  -- queue-id-like, chosen by the caller
  kind            TEXT    NOT NULL,              -- protected | spool | notification | dsn
  state           TEXT    NOT NULL,              -- receiving | stored | locked | shredded | revoked | expired
  protection      TEXT    NOT NULL,              -- none | letter | sms | personal
  unlock_kind     TEXT    NOT NULL,              -- none | phone | identity | device
  unlock_phone    BLOB,                          -- the phone number, sealed by the caller
  unlock_identity BLOB,                          -- keyed hash of the personal identity code
  sender          TEXT    NOT NULL,              -- envelope sender, '' for <>
  team_id         TEXT,
  thread_id       TEXT,
  language        TEXT,
  size            BIGINT  NOT NULL,              -- bytes of the original message
  chunk_count     INTEGER NOT NULL DEFAULT 0,    -- set at commit
  created_at      BIGINT  NOT NULL,
  stored_at       BIGINT,                        -- commit time
  expires_at      BIGINT,                        -- expire() shreds after this
  wrapped_key     BLOB,                          -- NULL once shredded
  kek_id          INTEGER NOT NULL,
  pin_failures    INTEGER NOT NULL DEFAULT 0,    -- PIN failures over the message's life
  shredded_at     BIGINT,
  shred_reason    TEXT
);
CREATE INDEX messages_state_expires ON messages (state, expires_at);
CREATE INDEX messages_thread ON messages (thread_id);
CREATE INDEX messages_identity ON messages (unlock_identity);

-- message_recipients: the envelope recipients of a message, in order.
CREATE TABLE message_recipients (
  message_id TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,
  address    TEXT    NOT NULL,
  PRIMARY KEY (message_id, position)
);
CREATE INDEX message_recipients_address ON message_recipients (address);

-- content_chunks: the sealed content, as the pieces (≤ ~64 KiB + overhead) it was handed over in.
CREATE TABLE content_chunks (
  message_id TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,  -- 0, 1, 2 ...
  data       BLOB    NOT NULL,
  PRIMARY KEY (message_id, seq)
);

-- read_tokens: read links. Only the SHA-256 of the 256-bit link token is kept.
CREATE TABLE read_tokens (
  token_hash      BLOB    NOT NULL PRIMARY KEY,  -- 32 bytes
  message_id      TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  recipient       TEXT    NOT NULL,
  recipient_index INTEGER NOT NULL,
  purpose         TEXT    NOT NULL,              -- read | reply | device
  created_at      BIGINT  NOT NULL,
  expires_at      BIGINT  NOT NULL,
  revoked_at      BIGINT
);
CREATE INDEX read_tokens_message ON read_tokens (message_id);

-- pin_challenges: one row per PIN sent. The PIN itself is never stored, only its MAC under the
-- server key. Rows of the last hour give "PINs sent per message per hour".
CREATE TABLE pin_challenges (
  id          TEXT    NOT NULL PRIMARY KEY,      -- random, chosen by the caller
  message_id  TEXT    NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  token_hash  BLOB    NOT NULL,
  mac         BLOB    NOT NULL,
  created_at  BIGINT  NOT NULL,
  expires_at  BIGINT  NOT NULL,                  -- cut to the issue time of a newer challenge
  attempts    INTEGER NOT NULL DEFAULT 0,
  consumed_at BIGINT
);
CREATE INDEX pin_challenges_message ON pin_challenges (message_id, created_at);
CREATE INDEX pin_challenges_token ON pin_challenges (token_hash, created_at);

-- device_bindings: devices confirmed ("open on this device") for a read link of a letter.
CREATE TABLE device_bindings (
  token_hash  BLOB   NOT NULL,
  device_hash BLOB   NOT NULL,                   -- hash of the device cookie
  message_id  TEXT   NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
  created_at  BIGINT NOT NULL,
  PRIMARY KEY (token_hash, device_hash)
);
CREATE INDEX device_bindings_message ON device_bindings (message_id);

-- queue_entries: one outbound delivery (one recipient) of a message's sealed content. A worker
-- leases due entries; a lease that runs out (its holder crashed) makes the entry due again.
CREATE TABLE queue_entries (
  id               TEXT    NOT NULL PRIMARY KEY,
  message_id       TEXT    NOT NULL REFERENCES messages (id),
  sender           TEXT    NOT NULL,
  recipient        TEXT    NOT NULL,
  kind             TEXT    NOT NULL,             -- forward | notification | dsn | reply
  state            TEXT    NOT NULL,             -- queued | leased | done | failed | dropped
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT  NOT NULL,
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  last_error       TEXT,
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL
);
CREATE INDEX queue_entries_due ON queue_entries (state, next_attempt_at);
CREATE INDEX queue_entries_lease ON queue_entries (state, lease_expires_at);
CREATE INDEX queue_entries_message ON queue_entries (message_id);
CREATE INDEX queue_entries_updated ON queue_entries (state, updated_at);

-- portal_sessions: portal sessions by the hash of their cookie; data is opaque.
CREATE TABLE portal_sessions (
  id_hash      BLOB   NOT NULL PRIMARY KEY,
  data         BLOB   NOT NULL,
  created_at   BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL                   -- absolute expiry
);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
CREATE INDEX portal_sessions_seen ON portal_sessions (last_seen_at);

-- audit_log: append-only hash chain, hash = H(prev_hash || canonical encoding) (audit_chain.hpp).
-- Rows are never updated; only a retention purge deletes the oldest, after moving the checkpoint.
CREATE TABLE audit_log (
  seq        BIGINT NOT NULL PRIMARY KEY,        -- 1, 2, 3 ... assigned by the writer
  at         BIGINT NOT NULL,
  event      TEXT   NOT NULL,
  message_id TEXT,
  actor      TEXT   NOT NULL,
  outcome    TEXT   NOT NULL,
  details    TEXT   NOT NULL,                    -- JSON, no secrets
  prev_hash  BLOB   NOT NULL,
  hash       BLOB   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_message ON audit_log (message_id);

-- audit_checkpoint: at most one row, the last purged record's seq and hash, where the chain starts.
CREATE TABLE audit_checkpoint (
  id        INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  seq       BIGINT  NOT NULL,
  hash      BLOB    NOT NULL,
  purged_at BIGINT  NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_purge_only BEFORE DELETE ON audit_log
WHEN OLD.seq > (SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoint)
BEGIN
  SELECT RAISE(ABORT, 'audit_log rows are deleted only behind the checkpoint');
END;
)sql";

// Version 2: strong identification. A session's verified identity lives beside its data (NULL: not
// identified); auth_once records values that may be used only once (OpenID Connect authorization
// codes and nonces, by their SHA-256) until they could no longer be presented anyway.
inline constexpr const char* migration_2 = R"sql(
ALTER TABLE portal_sessions ADD COLUMN identity BLOB;
CREATE TABLE auth_once (
  kind       TEXT   NOT NULL,                   -- code | nonce
  value_hash BLOB   NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (kind, value_hash)
);
CREATE INDEX auth_once_expires ON auth_once (expires_at);
)sql";


// Version 3 (version 2 is the session identity and single-use sign-in values).
inline constexpr const char* migration_3 = R"sql(
-- threads: conversations between a client and a team. client_identity is the keyed hash of the
-- client's identity code when a strongly identified client started it (NULL otherwise).
CREATE TABLE threads (
  id              TEXT   NOT NULL PRIMARY KEY,
  team_id         TEXT   NOT NULL,
  client_identity BLOB,
  client_address  TEXT   NOT NULL,               -- where the client's notifications go, '' none
  language        TEXT,
  state           TEXT   NOT NULL,               -- open | closed
  expires_at      BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX threads_identity ON threads (client_identity, created_at);

-- message_claims: the staff member who opened a team message first. One row per claimed message;
-- a release deletes it, a reassignment replaces it (both audited by the caller).
CREATE TABLE message_claims (
  message_id    TEXT   NOT NULL PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
  team_id       TEXT   NOT NULL,
  staff_subject TEXT   NOT NULL,
  staff_name    TEXT   NOT NULL,
  staff_email   TEXT   NOT NULL,                 -- from the staff IdP at claim time, lower case
  claimed_at    BIGINT NOT NULL
);
)sql";

inline constexpr const char* migration_4 = R"sql(
-- staff_members: who has signed in with the staff identity provider, as of the last sign-in; the
-- team lead's reassignment offers the members of the team's group. groups: one per line.
CREATE TABLE staff_members (
  subject    TEXT   NOT NULL PRIMARY KEY,
  name       TEXT   NOT NULL,
  email      TEXT   NOT NULL,                    -- lower case
  groups     TEXT   NOT NULL,
  seen_at    BIGINT NOT NULL
);
)sql";

inline constexpr const char* upsert_staff_member = R"sql(
INSERT INTO staff_members (subject, name, email, groups, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (subject) DO UPDATE SET name = excluded.name, email = excluded.email, groups = excluded.groups,
                                    seen_at = excluded.seen_at)sql";
inline constexpr const char* select_staff_member = R"sql(
SELECT subject, name, email, groups, seen_at FROM staff_members WHERE subject = ?1)sql";
inline constexpr const char* select_staff_members = R"sql(
SELECT subject, name, email, groups, seen_at FROM staff_members ORDER BY name, subject)sql";

// ---- threads and claims ---------------------------------------------------------------------------

inline constexpr const char* insert_thread = R"sql(
INSERT INTO threads (id, team_id, client_identity, client_address, language, state, expires_at, created_at,
                     updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8))sql";
inline constexpr const char* select_thread = R"sql(
SELECT id, team_id, client_identity, client_address, language, state, expires_at, created_at, updated_at
FROM threads WHERE id = ?1)sql";
inline constexpr const char* select_threads_for_identity = R"sql(
SELECT id, team_id, client_identity, client_address, language, state, expires_at, created_at, updated_at
FROM threads WHERE client_identity = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2)sql";
inline constexpr const char* select_thread_message_ids = R"sql(
SELECT id FROM messages WHERE thread_id = ?1 AND kind NOT IN ('notification', 'dsn') AND state <> 'receiving'
ORDER BY created_at, id LIMIT ?2)sql";
inline constexpr const char* update_thread_state =
    "UPDATE threads SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2";
inline constexpr const char* insert_claim = R"sql(
INSERT INTO message_claims (message_id, team_id, staff_subject, staff_name, staff_email, claimed_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (message_id) DO NOTHING)sql";
inline constexpr const char* select_claim = R"sql(
SELECT message_id, team_id, staff_subject, staff_name, staff_email, claimed_at
FROM message_claims WHERE message_id = ?1)sql";
inline constexpr const char* delete_claim = "DELETE FROM message_claims WHERE message_id = ?1";
inline constexpr const char* reassign_claim = R"sql(
UPDATE message_claims SET staff_subject = ?2, staff_name = ?3, staff_email = ?4, claimed_at = ?5
WHERE message_id = ?1)sql";

// ---- messages -------------------------------------------------------------------------------------

inline constexpr const char* insert_message = R"sql(
INSERT INTO messages (id, kind, state, protection, unlock_kind, unlock_phone, unlock_identity, sender,
                      team_id, thread_id, language, size, created_at, stored_at, expires_at, wrapped_key,
                      kek_id)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17))sql";
inline constexpr const char* insert_recipient =
    "INSERT INTO message_recipients (message_id, position, address) VALUES (?1, ?2, ?3)";
inline constexpr const char* delete_recipients = "DELETE FROM message_recipients WHERE message_id = ?1";
inline constexpr const char* update_message_meta = R"sql(
UPDATE messages SET kind = ?2, protection = ?3, unlock_kind = ?4, unlock_phone = ?5, unlock_identity = ?6,
                    sender = ?7, team_id = ?8, thread_id = ?9, language = ?10, expires_at = ?11,
                    wrapped_key = ?12, kek_id = ?13
WHERE id = ?1)sql";
inline constexpr const char* message_state = "SELECT state FROM messages WHERE id = ?1";
inline constexpr const char* mark_stored = R"sql(
UPDATE messages SET state = 'stored', stored_at = ?2, size = ?3,
       chunk_count = (SELECT COUNT(*) FROM content_chunks WHERE message_id = ?1)
WHERE id = ?1 AND state = 'receiving')sql";
inline constexpr const char* select_message = R"sql(
SELECT id, kind, state, protection, unlock_kind, unlock_phone, unlock_identity, sender, team_id, thread_id,
       language, size, chunk_count, created_at, stored_at, expires_at, wrapped_key, kek_id, pin_failures,
       shredded_at, shred_reason
FROM messages WHERE id = ?1)sql";
inline constexpr const char* select_recipients =
    "SELECT address FROM message_recipients WHERE message_id = ?1 ORDER BY position";
inline constexpr const char* delete_receiving_message = "DELETE FROM messages WHERE id = ?1 AND state = 'receiving'";
inline constexpr const char* delete_all_receiving = "DELETE FROM messages WHERE state = 'receiving'";
inline constexpr const char* set_message_state = "UPDATE messages SET state = ?3 WHERE id = ?1 AND state = ?2";

inline constexpr const char* next_chunk_seq =
    "SELECT COALESCE(MAX(seq) + 1, 0) FROM content_chunks WHERE message_id = ?1";
inline constexpr const char* insert_chunk = "INSERT INTO content_chunks (message_id, seq, data) VALUES (?1, ?2, ?3)";
inline constexpr const char* select_chunks =
    "SELECT seq, data FROM content_chunks WHERE message_id = ?1 ORDER BY seq";
inline constexpr const char* select_chunk = "SELECT data FROM content_chunks WHERE message_id = ?1 AND seq = ?2";

// Shredding.
inline constexpr const char* shred_message = R"sql(
UPDATE messages SET wrapped_key = NULL, state = ?2, shredded_at = ?3, shred_reason = ?4
WHERE id = ?1 AND state NOT IN ('receiving', 'shredded', 'revoked', 'expired'))sql";
inline constexpr const char* delete_chunks = "DELETE FROM content_chunks WHERE message_id = ?1";
inline constexpr const char* delete_message_tokens = "DELETE FROM read_tokens WHERE message_id = ?1";
inline constexpr const char* delete_message_pins = "DELETE FROM pin_challenges WHERE message_id = ?1";
inline constexpr const char* delete_message_devices = "DELETE FROM device_bindings WHERE message_id = ?1";
inline constexpr const char* drop_message_queue = R"sql(
UPDATE queue_entries SET state = 'dropped', lease_owner = NULL, lease_expires_at = NULL, last_error = ?2,
       updated_at = ?3
WHERE message_id = ?1 AND state IN ('queued', 'leased'))sql";
inline constexpr const char* select_expired = R"sql(
SELECT id FROM messages
WHERE state IN ('stored', 'locked') AND expires_at IS NOT NULL AND expires_at <= ?1
ORDER BY expires_at, id LIMIT ?2)sql";

// Rewrap.
inline constexpr const char* select_wrapped_keys = R"sql(
SELECT id, kek_id, wrapped_key FROM messages
WHERE id > ?1 AND wrapped_key IS NOT NULL AND (?3 IS NULL OR kek_id <> ?3)
ORDER BY id LIMIT ?2)sql";
inline constexpr const char* rewrap_key = R"sql(
UPDATE messages SET wrapped_key = ?3, kek_id = ?4
WHERE id = ?1 AND kek_id = ?2 AND wrapped_key IS NOT NULL)sql";

// ---- read tokens ----------------------------------------------------------------------------------

inline constexpr const char* insert_token = R"sql(
INSERT INTO read_tokens (token_hash, message_id, recipient, recipient_index, purpose, created_at, expires_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7))sql";
inline constexpr const char* select_token = R"sql(
SELECT token_hash, message_id, recipient, recipient_index, purpose, created_at, expires_at, revoked_at
FROM read_tokens WHERE token_hash = ?1)sql";
inline constexpr const char* revoke_token =
    "UPDATE read_tokens SET revoked_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL";
inline constexpr const char* revoke_message_tokens =
    "UPDATE read_tokens SET revoked_at = ?2 WHERE message_id = ?1 AND revoked_at IS NULL";

// ---- PIN challenges -------------------------------------------------------------------------------

inline constexpr const char* count_pins_since =
    "SELECT COUNT(*) FROM pin_challenges WHERE message_id = ?1 AND created_at > ?2";
inline constexpr const char* message_pin_failures = "SELECT pin_failures, state FROM messages WHERE id = ?1";
inline constexpr const char* close_open_pins = R"sql(
UPDATE pin_challenges SET expires_at = ?2
WHERE token_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2)sql";
inline constexpr const char* insert_pin = R"sql(
INSERT INTO pin_challenges (id, message_id, token_hash, mac, created_at, expires_at, attempts)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0))sql";
inline constexpr const char* select_pin = R"sql(
SELECT id, message_id, token_hash, mac, created_at, expires_at, attempts, consumed_at
FROM pin_challenges WHERE id = ?1)sql";
inline constexpr const char* select_open_pin = R"sql(
SELECT id, message_id, token_hash, mac, created_at, expires_at, attempts, consumed_at
FROM pin_challenges WHERE token_hash = ?1 AND consumed_at IS NULL AND expires_at > ?2
ORDER BY created_at DESC, id DESC LIMIT 1)sql";
inline constexpr const char* count_pin_attempt = "UPDATE pin_challenges SET attempts = attempts + 1 WHERE id = ?1";
inline constexpr const char* consume_pin = "UPDATE pin_challenges SET consumed_at = ?2 WHERE id = ?1";
inline constexpr const char* count_pin_failure =
    "UPDATE messages SET pin_failures = pin_failures + 1 WHERE id = ?1";

// ---- device bindings ------------------------------------------------------------------------------

// Only the first device that confirms a read link is bound (a sealed letter opens on one device).
inline constexpr const char* insert_device = R"sql(
INSERT INTO device_bindings (token_hash, device_hash, message_id, created_at)
SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM device_bindings WHERE token_hash = ?1)
ON CONFLICT (token_hash, device_hash) DO NOTHING)sql";
inline constexpr const char* select_device =
    "SELECT 1 FROM device_bindings WHERE token_hash = ?1 AND device_hash = ?2";

// ---- delivery queue -------------------------------------------------------------------------------

inline constexpr const char* insert_queue_entry = R"sql(
INSERT INTO queue_entries (id, message_id, sender, recipient, kind, state, attempts, next_attempt_at,
                           created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?5, 'queued', 0, ?6, ?7, ?7))sql";
// Due entries: queued ones whose time has come and leased ones whose lease ran out, each an
// index range (queue_entries_due, queue_entries_lease) read in order and cut at the limit; the
// store merges the two by (due, id). One ORDER BY over a UNION of both would read and sort the
// whole backlog on every lease.
inline constexpr const char* select_due_queued = R"sql(
SELECT id, next_attempt_at FROM queue_entries WHERE state = 'queued' AND next_attempt_at <= ?1
ORDER BY next_attempt_at, id LIMIT ?2)sql";
inline constexpr const char* select_due_expired = R"sql(
SELECT id, lease_expires_at FROM queue_entries WHERE state = 'leased' AND lease_expires_at <= ?1
ORDER BY lease_expires_at, id LIMIT ?2)sql";
inline constexpr const char* lease_entry = R"sql(
UPDATE queue_entries SET state = 'leased', lease_owner = ?2, lease_expires_at = ?3, attempts = attempts + 1,
       updated_at = ?4
WHERE id = ?1)sql";
inline constexpr const char* select_queue_entry = R"sql(
SELECT id, message_id, sender, recipient, kind, state, attempts, next_attempt_at, lease_owner,
       lease_expires_at, last_error, created_at, updated_at
FROM queue_entries WHERE id = ?1)sql";
inline constexpr const char* list_queue = R"sql(
SELECT id, message_id, sender, recipient, kind, state, attempts, next_attempt_at, lease_owner,
       lease_expires_at, last_error, created_at, updated_at
FROM queue_entries WHERE id > ?1 AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3)sql";
inline constexpr const char* complete_entry = R"sql(
UPDATE queue_entries SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?3
WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2)sql";
inline constexpr const char* defer_entry = R"sql(
UPDATE queue_entries SET state = 'queued', next_attempt_at = ?3, last_error = ?4, lease_owner = NULL,
       lease_expires_at = NULL, updated_at = ?5
WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2)sql";
inline constexpr const char* fail_entry = R"sql(
UPDATE queue_entries SET state = 'failed', last_error = ?3, lease_owner = NULL, lease_expires_at = NULL,
       updated_at = ?4
WHERE id = ?1 AND state = 'leased' AND lease_owner = ?2)sql";
inline constexpr const char* retry_entry = R"sql(
UPDATE queue_entries SET state = 'queued', next_attempt_at = ?2, lease_owner = NULL, lease_expires_at = NULL,
       updated_at = ?2
WHERE id = ?1 AND (state IN ('queued', 'failed') OR (state = 'leased' AND lease_expires_at <= ?2)))sql";
inline constexpr const char* drop_entry = R"sql(
UPDATE queue_entries SET state = 'dropped', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2
WHERE id = ?1 AND state IN ('queued', 'leased', 'failed'))sql";
inline constexpr const char* count_pending =
    "SELECT COUNT(*) FROM queue_entries WHERE message_id = ?1 AND state IN ('queued', 'leased')";
inline constexpr const char* release_leases = R"sql(
UPDATE queue_entries SET state = 'queued', lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2
WHERE state = 'leased' AND substr(lease_owner, 1, length(?1)) = ?1)sql";
inline constexpr const char* purge_queue =
    "DELETE FROM queue_entries WHERE state IN ('done', 'failed', 'dropped') AND updated_at < ?1";

// ---- portal sessions ------------------------------------------------------------------------------

inline constexpr const char* insert_session = R"sql(
INSERT INTO portal_sessions (id_hash, data, created_at, last_seen_at, expires_at, identity)
VALUES (?1, ?2, ?3, ?3, ?4, ?5))sql";
inline constexpr const char* select_session = R"sql(
SELECT id_hash, data, created_at, last_seen_at, expires_at, identity FROM portal_sessions
WHERE id_hash = ?1 AND expires_at > ?2)sql";
inline constexpr const char* set_session_identity =
    "UPDATE portal_sessions SET last_seen_at = ?2, identity = ?3 WHERE id_hash = ?1";
inline constexpr const char* insert_auth_once = R"sql(
INSERT INTO auth_once (kind, value_hash, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING)sql";
// Retention of conversations (purge_conversations). The shredded states: shredded, revoked, expired.
inline constexpr const char* purge_claims = R"sql(
DELETE FROM message_claims WHERE message_id IN
  (SELECT id FROM messages WHERE state IN ('shredded', 'revoked', 'expired')))sql";
inline constexpr const char* purge_threads = R"sql(
DELETE FROM threads WHERE NOT EXISTS
  (SELECT 1 FROM messages m WHERE m.thread_id = threads.id AND m.state NOT IN ('shredded', 'revoked', 'expired')))sql";
inline constexpr const char* purge_staff_members = "DELETE FROM staff_members WHERE seen_at < ?1";
inline constexpr const char* purge_auth_once = "DELETE FROM auth_once WHERE expires_at <= ?1";
inline constexpr const char* touch_session = "UPDATE portal_sessions SET last_seen_at = ?2 WHERE id_hash = ?1";
inline constexpr const char* touch_session_data =
    "UPDATE portal_sessions SET last_seen_at = ?2, data = ?3 WHERE id_hash = ?1";
inline constexpr const char* delete_session = "DELETE FROM portal_sessions WHERE id_hash = ?1";
inline constexpr const char* purge_sessions =
    "DELETE FROM portal_sessions WHERE expires_at <= ?1 OR last_seen_at < ?2";

// ---- audit log ------------------------------------------------------------------------------------

inline constexpr const char* audit_last = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";
inline constexpr const char* select_checkpoint = "SELECT seq, hash, purged_at FROM audit_checkpoint WHERE id = 1";
inline constexpr const char* insert_audit = R"sql(
INSERT INTO audit_log (seq, at, event, message_id, actor, outcome, details, prev_hash, hash)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9))sql";
inline constexpr const char* select_audit_after = R"sql(
SELECT seq, at, event, message_id, actor, outcome, details, prev_hash, hash
FROM audit_log WHERE seq > ?1 ORDER BY seq)sql";
inline constexpr const char* first_audit_at_or_after = "SELECT MIN(seq) FROM audit_log WHERE at >= ?1";
inline constexpr const char* audit_max_seq = "SELECT MAX(seq) FROM audit_log";
inline constexpr const char* audit_record_hash = "SELECT hash FROM audit_log WHERE seq = ?1";
inline constexpr const char* count_audit_through = "SELECT COUNT(*) FROM audit_log WHERE seq <= ?1";
inline constexpr const char* upsert_checkpoint = R"sql(
INSERT INTO audit_checkpoint (id, seq, hash, purged_at) VALUES (1, ?1, ?2, ?3)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, purged_at = excluded.purged_at)sql";
inline constexpr const char* delete_audit_through = "DELETE FROM audit_log WHERE seq <= ?1";

}  // namespace sinetti::store::sqlite::sql
