#!/usr/bin/env bash
# shellcheck disable=SC2015  # "cond && pass || fail": pass() always succeeds
# End-to-end tests of billing-cli against the MariaDB of scripts/services.
# Prints TAP (meson: protocol 'tap').  Environment:
#   BILLING_CLI      path of the built billing-cli (set by tests/meson.build)
#   MYSQL_*, REDIS_* as exported by `scripts/services env`
# Works in its own database bltest_cli_<pid>, dropped at exit.
set -uo pipefail

CLI=${BILLING_CLI:?BILLING_CLI must name the billing-cli binary}
[[ -x $CLI ]] || { echo "Bail out! $CLI is not executable"; exit 1; }
command -v mariadb >/dev/null 2>&1 || { echo "Bail out! the mariadb client is not installed"; exit 1; }

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=bltest_cli_$$
export REDIS_PREFIX="bltest:cli:$$:"
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR
MONTH=2026-10

TMP=$(mktemp -d /tmp/bl-cli-test.XXXXXX)
sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" -N -B -e "$1"
}
cleanup() {
    sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`; CREATE DATABASE \`$MYSQL_DATABASE\`" \
    || { echo "Bail out! cannot create database $MYSQL_DATABASE on $MYSQL_HOST:$MYSQL_PORT"; exit 1; }
# No .env of the developer's must leak in: run from an empty directory.
mkdir -p "$TMP/work"
cd "$TMP/work" || exit 1

n=0 failed=0 out='' err='' rc=0
run() { out=$("$CLI" "$@" 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err"); }
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
    printf '#   exit %s\n' "$rc"
    printf '#   stdout: %s\n' "${out:0:400}"
    printf '#   stderr: %s\n' "${err:0:400}"
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# expect NAME RC [STDOUT_REGEX [STDERR_REGEX]] -- after run
expect() {
    local name=$1 want=$2 o=${3:-} e=${4:-}
    if [[ $rc != "$want" ]]; then fail "$name" "expected exit $want"; return; fi
    if [[ -n $o ]] && ! grep -Eq -- "$o" <<<"$out"; then fail "$name" "stdout lacks /$o/"; return; fi
    if [[ -n $e ]] && ! grep -Eq -- "$e" <<<"$err"; then fail "$name" "stderr lacks /$e/"; return; fi
    pass "$name"
}
not_built() { [[ $rc == 1 && $err == *"not built yet"* ]]; }

# ---- basics ----
run --version;            expect "--version" 0 '^billing-cli [0-9]+\.[0-9]+\.[0-9]+$'
run --help;               expect "--help lists the commands" 0 'migrate'
run;                      expect "no command is a usage error" 1 '' 'usage'
run frobnicate;           expect "unknown command" 1 '' "unknown command 'frobnicate'"
run --frob migrate;       expect "unknown option" 1 '' "unknown option '--frob'"

# ---- config ----
run config genkey;        expect "config genkey prints 64 hex digits" 0 '^[0-9a-f]{64}$'
k1=$out; run config genkey
if [[ $rc == 0 && $out != "$k1" ]]; then pass "two generated keys differ"; else fail "two generated keys differ"; fi
run config show;          expect "config show" 0 'MYSQL_PORT +'"$MYSQL_PORT"
if [[ $out == *"$BILLING_DATA_KEY"* ]]; then fail "config show masks BILLING_DATA_KEY"
elif grep -Eq '^BILLING_DATA_KEY +\*{8}' <<<"$out" && grep -Eq '^MYSQL_PASSWORD +(\*{8}|\(unset\))' <<<"$out"; then
    pass "config show masks secrets"
else fail "config show masks secrets" "no ******** on the secret lines"; fi
run --json config show
if [[ $rc == 0 ]] && python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out" 2>/dev/null; then
    pass "--json config show is JSON"
else fail "--json config show is JSON"; fi
out=$(MYSQL_PORT=abc "$CLI" config show 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "bad MYSQL_PORT in the environment" 5 '' "MYSQL_PORT.*abc"
printf 'MYSQL_HOST=127.0.0.1\nMYSQL_HOTS=typo\n' >.env
run config show;          expect "unknown setting in .env is refused" 5 '' '\.env:2: unknown setting MYSQL_HOTS'
printf 'SPRING_PROFILES_ACTIVE=prod\nMYSQL_ROOT_PASSWORD=x\nREDIS_PREFIX=from-dot-env:\n' >.env
run config show;          expect ".env: foreign keys ignored, ours read" 0 'REDIS_PREFIX +bltest:cli'
rm -f .env
printf 'MYSQL_USER=from_named_file\n' >"$TMP/named.env"
out=$(BILLING_ENV_FILE=$TMP/named.env env -u MYSQL_USER "$CLI" config show 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "BILLING_ENV_FILE names the file" 0 'MYSQL_USER +from_named_file'
out=$(BILLING_ENV_FILE=$TMP/missing.env "$CLI" config show 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
[[ $rc != 0 && $err == *"$TMP/missing.env"* ]] && pass "missing BILLING_ENV_FILE is an error naming it" \
    || fail "missing BILLING_ENV_FILE is an error naming it"

# ---- migrate ----
nmig=$(find "${BL_SOURCE_DIR:-$(dirname "$0")/..}/migrations" -maxdepth 1 -name 'V*__*.sql' | wc -l)
run migrate;              expect "migrate applies every migration" 0 "applied $nmig migration"
run migrate;              expect "migrate again applies nothing" 0 'applied 0 migration'
run --json migrate;       expect "--json migrate" 0 '^\{"applied":0,"version":[0-9]+\}$'
out=$(MYSQL_PORT=1 MYSQL_CONNECT_TIMEOUT=2 "$CLI" migrate 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "unreachable MariaDB is a backend error" 4 '' 'cannot connect to MariaDB'
out=$(MYSQL_SOCKET=$TMP/no.sock "$CLI" migrate 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "MYSQL_SOCKET is used instead of TCP" 4 '' "via socket $TMP/no.sock"
out=$(env -u BILLING_DATA_KEY "$CLI" user find --phone 010-1234-5678 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err")
expect "missing BILLING_DATA_KEY is a configuration error" 5 '' 'BILLING_DATA_KEY'

# ---- reads on an empty database ----
run user show 1;          expect "user show: not found" 2 '' 'no subscriber with id 1'
run user find --phone 010-1234-5678; expect "user find: not found, masked" 2 '' '010-\*\*\*\*-5678'
run user find --phone 010-12x4; expect "user find: bad phone" 5 '' 'phone'
run user find --fax 1;    expect "user find: bad option" 1
run statement show 1 2026-13; expect "statement show: bad month" 5 '' "month '2026-13'"
run statement show 1 "$MONTH"; expect "statement show: none yet" 2 '' "no statement for user 1 in $MONTH"
run statement show;       expect "statement show: usage" 1

# ---- seed (skipped while not built) ----
run seed --users 40 --month "$MONTH"
seeded=0
if not_built; then
    skip "seed --users 40" "seed not built yet"
else
    expect "seed --users 40 --month $MONTH" 0
    [[ $rc == 0 ]] && seeded=1
    users=$(sql "SELECT COUNT(*) FROM \`$MYSQL_DATABASE\`.users" 2>/dev/null)
    [[ $users == 40 ]] && pass "seed created 40 subscribers" || fail "seed created 40 subscribers" "users: $users"
    run seed --users 40 --month "$MONTH"
    expect "seeding a month twice is a conflict" 3
fi
if (( seeded )); then
    run --json user show 1;   expect "user show masks" 0 '"phone": ?"0[0-9]{2}-\*+-[0-9]{4}"'
    # a table like statement show, JSON only with --json (issue 21)
    run user show 1;          expect "user show prints a table" 0 '^PHONE +EMAIL +CHANNEL'
    [[ $out != *'{'* && $out =~ $'\n'0[0-9]{2}-\*+-[0-9]{4}\ +[a-z0-9._]\*+@ ]] \
        && pass "user show: the masked values in the table, no JSON" \
        || fail "user show: the masked values in the table, no JSON" "$out"
    run --json user show 1 --reveal; expect "user show --reveal" 0 '"phone": ?"0[0-9]{8,11}"'
    phone=$(grep -Eo '"phone": ?"[0-9]+"' <<<"$out" | grep -Eo '[0-9]+')
    if [[ -n $phone ]]; then
        dashed="${phone:0:3}-${phone:3:${#phone}-7}-${phone: -4}"
        run user find --phone "$dashed"; expect "user find --phone $dashed" 0 '^1$'
    else
        fail "user find by a seeded phone" "no phone in user show --reveal"
    fi
    plain=$(sql "SELECT COUNT(*) FROM \`$MYSQL_DATABASE\`.users WHERE INSTR(phone_enc, '$phone') > 0")
    [[ $plain == 0 ]] && pass "seeded phones are not stored in plain text" \
        || fail "seeded phones are not stored in plain text"
else
    skip "user show after seed" "no seeded data"
fi

# ---- batch (skipped while not built) ----
run batch run --month "$MONTH"
if not_built; then
    skip "batch run" "batch not built yet"
elif (( ! seeded )); then
    skip "batch run" "no seeded data"
else
    expect "batch run --month $MONTH" 0
    sid=$(sql "SELECT user_id FROM \`$MYSQL_DATABASE\`.statements WHERE target_month='$MONTH' ORDER BY user_id LIMIT 1" 2>/dev/null)
    if [[ -n $sid ]]; then
        run --json statement show "$sid" "$MONTH"; expect "statement show after the batch" 0 '"billed_amount"'
        billed=$(grep -Eo '"billed_amount": ?[0-9]+' <<<"$out" | grep -Eo '[0-9]+$')
        [[ -n $billed && $((billed % 10)) == 0 ]] && pass "billed amount is a multiple of 10" \
            || fail "billed amount is a multiple of 10"
    else
        fail "batch run issued statements" "no statement rows for $MONTH"
    fi
    mism=$(sql "SELECT COUNT(*) FROM \`$MYSQL_DATABASE\`.statements WHERE target_month='$MONTH' AND
                (billed_amount + truncated_amount <> total_amount OR total_amount <> net_amount + vat_amount
                 OR vat_amount <> taxable_amount DIV 10 OR due_date <> '2026-11-25')" 2>/dev/null)
    [[ $mism == 0 ]] && pass "issued statements obey the totals rules" \
        || fail "issued statements obey the totals rules" "mismatching rows: $mism"
    run batch run --month "$MONTH"
    (( rc < 128 )) && pass "a second run of the month ends without crashing (exit $rc)" \
        || fail "a second run of the month ends without crashing"
    dup=$(sql "SELECT COUNT(*) - COUNT(DISTINCT user_id) FROM \`$MYSQL_DATABASE\`.statements WHERE target_month='$MONTH'")
    [[ $dup == 0 ]] && pass "one statement per subscriber after two runs" \
        || fail "one statement per subscriber after two runs" "duplicates: $dup"
fi

echo "1..$n"
(( failed == 0 ))
