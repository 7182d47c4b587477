#!/usr/bin/env bash
# The exported ABI of libbilling.so.0, as jansson checks its exports:
#   1. `nm -D --defined-only` of the built library equals the checked-in
#      tests/abi/libbilling.symbols (an accidental export or a removal fails;
#      after an intended change run scripts/update-symbols);
#   2. every exported function is declared BL_EXTERN in a public header;
#   3. every function the public headers declare is exported (a declared but
#      unimplemented function would only fail when a user links);
#   4. every export carries the version node LIBBILLING_0 (libbilling.map).
# Prints TAP.  Environment: BILLING_LIB (the library; default
# $BL_BUILD_DIR/libbilling.so.0), BL_SOURCE_DIR.
#   tests/test_symbols.sh --print LIB   prints the symbol list of LIB
set -uo pipefail

SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NM=${NM:-nm}

# exported LIB -> "name" per line, sorted (version suffixes stripped)
exported() {
    "$NM" -D --defined-only "$1" | awk 'NF >= 3 && $2 != "A" { print $3 }' \
        | sed 's/@.*//' | LC_ALL=C sort -u
}

if [[ ${1:-} == --print ]]; then
    exported "${2:?usage: test_symbols.sh --print LIB}"
    exit
fi

LIB=${BILLING_LIB:-${BL_BUILD_DIR:-$SRC/build}/libbilling.so.0}
LIST=$SRC/tests/abi/libbilling.symbols
[[ -e $LIB ]] || { echo "Bail out! no library at $LIB"; exit 1; }
[[ -f $LIST ]] || { echo "Bail out! no $LIST (scripts/update-symbols creates it)"; exit 1; }
command -v "$NM" >/dev/null 2>&1 || { echo "Bail out! no $NM (binutils)"; exit 1; }
TMP=$(mktemp -d /tmp/bl-symbols.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

exported "$LIB" >"$TMP/built" || { echo "Bail out! $NM failed on $LIB"; exit 1; }
grep -v -e '^#' -e '^[[:space:]]*$' "$LIST" | LC_ALL=C sort -u >"$TMP/list"
python3 "$(dirname "${BASH_SOURCE[0]}")/../scripts/api-doc-skeleton" --root "$SRC" --list | awk '{ print $2 }' \
    | LC_ALL=C sort -u >"$TMP/declared" || { echo "Bail out! cannot read the headers"; exit 1; }

n=0
report() {  # NAME FILE-OF-OFFENDERS HINT
    n=$((n + 1))
    if [[ ! -s $2 ]]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        sed 's/^/#   /' "$2" | head -n 60
        echo "#   $3"
    fi
}

{
    LC_ALL=C comm -13 "$TMP/list" "$TMP/built" | sed 's/^/exported but not in the list: /'
    LC_ALL=C comm -23 "$TMP/list" "$TMP/built" | sed 's/^/in the list but not exported: /'
} >"$TMP/diff"
report "exports of $(basename "$LIB") equal tests/abi/libbilling.symbols" "$TMP/diff" \
    "an intended change? run scripts/update-symbols and commit the list with it"

LC_ALL=C comm -23 "$TMP/built" "$TMP/declared" >"$TMP/undeclared"
report "every exported symbol is declared BL_EXTERN in include/billing/" "$TMP/undeclared" \
    "make it static or BL_PRIVATE (bl__ prefix), or declare it in a public header"

LC_ALL=C comm -13 "$TMP/built" "$TMP/declared" >"$TMP/unexported"
report "every function declared in include/billing/ is exported" "$TMP/unexported" \
    "implement it in libbilling/ (or remove the declaration)"

"$NM" -D --defined-only "$LIB" | awk 'NF >= 3 && $2 != "A" && $3 !~ /@@?LIBBILLING_0$/ { print $3 }' \
    >"$TMP/unversioned"
report "every export has the version node LIBBILLING_0" "$TMP/unversioned" \
    "exports must go through libbilling/libbilling.map"
echo "1..$n"
