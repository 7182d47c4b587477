#!/usr/bin/env bash
# examples/statement_report.c built the way a user builds it: against the
# INSTALLED library, found through pkg-config.  `meson install --destdir`
# puts the build into a temporary root; the example is compiled with only
# what `pkg-config billing` says (no -I of the source tree), linked, and run
# against a scratch database (bltest_example_<pid>, set up through the Python
# binding on the installed library, dropped at exit).  Prints TAP.
# Environment: BL_BUILD_DIR (the meson build directory), BL_SOURCE_DIR,
# MYSQL_*/REDIS_* (scripts/services env), CC (default cc).
set -uo pipefail

SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BL_BUILD_DIR:-${1:-$SRC/build}}
CC=${CC:-cc}
MONTH=2026-10
[[ -f $BUILD/build.ninja ]] || { echo "Bail out! $BUILD is not a meson build directory"; exit 1; }
command -v pkg-config >/dev/null 2>&1 || { echo "Bail out! pkg-config is not installed"; exit 1; }

export MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_PORT=${MYSQL_PORT:-13306}
export MYSQL_USER=${MYSQL_USER:-app} MYSQL_PASSWORD=${MYSQL_PASSWORD-app}
export MYSQL_DATABASE=bltest_example_$$
export REDIS_PREFIX="bltest:example:$$:"
export BILLING_DATA_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
unset BILLING_ENV_FILE BILLING_MIGRATIONS_DIR

TMP=$(mktemp -d /tmp/bl-example.XXXXXX)
DEST=$TMP/root
n=0 out='' err='' rc=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1)); echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}
diag_file() { sed 's/^/#   /' "$1" | head -n "${2:-30}"; }
# python SCRIPT: the binding, on the installed library (a sanitizer build's
# library needs the ASan runtime preloaded into the interpreter)
py() {
    local lib=$LIBDIR/libbilling.so.0 pre asan=${ASAN_OPTIONS:-}
    pre=$(ldd "$lib" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3 }')
    [[ -n $pre ]] && asan="$asan:detect_leaks=0"
    BILLING_LIB=$lib PYTHONPATH=$SRC/bindings/python PYTHONDONTWRITEBYTECODE=1 \
        LD_PRELOAD=${pre:+$pre }${LD_PRELOAD:-} ASAN_OPTIONS=$asan python3 -c "$1"
}
db_made=0
cleanup() {
    if (( db_made )); then
        py 'import billing
with billing.connect(env_file="/nonexistent") as c: c.drop_database()' >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
# No .env of the developer's must leak in: run from an empty directory.
mkdir -p "$TMP/work"
cd "$TMP/work" || exit 1

# ---- install ----
if meson install -C "$BUILD" --destdir "$DEST" --no-rebuild --quiet >"$TMP/install.log" 2>&1; then
    pass "meson install --destdir"
else
    fail "meson install --destdir"; diag_file "$TMP/install.log"
    echo "Bail out! cannot install"; exit 1
fi
PC=$(find "$DEST" -name billing.pc -print -quit)
if [[ -n $PC ]]; then pass "billing.pc is installed (${PC#"$DEST"})"
else fail "billing.pc is installed"; echo "Bail out! no billing.pc"; exit 1; fi
export PKG_CONFIG_PATH=${PC%/*}
PREFIX=$(pkg-config --variable=prefix billing)
PCARGS=(--define-variable=prefix="$DEST$PREFIX")
INCDIR=$(pkg-config "${PCARGS[@]}" --variable=includedir billing)
LIBDIR=$(pkg-config "${PCARGS[@]}" --variable=libdir billing)

missing=()
for h in "$SRC"/include/billing/*.h; do
    [[ -f $INCDIR/billing/${h##*/} ]] || missing+=("${h##*/}")
done
if (( ${#missing[@]} == 0 )) && [[ -e $LIBDIR/libbilling.so.0 && -e $LIBDIR/libbilling.so ]]; then
    pass "headers, libbilling.so.0 and the libbilling.so link are installed"
else
    fail "headers, libbilling.so.0 and the libbilling.so link are installed" \
        "missing headers: ${missing[*]:-none}" "libdir: $(ls "$LIBDIR" 2>&1 | tr '\n' ' ')"
fi

# ---- build through pkg-config only ----
read -r -a FLAGS <<<"$(pkg-config "${PCARGS[@]}" --cflags --libs billing jansson)"
if [[ " ${FLAGS[*]} " == *" -I$SRC/include "* ]]; then
    fail "pkg-config flags name the installed tree only" "${FLAGS[*]}"
else
    pass "pkg-config flags name the installed tree only"
fi
EXE=$TMP/statement_report
# A sanitizer build's library only loads into a program built the same way.
SAN=$(meson introspect --buildoptions "$BUILD" 2>/dev/null | python3 -c '
import json, sys
print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"), "none"))' 2>/dev/null)
[[ -n $SAN && $SAN != none ]] && FLAGS=(-fsanitize="$SAN" "${FLAGS[@]}")
# shellcheck disable=SC2086  # $CC may hold flags
if $CC -std=c11 -Wall -Wextra -Werror -pedantic -o "$EXE" "$SRC/examples/statement_report.c" \
    "${FLAGS[@]}" >"$TMP/cc.log" 2>&1; then
    pass "examples/statement_report.c compiles and links with pkg-config billing (C11, -pedantic -Werror)"
else
    fail "examples/statement_report.c compiles and links with pkg-config billing"
    diag_file "$TMP/cc.log"; echo "Bail out! the example does not build"; exit 1
fi
export LD_LIBRARY_PATH=$LIBDIR
resolved=$(ldd "$EXE" 2>&1 | awk '$1 == "libbilling.so.0" { print $3 }')
if [[ $resolved == "$LIBDIR/libbilling.so.0" ]]; then pass "it loads the installed libbilling.so.0"
else fail "it loads the installed libbilling.so.0" "ldd: ${resolved:-not found}"; fi

run() { out=$("$EXE" "$@" 2>"$TMP/err"); rc=$?; err=$(<"$TMP/err"); }
run --help
if [[ $rc == 2 && $err == *usage* ]]; then pass "--help prints the usage"; else fail "--help prints the usage" "exit $rc" "$err"; fi
run 2026-13
if [[ $rc == 2 && $err == *2026-13* ]]; then pass "a bad month is refused with the library's message"
else fail "a bad month is refused with the library's message" "exit $rc" "$err"; fi

# ---- against a database ----
if py "import billing
with billing.connect(env_file='/nonexistent') as c:
    c.drop_database(); c.create_database(); c.migrate()
    c.seed(40, '$MONTH', seed=3)
    c.batch_run('$MONTH')" >"$TMP/setup.log" 2>&1; then
    db_made=1
    pass "scratch database $MYSQL_DATABASE: migrated, seeded, billed"
else
    db_made=1
    fail "scratch database $MYSQL_DATABASE: migrated, seeded, billed"; diag_file "$TMP/setup.log"
    echo "Bail out! no database"; exit 1
fi
# the expected figures, from the library directly
want=$(py "import billing
with billing.connect(env_file='/nonexistent') as c:
    for u in (1, 2):
        s = c.statement(u, '$MONTH')
        print('{:,}'.format(s['billed_amount']), s['due_date'], len(s['lines']))")
run "$MONTH" 1 2
mapfile -t W <<<"$want"
ok=1
for i in 0 1; do
    read -r billed due nlines <<<"${W[$i]}"
    grep -q "billed $billed won, due $due" <<<"$out" || ok=0
done
if [[ $rc == 0 && $ok == 1 && $(grep -c '^정산서' <<<"$out") == 2 ]]; then
    pass "statement_report MONTH 1 2 prints both statements with the library's figures"
else
    fail "statement_report MONTH 1 2 prints both statements with the library's figures" \
        "exit $rc" "expected: ${W[*]}" "stdout: ${out:0:600}" "stderr: $err"
fi
run "$MONTH"
if [[ $rc == 0 && $out == *"statements of $MONTH (first 20)"* && $(grep -c ' won  due ' <<<"$out") == 20 ]]; then
    pass "statement_report MONTH lists the month's statements"
else
    fail "statement_report MONTH lists the month's statements" "exit $rc" "stdout: ${out:0:600}" "stderr: $err"
fi
run "$MONTH" 99999
if [[ $rc == 1 && $err == *"not found"*99999* ]]; then
    pass "an unknown subscriber fails with the library's message"
else
    fail "an unknown subscriber fails with the library's message" "exit $rc" "stderr: $err"
fi
echo "1..$n"
