#!/usr/bin/env bash
# docs/api.md documents every public function (every BL_EXTERN of
# include/billing/*.h) with its current prototype, and nothing else.
# Prints TAP, one line per function.  To add entries for new functions:
#   scripts/api-doc-skeleton        (prints them, with the header comments)
set -uo pipefail
SRC=${BL_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
[[ -f $SRC/docs/api.md ]] || { echo "Bail out! no $SRC/docs/api.md"; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec python3 "$HERE/../scripts/api-doc-skeleton" --root "$SRC" --tap
