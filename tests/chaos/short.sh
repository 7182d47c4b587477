#!/usr/bin/env bash
# meson test 'chaos': scripts/chaos --short on the binaries of this build
# (TAP).  tests/meson.build sets BILLING_CLI, BL_BUILD_DIR, BL_SOURCE_DIR.
set -euo pipefail
B=${BL_BUILD_DIR:?BL_BUILD_DIR must name the build directory}
export CHAOS_CLI=${BILLING_CLI:-$B/frontends/cli/billing-cli}
export CHAOS_WORKER=$B/frontends/worker/billing-worker
export CHAOS_ENQUEUE=$B/tests/chaos/chaos-enqueue
exec "${BL_SOURCE_DIR:?}/scripts/chaos" --short
