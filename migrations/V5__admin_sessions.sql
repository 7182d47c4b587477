-- Admin web sessions, shared by every billing-httpd process.  Only a hash of
-- the session id (SHA-256 of its 32 random bytes) is stored: a copy of the
-- table does not let anyone log in.  expires_at slides forward with activity
-- (BILLING_SESSION_TTL_S); expired rows are purged on login.
CREATE TABLE admin_sessions (
  id_hash      BINARY(32) NOT NULL PRIMARY KEY COMMENT 'SHA-256 of the session id',
  admin_id     BIGINT UNSIGNED NOT NULL,
  csrf_token   CHAR(64) NOT NULL COMMENT 'hex; sent back in X-CSRF-Token',
  client       VARCHAR(64) NOT NULL DEFAULT '' COMMENT 'address that logged in',
  created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at   DATETIME NOT NULL,
  last_seen_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  KEY ix_admin_sessions_expires (expires_at),
  KEY ix_admin_sessions_admin (admin_id)
) ENGINE=InnoDB;
