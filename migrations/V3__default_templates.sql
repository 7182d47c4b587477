-- Default message templates (version 1).  The syntax and the data model are
-- documented in docs/templates.md; tests validate these rows with
-- bl_template_validate.  Later edits are new versions (bl_template_save),
-- never UPDATEs of these rows.

INSERT INTO message_templates
  (code, version, name, channel, purpose, subject, body_html, body_text, variables_json, enabled, created_by)
VALUES
('DEFAULT_BILLING_EMAIL', 1, '월 요금 명세서 (이메일)', 'EMAIL', 'BILLING',
'[LG U+] {{targetMonth|month}} 요금 명세서',
'<!DOCTYPE html>
<html lang="ko">
<head>
<meta charset="utf-8">
<title>[LG U+] {{targetMonth|month}} 요금 명세서</title>
</head>
<body style="margin:0;padding:24px;background:#f5f5f5;font-family:Apple SD Gothic Neo,Malgun Gothic,sans-serif;color:#222">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;margin:0 auto;background:#ffffff;border-collapse:collapse">
<tr><td style="padding:20px 24px;background:#e6007e;color:#ffffff;font-size:20px;font-weight:bold">LG U+ {{targetMonth|month}} 요금 명세서</td></tr>
<tr><td style="padding:24px">
<p style="margin:0 0 8px">{{userName}} 고객님, 안녕하세요.<br>{{targetMonth|month}} 이용 요금을 안내해 드립니다.</p>
<p style="margin:0 0 16px;color:#666666">회선 {{phone|mask}}</p>
<table width="100%" cellpadding="8" cellspacing="0" style="border-collapse:collapse;font-size:14px">
<thead>
<tr style="background:#f0f0f0"><th align="left">서비스</th><th align="right">이용 금액</th><th align="right">할인</th><th align="right">청구 금액</th></tr>
</thead>
<tbody>
{{#lines}}
<tr style="border-bottom:1px solid #eeeeee"><td>{{serviceName}}</td><td align="right">{{price|won}}</td><td align="right">{{discount|won}}</td><td align="right">{{net|won}}</td></tr>
{{/lines}}
{{^lines}}
<tr><td colspan="4">이용 내역이 없습니다.</td></tr>
{{/lines}}
</tbody>
</table>
<table width="100%" cellpadding="8" cellspacing="0" style="border-collapse:collapse;font-size:14px;margin-top:16px">
<tr><td>이용 금액 합계</td><td align="right">{{usageAmount|won}}</td></tr>
<tr><td>할인 합계</td><td align="right">{{totalDiscount|won}}</td></tr>
<tr><td>부가가치세</td><td align="right">{{vatAmount|won}}</td></tr>
<tr><td>10원 미만 절사액</td><td align="right">{{truncatedAmount|won}}</td></tr>
<tr style="font-weight:bold;font-size:16px;border-top:2px solid #222222"><td>청구 금액</td><td align="right">{{totalPrice|won}}</td></tr>
<tr><td>납부 기한</td><td align="right">{{dueDate|date}}</td></tr>
</table>
<p style="margin:24px 0 0;color:#888888;font-size:12px">본 메일은 발신 전용입니다. 문의: 고객센터 114 (LG U+ 휴대폰에서 무료)</p>
</td></tr>
</table>
</body>
</html>
',
'[LG U+] {{targetMonth|month}} 요금 명세서

{{userName}} 고객님, 안녕하세요.
{{targetMonth|month}} 이용 요금을 안내해 드립니다. (회선 {{phone|mask}})

[이용 내역]
{{#lines}}
- {{serviceName}}: {{price|won}} (할인 {{discount|won}}) = {{net|won}}
{{/lines}}

이용 금액 합계: {{usageAmount|won}}
할인 합계: {{totalDiscount|won}}
부가가치세: {{vatAmount|won}}
10원 미만 절사액: {{truncatedAmount|won}}
청구 금액: {{totalPrice|won}}
납부 기한: {{dueDate|date}}

본 메일은 발신 전용입니다. 문의: 고객센터 114 (LG U+ 휴대폰에서 무료)
',
'{"userName":{"type":"string","required":true,"description":"고객명"},
  "phone":{"type":"string","required":true,"description":"회선 번호 (마스킹하여 표시)"},
  "targetMonth":{"type":"month","required":true,"description":"청구 월"},
  "lines":{"type":"list","required":true,"description":"서비스별 이용 내역"},
  "usageAmount":{"type":"money","required":true,"description":"이용 금액 합계"},
  "totalDiscount":{"type":"money","required":true,"description":"할인 합계"},
  "vatAmount":{"type":"money","required":true,"description":"부가가치세"},
  "truncatedAmount":{"type":"money","required":true,"description":"10원 미만 절사액"},
  "totalPrice":{"type":"money","required":true,"description":"청구 금액"},
  "dueDate":{"type":"date","required":true,"description":"납부 기한"}}',
1, 'system'),

('DEFAULT_BILLING_SMS', 1, '월 청구 금액 안내 (SMS)', 'SMS', 'BILLING',
NULL, NULL,
'[LG U+] {{userName}}님 {{targetMonth|month}} 청구금액 {{totalPrice|won}}, 납부기한 {{dueDate|date}}',
'{"userName":{"type":"string","required":true,"description":"고객명"},
  "targetMonth":{"type":"month","required":true,"description":"청구 월"},
  "totalPrice":{"type":"money","required":true,"description":"청구 금액"},
  "dueDate":{"type":"date","required":true,"description":"납부 기한"}}',
1, 'system'),

('NOTICE_MAINTENANCE_SMS', 1, '시스템 점검 안내 (SMS 예시)', 'SMS', 'NOTICE',
NULL, NULL,
'[LG U+] {{userName}}님, {{maintenanceDate|date}} {{startTime}}~{{endTime}} 시스템 점검 예정입니다.',
'{"userName":{"type":"string","required":true,"description":"고객명"},
  "maintenanceDate":{"type":"date","required":true,"description":"점검일","example":"2026-12-01"},
  "startTime":{"type":"string","required":true,"description":"시작 시각","example":"02:00"},
  "endTime":{"type":"string","required":true,"description":"종료 시각","example":"06:00"}}',
1, 'system');
