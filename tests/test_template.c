/*
 * Unit tests of the template engine (template*.c, smslen.c): syntax,
 * filters, escaping, sections, validation messages with line:column, SMS
 * byte counting and kinds, render throughput.  No server needed.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include "template_impl.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

/* Render src with data (JSON text) through the public pure renderer. */
static char *render(const char *src, const char *data, bool html)
{
	char *out = NULL;
	int rc = bl_template_render(src, data, html, &out);
	cr_assert_eq(rc, BL_OK, "render '%s': %s", src, bl_error_last());
	return out;
}

static void expect_render(const char *src, const char *data, bool html, const char *want)
{
	char *got = render(src, data, html);
	cr_expect_str_eq(got, want, "render '%s' with %s", src, data);
	bl_free(got);
}

/* ---- syntax ---- */

Test(syntax, variables_comments_whitespace)
{
	expect_render("안녕하세요 {{userName}}님", "{\"userName\":\"김민수\"}", false, "안녕하세요 김민수님");
	expect_render("{{ userName }}|{{userName  }}", "{\"userName\":\"A\"}", false, "A|A");
	expect_render("a{{! a comment {with} braces }}b", "{}", false, "ab");
	expect_render("absent: [{{nothing}}] null: [{{n}}]", "{\"n\":null}", false, "absent: [] null: []");
	expect_render("{{n}} {{r}} {{t}} {{f}}", "{\"n\":79700,\"r\":1.5,\"t\":true,\"f\":false}", false,
		      "79700 1.5 true false");
	expect_render("no tags at all", NULL, false, "no tags at all");
	expect_render("", "{}", false, "");
	/* single braces and lone closers are plain text when rendering (validation refuses {name}) */
	expect_render("{ color: red } }} {x}", "{\"x\":1}", false, "{ color: red } }} {x}");
}

Test(syntax, syntax_errors_name_position)
{
	char *out = NULL;
	cr_expect_eq(bl_template_render("ab\ncd {{x", "{}", false, &out), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template text:2:4: unclosed tag: '{{' without '}}'");
	/* {{{x}}} and dotted names are mustache (Test(mustache, …)); their malformed forms are not */
	cr_expect_eq(bl_template_render("ab {{{x}}", "{}", true, &out), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template html:1:4: unclosed tag: '{{{' without '}}}'");
	cr_expect_eq(bl_template_render("{{{ }}}", "{}", true, &out), BL_EINVAL);
	EXPECT_MSG("1:1: empty tag {{{}}}");
	cr_expect_eq(bl_template_render("{{a..b}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("1:1: bad tag {{a..b}}: expected a variable name");
	cr_expect_eq(bl_template_render("{{a.}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("bad tag {{a.}}");
	cr_expect_eq(bl_template_render("{{.a}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("bad tag {{.a}}");
	cr_expect_eq(bl_template_render("{{&}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("bad tag {{&}}");
	cr_expect_eq(bl_template_render("x {{}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("1:3: empty tag");
	cr_expect_eq(bl_template_render("{{> partial}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("partials");
	cr_expect_eq(bl_template_render("{{x|date:%Q}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("unknown conversion %Q");
	cr_expect_eq(bl_template_render("{{x|won:2}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("filter 'won' takes no argument");
	cr_expect_eq(bl_template_render("{{x|won|number}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("only one of");
	cr_expect_eq(bl_template_render("{{#x|won}}{{/x}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("sections take a bare name");
	cr_expect_eq(bl_template_render("{{/x}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("1:1: {{/x}} closes no open section");
	cr_expect_eq(bl_template_render("x", "[1]", false, &out), BL_EINVAL);
	EXPECT_MSG("data_json: expected a JSON object");
	cr_expect_eq(bl_template_render("x", "{bad", false, &out), BL_EINVAL);
	EXPECT_MSG("data_json: not valid JSON");
	cr_expect_null(out);
}

/* ---- filters ---- */

Test(filters, won_and_number)
{
	expect_render("{{a|won}}", "{\"a\":79700}", false, "79,700원");
	expect_render("{{a|won}}", "{\"a\":-1000}", false, "-1,000원");
	expect_render("{{a|won}}", "{\"a\":0}", false, "0원");
	expect_render("{{a|won}}", "{\"a\":999}", false, "999원");
	expect_render("{{a|won}}", "{\"a\":1234567}", false, "1,234,567원");
	expect_render("{{a|won}}", "{\"a\":-9223372036854775807}", false,
		      "-9,223,372,036,854,775,807원");
	expect_render("{{a|number}}", "{\"a\":79700}", false, "79,700");
	expect_render("{{a|number}}", "{\"a\":100}", false, "100");
	expect_render("{{a|number}}", "{\"a\":\"1000000\"}", false, "1,000,000");
	expect_render("{{a|number}}", "{\"a\":2500.0}", false, "2,500");
	/* a value the filter cannot read goes out as it is; absent is empty */
	expect_render("[{{a|won}}]", "{\"a\":\"n/a\"}", false, "[n/a]");
	expect_render("[{{a|won}}]", "{}", false, "[]");
}

Test(filters, mask_by_name_and_by_shape)
{
	expect_render("{{phone|mask}}", "{\"phone\":\"01012345678\"}", false, "010-****-5678");
	expect_render("{{email|mask}}", "{\"email\":\"kim@example.com\"}", false, "k***@example.com");
	/* by the value's shape when the name says nothing */
	expect_render("{{contact|mask}}", "{\"contact\":\"lee@example.com\"}", false, "l***@example.com");
	expect_render("{{contact|mask}}", "{\"contact\":\"010-9876-5432\"}", false, "010-****-5432");
	/* neither: masked entirely, never in clear */
	expect_render("{{contact|mask}}", "{\"contact\":\"hello\"}", false, "****");
	expect_render("{{userEmail|mask}}", "{\"userEmail\":\"Park.J@Example.COM\"}", false,
		      "p***@example.com");
}

Test(filters, dates_and_months)
{
	expect_render("{{d|date}}", "{\"d\":\"2026-11-25\"}", false, "2026년 11월 25일");
	expect_render("{{d|date}}", "{\"d\":\"2026-03-05\"}", false, "2026년 3월 5일");
	expect_render("{{d|date}}", "{\"d\":\"2026-03-05 13:45:00\"}", false, "2026년 3월 5일");
	expect_render("{{d|date:%Y.%m.%d}}", "{\"d\":\"2026-03-05\"}", false, "2026.03.05");
	expect_render("{{d|date: %-m/%-d(%a) }}", "{\"d\":\"2026-11-25\"}", false, "11/25(수)");
	expect_render("{{d|date:%y년 %m월 %d일 %A}}", "{\"d\":\"2026-03-05\"}", false,
		      "26년 03월 05일 목요일");
	expect_render("{{d|date:100%%}}", "{\"d\":\"2026-03-05\"}", false, "100%");
	expect_render("{{d|date}}", "{\"d\":\"2024-02-29\"}", false, "2024년 2월 29일");
	/* not a date: as it is */
	expect_render("{{d|date}}", "{\"d\":\"2026-02-30\"}", false, "2026-02-30");
	expect_render("{{d|date}}", "{\"d\":\"soon\"}", false, "soon");
	expect_render("{{m|month}}", "{\"m\":\"2026-10\"}", false, "2026년 10월");
	expect_render("{{m|month}}", "{\"m\":\"2026-01\"}", false, "2026년 1월");
	expect_render("{{m|month}}", "{\"m\":\"2026-10-25\"}", false, "2026년 10월");
	expect_render("{{m|month}}", "{\"m\":\"2026-13\"}", false, "2026-13");
}

/* ---- escaping ---- */

Test(escaping, html_escapes_values_not_text)
{
	const char *data = "{\"userName\":\"<script>alert('x')</script> & \\\"co\\\"\"}";
	expect_render("<b>{{userName}}</b>", data, true,
		      "<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;</b>");
	/* |raw: the value as it is */
	expect_render("{{userName|raw}}", data, true, "<script>alert('x')</script> & \"co\"");
	/* text bodies are not HTML */
	expect_render("{{userName}}", data, false, "<script>alert('x')</script> & \"co\"");
	/* filter output is escaped too (nothing to escape in it, but the path is the same) */
	expect_render("<td>{{a|won}}</td>", "{\"a\":1000}", true, "<td>1,000원</td>");
	/* attribute context: quotes are escaped, the attribute cannot be left */
	expect_render("<a title=\"{{t}}\">", "{\"t\":\"\\\" onclick=\\\"x()\"}", true,
		      "<a title=\"&quot; onclick=&quot;x()\">");
}

static bl__tpl *compile_ok(const bl_template_opts *o)
{
	cr_assert_eq(bl_template_validate(o), BL_OK, "validate: %s", bl_error_last());
	bl__tpl *t = NULL;
	cr_assert_eq(bl__tpl_compile(o, &t), BL_OK, "compile: %s", bl_error_last());
	return t;
}

static json_t *model_of(const char *s)
{
	json_error_t err;
	json_t *j = json_loads(s, 0, &err);
	cr_assert(j, "bad test JSON: %s", err.text);
	return j;
}

Test(escaping, the_public_escaper_is_the_templates)
{
	char *out = NULL;
	cr_assert_eq(bl_html_escape("a&b<c>d\"e'f 홍", &out), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(out, "a&amp;b&lt;c&gt;d&quot;e&#39;f 홍");
	bl_free(out);
	cr_assert_eq(bl_html_escape("", &out), BL_OK);
	cr_expect_str_eq(out, "");
	bl_free(out);
	cr_expect_eq(bl_html_escape(NULL, &out), BL_EINVAL);
	cr_expect_eq(bl_html_escape("x", NULL), BL_EINVAL);
	expect_render("{{v}}", "{\"v\":\"a&b<c>d\\\"e'f\"}", true, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
}

Test(escaping, subject_strips_line_breaks)
{
	bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
	o.code = "T_MAIL";
	o.name = "t";
	o.channel = BL_CHANNEL_EMAIL;
	o.subject = "[LG U+] {{userName}}님 명세서";
	o.body_html = "<p>{{userName}}</p>";
	o.body_text = "{{userName}}";
	bl__tpl *t = compile_ok(&o);
	json_t *m = model_of("{\"userName\":\"Kim\\r\\nBcc: evil@example.com\\n<x>\"}");
	bl__rendered r;
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(r.subject, "[LG U+] Kim  Bcc: evil@example.com <x>님 명세서");
	cr_expect_str_eq(r.html, "<p>Kim\r\nBcc: evil@example.com\n&lt;x&gt;</p>");
	cr_expect_str_eq(r.text, "Kim\r\nBcc: evil@example.com\n<x>");
	cr_expect_eq(r.kind, BL_KIND_EMAIL);
	cr_expect_eq(r.bytes, strlen(r.text) + strlen(r.html));
	bl__rendered_free(&r);
	json_decref(m);
	bl__tpl_free(t);
}

/* ---- sections ---- */

Test(sections, lists_scalars_inverted)
{
	const char *data = "{\"who\":\"outer\",\"lines\":[{\"serviceName\":\"A\",\"net\":1000},"
			   "{\"serviceName\":\"B\",\"net\":-500,\"who\":\"inner\"}],"
			   "\"empty\":[],\"yes\":true,\"no\":false,\"zero\":0,\"str\":\"s\",\"blank\":\"\"}";
	/* items resolve their own keys first, then the outer scope */
	expect_render("{{#lines}}[{{serviceName}} {{net|won}} {{who}}]{{/lines}}", data, false,
		      "[A 1,000원 outer][B -500원 inner]");
	expect_render("{{#yes}}Y{{/yes}}{{#no}}N{{/no}}{{#str}}S{{/str}}{{#blank}}B{{/blank}}", data,
		      false, "YS");
	expect_render("{{^absent}}1{{/absent}}{{^empty}}2{{/empty}}{{^no}}3{{/no}}{{^zero}}4{{/zero}}"
		      "{{^blank}}5{{/blank}}{{^yes}}6{{/yes}}{{^lines}}7{{/lines}}{{^str}}8{{/str}}",
		      data, false, "12345");
	expect_render("{{#empty}}never{{/empty}}", data, false, "");
	/* an object section pushes the object */
	expect_render("{{#user}}{{name}}/{{who}}{{/user}}", "{\"who\":\"o\",\"user\":{\"name\":\"N\"}}",
		      false, "N/o");
}

Test(sections, nesting)
{
	const char *data = "{\"groups\":[{\"g\":\"G1\",\"items\":[{\"i\":1},{\"i\":2}]},"
			   "{\"g\":\"G2\",\"items\":[]}],\"sep\":\",\"}";
	expect_render("{{#groups}}{{g}}:{{#items}}{{i}}{{sep}}{{/items}}{{^items}}none{{/items}};"
		      "{{/groups}}",
		      data, false, "G1:1,2,;G2:none;");
	char *out = NULL;
	cr_expect_eq(bl_template_render("{{#a}}{{#b}}{{/a}}{{/b}}", "{}", false, &out), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template text:1:13: {{/a}} does not match {{#b}} opened at 1:7");
	/* 16 levels are fine, 17 are not */
	char src[1024] = "", end[512] = "";
	for (int i = 0; i < 17; i++) {
		strcat(src, "{{#a}}");
		strcat(end, "{{/a}}");
	}
	strcat(src, end);
	cr_expect_eq(bl_template_render(src, "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("nested deeper than 16");
	cr_expect_eq(bl_template_render(src + 6, "{\"a\":true}", false, &out), BL_EINVAL);
	EXPECT_MSG("{{/a}} closes no open section");
	src[16 * 6] = '\0';
	strcat(src, end + 6);
	out = render(src, "{\"a\":[{\"a\":true}]}", false);
	cr_expect_str_eq(out, "");
	bl_free(out);
}

Test(sections, standalone_lines_vanish)
{
	const char *src = "내역:\n"
			  "{{#lines}}\n"
			  "  - {{serviceName}}\n"
			  "{{/lines}}\n"
			  "  {{! a comment line }}\n"
			  "끝\n";
	expect_render(src, "{\"lines\":[{\"serviceName\":\"A\"},{\"serviceName\":\"B\"}]}", false,
		      "내역:\n  - A\n  - B\n끝\n");
	/* not alone on its line: the line stays */
	expect_render("x {{#a}}y{{/a}}\nz", "{\"a\":true}", false, "x y\nz");
	/* CRLF line ends */
	expect_render("a\r\n{{#a}}\r\nb\r\n{{/a}}\r\nc", "{\"a\":1}", false, "a\r\nb\r\nc");
}

/* ---- validation ---- */

static bl_template_opts sms(const char *body)
{
	bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
	o.code = "T_SMS";
	o.name = "test SMS";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_BILLING;
	o.body_text = body;
	return o;
}

static bl_template_opts email(const char *subject, const char *html, const char *text)
{
	bl_template_opts o = BL_TEMPLATE_OPTS_INIT;
	o.code = "T_MAIL";
	o.name = "test e-mail";
	o.channel = BL_CHANNEL_EMAIL;
	o.subject = subject;
	o.body_html = html;
	o.body_text = text;
	return o;
}

static void expect_invalid(const bl_template_opts *o, const char *msg)
{
	cr_expect_eq(bl_template_validate(o), BL_EINVAL, "validated: expected '%s'", msg);
	cr_expect_str_eq(bl_error_last(), msg);
}

Test(validation, unknown_variables_and_filters)
{
	bl_template_opts o = sms("안녕하세요\n총 {{totl}}원");
	expect_invalid(&o, "template 'T_SMS' body_text:2:3: unknown variable {{totl}}");
	o = sms("{{usrName}}님");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: unknown variable {{usrName}} (did you mean "
			   "userName?)");
	o = sms("{{totalPrice|euro}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: unknown filter 'euro' in "
			   "{{totalPrice|euro}} (filters: won, number, mask, date, date:FORMAT, month, raw)");
	o = sms("고객 {{userName|won}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:4: filter 'won' does not apply to "
			   "{{userName}} (a string): it takes a money or number");
	o = sms("{{totalPrice|date}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: filter 'date' does not apply to "
			   "{{totalPrice}} (a money): it takes a date (YYYY-MM-DD)");
	o = sms("{{targetMonth|date}}");
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("filter 'date' does not apply to {{targetMonth}} (a month)");
	o = sms("{{phone|mask}} {{dueDate|month}} {{statementId|number}} {{billedAmount|raw}}");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o = sms("x\n\n   {{lines}}");
	expect_invalid(&o, "template 'T_SMS' body_text:3:4: {{lines}} is a list: iterate it with "
			   "{{#lines}}…{{/lines}}");
	/* item keys exist only inside their list */
	o = sms("{{#lines}}{{serviceName}} {{net|won}}{{/lines}}");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o = sms("{{#lines}}{{/lines}}{{serviceName}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:21: unknown variable {{serviceName}}");
	/* NOTICE has no statement keys */
	o = sms("{{userName}} {{totalPrice|won}}");
	o.purpose = BL_PURPOSE_NOTICE;
	expect_invalid(&o, "template 'T_SMS' body_text:1:14: unknown variable {{totalPrice}}");
}

Test(validation, sections)
{
	bl_template_opts o = email("명세서", "<p>\n{{#lines}}\n<b>{{serviceName}}</b>\n", "t");
	expect_invalid(&o, "template 'T_MAIL' body_html:2:1: section {{#lines}} is never closed "
			   "(expected {{/lines}})");
	o = email("명세서", NULL, "a\n\n  {{#lines}}{{serviceName}}{{/line}}");
	expect_invalid(&o, "template 'T_MAIL' body_text:3:28: {{/line}} does not match {{#lines}} "
			   "opened at 3:3");
	o = sms("{{#totalPrice}}x{{/totalPrice}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: section {{#totalPrice}} over a money "
			   "variable: sections take a list, a boolean or a string (test for zero with "
			   "{{^totalPrice}})");
	o = sms("{{^totalDiscount}}할인 없음{{/totalDiscount}}");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o = sms("{{#nope}}x{{/nope}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: unknown variable {{#nope}}");
}

Test(validation, single_brace_is_refused)
{
	bl_template_opts o = sms("{userName}님 안녕하세요");
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: single-brace placeholder {userName} is not "
			   "supported: write {{userName}}");
	o = sms("안녕하세요\n고객님 {totalPrice}원");
	expect_invalid(&o, "template 'T_SMS' body_text:2:5: single-brace placeholder {totalPrice} is "
			   "not supported: write {{totalPrice}}");
	/* CSS and other braces are fine */
	o = email("s", "<style>p { color: red } a{margin:0}</style>{{userName}}", "t");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
}

Test(validation, parts_and_options)
{
	bl_template_opts o = email(NULL, NULL, "text");
	expect_invalid(&o, "template 'T_MAIL' subject: required for EMAIL");
	o = email("s", "<p>x</p>", NULL);
	expect_invalid(&o, "template 'T_MAIL' body_text: required (the e-mail's text part)");
	o = email("제목\n두 줄", NULL, "t");
	expect_invalid(&o, "template 'T_MAIL' subject:1:3: line break in the subject");
	o = email("{{usrName}} 님", NULL, "t");
	expect_invalid(&o, "template 'T_MAIL' subject:1:1: unknown variable {{usrName}} (did you mean "
			   "userName?)");
	o = email("s", "<p>{{totl}}</p>", "t");
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("template 'T_MAIL' body_html:1:4: unknown variable {{totl}}");
	o = email("s", NULL, "text only");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "html is optional: %s", bl_error_last());
	o = sms("x");
	o.subject = "s";
	expect_invalid(&o, "template 'T_SMS' subject: an SMS template has no subject");
	o = sms("x");
	o.body_html = "<p>";
	expect_invalid(&o, "template 'T_SMS' body_html: an SMS template has no HTML body");
	o = sms("");
	expect_invalid(&o, "template 'T_SMS' body_text: required (the SMS text)");
	o = sms("x");
	o.code = "bad-code";
	expect_invalid(&o, "template code 'bad-code': expected 1-64 of A-Z, 0-9, _");
	o.code = "A123456789012345678901234567890123456789012345678901234567890123X"; /* 65 */
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	o = sms("x");
	o.name = "";
	expect_invalid(&o, "template 'T_SMS': name must be 1-200 characters");
	o = sms("x");
	o.channel = (bl_channel)7;
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	o = sms("x");
	o.version = 99;
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	cr_expect_eq(bl_template_validate(NULL), BL_EINVAL);
	bl_template_opts init;
	cr_expect_eq(bl_template_opts_init(&init, BL_TEMPLATE_OPTS_VERSION), BL_OK);
	cr_expect(init.enabled);
	cr_expect_eq(bl_template_opts_init(&init, BL_TEMPLATE_OPTS_VERSION + 1), BL_EINVAL);
}

Test(validation, variables_json)
{
	bl_template_opts o = sms("{{userName}}님 {{eventDate|date}} {{coupon}}");
	o.purpose = BL_PURPOSE_NOTICE;
	expect_invalid(&o, "template 'T_SMS' body_text:1:15: unknown variable {{eventDate}}");
	o.variables_json = "{\"eventDate\":{\"type\":\"date\",\"required\":true},"
			   "\"coupon\":{\"type\":\"string\"}}";
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o.variables_json = "{\"eventDate\":{\"type\":\"string\"},\"coupon\":{\"type\":\"string\"}}";
	expect_invalid(&o, "template 'T_SMS' body_text:1:15: filter 'date' does not apply to "
			   "{{eventDate}} (a string): it takes a date (YYYY-MM-DD)");
	o.variables_json = "{bad";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("template 'T_SMS' variables_json: not valid JSON at line 1");
	o.variables_json = "[]";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("template 'T_SMS' variables_json: must be an object");
	o.variables_json = "{\"eventDate\":{\"type\":\"datetime\"}}";
	expect_invalid(&o, "template 'T_SMS' variables_json: 'eventDate': type 'datetime' is not one of "
			   "string, number, money, date, month, list, boolean, object");
	o.variables_json = "{\"eventDate\":{\"type\":\"date\",\"requried\":true}}";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("unknown key 'requried'");
	o.variables_json = "{\"eventDate\":{\"type\":\"date\",\"required\":\"yes\"}}";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("\"required\" must be true or false");
	o.variables_json = "{\"bad name\":{\"type\":\"date\"}}";
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("'bad name': a variable name");
	/* a model key may be declared (to mark it required), not retyped */
	o = sms("{{totalPrice|won}}");
	o.variables_json = "{\"totalPrice\":{\"type\":\"money\",\"required\":true}}";
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o.variables_json = "{\"totalPrice\":{\"type\":\"string\"}}";
	expect_invalid(&o, "template 'T_SMS' variables_json: 'totalPrice' is a money in the BILLING "
			   "data model, declared string");
	/* declared lists with their items */
	o = email("s", "{{#coupons}}<li>{{title}} {{amount|won}}</li>{{/coupons}}", "t");
	o.purpose = BL_PURPOSE_NOTICE;
	o.variables_json = "{\"coupons\":{\"type\":\"list\",\"items\":{\"title\":{\"type\":\"string\"},"
			   "\"amount\":{\"type\":\"money\"}}}}";
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
}

Test(validation, sms_text_must_be_sendable)
{
	bl_template_opts o = sms("안녕 😀 {{userName}}");
	expect_invalid(&o, "template 'T_SMS' body_text:1:4: character U+1F600 cannot be sent by SMS "
			   "(not in EUC-KR/CP949)");
	/* Hangul outside KS X 1001's 2,350 (똠) is in CP949: fine; so are ①, ㈜, 한자 */
	o = sms("똠방각하 ① ㈜ 漢字 ~!@#");
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	/* e-mail may use anything */
	bl_template_opts e = email("🎉 {{userName}}", NULL, "😀");
	cr_expect_eq(bl_template_validate(&e), BL_OK, "%s", bl_error_last());
	/* fixed text alone over an LMS */
	char big[2200];
	memset(big, 'x', 2001);
	big[2001] = '\0';
	o = sms(big);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: the fixed text alone is 2001 bytes; LMS "
			   "allows 2000");
}

Test(validation, advertising_needs_mark_and_opt_out)
{
	/* e-mail: the subject starts with (광고), both bodies tell how to opt out */
	bl_template_opts o = email("(광고) {{userName}}님께 새 요금제", "<p>혜택 안내. 수신거부: 링크</p>",
				   "혜택 안내. 수신거부는 메일 아래 링크로.");
	o.purpose = BL_PURPOSE_NOTICE;
	o.advertising = true;
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o.subject = "새 요금제 (광고)";
	expect_invalid(&o, "template 'T_MAIL' subject:1:1: an advertising template's subject must start "
			   "with (광고) (정보통신망법 §50)");
	o.subject = "(광고) 새 요금제";
	o.body_text = "혜택 안내입니다.";
	expect_invalid(&o, "template 'T_MAIL' body_text: an advertising template must tell how to opt out "
			   "(수신거부) in its text");
	o.body_text = "수신 거부: 메일 아래 링크";
	o.body_html = "<p>혜택 안내</p>";
	expect_invalid(&o, "template 'T_MAIL' body_html: an advertising template must tell how to opt out "
			   "(수신거부) in its HTML body");
	/* not marked: no such rule */
	o.advertising = false;
	o.subject = "새 요금제";
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	/* a BILLING statement is never an advertisement */
	o = email("(광고) 청구서", NULL, "수신거부");
	o.advertising = true;
	expect_invalid(&o, "template 'T_MAIL': only a NOTICE template can be advertising (a BILLING "
			   "statement is transactional)");
	/* SMS: the text itself starts with (광고) and carries the opt-out */
	bl_template_opts s = sms("(광고) 새 요금제 안내 무료수신거부 080-000-0000");
	s.purpose = BL_PURPOSE_NOTICE;
	s.advertising = true;
	cr_expect_eq(bl_template_validate(&s), BL_OK, "%s", bl_error_last());
	s.body_text = " (광고) 새 요금제 안내 무료수신거부 080-000-0000";
	expect_invalid(&s, "template 'T_SMS' body_text:1:1: an advertising template's text must start with "
			   "(광고) (정보통신망법 §50)");
	s.body_text = "(광고) 새 요금제 안내";
	expect_invalid(&s, "template 'T_SMS' body_text: an advertising template must tell how to opt out "
			   "(수신거부) in its text");
	/* a version-2 caller has no flag: never checked */
	bl_template_opts v2;
	cr_assert_eq(bl_template_opts_init(&v2, 2), BL_OK);
	v2.code = "T_V2";
	v2.name = "v2";
	v2.channel = BL_CHANNEL_SMS;
	v2.purpose = BL_PURPOSE_NOTICE;
	v2.body_text = "새 요금제 안내";
	cr_expect_eq(bl_template_validate(&v2), BL_OK, "%s", bl_error_last());
}

/* ---- SMS bytes and kinds ---- */

Test(smslen, counts_like_carriers)
{
	size_t n = 99;
	cr_expect_eq(bl_sms_bytes("안녕하세요", &n), BL_OK);
	cr_expect_eq(n, 10);
	cr_expect_eq(bl_sms_bytes("Hello 안녕", &n), BL_OK);
	cr_expect_eq(n, 10);
	cr_expect_eq(bl_sms_bytes("", &n), BL_OK);
	cr_expect_eq(n, 0);
	cr_expect_eq(bl_sms_bytes("79,700원\n", &n), BL_OK);
	cr_expect_eq(n, 9);
	cr_expect_eq(bl_sms_bytes("[LG U+] 홍길동님 2026년 10월 청구금액 85,750원, 납부기한 2026년 11월 25일", &n),
		     BL_OK);
	cr_expect_eq(n, 73);
	/* not in EUC-KR: counted as 2 */
	cr_expect_eq(bl_sms_bytes("😀é", &n), BL_OK);
	cr_expect_eq(n, 4);
	cr_expect_eq(bl_sms_bytes("ab\xc3", &n), BL_EINVAL);
	EXPECT_MSG("invalid UTF-8 at byte 2");
	cr_expect_eq(bl_sms_bytes("\xed\xa0\x80", &n), BL_EINVAL); /* a surrogate */
	cr_expect_eq(bl_sms_bytes("\xc0\xaf", &n), BL_EINVAL);     /* overlong */
	cr_expect_eq(bl_sms_bytes(NULL, &n), BL_EINVAL);
}

static const char default_sms[] = "[LG U+] {{userName}}님 {{targetMonth|month}} 청구금액 "
				  "{{totalPrice|won}}, 납부기한 {{dueDate|date}}";

static const char typical[] = "{\"userName\":\"홍길동\",\"targetMonth\":\"2026-10\","
			      "\"totalPrice\":85750,\"dueDate\":\"2026-11-25\"}";

Test(smslen, kinds_and_overflow)
{
	bl_template_opts o = sms(default_sms);
	o.variables_json = "{\"userName\":{\"type\":\"string\",\"required\":true}}";
	bl__tpl *t = compile_ok(&o);
	json_t *m = model_of(typical);
	bl__rendered r;
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_str_eq(r.text, "[LG U+] 홍길동님 2026년 10월 청구금액 85,750원, 납부기한 2026년 11월 25일");
	cr_expect_eq(r.kind, BL_KIND_SMS);
	cr_expect_eq(r.bytes, 73);
	cr_expect_null(r.subject);
	cr_expect_null(r.html);
	bl__rendered_free(&r);

	/* 17 more bytes fit (90), one more is an LMS */
	char name[64];
	strcpy(name, "홍길동");
	strcat(name, "ABCDEFGHIJKLMNOPQ");
	json_object_set_new(m, "userName", json_string(name));
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_eq(r.bytes, 90);
	cr_expect_eq(r.kind, BL_KIND_SMS);
	bl__rendered_free(&r);
	strcat(name, "R");
	json_object_set_new(m, "userName", json_string(name));
	cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
	cr_expect_eq(r.bytes, 91);
	cr_expect_eq(r.kind, BL_KIND_LMS);
	bl__rendered_free(&r);

	/* over 2,000 bytes: refused */
	char *huge = calloc(1, 3100); /* 1000 x 3 UTF-8 bytes */
	for (int i = 0; i < 1000; i++)
		strcat(huge, "가");
	json_object_set_new(m, "userName", json_string(huge));
	free(huge);
	cr_expect_eq(bl__tpl_render(t, m, NULL, &r), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(),
			 "template 'T_SMS' v0: rendered SMS is 2,067 bytes; LMS allows 2,000");
	cr_expect_null(r.text);

	/* required variables */
	json_object_del(m, "userName");
	cr_expect_eq(bl__tpl_render(t, m, NULL, &r), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), "template 'T_SMS' v0: required variable {{userName}} is missing");
	json_decref(m);
	bl__tpl_free(t);
}

/* ---- draft previews (bl_template_preview_draft, bl_template_sample) ---- */

static bl_ctx *draft_ctx(void)
{
	bl_config *cfg = NULL;
	bl_ctx *ctx = NULL;
	cr_assert_eq(bl_config_new(&cfg), BL_OK, "%s", bl_error_last());
	cr_assert_eq(bl_ctx_new(&ctx, cfg), BL_OK, "%s", bl_error_last());
	bl_config_free(cfg);
	return ctx;
}

static bl_draft_preview *preview_ok(bl_ctx *ctx, const bl_template_opts *o, const char *sample)
{
	bl_draft_preview *p = NULL;
	int rc = bl_template_preview_draft(ctx, o, sample, &p);
	cr_assert_eq(rc, BL_OK, "preview: %s", bl_error_last());
	cr_assert_not_null(p);
	return p;
}

Test(draft_preview, sms_with_the_example_data_is_masked)
{
	bl_ctx *ctx = draft_ctx();
	bl_template_opts o = sms(default_sms);
	o.body_text = "[LG U+] {{userName}}님 {{targetMonth|month}} 청구금액 {{totalPrice|won}}, 문의 {{phone}}";
	bl_draft_preview *p = preview_ok(ctx, &o, NULL);
	/* the library's example data; the phone number is masked in the preview */
	cr_expect(strstr(bl_draft_preview_text(p), "홍길동님 2026년 10월 청구금액 85,750원"), "%s",
		  bl_draft_preview_text(p));
	cr_expect_null(strstr(bl_draft_preview_text(p), "01012345678"), "%s", bl_draft_preview_text(p));
	cr_expect_eq(bl_draft_preview_kind(p), BL_KIND_SMS);
	cr_expect_gt(bl_draft_preview_bytes(p), 0);
	cr_expect_null(bl_draft_preview_subject(p));
	cr_expect_null(bl_draft_preview_html(p));
	char *json = NULL;
	cr_assert_eq(bl_draft_preview_to_json(p, &json), BL_OK, "%s", bl_error_last());
	cr_expect(strstr(json, "\"kind\": \"SMS\"") || strstr(json, "\"kind\":\"SMS\""), "%s", json);
	cr_expect(strstr(json, "\"subject\":null") || strstr(json, "\"subject\": null"), "%s", json);
	bl_free(json);
	bl_draft_preview_free(p);
	bl_ctx_free(ctx);
}

Test(draft_preview, kinds_lms_and_too_long)
{
	bl_ctx *ctx = draft_ctx();
	bl_template_opts o = sms("{{userName}}");
	char sample[8192] = "{\"userName\":\"";
	for (int i = 0; i < 91; i++)
		strcat(sample, "A");
	strcat(sample, "\"}");
	bl_draft_preview *p = preview_ok(ctx, &o, sample);
	cr_expect_eq(bl_draft_preview_kind(p), BL_KIND_LMS);
	cr_expect_eq(bl_draft_preview_bytes(p), 91);
	bl_draft_preview_free(p);
	/* over an LMS: shown, not refused, with kind 0 */
	strcpy(sample, "{\"userName\":\"");
	for (int i = 0; i < 1001; i++)
		strcat(sample, "가");
	strcat(sample, "\"}");
	p = preview_ok(ctx, &o, sample);
	cr_expect_eq(bl_draft_preview_kind(p), 0);
	cr_expect_eq(bl_draft_preview_bytes(p), 2002);
	char *json = NULL;
	cr_assert_eq(bl_draft_preview_to_json(p, &json), BL_OK);
	cr_expect(strstr(json, "TOO_LONG"), "%s", json);
	bl_free(json);
	bl_draft_preview_free(p);
	bl_ctx_free(ctx);
}

Test(draft_preview, email_parts)
{
	bl_ctx *ctx = draft_ctx();
	bl_template_opts o = email("{{userName}}님 {{targetMonth|month}} 청구서", "<p>{{userName}} &amp; {{email}}</p>",
				   "{{userName}}");
	o.purpose = BL_PURPOSE_BILLING;
	bl_draft_preview *p = preview_ok(ctx, &o, "{\"userName\":\"<b>\",\"targetMonth\":\"2026-12\","
						  "\"email\":\"hong.gildong@example.com\"}");
	cr_expect_str_eq(bl_draft_preview_subject(p), "<b>님 2026년 12월 청구서");
	cr_expect(strstr(bl_draft_preview_html(p), "<p>&lt;b&gt; &amp; "), "%s", bl_draft_preview_html(p));
	cr_expect_null(strstr(bl_draft_preview_html(p), "hong.gildong@example.com"), "%s", bl_draft_preview_html(p));
	cr_expect_eq(bl_draft_preview_kind(p), BL_KIND_EMAIL);
	cr_expect_eq(bl_draft_preview_bytes(p), strlen("<b>") + strlen("<p>&lt;b&gt; &amp; hong.gildong@example.com</p>"));
	bl_draft_preview_free(p);
	bl_ctx_free(ctx);
}

Test(draft_preview, errors)
{
	bl_ctx *ctx = draft_ctx();
	bl_draft_preview *p = (bl_draft_preview *)1;
	/* the draft is validated as a save would be: the part, line and column */
	bl_template_opts o = sms("{{#lines}}{{serviceName}}");
	cr_expect_eq(bl_template_preview_draft(ctx, &o, NULL, &p), BL_EINVAL);
	cr_expect_null(p);
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	char want[512];
	snprintf(want, sizeof want, "%s", bl_error_last());
	cr_expect_eq(bl_template_preview_draft(ctx, &o, NULL, &p), BL_EINVAL);
	cr_expect_str_eq(bl_error_last(), want);
	/* the sample must be a JSON object */
	o = sms("{{userName}}");
	cr_expect_eq(bl_template_preview_draft(ctx, &o, "[1]", &p), BL_EINVAL);
	EXPECT_MSG("sample_json: expected a JSON object");
	cr_expect_eq(bl_template_preview_draft(ctx, &o, "{", &p), BL_EINVAL);
	EXPECT_MSG("sample_json: not valid JSON");
	cr_expect_eq(bl_template_preview_draft(NULL, &o, NULL, &p), BL_EINVAL);
	cr_expect_eq(bl_template_preview_draft(ctx, NULL, NULL, &p), BL_EINVAL);
	cr_expect_eq(bl_template_preview_draft(ctx, &o, NULL, NULL), BL_EINVAL);
	bl_draft_preview_free(NULL);
	cr_expect_null(bl_draft_preview_text(NULL));
	cr_expect_eq(bl_draft_preview_kind(NULL), 0);
	bl_ctx_free(ctx);
}

/* The admin page kept its own copy of the example data, which knew
 * "boolean" but not "bool" (which validation accepts): one copy now. */
Test(draft_preview, bool_variables_get_a_boolean_example)
{
	char *json = NULL;
	const char *vars = "{\"flag\":{\"type\":\"bool\"},\"on\":{\"type\":\"boolean\"},"
			   "\"who\":{\"type\":\"object\",\"fields\":{\"n\":{\"type\":\"number\"}}}}";
	cr_assert_eq(bl_template_sample(BL_PURPOSE_NOTICE, vars, &json), BL_OK, "%s", bl_error_last());
	json_t *m = json_loads(json, 0, NULL);
	cr_assert_not_null(m, "%s", json);
	cr_expect(json_is_true(json_object_get(m, "flag")), "%s", json);
	cr_expect(json_is_true(json_object_get(m, "on")), "%s", json);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(m, "who"), "n")), 1, "%s", json);
	cr_expect_str_eq(json_string_value(json_object_get(m, "userName")), "홍길동");
	cr_expect_null(json_object_get(m, "lines")); /* NOTICE: no statement */
	json_decref(m);
	bl_free(json);
	cr_assert_eq(bl_template_sample(BL_PURPOSE_BILLING, NULL, &json), BL_OK);
	m = json_loads(json, 0, NULL);
	cr_expect_eq(json_array_size(json_object_get(m, "lines")), 3);
	cr_expect_eq(json_array_size(json_object_get(m, "services")), 3);
	json_decref(m);
	bl_free(json);
	cr_expect_eq(bl_template_sample((bl_purpose)9, NULL, &json), BL_EINVAL);
	cr_expect_null(json);

	bl_ctx *ctx = draft_ctx();
	bl_template_opts o = sms("[알림] {{#flag}}켜짐{{/flag}}{{^flag}}꺼짐{{/flag}}");
	o.purpose = BL_PURPOSE_NOTICE;
	o.variables_json = "{\"flag\":{\"type\":\"bool\"}}";
	bl_draft_preview *p = preview_ok(ctx, &o, NULL);
	cr_expect_str_eq(bl_draft_preview_text(p), "[알림] 켜짐");
	bl_draft_preview_free(p);
	bl_ctx_free(ctx);
}

Test(perf, render_throughput)
{
	bl_template_opts o = sms(default_sms);
	bl__tpl *t = compile_ok(&o);
	json_t *m = model_of(typical);
	const int N = 200000;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	size_t total = 0;
	for (int i = 0; i < N; i++) {
		bl__rendered r;
		cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK);
		total += r.bytes;
		bl__rendered_free(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_expect_eq(total, (size_t)N * 73);
	cr_log_info("DEFAULT_BILLING_SMS: %d renders in %.3f s = %.0f renders/s on one core", N, s,
		    N / s);
	json_decref(m);
	bl__tpl_free(t);
}

/* ---- robustness: random sources through the compiler, validator and renderer ---- */

Test(fuzz, random_sources_never_crash)
{
	static const char *const pieces[] = {
		"{{", "}}", "{", "}", "#", "^", "/", "!", "|", ":", ".", " ", "\n", "\r\n", "%", "%-",
		"lines", "userName", "totalPrice", "dueDate", "targetMonth", "phone", "x", "won",
		"number", "mask", "date", "month", "raw", "date:%Y.%m.%d", "가", "😀", "\xff", "<&>",
		"{{#lines}}", "{{/lines}}", "{{^x}}", "{{/x}}", "{{serviceName|won}}", "{{net|won}}",
	};
	const size_t np = sizeof pieces / sizeof pieces[0];
	const char *data = "{\"userName\":\"<b>김</b>\",\"totalPrice\":-79700,\"dueDate\":\"2026-11-25\","
			   "\"targetMonth\":\"2026-10\",\"phone\":\"01012345678\",\"x\":[1,{\"x\":0}],"
			   "\"lines\":[{\"serviceName\":\"A\",\"net\":5},{\"net\":\"z\"}]}";
	uint64_t s = 0x9E3779B97F4A7C15u;
	char src[1024];
	int ok = 0, invalid = 0;
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0, n;
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		n = 1 + s % 24;
		src[0] = '\0';
		for (size_t k = 0; k < n; k++) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			const char *p = pieces[s % np];
			size_t pl = strlen(p);
			if (len + pl + 1 > sizeof src)
				break;
			memcpy(src + len, p, pl + 1);
			len += pl;
		}
		char *out = NULL;
		int rc = bl_template_render(src, data, iter % 2, &out);
		cr_assert(rc == BL_OK || rc == BL_EINVAL, "render '%s': %d %s", src, rc, bl_error_last());
		if (rc == BL_OK) {
			ok++;
			bl_free(out);
		} else {
			invalid++;
		}
		bl_template_opts o = sms(src);
		rc = bl_template_validate(&o);
		cr_assert(rc == BL_OK || rc == BL_EINVAL, "validate '%s': %d %s", src, rc,
			  bl_error_last());
	}
	cr_log_info("fuzz: %d rendered, %d refused", ok, invalid);
	cr_expect_gt(ok, 1000);
	cr_expect_gt(invalid, 1000);
}
