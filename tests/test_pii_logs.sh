#!/usr/bin/env bash
# shellcheck disable=SC2015  # "cond && pass || fail": pass() always succeeds
# Personal data never appears unmasked in logs (issue 11, security): a full
# month through the real executables, every process's output captured, then
# every log searched for the plain phone numbers and e-mail addresses the
# seed generated.  Prints TAP.
#
#   1. billing-cli: migrate, seed 300 subscribers, batch run (its billing
#      reservation is due at once: BILLING_RESERVATION_DELAY_S=0), reservation
#      tick (enqueues the month's bills).
#   2. billing-worker delivers them with the mock providers failing for real
#      (transient and permanent, e-mail and SMS) and the Maildir on, until
#      every message is SUCCESS or DEAD.
#   3. billing-httpd with its access log: login, users filtered by a real
#      subscriber's plain phone (both forms) and e-mail, malformed values of
#      them (error paths), user detail, statements, messages, dead letters,
#      group members, template previews of a statement, a dry batch run, the
#      admin pages with the same filters, logout, SIGTERM.
#   4. billing-cli one-shots that show users, statements and messages, text
#      and --json, with the same filters and malformed values, a template
#      preview of a statement, bad commands.
#   5. The plain values: decrypted through the Python binding
#      (bl_user_get with reveal; bindings/python) — the library is not
#      weakened for the test.  Checked: one per subscriber, and a plain value
#      finds its subscriber through the blind index while the stored column
#      does not contain it (so the list is right and the test not vacuous).
#   6. Searched, for every subscriber: the phone as 010-1234-5678,
#      01012345678, 010 1234 5678, 1012345678, +82 10…; the e-mail, also
#      URL-encoded (%40), and its local part as a word.  In: the worker's,
#      the server's (access log included) and every CLI command's stdout and
#      stderr; the API's JSON answers; the admin pages (without the value=""
#      of form fields, which echo what the operator typed in the search box);
#      the log-like tables (messages.last_error, message_attempts,
#      message_ledger, audit_log, batch_runs, batch_failures,
#      message_reservations); the Redis stream entries.
#      Not searched: the Maildir (a delivered e-mail is addressed to the
#      subscriber: it must hold the address).  There is no SMS sink file: an
#      accepted SMS is only a message_ledger row with the masked number,
#      which is searched.
#   7. The masked forms (010-****-5678, s***@domain) do appear in the
#      outputs, and the logs are not empty: the test saw real output.  No
#      sanitizer report either (an ASan build runs the same way).
#
# The programs have no log level setting (docs/configuration.md; no
# BILLING_LOG_* key): everything they log always goes to stderr, and
# billing-httpd's access log is on unless --no-access-log.
# A hit is reported with the value replaced by <phone of user N>, so the
# test's own output never holds personal data.
#
# Environment (tests/meson.build): BILLING_CLI, BILLING_LIB, BL_BUILD_DIR,
# BL_SOURCE_DIR; MYSQL_*/REDIS_* as `scripts/services env` prints them.
# Own database bltest_pii_<pid> and REDIS_PREFIX bltest:pii:<pid>: (or
# BL_PII_DATABASE, BL_PII_REDIS_PREFIX), both removed at the end, also on
# failure or a signal, with the worker and the server.  BL_PII_KEEP=1 keeps
# the logs (in /tmp/bl-pii.*) for a look.
set -uo pipefail

CLI=${BILLING_CLI:?BILLING_CLI must name the billing-cli binary}
B=${BL_BUILD_DIR:-$(cd "$(dirname "$CLI")/../.." && pwd)}
SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
WORKER=$B/frontends/worker/billing-worker
HTTPD=$B/frontends/httpd/billing-httpd
export BILLING_LIB=${BILLING_LIB:-$B/libbilling.so.0}
for b in "$CLI" "$WORKER" "$HTTPD"; do
    [[ -x $b ]] || { echo "Bail out! $b is not built"; exit 1; }
done
for p in mariadb curl python3; do
    command -v "$p" >/dev/null 2>&1 || { echo "Bail out! $p is not installed"; exit 1; }
done

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=${BL_PII_DATABASE:-bltest_pii_$$}
export REDIS_PREFIX=${BL_PII_REDIS_PREFIX:-bltest:pii:$$:}
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export BILLING_PWHASH_FAST=1 BILLING_ENV=test BILLING_SCHEDULER=0 BILLING_RESERVATION_DELAY_S=0
export BILLING_QUIET_START=00:00 BILLING_QUIET_END=00:00   # no quiet hours
# the mock providers fail for real, so the error paths log too
export BILLING_MOCK_SEED=11
export BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE=150 BILLING_MOCK_EMAIL_PERMANENT_PERMILLE=60
export BILLING_MOCK_SMS_TRANSIENT_PERMILLE=150 BILLING_MOCK_SMS_PERMANENT_PERMILLE=60
export BILLING_RETRY_BASE_MS=20 BILLING_RETRY_CAP_MS=100 BILLING_PENDING_IDLE_MS=5000
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR NO_COLOR COLUMNS
MONTH=2026-10
USERS=300
PASSWORD='correct horse battery'

TMP=$(mktemp -d /tmp/bl-pii.XXXXXX)
LOGS=$TMP/logs            # everything searched; the plain values stay outside
export BILLING_MAILDIR=$TMP/maildir
mkdir -p "$LOGS/cli" "$LOGS/http" "$TMP/work"
cd "$TMP/work" || exit 1

worker_pid='' httpd_pid=''
sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" -N -B "$MYSQL_DATABASE" -e "$1"
}
stop_pid() {  # stop_pid PID: SIGTERM, then SIGKILL after 5 s
    local pid=$1
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
cleanup() {
    stop_pid "$worker_pid"
    stop_pid "$httpd_pid"
    sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`" >/dev/null 2>&1
    if command -v redis-cli >/dev/null 2>&1; then
        redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-16379}" EVAL \
            "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1" \
            0 "${REDIS_PREFIX}*" >/dev/null 2>&1
    fi
    [[ -n ${BL_PII_KEEP:-} ]] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" -u"$MYSQL_USER" \
    -e "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`; CREATE DATABASE \`$MYSQL_DATABASE\`" \
    || { echo "Bail out! cannot create database $MYSQL_DATABASE on $MYSQL_HOST:$MYSQL_PORT"; exit 1; }

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}

# cli NAME WANT_RC ARGS...: one billing-cli command, its stdout and stderr
# kept in $LOGS/cli/NN-NAME.{out,err}.  The file names and this TAP line
# never carry the arguments (they may be plain personal data).
step=0 out=''
cli() {
    local name=$1 want=$2 rc f
    shift 2
    step=$((step + 1))
    f=$LOGS/cli/$(printf '%02d' "$step")-${name//[^A-Za-z0-9_-]/_}
    "$CLI" "$@" >"$f.out" 2>"$f.err" </dev/null
    rc=$?
    out=$(<"$f.out")
    if [[ $rc == "$want" ]]; then pass "billing-cli $name (exit $rc)"
    else fail "billing-cli $name" "exit $rc, expected $want" "$(head -c 400 "$f.err")"; fi
}

# ---- 1. the month ----
cli migrate 0 migrate
cli seed 0 seed --users "$USERS" --month "$MONTH" --seed 5 --invalid-permille 10
cli batch-run 0 batch run --month "$MONTH" --partitions 2 --chunk 50
cli batch-status 0 batch status
cli batch-status-json 0 --json batch status
cli reservation-list 0 reservation list
cli reservation-tick 0 reservation tick
queued=$(sql "SELECT COUNT(*) FROM messages")
(( ${queued:-0} > 200 )) && pass "the month's bills are queued ($queued messages)" \
    || fail "the month's bills are queued" "$queued messages"

# ---- 2. the worker ----
worker_t0=$(date +%s)
"$WORKER" --threads 4 --idle-exit-ms 1500 >"$LOGS/worker.out" 2>"$LOGS/worker.err" </dev/null &
worker_pid=$!
deadline=$((SECONDS + 30))
while kill -0 "$worker_pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
stop_pid "$worker_pid"; worker_pid=''
open=$(sql "SELECT COUNT(*) FROM messages WHERE status NOT IN ('SUCCESS', 'DEAD')")
dead=$(sql "SELECT COUNT(*) FROM messages WHERE status = 'DEAD'")
retried=$(sql "SELECT COUNT(*) FROM message_attempts WHERE status = 'FAILED' AND error NOT LIKE 'permanent%'")
mails=$(find "$BILLING_MAILDIR/new" -type f 2>/dev/null | wc -l)
if [[ $open == 0 && $dead -gt 0 && $retried -gt 0 && $mails -gt 0 ]]; then
    pass "the worker delivered the month: $dead DEAD, $retried transient failures, $mails e-mails in the Maildir"
else
    fail "the worker delivered the month" "$open open, $dead DEAD, $retried transient failures, $mails e-mails"
fi
# its log says the time in KST, as everything else (issue 21): the stamp, read as
# Asia/Seoul (UTC+9, the POSIX zone KST-9), is the time it started
first=$(grep -m1 ' billing-worker: ' "$LOGS/worker.err")
stamp=$(sed -n 's/^\([0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]\) KST billing-worker: .*/\1/p' <<<"$first")
at=$( [[ -n $stamp ]] && TZ=KST-9 date -d "$stamp" +%s)
if [[ -n $at ]] && (( at - worker_t0 >= -2 && at - worker_t0 <= 60 )); then
    pass "the worker's log lines carry the time in KST ($stamp KST)"
else
    fail "the worker's log lines carry the time in KST" "first line: $first"
fi

# ---- the plain values (never written under $LOGS) ----
# plain.tsv: id, phone, e-mail of every subscriber, decrypted by the library
# (bl_user_get with reveal) through the Python binding.
sql "SELECT id FROM users ORDER BY id" >"$TMP/ids" || true
# an ASan build's library loads only into a process that starts with the
# ASan runtime (Python itself is not instrumented: no leak check there)
py_env=()
asan=$(ldd "$BILLING_LIB" 2>/dev/null | sed -n 's/.*libasan\.so[^ ]* => \([^ ]*\).*/\1/p' | head -1)
[[ -n $asan ]] && py_env=(env "LD_PRELOAD=$asan${LD_PRELOAD:+ $LD_PRELOAD}" "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0")
if ! "${py_env[@]}" python3 -B - "$SRC/bindings/python" "$TMP/ids" >"$TMP/plain.tsv" 2>"$TMP/plain.err" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import billing
with billing.connect() as ctx:
    for line in open(sys.argv[2]):
        u = ctx.user_get(int(line), reveal=True)
        print("%d\t%s\t%s" % (u["id"], u["phone"], u["email"]))
EOF
then
    echo "Bail out! cannot decrypt the subscribers: $(head -c 300 "$TMP/plain.err")"
    exit 1
fi
nplain=$(wc -l <"$TMP/plain.tsv")
nusers=$(sql "SELECT COUNT(*) FROM users")
nphone=$(cut -f2 "$TMP/plain.tsv" | grep -cE '^0[0-9]{8,11}$')
nmail=$(cut -f3 "$TMP/plain.tsv" | grep -cE '^[^@ ]+@[^@ ]+\.[a-z]+$')
[[ $nplain == "$USERS" && $nusers == "$USERS" && $nphone == "$USERS" && $nmail == "$USERS" ]] \
    && pass "plain values of all $USERS subscribers decrypted" \
    || fail "plain values of all $USERS subscribers decrypted" "$nplain rows, $nusers users, $nphone phones, $nmail e-mails"

# the subscriber used as filter: one with a DEAD message (the error paths)
U=$(sql "SELECT user_id FROM messages WHERE status = 'DEAD' ORDER BY id LIMIT 1")
U=${U:-1}
IFS=$'\t' read -r _ P E < <(awk -F'\t' -v u="$U" '$1 == u' "$TMP/plain.tsv")
P=${P:-none} E=${E:-none}
PD=${P:0:3}-${P:3:4}-${P:7}      # 010-1234-5678
PM="${P:0:3}-****-${P: -4}"      # the masked forms bl_pii_mask makes
EM="${E:0:1}***@${E#*@}"
found_p=$("$CLI" user find --phone "$PD" 2>/dev/null)
found_e=$("$CLI" user find --email "$E" 2>/dev/null)
in_clear=$(sql "SELECT COUNT(*) FROM users WHERE LOCATE('$P', phone_enc) > 0 OR LOCATE('$E', email_enc) > 0")
[[ $found_p == "$U" && $found_e == "$U" && $in_clear == 0 ]] \
    && pass "the plain values are right: subscriber $U's phone and e-mail find it (blind index), stored encrypted" \
    || fail "the plain values are right" "find by phone: '$found_p', by e-mail: '$found_e', want $U; stored in clear: $in_clear"
SID=$(sql "SELECT id FROM statements WHERE user_id = $U AND target_month = '$MONTH'")
MID=$(sql "SELECT id FROM messages WHERE user_id = $U AND status = 'DEAD' ORDER BY id LIMIT 1")
OKSMS=$(sql "SELECT id FROM messages WHERE channel = 'SMS' AND status = 'SUCCESS' ORDER BY id LIMIT 1")
OKMAIL=$(sql "SELECT id FROM messages WHERE channel = 'EMAIL' AND status = 'SUCCESS' ORDER BY id LIMIT 1")

# ---- 3. billing-httpd ----
echo "$PASSWORD" | "$CLI" admin create pii_admin --role ADMIN >"$LOGS/cli/admin-create.out" 2>&1
"$HTTPD" --port 0 --bind 127.0.0.1 --threads 2 >"$LOGS/httpd.out" 2>"$LOGS/httpd.err" </dev/null &
httpd_pid=$!
port=''
for _ in $(seq 1 200); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOGS/httpd.err")
    [[ -n $port ]] && break
    kill -0 "$httpd_pid" 2>/dev/null || break
    sleep 0.05
done
[[ -n $port ]] && pass "billing-httpd listens on 127.0.0.1:$port" \
    || { fail "billing-httpd starts" "$(head -c 400 "$LOGS/httpd.err")"; port=1; }
URL=http://127.0.0.1:$port
JAR=$TMP/cookies csrf=''
hstep=0
# http NAME WANT_STATUS METHOD PATH [curl args...]: the answer goes to
# $LOGS/http/NN-NAME.body (searched too).
http() {
    local name=$1 want=$2 method=$3 path=$4 code f
    shift 4
    hstep=$((hstep + 1))
    f=$LOGS/http/$(printf '%02d' "$hstep")-${name//[^A-Za-z0-9_-]/_}.body
    local h=()
    [[ -n $csrf && $method != GET ]] && h=(-H "X-CSRF-Token: $csrf")
    code=$(curl -s -o "$f" -w '%{http_code}' -b "$JAR" -c "$JAR" -X "$method" --max-time 20 \
        "${h[@]}" "$@" "$URL$path")
    out=$(<"$f")
    if [[ $code == "$want" ]]; then pass "HTTP $name ($code)"
    else fail "HTTP $name" "status $code, expected $want" "$(head -c 300 "$f")"; fi
}
J=(-H 'Content-Type: application/json')
http login 200 POST /api/session "${J[@]}" --data "{\"username\":\"pii_admin\",\"password\":\"$PASSWORD\"}"
csrf=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read()).get("csrf_token", ""))' <<<"$out" 2>/dev/null)
# phone and e-mail searches are posted (never in a URL) and need OPERATOR+
http users-by-phone 200 POST /api/users/search "${J[@]}" --data "{\"phone\":\"$PD\"}"
[[ $out == *"\"id\":$U,"* ]] && pass "the API finds the subscriber by phone" || fail "the API finds the subscriber by phone"
http users-by-phone-digits 200 POST /api/users/search "${J[@]}" --data "{\"phone\":\"$P\"}"
http users-by-email 200 POST /api/users/search "${J[@]}" --data "{\"email\":\"$E\"}"
[[ $out == *"\"id\":$U,"* ]] && pass "the API finds the subscriber by e-mail" || fail "the API finds the subscriber by e-mail"
http users-bad-phone 422 POST /api/users/search "${J[@]}" --data "{\"phone\":\"${P}x\"}"
http users-bad-email 422 POST /api/users/search "${J[@]}" --data "{\"email\":\"$E>\"}"
http users-bad-email2 422 POST /api/users/search "${J[@]}" --data "{\"email\":\"${E/@/@@}\"}"
http users-unknown-phone 200 POST /api/users/search "${J[@]}" --data "{\"phone\":\"${P}9\"}"
http users-phone-in-url 400 GET /api/users -G --data-urlencode "phone=$PD"
http users-page 200 GET "/api/users?limit=100"
http user-detail 200 GET "/api/users/$U"
http statements 200 GET "/api/statements?month=$MONTH&limit=50"
http statement 200 GET "/api/statements/$U/$MONTH"
http messages-of-user 200 GET "/api/messages?user_id=$U"
http messages-dead 200 GET "/api/messages?status=DEAD&limit=100"
http dead-letters 200 GET "/api/messages/dead?limit=100"
http message-dead 200 GET "/api/messages/$MID"
http message-sms 200 GET "/api/messages/$OKSMS"
http message-email 200 GET "/api/messages/$OKMAIL"
http group-members 200 GET "/api/groups/USER_ALL/members?limit=100"
http template-pii 201 POST /api/templates "${J[@]}" --data '{"code":"PII_PROBE","name":"pii probe",
  "channel":"EMAIL","purpose":"BILLING","subject":"bill for {{email}}",
  "body_html":"<p>{{userName}} {{email}} {{phone}} {{phone|mask}} {{email|mask}}</p>",
  "body_text":"{{userName}} {{email}} {{phone}} {{phone|mask}}",
  "variables":{"email":{"type":"string"},"phone":{"type":"string"}}}'
http preview-pii 200 POST /api/templates/PII_PROBE/preview "${J[@]}" --data "{\"statement_id\":$SID}"
http preview-email 200 POST /api/templates/DEFAULT_BILLING_EMAIL/preview "${J[@]}" --data "{\"statement_id\":$SID}"
http preview-bad-sample 400 POST /api/templates/PII_PROBE/preview "${J[@]}" --data "{\"sample\":[\"$E\",\"$P\"]}"
http stats 200 GET /api/stats
http dry-run 202 POST /api/batch/runs "${J[@]}" --data "{\"month\":\"$MONTH\",\"mode\":\"DRY_RUN\"}"
rid=$(python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["run_id"])' <<<"$out" 2>/dev/null)
for _ in $(seq 1 200); do
    st=$(sql "SELECT status FROM batch_runs WHERE id = '${rid:-0}'")
    [[ $st != STARTED ]] && break
    sleep 0.05
done
http audit 200 GET "/api/audit?limit=100"
http not-found 404 GET "/api/users/999999"
http page-member-search-phone 200 POST /admin/groups/USER_ALL/search --data-urlencode "q_phone=$PD"
http page-member-search-email 200 POST /admin/groups/USER_ALL/search --data-urlencode "q_email=$E"
http page-member-search-bad 200 POST /admin/groups/USER_ALL/search --data-urlencode "q_phone=${P}x"
http page-messages 200 GET "/admin/messages?user_id=$U"
http page-message 200 GET "/admin/messages/$MID"
http page-dead 200 GET /admin/dead
http page-statement 200 GET "/admin/statements/$U/$MONTH"
http page-batch 200 GET "/admin/batch/1"
http logout 200 DELETE /api/session
stop_pid "$httpd_pid"; httpd_pid=''
grep -q 'billing-httpd: stopped' "$LOGS/httpd.err" && grep -q "POST /api/users/search 200" "$LOGS/httpd.err" \
    && pass "billing-httpd wrote its access log and stopped" \
    || fail "billing-httpd wrote its access log and stopped" "$(tail -n 3 "$LOGS/httpd.err")"

# ---- 4. billing-cli one-shots ----
cli user-show 0 user show "$U"
cli user-show-json 0 --json user show "$U"
cli user-search-phone 0 user search --phone "$PD"
cli user-search-phone-json 0 --json user search --phone "$P"
cli user-search-email 0 user search --email "$E"
cli user-search-email-json 0 --json user search --email "$E"
cli user-find-phone 0 user find --phone "$PD"
cli user-find-email 0 --json user find --email "$E"
cli user-find-bad-phone 5 user find --phone "${P}x"
cli user-find-bad-phone-json 5 --json user search --phone "$PD)x"
cli user-find-bad-email 5 user find --email "$E>"
cli user-find-bad-email2 5 user search --email "${E/@/@@}"
cli user-find-unknown-phone 2 user find --phone "${P}9"
cli user-find-unknown-email 2 user find --email "x$E"
cli user-search 0 user search --limit 100
cli user-search-json 0 --json user search --limit 100
cli group-members 0 group members USER_ALL --limit 100
cli group-members-json 0 --json group members USER_ALL --limit 100
cli statement-show 0 statement show "$U" "$MONTH"
cli statement-show-json 0 --json statement show "$U" "$MONTH"
cli statement-search 0 statement search --month "$MONTH" --user "$U"
cli statement-search-json 0 --json statement search --month "$MONTH" --limit 100
cli message-search 0 message search --user "$U"
cli message-search-json 0 --json message search --limit 1000
cli message-show-dead 0 message show "$MID"
cli message-show-sms 0 message show "$OKSMS"
cli message-show-email-json 0 --json message show "$OKMAIL"
cli dlq 0 dlq --limit 100
cli dlq-json 0 --json dlq --limit 100
cli stats 0 stats
cli stats-json 0 --json stats
cli reservation-show 0 reservation show 1
cli batch-list 0 batch list
cli template-preview 0 template preview DEFAULT_BILLING_EMAIL --statement "$SID"
cli template-preview-sms 0 template preview DEFAULT_BILLING_SMS --statement "$SID"
cli template-preview-pii 0 template preview PII_PROBE --statement "$SID"
cli template-preview-pii-json 0 --json template preview PII_PROBE --statement "$SID"
cli template-preview-bad 5 template preview PII_PROBE --sample "[\"$E\", \"$P\"]"
cli admin-audit 0 admin audit --limit 100
cli config-show 0 config show
cli bad-command 1 no-such-command "$P"
cli user-show-unknown 2 user show 999999

# ---- what else the run wrote: log-like tables, the Redis stream ----
for t in messages message_attempts message_ledger audit_log batch_runs batch_failures message_reservations; do
    echo "== $t"
    sql "SELECT * FROM $t"
done >"$LOGS/db-tables.tsv" 2>&1
if command -v redis-cli >/dev/null 2>&1; then
    for k in $(redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-16379}" --scan --pattern "${REDIS_PREFIX}*"); do
        echo "== $k"
        [[ $(redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-16379}" TYPE "$k") == stream ]] \
            && redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-16379}" XRANGE "$k" - +
    done >"$LOGS/redis.txt" 2>&1
fi

# ---- 5. the search ----
# scan CATEGORY FILE...: every plain value of plain.tsv, in the forms it
# could take.  Prints the hits with the value replaced.
scan() {
    python3 -B - "$TMP/plain.tsv" "$@" <<'EOF'
import re, sys
# Linear in the text: digit runs and address-like tokens, looked up in sets.
phones, emails, locals_ = {}, {}, {}
for l in open(sys.argv[1]):
    if l.strip():
        uid, phone, email = l.rstrip("\n").split("\t")
        phones[re.sub(r"\D", "", phone)[1:]] = uid      # 1012345678: without the leading 0
        emails[email.lower()] = uid
        locals_[email.lower().split("@", 1)[0]] = uid
# digits with single separators between: 010-1234-5678, 010 1234 5678,
# (010)1234.5678, +82 10-1234-5678, 01012345678 …
DIGITS = re.compile(r"[0-9]+(?:[-. ()+/]{1,2}[0-9]+)*")
TOKEN = re.compile(r"[A-Za-z0-9._%+-]+(?:(?:@|%40)[A-Za-z0-9.-]+)?")


def find(line):
    for m in DIGITS.finditer(line):
        d = re.sub(r"\D", "", m.group())
        for i in range(len(d) - 9):
            if d[i:i + 10] in phones:
                return m.span(), "<phone of user %s>" % phones[d[i:i + 10]]
    for m in TOKEN.finditer(line):
        t = m.group().lower().replace("%40", "@").strip(".")
        if t in emails:
            return m.span(), "<e-mail of user %s>" % emails[t]
        loc = t.split("@", 1)[0].strip(".")
        if loc in locals_:
            return m.span(), "<e-mail (local part) of user %s>" % locals_[loc]
    return None


hits = 0
for path in sys.argv[2:]:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        print("%s: %s" % (path, e))
        hits += 1
        continue
    if path.endswith(".body") and text.lstrip().startswith("<"):
        # a page echoes what the operator typed into its search fields
        text = re.sub(r'\svalue="[^"]*"', ' value="…"', text)
    for no, line in enumerate(text.splitlines(), 1):
        shown, f = line, find(line)
        if not f:
            continue
        hits += 1
        first = f[0][0]
        for _ in range(100):  # never print the value itself
            (a, b), label = f
            shown = shown[:a] + label + shown[b:]
            f = find(shown)
            if not f:
                break
        if hits <= 12:
            cut = max(0, first - 100)
            print("%s:%d: %s%s" % (path.split("/logs/", 1)[-1], no, "…" if cut else "",
                                   shown[cut:cut + 300]))
print("%d hit(s)" % hits)
sys.exit(1 if hits else 0)
EOF
}
check_clean() {  # check_clean WHAT FILE...
    local what=$1 res
    shift
    if (( $# == 0 )); then fail "no plain personal data in $what" "no files"; return; fi
    if res=$(scan "$@"); then pass "no plain personal data in $what ($# file(s))"
    else
        local IFS=$'\n'
        # shellcheck disable=SC2086
        fail "no plain personal data in $what" $res
    fi
}
shopt -s nullglob
check_clean "billing-worker's output" "$LOGS"/worker.*
check_clean "billing-httpd's output and access log" "$LOGS"/httpd.*
check_clean "billing-cli's stdout and stderr" "$LOGS"/cli/*
check_clean "the API's answers and the admin pages" "$LOGS"/http/*
check_clean "the log-like tables" "$LOGS/db-tables.tsv"
[[ -f $LOGS/redis.txt ]] && check_clean "the Redis stream" "$LOGS/redis.txt"

# ---- 6. the outputs were real, and masked ----
bytes=$(cat "$LOGS"/worker.* "$LOGS"/httpd.* "$LOGS"/cli/* | wc -c)
grep -q 'sender thread' "$LOGS/worker.err" && (( bytes > 20000 )) \
    && pass "the processes wrote real output ($bytes bytes)" || fail "the processes wrote real output" "$bytes bytes"
has() { grep -rqF -- "$1" "${@:2}"; }
has "$PM" "$LOGS/cli" && has "$EM" "$LOGS/cli" \
    && pass "billing-cli shows subscriber $U masked (010-****-NNNN, x***@domain)" \
    || fail "billing-cli shows subscriber $U masked" "missing ${PM//[0-9]/N} or its e-mail mask"
has "$PM" "$LOGS/http" && has "$EM" "$LOGS/http" \
    && pass "the API and the pages show subscriber $U masked" || fail "the API and the pages show subscriber $U masked"
f=$(find "$LOGS/cli" -name '*-template-preview-pii.out' | head -1)
[[ -n $f ]] && grep -qF "$EM $PM $PM" "$f" \
    && pass "a template preview of a statement shows {{email}} {{phone}} {{phone|mask}} masked" \
    || fail "a template preview of a statement shows {{email}} {{phone}} {{phone|mask}} masked" \
            "its text lacks '${EM:0:1}***@… 010-****-NNNN 010-****-NNNN'"
grep -q 'unexpected character' "$LOGS"/cli/*-user-find-bad-phone.err && grep -q 'not an e-mail address' "$LOGS"/cli/*-user-find-bad-email.err \
    && pass "the malformed values were refused with a message" || fail "the malformed values were refused with a message"
grep -qE '010-\*{4}-[0-9]{4}' "$LOGS/db-tables.tsv" \
    && pass "the provider's ledger holds masked numbers" || fail "the provider's ledger holds masked numbers"
reports=$(grep -lE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$LOGS"/worker.* "$LOGS"/httpd.* "$LOGS"/cli/*)
[[ -z $reports ]] && pass "no sanitizer report in the logs" || fail "no sanitizer report in the logs" "$reports"

echo "1..$n"
(( failed == 0 ))
