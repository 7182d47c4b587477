-- Advertising templates (issue 26, docs/templates.md): a template marked as
-- advertising (정보통신망법 §50) must start its subject (e-mail) or text (SMS)
-- with "(광고)" and tell how to opt out in its body; the template check
-- enforces it when the flag is set.
ALTER TABLE message_templates
  ADD COLUMN advertising TINYINT(1) NOT NULL DEFAULT 0 COMMENT 'an advertising notice: (광고) and an opt-out required'
  AFTER purpose;
