-- libbilling schema, version 1.
-- All DATETIME columns hold Asia/Seoul wall-clock time (sessions run with
-- time_zone '+09:00'; Korea has no daylight saving).  Money is BIGINT won.
-- Statuses are ENUMs: the set is small, fixed by the code, and shows readable
-- values in plain SQL; adding one is a migration.

CREATE TABLE users (
  id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name              VARCHAR(100) NOT NULL,
  phone_enc         VARBINARY(96)  NOT NULL COMMENT 'XChaCha20-Poly1305: nonce||ciphertext',
  phone_bidx        BINARY(16)     NOT NULL COMMENT 'keyed BLAKE2b of the digits',
  email_enc         VARBINARY(400) NOT NULL,
  email_bidx        BINARY(16)     NOT NULL,
  preferred_channel ENUM('EMAIL','SMS') NOT NULL DEFAULT 'EMAIL',
  consent_email     TINYINT(1) NOT NULL DEFAULT 1,
  consent_sms       TINYINT(1) NOT NULL DEFAULT 1,
  created_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uk_users_phone (phone_bidx),
  UNIQUE KEY uk_users_email (email_bidx),
  KEY ix_users_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The product catalogue (uplus_services in the original).
CREATE TABLE services (
  id    INT UNSIGNED NOT NULL PRIMARY KEY,
  code  VARCHAR(40)  NOT NULL,
  name  VARCHAR(100) NOT NULL,
  type  ENUM('PLAN','VAS','MCP') NOT NULL COMMENT 'PLAN 요금제, VAS 부가서비스, MCP 소액결제',
  price BIGINT NOT NULL,
  UNIQUE KEY uk_services_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Target groups.  kind ALL is USER_ALL: every subscriber, without member rows.
CREATE TABLE user_groups (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code        VARCHAR(40)  NOT NULL,
  name        VARCHAR(100) NOT NULL,
  description VARCHAR(500) NOT NULL DEFAULT '',
  kind        ENUM('STATIC','ALL') NOT NULL DEFAULT 'STATIC',
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uk_user_groups_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE user_group_members (
  group_id BIGINT UNSIGNED NOT NULL,
  user_id  BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (group_id, user_id),
  KEY ix_members_user (user_id)
) ENGINE=InnoDB;

-- One row per charged service per month.  service_id is not a foreign key on
-- purpose: rows naming an unknown service exist in real feeds and the batch
-- reports them (UNKNOWN_SERVICE).
CREATE TABLE charged_histories (
  id                      BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id                 BIGINT UNSIGNED NOT NULL,
  service_id              INT UNSIGNED NOT NULL,
  created_at              DATETIME NOT NULL,
  charged_price           BIGINT NOT NULL,
  contract_discount_price BIGINT NOT NULL DEFAULT 0 COMMENT '선택약정',
  bundled_discount_price  BIGINT NOT NULL DEFAULT 0 COMMENT '결합',
  premier_discount_price  BIGINT NOT NULL DEFAULT 0 COMMENT '멤버십',
  KEY ix_charges_user_time (user_id, created_at),
  KEY ix_charges_time (created_at)
) ENGINE=InnoDB;

-- Batch runs (정산 배치 실행 이력).  active_month is set only while the run is
-- STARTED, and its unique key allows one active run per month.
CREATE TABLE batch_runs (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  target_month    VARCHAR(7) NOT NULL,
  mode            ENUM('NORMAL','FAILED_ONLY','DRY_RUN','REISSUE') NOT NULL DEFAULT 'NORMAL',
  status          ENUM('STARTED','COMPLETED','FAILED','STOPPED') NOT NULL DEFAULT 'STARTED',
  created_by      ENUM('AUTO','ADMIN') NOT NULL DEFAULT 'ADMIN',
  partitions      INT NOT NULL DEFAULT 1,
  chunk_size      INT NOT NULL DEFAULT 1000,
  owner           VARCHAR(128) NOT NULL DEFAULT '' COMMENT 'host:pid of the process driving the run',
  lock_name       VARCHAR(64)  NOT NULL DEFAULT '' COMMENT 'GET_LOCK name held by the owner',
  stop_requested  TINYINT(1) NOT NULL DEFAULT 0,
  planned         TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'chunks and total_count written',
  started_at      DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  ended_at        DATETIME(3) NULL,
  duration_ms     BIGINT NULL,
  total_count     BIGINT NOT NULL DEFAULT 0,
  processed_count BIGINT NOT NULL DEFAULT 0,
  issued_count    BIGINT NOT NULL DEFAULT 0,
  skipped_count   BIGINT NOT NULL DEFAULT 0,
  failed_count    BIGINT NOT NULL DEFAULT 0,
  usage_sum       BIGINT NOT NULL DEFAULT 0,
  discount_sum    BIGINT NOT NULL DEFAULT 0,
  vat_sum         BIGINT NOT NULL DEFAULT 0,
  billed_sum      BIGINT NOT NULL DEFAULT 0,
  fail_reason     VARCHAR(500) NULL,
  active_month    VARCHAR(7) AS (IF(status = 'STARTED', target_month, NULL)) STORED,
  UNIQUE KEY uk_batch_runs_active (active_month),
  KEY ix_batch_runs_month (target_month, id),
  KEY ix_batch_runs_status (status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The checkpoint: a run's work split in chunks of subscriber ids
-- (from_user_id, to_user_id]; a chunk turns DONE in the same transaction that
-- writes its statements.
CREATE TABLE batch_chunks (
  run_id       BIGINT UNSIGNED NOT NULL,
  chunk_no     INT NOT NULL,
  from_user_id BIGINT UNSIGNED NOT NULL COMMENT 'exclusive',
  to_user_id   BIGINT UNSIGNED NOT NULL COMMENT 'inclusive',
  user_count   INT NOT NULL,
  status       ENUM('PENDING','DONE') NOT NULL DEFAULT 'PENDING',
  worker       VARCHAR(128) NULL,
  done_at      DATETIME(3) NULL,
  PRIMARY KEY (run_id, chunk_no),
  KEY ix_batch_chunks_pending (run_id, status, chunk_no)
) ENGINE=InnoDB;

-- Subscribers a run could not bill, with the reason (rule 10).
CREATE TABLE batch_failures (
  run_id       BIGINT UNSIGNED NOT NULL,
  user_id      BIGINT UNSIGNED NOT NULL,
  target_month CHAR(7) NOT NULL,
  reason       ENUM('INVALID_CHARGE','UNKNOWN_SERVICE') NOT NULL,
  detail       VARCHAR(255) NOT NULL DEFAULT '',
  created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (run_id, user_id),
  KEY ix_batch_failures_month (target_month, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A scheduler's claim of "the monthly run of this month was started".
CREATE TABLE schedule_claims (
  name       VARCHAR(64) NOT NULL PRIMARY KEY,
  claimed_by VARCHAR(128) NOT NULL,
  claimed_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
) ENGINE=InnoDB;

-- Statements (정산서): one per (subscriber, month).
CREATE TABLE statements (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id          BIGINT UNSIGNED NOT NULL,
  target_month     CHAR(7) NOT NULL,
  batch_run_id     BIGINT UNSIGNED NOT NULL,
  version          INT NOT NULL DEFAULT 1 COMMENT 'bumped by each reissue',
  usage_amount     BIGINT NOT NULL,
  discount_amount  BIGINT NOT NULL,
  net_amount       BIGINT NOT NULL,
  taxable_amount   BIGINT NOT NULL,
  vat_amount       BIGINT NOT NULL,
  total_amount     BIGINT NOT NULL,
  billed_amount    BIGINT NOT NULL,
  truncated_amount BIGINT NOT NULL,
  due_date         DATE NOT NULL,
  line_count       INT NOT NULL,
  issued_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY uk_statements_month_user (target_month, user_id),
  KEY ix_statements_user (user_id, target_month),
  KEY ix_statements_run (batch_run_id),
  KEY ix_statements_month_billed (target_month, billed_amount)
) ENGINE=InnoDB;

CREATE TABLE statement_lines (
  statement_id      BIGINT UNSIGNED NOT NULL,
  line_no           SMALLINT UNSIGNED NOT NULL,
  charge_id         BIGINT UNSIGNED NOT NULL,
  service_id        INT UNSIGNED NOT NULL,
  service_type      ENUM('PLAN','VAS','MCP') NOT NULL,
  price             BIGINT NOT NULL,
  contract_discount BIGINT NOT NULL,
  bundle_discount   BIGINT NOT NULL,
  premier_discount  BIGINT NOT NULL,
  discount          BIGINT NOT NULL,
  net               BIGINT NOT NULL,
  PRIMARY KEY (statement_id, line_no)
) ENGINE=InnoDB;

-- Message templates, versioned: a row per (code, version); saving creates a
-- new version, messages keep the version they were rendered from.
CREATE TABLE message_templates (
  id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code           VARCHAR(64)  NOT NULL,
  version        INT NOT NULL,
  name           VARCHAR(200) NOT NULL,
  channel        ENUM('EMAIL','SMS') NOT NULL,
  purpose        ENUM('BILLING','NOTICE') NOT NULL,
  subject        VARCHAR(500) NULL COMMENT 'EMAIL only',
  body_html      MEDIUMTEXT NULL COMMENT 'EMAIL only',
  body_text      MEDIUMTEXT NOT NULL,
  variables_json JSON NOT NULL,
  enabled        TINYINT(1) NOT NULL DEFAULT 1,
  created_at     DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  created_by     VARCHAR(64) NOT NULL DEFAULT 'system',
  UNIQUE KEY uk_templates_code_version (code, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Reservations (예약 발송).
CREATE TABLE message_reservations (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  scheduled_at DATETIME NOT NULL,
  status       ENUM('WAITING','PROCESSING','SENT','CANCELED') NOT NULL DEFAULT 'WAITING',
  channel      ENUM('EMAIL','SMS') NOT NULL,
  template_id  BIGINT UNSIGNED NOT NULL,
  user_group_id BIGINT UNSIGNED NULL,
  target_month CHAR(7) NULL,
  batch_run_id BIGINT UNSIGNED NULL,
  expanded_to_user_id BIGINT UNSIGNED NOT NULL DEFAULT 0 COMMENT 'expansion checkpoint',
  message_count BIGINT NOT NULL DEFAULT 0,
  created_by   VARCHAR(64) NOT NULL DEFAULT 'system',
  created_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at   DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  KEY ix_reservations_due (status, scheduled_at),
  UNIQUE KEY uk_reservations_run (batch_run_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Messages: the send requests and the outbox (message_send_results in the
-- original).  idempotency_key makes every enqueue path exactly-once.
CREATE TABLE messages (
  id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  idempotency_key VARCHAR(128) NOT NULL,
  user_id         BIGINT UNSIGNED NOT NULL,
  statement_id    BIGINT UNSIGNED NULL,
  reservation_id  BIGINT UNSIGNED NULL,
  template_id     BIGINT UNSIGNED NOT NULL,
  channel         ENUM('EMAIL','SMS') NOT NULL,
  purpose         ENUM('BILLING','NOTICE') NOT NULL,
  status          ENUM('WAITING','PROCESSING','SUCCESS','FAILED','EXCEEDED','DEAD') NOT NULL DEFAULT 'WAITING',
  attempts        INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  published_at    DATETIME(3) NULL COMMENT 'outbox: NULL until XADDed',
  last_error      VARCHAR(500) NULL,
  fallback_of     BIGINT UNSIGNED NULL COMMENT 'EMAIL message this SMS replaces',
  requested_at    DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  processed_at    DATETIME(3) NULL,
  UNIQUE KEY uk_messages_idem (idempotency_key),
  KEY ix_messages_outbox (published_at, status, next_attempt_at),
  KEY ix_messages_status (status, next_attempt_at),
  KEY ix_messages_user (user_id, requested_at),
  KEY ix_messages_statement (statement_id),
  KEY ix_messages_reservation (reservation_id),
  KEY ix_messages_requested (requested_at)
) ENGINE=InnoDB;

CREATE TABLE message_attempts (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id  BIGINT UNSIGNED NOT NULL,
  attempt_no  INT NOT NULL,
  channel     ENUM('EMAIL','SMS') NOT NULL,
  status      ENUM('SUCCESS','FAILED') NOT NULL,
  error       VARCHAR(500) NULL,
  worker      VARCHAR(128) NOT NULL DEFAULT '',
  started_at  DATETIME(3) NOT NULL,
  finished_at DATETIME(3) NOT NULL,
  UNIQUE KEY uk_attempts_message (message_id, attempt_no),
  KEY ix_attempts_finished (finished_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE admin_users (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username      VARCHAR(64) NOT NULL,
  password_hash VARCHAR(255) NOT NULL COMMENT 'argon2id (libsodium crypto_pwhash_str)',
  role          ENUM('ADMIN','OPERATOR','VIEWER') NOT NULL DEFAULT 'ADMIN',
  disabled      TINYINT(1) NOT NULL DEFAULT 0,
  created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  last_login_at DATETIME NULL,
  UNIQUE KEY uk_admin_users_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO user_groups (code, name, description, kind)
VALUES ('USER_ALL', '전체 고객', 'Every subscriber (default group)', 'ALL');
