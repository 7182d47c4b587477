#!/usr/bin/env bash
# Leaks and memory errors of the frontends, on a fresh test database (TAP).
#
#   - plain build: every one-shot billing-cli command below under
#     valgrind --leak-check=full (definite and indirect leaks and memory
#     errors fail), and billing-worker delivering a small month under
#     valgrind;
#   - ASan+UBSan build (scripts/test's sanitizer pass): the same commands
#     with LeakSanitizer, and billing-worker delivering a month of 2,000
#     statements with 4 threads: zero AddressSanitizer, LeakSanitizer or
#     UBSan reports.
#
# Environment (tests/meson.build): BILLING_CLI, BL_BUILD_DIR; MYSQL_*/REDIS_*
# as exported by `scripts/services env`.  Own database bltest_leaks_<pid>.
set -uo pipefail

CLI=${BILLING_CLI:?BILLING_CLI must name the billing-cli binary}
B=${BL_BUILD_DIR:-$(cd "$(dirname "$CLI")/../.." && pwd)}
WORKER=$B/frontends/worker/billing-worker
ENQUEUE=$B/tests/chaos/chaos-enqueue
for b in "$CLI" "$WORKER" "$ENQUEUE"; do
    [[ -x $b ]] || { echo "Bail out! $b is not built"; exit 1; }
done
command -v mariadb >/dev/null 2>&1 || { echo "Bail out! the mariadb client is not installed"; exit 1; }

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=bltest_leaks_$$
export REDIS_PREFIX="bltest:leaks:$$:"
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export BILLING_SCHEDULER=0 BILLING_PENDING_IDLE_MS=5000 BILLING_MOCK_EMAIL_TRANSIENT_PERMILLE=50
export BILLING_RETRY_BASE_MS=50 BILLING_RETRY_CAP_MS=200 BILLING_RETRY_EMAIL_ATTEMPTS=10
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR
MONTH=2026-10
TMP=$(mktemp -d /tmp/bl-leaks.XXXXXX)
export BILLING_MAILDIR=$TMP/maildir

sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" -N -B -e "$1"
}
cleanup() {
    sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`" >/dev/null 2>&1
    if command -v redis-cli >/dev/null 2>&1; then
        redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "${REDIS_PORT:-16379}" EVAL \
            "for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 1" \
            0 "${REDIS_PREFIX}*" >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`; CREATE DATABASE \`$MYSQL_DATABASE\`" \
    || { echo "Bail out! cannot create database $MYSQL_DATABASE on $MYSQL_HOST:$MYSQL_PORT"; exit 1; }
mkdir -p "$TMP/work"
cd "$TMP/work" || exit 1

# Which build is this?  An ASan build links libasan: valgrind cannot run it.
if ldd "$CLI" 2>/dev/null | grep -q 'libasan'; then
    MODE=asan
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    WORKER_USERS=2000
else
    MODE=valgrind
    command -v valgrind >/dev/null 2>&1 || { echo "1..0 # SKIP valgrind is not installed"; exit 0; }
    WORKER_USERS=300
fi
echo "# mode: $MODE ($CLI)"

n=0 failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}

# checked NAME EXPECTED_RC CMD... : run CMD under the checker of this build;
# passes when it exits EXPECTED_RC and the checker reports nothing.
checked() {
    local name=$1 want=$2 rc log=$TMP/out.$((n + 1))
    shift 2
    if [[ $MODE == valgrind ]]; then
        valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --show-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30 \
            --log-file="$log.vg" "$@" >"$log" 2>&1
        rc=$?
        cat "$log.vg" >>"$log" 2>/dev/null
    else
        "$@" >"$log" 2>&1
        rc=$?
    fi
    local reports
    reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|==[0-9]+== [A-Z].*(lost|Invalid|uninitialised|Mismatched)' "$log")
    if [[ $rc == "$want" && $reports == 0 ]]; then
        pass "$name"
    else
        fail "$name" "exit $rc (expected $want), $reports report(s); output:" \
            "$(grep -E -m12 -A8 'ERROR: |runtime error|definitely lost|indirectly lost|Invalid|uninitialised' "$log" | head -40)" \
            "$(tail -n 5 "$log")"
    fi
}

cli() { checked "$1" "$2" "$CLI" "${@:3}"; }

cli "migrate" 0 migrate
cli "seed --users $WORKER_USERS" 0 seed --users "$WORKER_USERS" --month "$MONTH" --seed 3
cli "batch run" 0 batch run --month "$MONTH" --partitions 2 --chunk 100
cli "batch list" 0 batch list
cli "batch status" 0 --json batch status 1
cli "batch recover" 0 batch recover
cli "statement show" 0 statement show 1 "$MONTH"
cli "statement search" 0 --json statement search --month "$MONTH" --limit 20
cli "user show" 0 user show 1
cli "user show --reveal" 0 --json user show 1 --reveal
cli "user find (not found)" 2 user find --phone 010-0000-0000
cli "user search" 0 user search --limit 5
cli "config show" 0 config show
cli "config genkey" 0 config genkey
cli "template list" 0 template list
cli "template show" 0 --json template show DEFAULT_BILLING_EMAIL
cli "template preview (statement)" 0 template preview DEFAULT_BILLING_EMAIL --statement 1
cli "template preview (sample)" 0 template preview DEFAULT_BILLING_SMS --sample '{"userName":"홍길동","targetMonth":"2026-10","totalPrice":85750,"billedAmount":85750,"dueDate":"2026-11-25"}'
cli "template preview (bad sample)" 5 template preview DEFAULT_BILLING_SMS --sample '{"userName":'
cli "group list" 0 group list
cli "unknown command" 1 no-such-command
checked "enqueue the month's messages" 0 "$ENQUEUE" "$MONTH"

# the worker: a short load, then idle exit
checked "billing-worker delivers the month ($WORKER_USERS users) with zero reports" 0 \
    "$WORKER" --threads 4 --idle-exit-ms 1500
open=$(sql "SELECT COUNT(*) FROM \`$MYSQL_DATABASE\`.messages WHERE status NOT IN ('SUCCESS','DEAD')")
total=$(sql "SELECT COUNT(*) FROM \`$MYSQL_DATABASE\`.messages")
if [[ $open == 0 && $total -gt 0 ]]; then
    pass "the worker's load was real: $total messages, all delivered or dead"
else
    fail "the worker's load was real" "$open of $total messages still open"
fi

cli "message search" 0 --json message search --limit 10
cli "message show" 0 message show 1
cli "stats" 0 stats
cli "dlq" 0 dlq --limit 5

echo "1..$n"
(( failed == 0 ))
