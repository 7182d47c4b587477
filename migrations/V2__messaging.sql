-- Messaging: the mock providers' ledger and what a worker records about a
-- rendered message.

-- The mock providers' record of accepted sends (the "provider side").  The
-- message id is the provider idempotency key: a second send of the same
-- message is answered "already accepted" and counted, never delivered again.
CREATE TABLE message_ledger (
  message_id         BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  channel            ENUM('EMAIL','SMS') NOT NULL,
  kind               ENUM('EMAIL','SMS','LMS') NOT NULL,
  destination_masked VARCHAR(200) NOT NULL,
  bytes              INT NOT NULL,
  attempt_no         INT NOT NULL,
  worker             VARCHAR(128) NOT NULL DEFAULT '',
  maildir_file       VARCHAR(255) NULL,
  duplicate_requests INT NOT NULL DEFAULT 0 COMMENT 'later sends of the same message, refused',
  accepted_at        DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY ix_ledger_accepted (accepted_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

ALTER TABLE messages
  ADD COLUMN kind ENUM('EMAIL','SMS','LMS') NULL COMMENT 'set when rendered' AFTER channel,
  ADD COLUMN bytes INT NULL COMMENT 'rendered size (SMS/LMS: EUC-KR bytes)' AFTER kind,
  ADD COLUMN claim_token VARCHAR(64) NULL COMMENT 'attempt holding PROCESSING' AFTER status,
  ADD COLUMN claimed_at DATETIME(3) NULL AFTER claim_token,
  ADD COLUMN policy_attempts INT NOT NULL DEFAULT 0 COMMENT 'attempts the retry policy counts (a manual retry resets it)' AFTER attempts,
  ADD COLUMN deliveries INT NOT NULL DEFAULT 0 COMMENT 'claims that did not complete (crashes)' AFTER policy_attempts,
  ADD COLUMN params_json JSON NULL COMMENT 'extra template variables (manual/NOTICE sends)',
  ADD KEY ix_messages_template (template_id, requested_at);
-- No index on claim_token / claimed_at / processed_at: every index that holds a
-- column the worker changes costs a write per state change.  A PROCESSING row's
-- lease expiry is kept in next_attempt_at, so ix_messages_status (status,
-- next_attempt_at) serves the stale sweep as well.
