# shellcheck shell=bash
# Shared helpers for scripts/*. Source this file; do not execute it.
#
# Provides:
#   BL_ROOT                 repo root (derived from this file's location)
#   bl_log / bl_die         messages prefixed with "$bl_prog:" on stderr
#   bl_load_env FILE [RE]   read KEY=VALUE lines; the environment wins
#   bl_is_port V            1..65535?
#   bl_port_in_use P        is anything listening on TCP port P?
#   bl_port_owner P         human-readable description of the listener(s)
#   bl_pid_alive PID        process exists and is not a zombie
#   bl_proc_name PID        basename of argv[0] (handles rewritten proctitles)
#   bl_proc_cwd PID         resolved cwd of PID
#   bl_apt_install PKG...   non-interactive apt-get install (waits for locks)
#   bl_reap_marked MARK L   stop the processes that carry BL_TEST_MARK=MARK
#
# The bootstrap every script shares (scripts/demo, bench/*):
#   BL_BUILD_DEPS           the Debian packages that building the project needs
#   bl_pkg_installed PKG    is the Debian package PKG installed?
#   bl_ensure_build_deps [PKG...]
#                           install whatever of BL_BUILD_DEPS and the extra PKGs is
#                           missing (one apt-get run)
#   bl_build [-q] DIR [MESON_OPTION...]
#                           meson setup (or reconfigure) + ninja; returns 1 after
#                           "error: <step> failed: <first error>" on failure

bl_prog=${bl_prog:-$(basename "$0")}
BL_ROOT=${BL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}

# Tools like mariadbd live in /usr/sbin, which non-root PATHs often lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH=$PATH:/sbin ;; esac

bl_log() { printf '%s: %s\n' "$bl_prog" "$*" >&2; }
bl_die() { printf '%s: error: %s\n' "$bl_prog" "$*" >&2; exit 1; }

# bl_load_env FILE [KEY_REGEX]
# Lines "KEY=VALUE" (optionally prefixed with "export "); blank lines and
# lines starting with '#' are ignored; one level of matching surrounding
# quotes is stripped. Nothing is evaluated. Variables already set in the
# environment are NOT overridden. Only keys matching KEY_REGEX are taken.
bl_load_env() {
    local file=$1 re=${2:-.} line key val
    [[ -f $file ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        line=${line#"${line%%[![:space:]]*}"}          # ltrim
        [[ -z $line || $line == \#* ]] && continue
        line=${line#export }
        [[ $line == *=* ]] || continue
        key=${line%%=*}; val=${line#*=}
        key=${key%"${key##*[![:space:]]}"}             # rtrim key
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
        [[ $key =~ $re ]] || continue
        val=${val#"${val%%[![:space:]]*}"}
        val=${val%"${val##*[![:space:]]}"}
        if [[ ${#val} -ge 2 && ( ( $val == \"*\" ) || ( $val == \'*\' ) ) ]]; then
            val=${val:1:${#val}-2}
        fi
        if [[ -z ${!key+x} ]]; then
            printf -v "$key" '%s' "$val"
            export "${key?}"
        fi
    done <"$file"
}

bl_is_port() { [[ $1 =~ ^[0-9]{1,5}$ ]] && (( 10#$1 >= 1 && 10#$1 <= 65535 )); }

bl_port_in_use() {
    local p=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
    fi
}

bl_port_owner() {
    local p=$1 out=''
    if command -v ss >/dev/null 2>&1; then
        out=$(ss -Hltnp "sport = :$p" 2>/dev/null | awk '{ $1=$1; print }' | paste -sd';' -)
    fi
    printf '%s' "${out:-unknown process}"
}

bl_pid_alive() {
    local pid=$1 stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }                                  # after "(comm) "
    [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

bl_proc_name() {
    local a0
    a0=$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n1) || return 1
    a0=${a0%% *}                                       # "redis-server 127.0.0.1:6379"
    printf '%s' "${a0##*/}"
}

bl_proc_cwd() { readlink -f "/proc/$1/cwd" 2>/dev/null; }

# Wait (up to 600 s) for another apt/dpkg run on this machine to finish.
bl_wait_apt() {
    local waited=0
    while pgrep -x 'apt-get|apt|dpkg|aptitude|unattended-upgr' >/dev/null 2>&1; do
        (( waited == 0 )) && bl_log "waiting for another apt-get/dpkg process to finish..."
        (( waited >= 600 )) && { bl_log "still busy after 600 s; relying on the dpkg lock timeout"; break; }
        sleep 5; waited=$((waited + 5))
    done
}

bl_apt_install() {
    local sudo=()
    if (( EUID != 0 )); then
        command -v sudo >/dev/null 2>&1 || bl_die "need root (or sudo) to install: $*"
        sudo=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || bl_die "apt-get not found; install manually: $*"
    bl_wait_apt
    local opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    bl_log "apt-get update"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" -q update </dev/null >&2 \
        || bl_die "apt-get update failed"
    bl_log "apt-get install $*"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" -q -y \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install "$@" </dev/null >&2 || bl_die "apt-get install $* failed"
}

# bl_reap_marked MARK LABEL
# Stop every process whose environment holds BL_TEST_MARK=MARK (TERM, then
# KILL after 5 s), wherever it was re-parented to: what a test started and
# left behind.  Each one is named on stderr, after LABEL.
bl_reap_marked() {
    python3 - "$1" "$2" <<'PY'
import os, signal, sys, time
mark = ("BL_TEST_MARK=" + sys.argv[1]).encode()
me = {os.getpid(), os.getppid()}

def marked():
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in me:
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if mark in f.read().split(b"\0"):
                    with open(f"/proc/{d}/cmdline", "rb") as c:
                        out.append((int(d), c.read().replace(b"\0", b" ").decode(errors="replace")[:120]))
        except OSError:
            pass
    return out

left = marked()
for pid, cmd in left:
    print(f"{sys.argv[2]}: stopping a leftover process {pid}: {cmd}", file=sys.stderr)
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
end = time.monotonic() + 5
while left and time.monotonic() < end:
    time.sleep(0.1)
    left = marked()
for pid, cmd in left:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
PY
}

# ------------------------------------------------------------- bootstrap --

# What building the project (meson.build and its subdirectories) needs on
# Debian, the C library dependencies' -dev packages included, plus the
# mariadb client that scripts and benchmarks run.  Scripts that need more
# pass their extra packages to bl_ensure_build_deps.
# shellcheck disable=SC2034  # used by the scripts that source this file
BL_BUILD_DEPS=(meson ninja-build pkg-config gcc libmariadb-dev libhiredis-dev libjansson-dev
    libsodium-dev libcurl4-openssl-dev libcriterion-dev libmicrohttpd-dev libreadline-dev python3 mariadb-client)

bl_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# bl_ensure_build_deps [EXTRA_PKG...]
# Checks BL_BUILD_DEPS and the extra packages with dpkg-query and installs the
# missing ones with one bl_apt_install (which exits on failure).  Silent when
# nothing is missing; without dpkg it checks nothing.
bl_ensure_build_deps() {
    local missing=() p
    command -v dpkg-query >/dev/null 2>&1 || { bl_log "no dpkg: not checking packages"; return 0; }
    for p in "${BL_BUILD_DEPS[@]}" "$@"; do
        bl_pkg_installed "$p" || missing+=("$p")
    done
    (( ${#missing[@]} == 0 )) && return 0
    bl_log "installing missing packages: ${missing[*]}"
    bl_apt_install "${missing[@]}"   # one apt-get update, then install
}

# _bl_build_failed STEP LOG LINES: the last LINES lines of LOG (none when 0),
# then one line "error: STEP failed: <first error of LOG>" (a compiler's or
# linker's "error:", meson's "ERROR:", else ninja's "FAILED:" line).
_bl_build_failed() {
    local what=$1 log=$2 n=$3 first='' re
    (( n > 0 )) && tail -n "$n" "$log" >&2
    for re in ': (fatal )?error: ' 'ERROR: ' '^FAILED: '; do
        # without the colour escapes of -fdiagnostics-color
        first=$(sed 's/\x1b\[[0-9;]*[mK]//g' "$log" 2>/dev/null | grep -m1 -E "$re" || true)
        [[ -n $first ]] && break
    done
    printf '%s: error: %s failed%s\n' "$bl_prog" "$what" "${first:+: $first}" >&2
}

# bl_build [-q] DIR [MESON_OPTION...]
# Configures DIR (meson setup; when DIR is configured already, meson setup
# --reconfigure, which also picks up files added since, and --wipe when that
# fails) and builds it with ninja.  meson's output is shown only when it
# fails.  ninja's output goes to stderr and to DIR/meson-logs/ninja-build.log;
# with -q only to that log, whose tail is shown when the build fails.  On
# failure the last line is "<prog>: error: <meson setup ...|ninja -C DIR>
# failed: <its first error line>" and the status is 1: the caller decides
# whether that ends it.
bl_build() {
    local -            # set -o pipefail below stays in this function
    local quiet=0
    [[ ${1:-} == -q ]] && { quiet=1; shift; }
    (( $# >= 1 )) || bl_die "bl_build: no build directory"
    local dir=$1
    shift
    local t=$SECONDS log nlog
    log=$(mktemp /tmp/bl-build.XXXXXX)
    bl_log "configuring $dir${*:+ ($*)}"
    if [[ -f $dir/build.ninja ]]; then
        if ! meson setup --reconfigure "$dir" "$@" >"$log" 2>&1 \
                && ! meson setup --wipe "$dir" "$@" >"$log" 2>&1; then
            _bl_build_failed "meson setup --wipe $dir" "$log" 30
            rm -f "$log"
            return 1
        fi
    elif ! meson setup "$dir" "$@" >"$log" 2>&1; then
        _bl_build_failed "meson setup $dir" "$log" 30
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    bl_log "building $dir"
    nlog=$dir/meson-logs/ninja-build.log
    set -o pipefail
    if (( quiet )); then
        ninja -C "$dir" </dev/null >"$nlog" 2>&1 \
            || { _bl_build_failed "ninja -C $dir" "$nlog" 40; return 1; }
    else
        ninja -C "$dir" </dev/null 2>&1 | tee "$nlog" >&2 \
            || { _bl_build_failed "ninja -C $dir" "$nlog" 0; return 1; }
    fi
    bl_log "built $dir in $((SECONDS - t)) s"
}
