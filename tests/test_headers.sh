#!/usr/bin/env bash
# Every public header compiles on its own (it includes what it uses), twice
# in one unit (include guards), as strict ISO C11 (-std=c11 -pedantic
# -Werror: no GNU extensions leak into users' builds), as C99 for the
# umbrella header, and as C++ (BL_BEGIN_DECLS).  Prints TAP.
# Environment: BL_SOURCE_DIR (the source tree; default: this script's ..),
# CC (default cc), CXX (default c++; the C++ checks are skipped without one).
set -uo pipefail

SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CC=${CC:-cc}
CXX=${CXX:-c++}
INC=$SRC/include
TMP=$(mktemp -d /tmp/bl-headers.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

command -v "${CC%% *}" >/dev/null 2>&1 || { echo "Bail out! no C compiler ($CC)"; exit 1; }
mapfile -t HEADERS < <(cd "$INC" && ls billing/*.h)
(( ${#HEADERS[@]} > 0 )) || { echo "Bail out! no headers in $INC/billing"; exit 1; }
HAVE_CXX=0
command -v "${CXX%% *}" >/dev/null 2>&1 && HAVE_CXX=1

n=0
# check NAME COMPILER-AND-FLAGS... -- SOURCE-TEXT
check() {
    local name=$1 src=$2
    shift 2
    n=$((n + 1))
    printf '%s\n' "$src" >"$TMP/unit.$n"
    # shellcheck disable=SC2086  # $CC/$CXX may hold flags
    if "$@" -I"$INC" -fsyntax-only "$TMP/unit.$n" >"$TMP/log" 2>&1; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        sed 's/^/#   /' "$TMP/log" | head -n 30
    fi
}

c_flags=(-x c -Wall -Wextra -Werror)
for h in "${HEADERS[@]}"; do
    unit=$(printf '#include <%s>\n#include <%s>\nint bl_header_test_dummy;\n' "$h" "$h")
    check "$h alone (default C)" "$unit" $CC "${c_flags[@]}"
    check "$h alone -std=c11 -pedantic -Werror" "$unit" $CC "${c_flags[@]}" -std=c11 -pedantic
    if (( HAVE_CXX )); then
        check "$h alone as C++" "$unit" $CXX -x c++ -Wall -Wextra -Werror -pedantic
    else
        n=$((n + 1)); echo "ok $n - $h alone as C++ # SKIP no C++ compiler ($CXX)"
    fi
done
umbrella=$'#include <billing/billing.h>\nint bl_header_test_dummy;\n'
check "billing/billing.h -std=c99 -pedantic -Werror" "$umbrella" $CC "${c_flags[@]}" -std=c99 -pedantic

# The umbrella header includes every other public header (users include one).
n=$((n + 1))
missing=()
for h in "${HEADERS[@]}"; do
    [[ $h == billing/billing.h ]] && continue
    grep -Eq "^#include \"${h#billing/}\"" "$INC/billing/billing.h" || missing+=("$h")
done
if (( ${#missing[@]} == 0 )); then
    echo "ok $n - billing/billing.h includes every public header"
else
    echo "not ok $n - billing/billing.h includes every public header"
    echo "#   not included: ${missing[*]}"
fi
echo "1..$n"
