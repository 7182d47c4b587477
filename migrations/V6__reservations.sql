-- Reservations (예약 발송): what the expansion records beside its checkpoint
-- (expanded_to_user_id, message_count are in V1).
ALTER TABLE message_reservations
  ADD COLUMN params_json JSON NULL COMMENT 'extra template variables of every message (group targets)' AFTER target_month,
  ADD COLUMN skipped_count BIGINT NOT NULL DEFAULT 0 COMMENT 'targets without consent for the channel' AFTER message_count,
  ADD COLUMN claimed_by VARCHAR(128) NULL COMMENT 'host:pid that claimed (or took over) the expansion' AFTER skipped_count,
  ADD COLUMN started_at DATETIME(3) NULL COMMENT 'WAITING -> PROCESSING' AFTER claimed_by,
  ADD COLUMN finished_at DATETIME(3) NULL COMMENT 'PROCESSING -> SENT' AFTER started_at,
  ADD COLUMN canceled_at DATETIME(3) NULL AFTER finished_at;
