#!/usr/bin/env bash
# scripts/demo end to end (issue 21): from a copy of scripts/ with this build
# (--no-build), against the running services, into a new database: its
# summary says when the billing e-mails go out (the reservation the batch
# made, as the database has it), and when billing-httpd dies while the demo
# waits, the demo says so with the log and exits 1, stopping the worker,
# instead of waiting forever.  Prints TAP.
set -uo pipefail
SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BL_BUILD_DIR:?BL_BUILD_DIR must name the build directory}
command -v mariadb >/dev/null 2>&1 || { echo "1..0 # SKIP the mariadb client is not installed"; exit 0; }
[[ -x $BUILD/frontends/httpd/billing-httpd && -x $BUILD/frontends/worker/billing-worker ]] \
    || { echo "1..0 # SKIP billing-httpd or billing-worker is not built"; exit 0; }

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=bltest_demo_$$
export REDIS_PREFIX="bltest:demo:$$:"
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export BILLING_PWHASH_FAST=1 BILLING_ENV=test BILLING_RESERVATION_DELAY_S=600 BILLING_SCHEDULER=0
export MONTH=2026-10 BUILD_DIR=build
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR CI BL_ROOT
# the running services (scripts/services keeps their state here)
export BL_RUN_DIR=${BL_RUN_DIR:-$SRC/.run}

TMP=$(mktemp -d /tmp/bl-demo-test.XXXXXX)
sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h"$MYSQL_HOST" -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" -N -B -e "$1"
}
demo_pid=
cleanup() {
    [[ -n $demo_pid ]] && kill -INT "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
    sql "DROP DATABASE IF EXISTS \`$MYSQL_DATABASE\`" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
sql "CREATE DATABASE \`$MYSQL_DATABASE\`" || { echo "Bail out! cannot create $MYSQL_DATABASE"; exit 1; }

# the demo's checkout: its scripts, the health probe, this build; its own
# .env, logs and admin password stay in $TMP
mkdir -p "$TMP/root/infra" "$TMP/demo"
cp -a "$SRC/scripts" "$TMP/root/"
cp -a "$SRC/infra/billing-healthz" "$TMP/root/infra/"
ln -s "$BUILD" "$TMP/root/build"
export BL_DEMO_DIR=$TMP/demo
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export HTTP_PORT

echo "1..6"
n=0
ok() {
    n=$((n + 1))
    if eval "$2"; then echo "ok $n - $1"; else
        echo "not ok $n - $1"
        sed 's/^/#   /' "$TMP/out" "$TMP/err" | tail -n 25
    fi
}

"$TMP/root/scripts/demo" --no-build --users 40 >"$TMP/out" 2>"$TMP/err" &
demo_pid=$!
for (( t = 0; t < 600; t++ )); do  # up to 60 s for the summary
    grep -q '^Admin server:' "$TMP/out" 2>/dev/null && break
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
done
sleep 0.5
ok "the demo is up and waiting" 'kill -0 "$demo_pid" 2>/dev/null && grep -q "^Admin server: http://127.0.0.1:$HTTP_PORT/admin" "$TMP/out"'

want=$(sql "SELECT CONCAT('#', id, ' WAITING: the statements go out by e-mail at ',
            DATE_FORMAT(scheduled_at, '%Y-%m-%d %H:%i:%s'), ' KST') FROM \`$MYSQL_DATABASE\`.message_reservations")
ok "the summary says when the billing e-mails go out ($want)" \
   '[[ -n $want ]] && grep -Fq "billing e-mails" "$TMP/out" && grep -Fq "billing reservation $want" "$TMP/out"'
ok "... BILLING_RESERVATION_DELAY_S after the batch" \
   '(( $(sql "SELECT TIMESTAMPDIFF(SECOND, r.ended_at, s.scheduled_at) FROM \`$MYSQL_DATABASE\`.batch_runs r
             JOIN \`$MYSQL_DATABASE\`.message_reservations s ON s.batch_run_id = r.id") >= 595 ))'

httpd=$(sed -n 's/.*started billing-httpd (pid \([0-9]*\)).*/\1/p' "$TMP/err")
worker=$(sed -n 's/.*started billing-worker (pid \([0-9]*\)).*/\1/p' "$TMP/err")
[[ -n $httpd ]] && kill -KILL "$httpd"
for (( t = 0; t < 100; t++ )); do  # up to 10 s
    kill -0 "$demo_pid" 2>/dev/null || break
    sleep 0.1
done
rc=0
if kill -0 "$demo_pid" 2>/dev/null; then rc=timeout; else wait "$demo_pid"; rc=$?; fi
demo_pid=
ok "when billing-httpd dies, the demo exits 1 (got $rc)" '[[ $rc == 1 ]]'
ok "... saying which program stopped, how, and where its log is" \
   'grep -Eq "error: billing-httpd \(pid $httpd\) stopped unexpectedly \(killed by signal 9\); its log: $TMP/demo/httpd.log" "$TMP/err"'
ok "... and the worker is stopped too" '[[ -n $worker ]] && ! kill -0 "$worker" 2>/dev/null'
