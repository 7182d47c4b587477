/*
 * The Mustache rules of the template language, one test per rule, without
 * the public spec's files (test_mustache_spec.c runs those when present):
 * unescaped tags, dotted names, the implicit iterator, the context stack,
 * standalone lines, numbers, null and missing values; what the validator
 * makes of dotted names, {{.}} and declared objects; and that templates of
 * the old dialect render as before.  No server needed.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>
#include "template_impl.h"

#define EXPECT_MSG(needle) \
	cr_expect(strstr(bl_error_last(), (needle)), "message '%s' lacks '%s'", bl_error_last(), (needle))

/* Render src over data (any JSON value, as the spec allows) in HTML or text mode. */
static void expect_mode(const char *src, const char *data, tpl_mode mode, const char *want)
{
	json_error_t err;
	json_t *d = json_loads(data, JSON_DECODE_ANY, &err);
	cr_assert(d, "bad test JSON %s: %s", data, err.text);
	tpl_prog *p = NULL;
	char *out = NULL;
	cr_assert_eq(bl__prog_compile(src, NULL, "t", &p), BL_OK, "compile '%s': %s", src,
		     bl_error_last());
	cr_assert_eq(bl__prog_render(p, d, mode, NULL, &out, NULL), BL_OK, "render '%s': %s", src,
		     bl_error_last());
	cr_expect_str_eq(out, want, "render '%s' over %s", src, data);
	free(out);
	bl__prog_free(p);
	json_decref(d);
}

#define expect_html(src, data, want) expect_mode((src), (data), TM_HTML, (want))
#define expect_text(src, data, want) expect_mode((src), (data), TM_TEXT, (want))

Test(mustache, unescaped_tags)
{
	const char *d = "{\"x\":\"& \\\" < > '\"}";
	expect_html("{{x}}", d, "&amp; &quot; &lt; &gt; &#39;");
	expect_html("{{{x}}}|{{&x}}|{{& x }}|{{{ x }}}|{{x|raw}}", d,
		    "& \" < > '|& \" < > '|& \" < > '|& \" < > '|& \" < > '");
	/* text and SMS mode never escape */
	expect_text("{{x}}|{{{x}}}", d, "& \" < > '|& \" < > '");
	/* filters work inside the unescaped forms */
	expect_html("{{{n|won}}} {{&n|number}}", "{\"n\":79700}", "79,700원 79,700");
	expect_html("[{{{nothing}}}][{{&nothing}}]", "{}", "[][]");
}

Test(mustache, dotted_names)
{
	const char *d = "{\"person\":{\"name\":\"Joe\",\"addr\":{\"city\":\"Seoul\"}},\"a.b\":\"key\"}";
	expect_text("{{person.name}} {{person.addr.city}} {{{person.name}}}", d, "Joe Seoul Joe");
	/* a broken chain is empty; a key holding a dot is never matched */
	expect_text("[{{person.age}}][{{person.addr.city.x}}][{{a.b}}][{{nobody.name}}]", d, "[][][][]");
	/* only the first word looks up the stack: no fallback once it is found */
	expect_text("{{#a}}[{{b.c}}]{{/a}}", "{\"a\":{\"b\":{}},\"b\":{\"c\":\"ERROR\"}}", "[]");
	expect_text("{{#a}}{{b.c.name}}{{/a}}",
		    "{\"a\":{\"b\":{\"c\":{\"name\":\"inner\"}}},\"b\":{\"c\":{\"name\":\"outer\"}}}",
		    "inner");
	/* dotted section and inverted names */
	d = "{\"a\":{\"b\":{\"yes\":true,\"no\":false}}}";
	expect_text("{{#a.b.yes}}Y{{/a.b.yes}}{{#a.b.no}}N{{/a.b.no}}{{#a.x.y}}X{{/a.x.y}}", d, "Y");
	expect_text("{{^a.b.yes}}1{{/a.b.yes}}{{^a.b.no}}2{{/a.b.no}}{{^a.x.y}}3{{/a.x.y}}", d, "23");
	/* an end tag must repeat the dotted name */
	char *out = NULL;
	cr_expect_eq(bl_template_render("{{#a.b}}x{{/a}}", "{}", false, &out), BL_EINVAL);
	EXPECT_MSG("{{/a}} does not match {{#a.b}}");
}

Test(mustache, implicit_iterator)
{
	expect_html("{{#list}}({{.}}){{/list}}", "{\"list\":[\"a\",1,1.5,true,\"<\"]}",
		    "(a)(1)(1.5)(true)(&lt;)");
	expect_html("{{#list}}({{{.}}}{{&.}}){{/list}}", "{\"list\":[\"<\"]}", "(<<)");
	expect_text("{{#list}}({{#.}}{{.}}{{/.}}){{/list}}", "{\"list\":[[1,2,3],[\"a\",\"b\"]]}",
		    "(123)(ab)");
	/* the root may be any value */
	expect_text("Hello, {{.}}!", "\"world\"", "Hello, world!");
	expect_text("{{.}} mph", "85", "85 mph");
	expect_text("{{#.}}({{value}}){{/.}}", "[{\"value\":\"a\"},{\"value\":\"b\"}]", "(a)(b)");
	/* a section over a string pushes the string */
	expect_text("{{#foo}}{{.}} is {{foo}}{{/foo}}", "{\"foo\":\"bar\"}", "bar is bar");
	/* objects and lists print nothing */
	expect_text("[{{.}}][{{#o}}{{.}}{{/o}}]", "{\"o\":{\"k\":1}}", "[][]");
}

Test(mustache, context_stack)
{
	/* names resolve from the innermost section out */
	expect_text("{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}",
		    "{\"a\":\"foo\",\"b\":\"wrong\",\"sec\":{\"b\":\"bar\"},\"c\":{\"d\":\"baz\"}}",
		    "foo, bar, baz");
	expect_text("{{#a}}{{one}}{{#b}}{{one}}{{two}}{{#c}}{{one}}{{two}}{{three}}{{/c}}{{/b}}{{/a}}",
		    "{\"a\":{\"one\":1},\"b\":{\"two\":2},\"c\":{\"three\":3}}", "112123");
	/* list items that are not objects are skipped by names, seen by {{.}} */
	expect_text("{{#xs}}{{.}}{{who}} {{/xs}}", "{\"who\":\"!\",\"xs\":[1,{\"who\":\"?\"}]}",
		    "1! ? ");
	/* the old dialect's refusal of a list inside itself holds through the stack */
	char *out = NULL;
	cr_expect_eq(bl_template_render("{{#a}}{{#a}}x{{/a}}{{/a}}", "{\"a\":[1,2]}", false, &out),
		     BL_EINVAL);
	EXPECT_MSG("opens a list that is already open");
	cr_expect_null(out);
}

Test(mustache, truthiness)
{
	/* the spec leaves falsiness to the language: ours is false, null, missing,
	 * [], and (as before) 0, "" and {} */
	const char *d = "{\"t\":true,\"f\":false,\"n\":null,\"z\":0,\"s\":\"\",\"o\":{},\"l\":[],"
			"\"one\":1,\"str\":\"x\",\"obj\":{\"k\":1}}";
	expect_text("{{#t}}t{{/t}}{{#f}}f{{/f}}{{#n}}n{{/n}}{{#z}}z{{/z}}{{#s}}s{{/s}}{{#o}}o{{/o}}"
		    "{{#l}}l{{/l}}{{#one}}1{{/one}}{{#str}}x{{/str}}{{#obj}}k{{/obj}}{{#miss}}m{{/miss}}",
		    d, "t1xk");
	expect_text("{{^t}}t{{/t}}{{^f}}f{{/f}}{{^n}}n{{/n}}{{^z}}z{{/z}}{{^s}}s{{/s}}{{^o}}o{{/o}}"
		    "{{^l}}l{{/l}}{{^one}}1{{/one}}{{^miss}}m{{/miss}}",
		    d, "fnzsolm");
}

Test(mustache, numbers_null_missing)
{
	expect_text("{{a}} {{b}} {{c}} {{d}} {{e}}",
		    "{\"a\":85,\"b\":1.21,\"c\":1.210,\"d\":2500.0,\"e\":-0.5}", "85 1.21 1.21 2500 -0.5");
	/* the shortest text that reads back as the same number */
	expect_text("{{a}} {{b}}", "{\"a\":0.30000000000000004,\"b\":0.1}", "0.30000000000000004 0.1");
	expect_html("I ({{n}}{{{n}}}{{&n}}{{m}}{{{m}}}{{&m}}) be seen!", "{\"n\":null}",
		    "I () be seen!");
}

Test(mustache, standalone_lines)
{
	const char *d = "{\"b\":true,\"f\":false}";
	/* a line holding only a section, inverted, end or comment tag disappears */
	expect_text("| This Is\n  {{#b}}\n|\n  {{/b}}\n| A Line\n", d, "| This Is\n|\n| A Line\n");
	expect_text("| This Is\n{{^f}}\n|\n{{/f}}\n| A Line\n", d, "| This Is\n|\n| A Line\n");
	expect_text("|\r\n{{#b}}\r\n{{/b}}\r\n|", d, "|\r\n|");
	expect_text("  {{#b}}\n#{{/b}}\n/", d, "#\n/");
	expect_text("#{{#b}}\n/\n  {{/b}}", d, "#\n/\n");
	expect_text("Begin.\n  {{!\n    multi-line\n  }}\nEnd.\n", d, "Begin.\nEnd.\n");
	/* not alone on its line: the line stays, whitespace included */
	expect_text(" {{#b}}YES{{/b}}\n {{#b}}GOOD{{/b}}\n", d, " YES\n GOOD\n");
	expect_text(" | {{#b}}\t|\t{{/b}} | \n", d, " | \t|\t | \n");
	expect_text("  12 {{! 34 }}\n", d, "  12 \n");
	/* interpolation tags are never standalone */
	expect_text("  {{x}}\n", "{\"x\":\"---\"}", "  ---\n");
	expect_text("  {{{x}}}\n", "{\"x\":\"---\"}", "  ---\n");
}

Test(mustache, standalone_lines_count_for_sms_bytes)
{
	/* the same SMS with its section tags on lines of their own, or inline
	 * on a line of text: when the section is false, the inline form leaves
	 * an empty line behind (one byte more, and a blank line on the phone) */
	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = "T_SMS";
	o.name = "t";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_NOTICE;
	o.variables_json = "{\"late\":{\"type\":\"boolean\"}}";
	const char *const src[] = { "{{userName}}님\n{{#late}}\n연체 중\n{{/late}}\n",
				    "{{userName}}님\n{{#late}}연체 중{{/late}}\n" };
	/* 홍길동님\n = 9 bytes, 연체 중\n = 8 */
	const size_t want_late[] = { 17, 17 }, want_not[] = { 9, 10 };
	json_t *m = json_loads("{\"userName\":\"홍길동\",\"late\":true}", 0, NULL);
	for (int i = 0; i < 2; i++) {
		o.body_text = src[i];
		cr_assert_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
		bl__tpl *t = NULL;
		cr_assert_eq(bl__tpl_compile(&o, &t), BL_OK, "%s", bl_error_last());
		for (int late = 1; late >= 0; late--) {
			json_object_set_new(m, "late", json_boolean(late));
			bl__rendered r;
			cr_assert_eq(bl__tpl_render(t, m, NULL, &r), BL_OK, "%s", bl_error_last());
			cr_expect_eq(r.bytes, late ? want_late[i] : want_not[i], "'%s' → '%s': %zu bytes",
				     src[i], r.text, r.bytes);
			bl__rendered_free(&r);
		}
		bl__tpl_free(t);
	}
	json_decref(m);
}

Test(mustache, nesting_limit_counts_the_root)
{
	/* 16 nested sections still render with the model on the stack */
	char src[512] = "", end[256] = "";
	for (int i = 0; i < 16; i++) {
		strcat(src, "{{#a}}");
		strcat(end, "{{/a}}");
	}
	strcat(src, "{{.}}");
	strcat(src, end);
	expect_text(src, "{\"a\":\"x\"}", "x");
}

/* ---- the validator ---- */

static bl_template_opts notice(const char *body, const char *vars)
{
	bl_template_opts o;
	bl_template_opts_init(&o, BL_TEMPLATE_OPTS_VERSION);
	o.code = "T_SMS";
	o.name = "t";
	o.channel = BL_CHANNEL_SMS;
	o.purpose = BL_PURPOSE_NOTICE;
	o.body_text = body;
	o.variables_json = vars;
	return o;
}

static void expect_invalid(const bl_template_opts *o, const char *msg)
{
	cr_expect_eq(bl_template_validate(o), BL_EINVAL, "validated: expected '%s'", msg);
	cr_expect_str_eq(bl_error_last(), msg);
}

static const char detail_vars[] =
	"{\"detail\":{\"type\":\"object\",\"fields\":{\"amount\":{\"type\":\"money\"},"
	"\"plan\":{\"type\":\"object\",\"fields\":{\"name\":{\"type\":\"string\"}}}}},"
	"\"tags\":{\"type\":\"list\",\"items\":{\"label\":{\"type\":\"string\"}}},"
	"\"late\":{\"type\":\"boolean\"}}";

Test(mustache_validation, dotted_names_and_objects)
{
	bl_template_opts o = notice("{{detail.amount|won}} {{detail.plan.name}} "
				    "{{#detail}}{{amount|number}} {{plan.name}}{{/detail}} "
				    "{{#detail.plan}}{{name}}{{/detail.plan}}{{^detail.amount}}0{{/detail.amount}}",
				    detail_vars);
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o = notice("x {{detail.amout}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:3: unknown variable {{detail.amout}}: detail "
			   "has no field amout (did you mean amount?)");
	o = notice("{{detial.amount}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: unknown variable {{detial.amount}} (did you "
			   "mean detail?)");
	o = notice("{{userName.first}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: {{userName.first}}: userName is a string "
			   "and has no fields");
	o = notice("{{tags.label}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: {{tags.label}}: tags is a list and has no "
			   "field label (iterate it with {{#tags}} and write {{label}} inside)");
	o = notice("{{detail}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: {{detail}} is an object: name one of its "
			   "fields ({{detail.field}}) or open it with {{#detail}}");
	o = notice("{{detail.plan.name|won}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:1: filter 'won' does not apply to "
			   "{{detail.plan.name}} (a string): it takes a money or number");
	o = notice("{{#detail.amount}}x{{/detail.amount}}", detail_vars);
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("section {{#detail.amount}} over a money variable");
	o = notice("x", "{\"detail\":{\"type\":\"string\",\"fields\":{}}}");
	expect_invalid(&o, "template 'T_SMS' variables_json: 'detail': \"fields\" is only for objects");
}

Test(mustache_validation, implicit_iterator)
{
	bl_template_opts o = notice("{{#late}}{{.}}{{/late}}{{#userName}}[{{{.}}}]{{/userName}}"
				    "{{#tags}}{{#.}}{{label}}{{/.}}{{/tags}}",
				    detail_vars);
	cr_expect_eq(bl_template_validate(&o), BL_OK, "%s", bl_error_last());
	o = notice("hi {{.}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:4: {{.}} outside a section is the whole data "
			   "model: name a variable");
	o = notice("{{^late}}{{.}}{{/late}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:10: {{.}} outside a section is the whole data "
			   "model: name a variable");
	o = notice("{{#tags}}{{.}}{{/tags}}", detail_vars);
	expect_invalid(&o, "template 'T_SMS' body_text:1:10: {{.}} inside {{#tags}} is one item, an "
			   "object: name one of its fields");
	o = notice("{{#late}}{{.|won}}{{/late}}", detail_vars);
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("filter 'won' does not apply to {{.}} (a boolean)");
	/* BILLING: the statement's lines are objects too */
	o = notice("{{#lines}}{{.}}{{/lines}}", NULL);
	o.purpose = BL_PURPOSE_BILLING;
	cr_expect_eq(bl_template_validate(&o), BL_EINVAL);
	EXPECT_MSG("{{.}} inside {{#lines}} is one item");
}

/* ---- the old dialect renders as before ---- */

Test(mustache, old_dialect_unchanged)
{
	/* every form of the old dialect in one text body, with its exact output
	 * (the same as before Mustache; DEFAULT_BILLING_* use only these) */
	const char *src = "[LG U+] {{ userName }}님 {{targetMonth|month}}\n"
			  "{{#lines}}\n"
			  "- {{serviceName}}: {{price|won}} ({{discount|number}}) = {{net|won}} {{who}}\n"
			  "{{/lines}}\n"
			  "{{^lines}}\n"
			  "내역 없음\n"
			  "{{/lines}}\n"
			  "  {{! comment }}\n"
			  "{{#flag}}F{{/flag}}{{^zero}}Z{{/zero}} {{phone|mask}} {{dueDate|date:%-m/%-d(%a)}}\n";
	const char *d = "{\"userName\":\"홍<길>동\",\"targetMonth\":\"2026-10\",\"who\":\"!\","
			"\"lines\":[{\"serviceName\":\"A&B\",\"price\":85000,\"discount\":-21250,"
			"\"net\":63750},{\"serviceName\":\"C\",\"price\":0,\"discount\":0,\"net\":0,"
			"\"who\":\"?\"}],\"flag\":true,\"zero\":0,\"phone\":\"01012345678\","
			"\"dueDate\":\"2026-11-25\"}";
	expect_text(src, d,
		    "[LG U+] 홍<길>동님 2026년 10월\n"
		    "- A&B: 85,000원 (-21,250) = 63,750원 !\n"
		    "- C: 0원 (0) = 0원 ?\n"
		    "FZ 010-****-5678 11/25(수)\n");
	expect_html(src, d,
		    "[LG U+] 홍&lt;길&gt;동님 2026년 10월\n"
		    "- A&amp;B: 85,000원 (-21,250) = 63,750원 !\n"
		    "- C: 0원 (0) = 0원 ?\n"
		    "FZ 010-****-5678 11/25(수)\n");
	expect_text(src, "{\"userName\":\"x\",\"lines\":[]}", "[LG U+] x님 \n내역 없음\nZ  \n");
}
