#!/usr/bin/env bash
# scripts/test stops what a suite left running: every process that carries
# the run's BL_TEST_MARK, detached or re-parented, even one that ignores
# SIGTERM; and nothing else.  Prints TAP.
set -uo pipefail
SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bl_prog=test_reaper
# shellcheck source=scripts/lib.sh
. "$SRC/scripts/lib.sh"

echo "1..4"
n=0
ok() { n=$((n + 1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi; }

mark="reaper-test-$$-$RANDOM"
# a detached daemon (new session, re-parented to init), one that ignores
# TERM, and an unmarked bystander
BL_TEST_MARK=$mark setsid sh -c 'exec sleep 300' </dev/null >/dev/null 2>&1 &
BL_TEST_MARK=$mark setsid sh -c 'trap "" TERM; sleep 300 & wait' </dev/null >/dev/null 2>&1 &
BL_TEST_MARK=other-$mark sleep 300 </dev/null >/dev/null 2>&1 &
bystander=$!
sleep 0.5
count() { grep -lzx "BL_TEST_MARK=$1" /proc/[0-9]*/environ 2>/dev/null | wc -l; }
ok "the marked processes run before (found $(count "$mark"))" '(( $(count "$mark") >= 3 ))'
out=$(bl_reap_marked "$mark" test 2>&1)
ok "all of them are gone after the reap" '(( $(count "$mark") == 0 ))'
ok "each one was named" '(( $(grep -c "stopping a leftover process" <<<"$out") >= 3 ))'
ok "an unmarked process is left alone" 'kill -0 "$bystander" 2>/dev/null'
kill "$bystander" 2>/dev/null
wait 2>/dev/null
exit 0
