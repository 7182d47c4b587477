#!/usr/bin/env bash
# shellcheck disable=SC2015  # "cond && pass || fail": pass() always succeeds
# End-to-end tests of billing-cli's one-shot commands against the MariaDB and
# Redis of scripts/services: output (text and --json), exit codes, errors on
# stderr, no colour when not a TTY, tables sized by COLUMNS, template edit
# through $EDITOR, bulk retry, admin users and the audit log, Ctrl-C (SIGINT)
# stopping a batch run cleanly.  Prints TAP.  Environment as tests/test_cli.sh.
set -uo pipefail

CLI=${BILLING_CLI:?BILLING_CLI must name the billing-cli binary}
[[ -x $CLI ]] || { echo "Bail out! $CLI is not executable"; exit 1; }
command -v mariadb >/dev/null 2>&1 || { echo "Bail out! the mariadb client is not installed"; exit 1; }

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=bltest_oneshot_$$
export REDIS_PREFIX="bltest:oneshot:$$:"
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export BILLING_PWHASH_FAST=1 BILLING_ENV=test
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR NO_COLOR COLUMNS
MONTH=2026-10

TMP=$(mktemp -d /tmp/bl-oneshot-test.XXXXXX)
sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" -N -B "$MYSQL_DATABASE" -e "$1"
}
cleanup() {
    [[ -n ${bgpid:-} ]] && kill "$bgpid" 2>/dev/null
    sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" \
    -e "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`; CREATE DATABASE \`$MYSQL_DATABASE\`" \
    || { echo "Bail out! cannot create database $MYSQL_DATABASE on $MYSQL_HOST:$MYSQL_PORT"; exit 1; }
mkdir -p "$TMP/work"
cd "$TMP/work" || exit 1

n=0 failed=0 out='' err='' rc=0
run() { out=$("$CLI" "$@" 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err"); }
runin() { local input=$1; shift; out=$("$CLI" "$@" <<<"$input" 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err"); }
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
    printf '#   exit %s\n' "$rc"
    printf '#   stdout: %s\n' "${out:0:600}"
    printf '#   stderr: %s\n' "${err:0:600}"
}
expect() {
    local name=$1 want=$2 o=${3:-} e=${4:-}
    if [[ $rc != "$want" ]]; then fail "$name" "expected exit $want"; return; fi
    if [[ -n $o ]] && ! grep -Eq -- "$o" <<<"$out"; then fail "$name" "stdout lacks /$o/"; return; fi
    if [[ -n $e ]] && ! grep -Eq -- "$e" <<<"$err"; then fail "$name" "stderr lacks /$e/"; return; fi
    pass "$name"
}
# jq-like checks with python: jcheck NAME 'python expression over j' -- after run
jcheck() {
    local name=$1 expr=$2
    if [[ $rc == 0 ]] && python3 -c "import json,sys; j=json.loads(sys.stdin.read()); sys.exit(0 if ($expr) else 1)" \
        <<<"$out" 2>"$TMP/pyerr"; then
        pass "$name"
    else
        fail "$name" "JSON check failed: $expr" "$(head -c 300 "$TMP/pyerr")"
    fi
}

# ---- setup ----
run migrate;                              expect "migrate" 0 'applied'
run seed --users 300 --month "$MONTH";    expect "seed 300 subscribers" 0 'subscribers created'
run batch run --month "$MONTH";           expect "batch run" 0 'COMPLETED'
# when the statements go out: the reservation the run made (issue 21)
resv1=$(sql "SELECT CONCAT(id, ' ', DATE_FORMAT(scheduled_at, '%Y-%m-%d %H:%i:%s')) FROM message_reservations")
expect "batch run says when the statements go out" 0 \
    "^billing reservation #${resv1%% *} WAITING: the statements go out by e-mail at ${resv1#* } KST"
run --json batch list;                    jcheck "--json batch list" 'j[0]["status"] == "COMPLETED"'
run1=$(sql "SELECT MAX(id) FROM batch_runs")
run batch status "$run1";                 expect "batch status: the billing reservation" 0 \
    "^  billing reservation #${resv1%% *} WAITING: .* at ${resv1#* } KST"
run --json batch status "$run1";          jcheck "--json batch status: reservation" \
    "j['reservation']['id'] == ${resv1%% *} and j['reservation']['scheduled_at'] == '${resv1#* }'"

# ---- help and usage ----
run help template;        expect "help template shows the sub-commands" 0 'template edit CODE'
run help nope;            expect "help of an unknown command" 1 '' "unknown command 'nope'"
run --help;               expect "--help documents the exit codes" 0 '4 backend unavailable'
run group;                expect "group without a sub-command" 1 '' 'usage'
run group frob;           expect "group: unknown sub-command" 1 '' "unknown sub-command 'frob'"
run user search --limit 0; expect "a bad number is a usage error" 1 '' "--limit '0'"

# ---- no colour, no progress bar when not a TTY; tables sized by COLUMNS ----
run batch list
if [[ $rc == 0 && $out != *$'\033'* && $err != *$'\r'* ]]; then pass "no escapes or bars when not a TTY"
else fail "no escapes or bars when not a TTY"; fi
run template list
full=$out
wide=$(python3 -c 'import sys,unicodedata as u; print(max(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in l) for l in sys.stdin.read().splitlines()))' <<<"$full")
out=$(COLUMNS=70 "$CLI" template list 2>"$TMP/err"); rc=$?
narrow=$(python3 -c 'import sys,unicodedata as u; print(max(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in l) for l in sys.stdin.read().splitlines()))' <<<"$out")
if [[ $rc == 0 && $wide -gt 70 && $narrow -le 70 && $out == *…* && $full != *…* ]]; then
    pass "tables fit COLUMNS ($wide → $narrow columns, cut with …)"
else fail "tables fit COLUMNS" "natural width $wide, COLUMNS=70 width $narrow"; fi

# ---- users ----
run --json user show 1 --reveal
name1=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["name"])' <<<"$out")
phone1=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["phone"])' <<<"$out")
run --json user search --name "${name1:0:2}"
jcheck "user search --name prefix finds user 1" 'any(u["id"] == 1 for u in j) and all(u["name"].startswith("'"${name1:0:2}"'") for u in j)'
jcheck "user search output is masked" 'all("****" in u["phone"] and "***@" in u["email"] for u in j)'
run --json user search --phone "$phone1"; jcheck "user search --phone (exact, blind index)" 'len(j) == 1 and j[0]["id"] == 1'
plan=$(sql "SELECT s.code FROM charged_histories c JOIN services s ON s.id = c.service_id WHERE c.user_id = 1 AND s.type = 'PLAN' LIMIT 1")
run --json user search --plan "$plan" --limit 1000
jcheck "user search --plan $plan" 'any(u["id"] == 1 for u in j)'
nplan=$(sql "SELECT COUNT(DISTINCT c.user_id) FROM charged_histories c JOIN services s ON s.id = c.service_id WHERE s.code = '$plan'")
jcheck "user search --plan counts match SQL ($nplan)" "len(j) == $nplan"
run --json user search --plan "$plan" --limit 2; jcheck "user search --limit 2" 'len(j) == 2'
last=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())[-1]["id"])' <<<"$out")
run --json user search --plan "$plan" --limit 2 --after "$last"; jcheck "user search cursor continues after $last" "all(u['id'] > $last for u in j) and len(j) > 0"
run user search --plan NO_SUCH_PLAN;   expect "user search: unknown plan" 2 '' 'NO_SUCH_PLAN'
run user search --name 김 --limit 5;    expect "user search table" 0 '^ID +NAME +PHONE'

# ---- statements ----
run --json statement search --month "$MONTH" --limit 5; jcheck "statement search --limit 5" 'len(j) == 5'
run --json statement search --month "$MONTH" --min 100000 --limit 1000
nbig=$(sql "SELECT COUNT(*) FROM statements WHERE target_month = '$MONTH' AND billed_amount >= 100000")
jcheck "statement search --min 100000 ($nbig)" "len(j) == $nbig and all(s['billed_amount'] >= 100000 for s in j)"
run statement search --month 2026-13;  expect "statement search: bad month" 5 '' "2026-13"
sid=$(sql "SELECT user_id FROM statements WHERE target_month = '$MONTH' ORDER BY id LIMIT 1")
run statement show "$sid" "$MONTH";   expect "statement show (text)" 0 '청구 billed +[0-9,]+원'

# ---- groups ----
run group create VIP_TEST "테스트 그룹" --description "for tests"; expect "group create" 0 'group VIP_TEST created'
run group create VIP_TEST "again";     expect "group create twice: conflict" 3 '' "already exists"
run group create vip_bad "x";          expect "group create: bad code" 5 '' "'vip_bad'"
run group add VIP_TEST 1 2 3;          expect "group add 3 members" 0 '3 subscriber\(s\) added'
run group add VIP_TEST 2;              expect "group add is idempotent" 0 '1 subscriber'
run group add VIP_TEST 999999;         expect "group add: unknown subscriber" 2 '' '999999'
run group add NO_GROUP 1;              expect "group add: unknown group" 2 '' "'NO_GROUP' does not exist"
run --json group members VIP_TEST;     jcheck "group members (masked)" '[u["id"] for u in j] == [1, 2, 3] and all("****" in u["phone"] for u in j)'
run group remove VIP_TEST 2;           expect "group remove" 0 'removed'
run --json group list;                 jcheck "group list: counts" 'any(g["code"] == "VIP_TEST" and g["member_count"] == 2 for g in j) and any(g["code"] == "USER_ALL" and g["member_count"] == 300 for g in j)'
run group delete USER_ALL;             expect "USER_ALL cannot be deleted" 3 '' 'USER_ALL'
run group delete VIP_TEST;             expect "group delete" 0 'deleted'
run group show VIP_TEST;               expect "group show after delete" 2

# ---- templates ----
run template list;                     expect "template list" 0 'DEFAULT_BILLING_SMS'
run --json template show DEFAULT_BILLING_SMS; jcheck "template show --json" 'j["code"] == "DEFAULT_BILLING_SMS" and j["version"] == 1'
run template show NO_SUCH;             expect "template show: not found" 2 '' "NO_SUCH"
run template preview DEFAULT_BILLING_SMS --statement "$(sql "SELECT id FROM statements ORDER BY id LIMIT 1")"
expect "template preview with a statement" 0 'SMS|LMS'
run template preview DEFAULT_BILLING_SMS --sample '{not json'; expect "template preview: bad sample" 5 '' 'sample'
cat >"$TMP/ed-ok.sh" <<'EOF'
#!/bin/sh
# change the SMS text: "납부기한" -> "납부 기한"
sed -i 's/납부기한/납부 기한/' "$1"
EOF
cat >"$TMP/ed-bad.sh" <<'EOF'
#!/bin/sh
# put an original-style {placeholder} on the second line of body_text; note the file line
line=$(awk '/^=== body_text/ { print NR + 2; exit }' "$1")
awk -v l="$line" 'NR == l - 1 { print; print "안내 {userName}"; next } { print }' "$1" >"$1.new" && mv "$1.new" "$1"
echo "$line" >"$(dirname "$0")/bad-line"
EOF
chmod +x "$TMP/ed-ok.sh" "$TMP/ed-bad.sh"
out=$(EDITOR=true "$CLI" template edit DEFAULT_BILLING_SMS 2>"$TMP/err" </dev/null); rc=$?; err=$(<"$TMP/err")
expect "template edit without changes saves nothing" 0 'no changes'
out=$(EDITOR="$TMP/ed-bad.sh" "$CLI" template edit DEFAULT_BILLING_SMS 2>"$TMP/err" </dev/null); rc=$?; err=$(<"$TMP/err")
bad=$(cat "$TMP/bad-line" 2>/dev/null)
expect "template edit: a validation error at the file's line:col" 5 '' "\.tpl:${bad:-X}:[0-9]+: single-brace placeholder \{userName\}"
[[ $(sql "SELECT COUNT(*) FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS'") == 1 ]] \
    && pass "a refused edit stores nothing" || fail "a refused edit stores nothing"
out=$(VISUAL='' EDITOR="$TMP/ed-ok.sh" "$CLI" template edit DEFAULT_BILLING_SMS 2>"$TMP/err" </dev/null); rc=$?; err=$(<"$TMP/err")
expect "template edit saves a new version" 0 'saved version 2'
run --json template show DEFAULT_BILLING_SMS; jcheck "the new version has the edit" 'j["version"] == 2 and "납부 기한" in j["body_text"]'
run --json template versions DEFAULT_BILLING_SMS; jcheck "template versions" '[v["version"] for v in j] == [2, 1]'
run template disable DEFAULT_BILLING_SMS; expect "template disable" 0 'disabled'
run --json template list;              jcheck "disabled in the list" 'any(t["code"] == "DEFAULT_BILLING_SMS" and not t["enabled"] for t in j)'
run template enable DEFAULT_BILLING_SMS; expect "template enable" 0 'enabled'
ls "$TMP"/billing-* /tmp/billing-DEFAULT_BILLING_SMS-* >/dev/null 2>&1 \
    && fail "template edit removes its temporary file" || pass "template edit removes its temporary file"

# ---- messages, dead letters, bulk retry ----
tpl=$(sql "SELECT id FROM message_templates WHERE code = 'DEFAULT_BILLING_SMS' AND version = 1")
sql "INSERT INTO messages (idempotency_key, user_id, template_id, channel, purpose, status, attempts, last_error)
     SELECT CONCAT('t:', id), id, $tpl, 'SMS', 'BILLING', IF(id <= 30, 'DEAD', 'FAILED'), 3, 'mock: permanent'
     FROM users WHERE id <= 35"
run --json dlq;                        jcheck "dlq lists the 30 DEAD messages" 'len(j) == 30 and all(m["status"] == "DEAD" for m in j)'
run dlq --limit 5;                     expect "dlq table" 0 'DEAD'
run --json message search --status FAILED; jcheck "message search --status FAILED" 'len(j) == 5'
run --json message search --status DEAD --limit 10 --after 5; jcheck "message search paging" 'len(j) == 10 and j[0]["id"] == 6'
run message search --status BOGUS;     expect "message search: bad status" 5 '' 'BOGUS'
mid=$(sql "SELECT MIN(id) FROM messages")
run --json message show "$mid";        jcheck "message show" 'j["status"] == "DEAD" and "attempt_log" in j'
name=$(sql "SELECT u.name FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id = $mid")
run message show "$mid";               expect "message show prints the message, not JSON" 0 \
    "^메시지 message #$mid  DEAD  SMS  BILLING  template DEFAULT_BILLING_SMS v"
[[ $out != *'"status"'* && $out == *"user 1 $name"* && $out == *"not delivered"* ]] \
    && pass "message show: the subscriber's name and the delivery, no JSON" \
    || fail "message show: the subscriber's name and the delivery, no JSON" "$out"
run message show 99999999;             expect "message show: not found" 2 '' '99999999'
run message retry "$mid";              expect "message retry ID" 0 'queued again'
run message retry "$mid";              expect "retrying a WAITING message is a conflict" 3 '' 'WAITING'
run message retry --status WAITING;    expect "bulk retry needs FAILED or DEAD" 1
run --json dlq retry;                  jcheck "dlq retry requeues the other 29" 'j["retried"] == 29 and j["matched"] == 29'
[[ $(sql "SELECT COUNT(*) FROM messages WHERE status = 'DEAD'") == 0 ]] && pass "no DEAD message left" || fail "no DEAD message left"
run message retry --status FAILED --channel SMS; expect "bulk retry of FAILED" 0 '5 of 5 FAILED'
run stats;                             expect "stats" 0 'WAITING +0 +35 +35'
run --json stats;                      jcheck "--json stats" '"messages" in j and j["last_batch_run"]["id"] == '"$run1"
# a newer dry run issues nothing: stats headlines the real run and labels attempts (issue 21)
run batch run --month "$MONTH" --mode dry-run; expect "a dry run of the month" 0 'COMPLETED'
dry=$(sql "SELECT MAX(id) FROM batch_runs")
run stats;                             expect "stats headlines the real run, not the newer dry run" 0 \
    "^batch run: #$run1 $MONTH COMPLETED"
expect "... names the dry run it leaves out" 0 "^  \(the newer dry run #$dry issued nothing"
expect "... says the hour's counts are attempts, not messages" 0 \
    '^send attempts in the last hour: [0-9,]+ succeeded, [0-9,]+ failed .* not message counts$'
expect "... and the table counts messages by status" 0 '^messages \(how many messages are in each status now\)'
run --json stats;                      jcheck "--json stats: current_batch_run is the real run" \
    'j["current_batch_run"]["id"] == '"$run1"' and j["last_batch_run"]["id"] == '"$dry"

# ---- admin users and audit ----
runin 'correct horse battery' admin create ops1 --role operator; expect "admin create (password on stdin)" 0 'ops1 created \(OPERATOR\)'
runin 'correct horse battery' admin create ops1;                expect "admin create twice: conflict" 3 '' "already exists"
runin 'short' admin create ops2;                                expect "admin create: short password" 5 '' 'at least 10'
runin 'x' admin create ops3 --password foo;                     expect "passwords are never arguments" 1
runin 'another long secret' admin passwd nobody;               expect "admin passwd: unknown user" 2
runin 'another long secret' admin passwd ops1;                 expect "admin passwd" 0 'password changed'
run --json admin list;                 jcheck "admin list (no hashes)" 'j[0]["username"] == "ops1" and j[0]["role"] == "OPERATOR" and "password_hash" not in j[0]'
[[ $out != *argon2* ]] && pass "admin list shows no hash" || fail "admin list shows no hash"
run --json admin audit --limit 100
jcheck "audit log records the CLI's actions" '{"group.create","group.add","group.delete","template.save","template.disable","message.retry","admin.create","admin.passwd","batch.start"} <= {e["action"] for e in j} and all(e["actor"].startswith("cli:") for e in j)'
actor=$(sql "SELECT actor FROM audit_log WHERE action = 'admin.create' LIMIT 1")
run --json admin audit --actor "$actor" --action admin.
jcheck "admin audit --actor --action FAMILY." "{e['action'] for e in j} == {'admin.create', 'admin.passwd'} and all(e['actor'] == '$actor' for e in j)"
run --json admin audit --action admin.create --to 2001-01-01; jcheck "admin audit --to: nothing before 2001" 'j == []'
run admin audit --from 2026-13-01;     expect "admin audit: a bad time is named" 5 '' "from '2026-13-01'"

# ---- backend unavailable ----
out=$(MYSQL_PORT=1 MYSQL_CONNECT_TIMEOUT=2 "$CLI" group list 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "group list without MariaDB: exit 4" 4 '' 'cannot connect to MariaDB'

# ---- Ctrl-C (SIGINT) stops a batch run cleanly; resume completes it ----
run seed --users 4000 --month 2026-09; expect "seed 4000 for the interrupt test" 0
"$CLI" batch run --month 2026-09 --chunk 10 --partitions 1 >"$TMP/bout" 2>"$TMP/berr" &
bgpid=$!
for _ in $(seq 1 200); do
    p=$(sql "SELECT COALESCE(MAX(processed_count), 0) FROM batch_runs WHERE target_month = '2026-09'" 2>/dev/null)
    (( ${p:-0} > 0 )) && break
    sleep 0.05
done
kill -INT "$bgpid"
wait "$bgpid"; rc=$?; bgpid=''
out=$(<"$TMP/bout"); err=$(<"$TMP/berr")
expect "SIGINT stops the batch run: exit 7, STOPPED" 7 'STOPPED' 'stopping cleanly'
run2=$(sql "SELECT MAX(id) FROM batch_runs WHERE target_month = '2026-09'")
[[ $(sql "SELECT status FROM batch_runs WHERE id = $run2") == STOPPED ]] && pass "the run is STOPPED in the database" \
    || fail "the run is STOPPED in the database"
run batch resume "$run2" --partitions 4; expect "batch resume completes it" 0 'COMPLETED'
dup=$(sql "SELECT COUNT(*) - COUNT(DISTINCT user_id) FROM statements WHERE target_month = '2026-09'")
[[ $dup == 0 ]] && pass "one statement per subscriber after stop + resume" || fail "one statement per subscriber after stop + resume"
run batch stop "$run2";                expect "stopping a finished run is a conflict" 3 '' 'not running'
run batch status 99999;                expect "batch status: not found" 2

echo "1..$n"
(( failed == 0 ))
