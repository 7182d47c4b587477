-- Real SMS delivery (docs/senders.md, "SMS gateways"): the carrier's answer
-- as final message statuses, the gateway's request id on the ledger and the
-- attempt, every delivery result received, and the providers' breakers.
ALTER TABLE messages
  MODIFY status ENUM('WAITING','PROCESSING','SUCCESS','FAILED','EXCEEDED','DEAD','BOUNCED','SUPPRESSED',
                     'DELIVERED','UNDELIVERED') NOT NULL DEFAULT 'WAITING';

-- The accept of a gateway: which provider took it and under which request
-- id; the delivery result once known (NULL: accepted, no result yet).
ALTER TABLE message_ledger
  ADD COLUMN provider VARCHAR(32) NULL COMMENT 'SMS gateway that accepted it (NULL: mock)',
  ADD COLUMN request_id VARCHAR(100) NULL COMMENT 'the gateway''s request id',
  ADD COLUMN result ENUM('DELIVERED','UNDELIVERED') NULL,
  ADD COLUMN result_code VARCHAR(32) NULL COMMENT 'carrier result code',
  ADD COLUMN result_at DATETIME(3) NULL,
  ADD KEY ix_ledger_request (provider, request_id),
  ADD KEY ix_ledger_pending (provider, result, accepted_at);

ALTER TABLE message_attempts
  ADD COLUMN provider VARCHAR(32) NULL COMMENT 'SMS gateway of the attempt',
  ADD COLUMN request_id VARCHAR(100) NULL COMMENT 'the gateway''s request id (accepted)',
  ADD COLUMN result VARCHAR(16) NULL COMMENT 'DELIVERED / UNDELIVERED',
  ADD COLUMN result_code VARCHAR(32) NULL;

-- Every delivery result read (poll) or received (webhook), once per
-- (provider, request id, result): a replay is counted, never applied again.
CREATE TABLE sms_results (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  provider    VARCHAR(32) NOT NULL,
  request_id  VARCHAR(100) NOT NULL,
  result      ENUM('DELIVERED','UNDELIVERED') NOT NULL,
  result_code VARCHAR(32) NULL,
  source      ENUM('POLL','WEBHOOK') NOT NULL,
  message_id  BIGINT UNSIGNED NULL,
  outcome     ENUM('APPLIED','RETRY','IGNORED','UNKNOWN') NOT NULL,
  reason      VARCHAR(255) NULL,
  repeats     INT NOT NULL DEFAULT 0,
  received_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE KEY uk_sms_results (provider, request_id, result),
  KEY ix_sms_results_message (message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The circuit breaker of each provider as the workers last saw it (for
-- /metrics and the dashboard; the workers decide from their own memory).
CREATE TABLE sms_provider_state (
  provider     VARCHAR(32) NOT NULL,
  worker       VARCHAR(128) NOT NULL,
  state        ENUM('CLOSED','OPEN','HALF_OPEN') NOT NULL,
  consecutive  INT NOT NULL DEFAULT 0,
  accepted     BIGINT NOT NULL DEFAULT 0,
  transient    BIGINT NOT NULL DEFAULT 0,
  permanent    BIGINT NOT NULL DEFAULT 0,
  opened       BIGINT NOT NULL DEFAULT 0 COMMENT 'times the breaker opened',
  updated_at   DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (provider, worker)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
