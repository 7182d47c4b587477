# shellcheck shell=bash
# Shared by bench/*: source it (after `set -euo pipefail`), do not execute it.
# The bootstrap itself (packages, build) is scripts/lib.sh's, as for
# scripts/demo and scripts/test.
#
#   bench_init NAME [ARG...] bl_prog=bench/NAME, cd to the repo root, the exit
#                            trap; the cleanup's output goes to
#                            $BL_RUN_DIR/bench-NAME.log (default .run/)
#   bench_setup [PKG...]     steps "dependencies" (BL_BUILD_DEPS and PKGs),
#                            "build" (bl_build -q $BUILD_DIR, default build;
#                            sets BENCH_BUILD) and "services" (MariaDB and
#                            Redis started when they are not running: then
#                            stopped at exit); exports MYSQL_*/REDIS_*
#   bench_step NAME CMD...   runs CMD as step NAME, its stderr shown and kept;
#                            when it fails the script ends (set -e)
#   bench_stage NAME         the commands that follow, inline, are step NAME
#   bench_die MESSAGE        ends the script: the current step failed
#   bench_cleanup            the script's own cleanup (optional), run at exit
#                            before the services are stopped; output to the log
#   bench_sql ARGS...        the mariadb client on the services' TCP port
#
# Output: on success nothing is printed after the script's own last line (its
# summary); on failure the last line is
#   bench/NAME: error: <step>: <error>
# <error> being bench_die's MESSAGE, else the step's last error line (its
# output is shown above), else its exit status.  The exit status is kept.

# shellcheck source=scripts/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/scripts/lib.sh"

BENCH_STEP=start
BENCH_MSG=''
BENCH_STARTED_SERVICES=0
# shellcheck disable=SC2034  # read by the scripts' bench_cleanup
BENCH_SERVICES_READY=0
BENCH_BUILD=${BUILD_DIR:-build}

bench_init() {
    local name=$1
    shift
    bl_prog=bench/$name
    cd "$BL_ROOT" || exit 1
    bl_load_env "$BL_ROOT/.env" '^BL_RUN_DIR$'
    BENCH_RUN_DIR=${BL_RUN_DIR:-$BL_ROOT/.run}
    [[ $BENCH_RUN_DIR == /* ]] || BENCH_RUN_DIR=$BL_ROOT/$BENCH_RUN_DIR
    mkdir -p "$BENCH_RUN_DIR"
    BENCH_LOG=$BENCH_RUN_DIR/bench-$name.log
    printf '%s %s\n' "$(date '+%F %T')" "$bl_prog${*:+ $*}" >"$BENCH_LOG"
    BENCH_TMP=$(mktemp -d /tmp/bl-bench.XXXXXX)
    BENCH_ERRF=$BENCH_TMP/step.err
    : >"$BENCH_ERRF"
    trap _bench_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_stage() {
    BENCH_STEP=$1 BENCH_MSG=''
    : >"$BENCH_ERRF"
}

# The command's stdout stays stdout; its stderr goes through tee (a pipeline
# waits for tee, so nothing of it comes after the step).  Under set -e and
# pipefail a failure of CMD ends the script with CMD's status.
bench_step() {
    bench_stage "$1"
    shift
    { "$@" 2>&1 1>&3 3>&- | tee "$BENCH_ERRF" >&2 3>&-; } 3>&1
}

bench_die() {
    if (( BASH_SUBSHELL )); then
        # inside bench_step: the step's error output carries it out
        printf '%s: error: %s\n' "$bl_prog" "$*" >&2
    else
        BENCH_MSG=$*
    fi
    exit 1
}

bench_sql() {
    MYSQL_PWD=$MYSQL_PASSWORD mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$MYSQL_PORT" \
        -u"$MYSQL_USER" "$@"
}

# The mariadb client that scripts/services uses on its socket would follow a
# MYSQL_HOST from the environment to TCP: keep it out of that call.
_bench_services_start() { env -u MYSQL_HOST -u MYSQL_TCP_PORT "$BL_ROOT/scripts/services" start; }

bench_setup() {
    bench_step dependencies bl_ensure_build_deps "$@"
    bench_step build bl_build -q "$BENCH_BUILD"
    bench_stage services
    if "$BL_ROOT/scripts/services" status >/dev/null 2>&1; then
        bl_log "MariaDB and Redis are running: using them (and leaving them running)"
    elif "$BL_ROOT/scripts/services" status 2>/dev/null | grep -q ': running'; then
        # scripts/services stops both together: stop nothing at exit
        bl_log "only part of the services is running: starting the rest (left running at exit)"
        bench_step services _bench_services_start
    else
        BENCH_STARTED_SERVICES=1
        bench_step services _bench_services_start
    fi
    eval "$("$BL_ROOT/scripts/services" env)"
    # shellcheck disable=SC2034  # read by the scripts' bench_cleanup
    BENCH_SERVICES_READY=1
}

# The failed step's error: the last line that says "error" among its last
# five lines, else its last line, without the "<prog>: error: " prefixes.
_bench_error() {
    local rc=$1 line=''
    if [[ -n $BENCH_MSG ]]; then
        line=$BENCH_MSG
    elif [[ -s $BENCH_ERRF ]]; then
        line=$(grep -v '^[[:space:]]*$' "$BENCH_ERRF" | tail -n 5 \
            | grep -iE '(^|[^[:alnum:]_])error([^[:alnum:]_]|$)' | tail -n 1 || true)
        [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$BENCH_ERRF" | tail -n 1)
        line=${line#"$bl_prog: "}
        [[ $line =~ ^[[:alnum:]/_.-]+:\ error:\ (.*)$ ]] && line=${BASH_REMATCH[1]}
        line=${line#"$bl_prog: "}
        line=${line#error: }
        line=${line#"${line%%[![:space:]]*}"}
    fi
    case $rc in
        130) line=${line:-interrupted} ;;
        143) line=${line:-terminated} ;;
    esac
    (( ${#line} <= 400 )) || line="${line:0:400}…"
    printf '%s' "${line:-exit status $rc}"
}

_bench_exit() {
    local rc=$? stop_rc=0
    trap - EXIT INT TERM
    set +eu
    {
        printf -- '---- %s exit %s (step %s); cleanup\n' "$(date '+%F %T')" "$rc" "$BENCH_STEP"
        if declare -F bench_cleanup >/dev/null; then bench_cleanup; fi
        if (( BENCH_STARTED_SERVICES )); then
            "$BL_ROOT/scripts/services" stop
            stop_rc=$?
        fi
    } </dev/null >>"$BENCH_LOG" 2>&1
    (( stop_rc == 0 )) \
        || bl_log "warning: 'scripts/services stop' failed (exit $stop_rc): see $BENCH_LOG"
    if (( rc != 0 )); then
        printf '%s: error: %s: %s\n' "$bl_prog" "$BENCH_STEP" "$(_bench_error "$rc")" >&2
    fi
    rm -rf "$BENCH_TMP"
    exit "$rc"
}
