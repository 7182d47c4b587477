-- Real e-mail delivery (docs/email.md): final statuses of bounced and
-- suppressed e-mails, the suppression list, and the DSNs read.
ALTER TABLE messages
  MODIFY status ENUM('WAITING','PROCESSING','SUCCESS','FAILED','EXCEEDED','DEAD','BOUNCED','SUPPRESSED')
    NOT NULL DEFAULT 'WAITING';

-- Addresses never e-mailed again: the blind index of the address (as
-- users.email_bidx), never the address itself.
CREATE TABLE email_suppressions (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  address_hash   BINARY(16) NOT NULL,
  address_masked VARCHAR(200) NOT NULL DEFAULT '',
  reason         ENUM('HARD_BOUNCE','COMPLAINT','UNSUBSCRIBE','MANUAL') NOT NULL,
  detail         VARCHAR(255) NULL COMMENT 'scrubbed: SMTP status, DSN status, note',
  message_id     BIGINT UNSIGNED NULL COMMENT 'the message that caused it',
  created_by     VARCHAR(128) NOT NULL DEFAULT 'system',
  created_at     DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_suppressions_hash (address_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every DSN file read from the bounce Maildir, once (file name unique):
-- what it meant, or why it was kept aside.
CREATE TABLE email_bounces (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  file        VARCHAR(255) NOT NULL,
  message_id  BIGINT UNSIGNED NULL,
  outcome     ENUM('HARD','SOFT','IGNORED','REJECTED') NOT NULL,
  status      VARCHAR(16) NULL COMMENT 'DSN Status: 5.1.1',
  reason      VARCHAR(255) NULL,
  received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_bounces_file (file),
  KEY ix_bounces_message (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
