-- The audit log of admin actions (billing-httpd, billing-cli): who did what to
-- which object, with free-form JSON detail.  Append-only; read newest first.
CREATE TABLE audit_log (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at          DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  actor       VARCHAR(128) NOT NULL COMMENT 'admin username, or cli:<login>',
  action      VARCHAR(64)  NOT NULL COMMENT 'e.g. template.save, group.add, login.failed',
  target      VARCHAR(255) NOT NULL DEFAULT '',
  detail_json JSON NULL,
  KEY ix_audit_at (at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
