#!/usr/bin/env bash
# The whole story on a clean Debian 12: debootstrap a bookworm root, install only Debian's
# own nodejs (18.x), npm, openssh-server and rsync in it, install the packed jailwizard
# tarball with npm, make a four-tool jail with `jailwizard apply`, prove it from this host
# with the real clients against that root's own sshd on 127.0.0.1, drive the wizard's first
# screens in a real terminal (tmux), then `jailwizard remove`.
#
#   bash scripts/fresh-box-test.sh        (as root; from any directory)
#
# Needs on the host: debootstrap, tmux, openssh-client, rsync, node + npm (for `npm pack`),
# and `npm ci` done in the repo. The root is cached in test/.cache/fresh-box/ (gitignored):
# a second run skips debootstrap and the installs. FRESH_BOX_REBUILD=1 forces a new root.
# After a failed run the root counts as dirty and the next run rebuilds it; until then it is
# left as it was for a look (nothing is mounted and nothing runs in it after exit).
#
# The host is left alone: its /etc/ssh, port 22 and its sshd are never touched; the root's
# sshd listens on a free loopback port; tmux runs on its own server (-L); /proc, /dev,
# /dev/pts and /sys are mounted into the root only while this runs and always unmounted.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
REPO=$PWD
CACHE=$REPO/test/.cache/fresh-box
ROOT=$CACHE/bookworm
READY=$CACHE/bookworm.ready # written once the root has its packages
DIRTY=$CACHE/bookworm.dirty # present while a run uses the root; removed when one passes
SUITE=bookworm
PACKAGES=(nodejs npm openssh-server rsync)
JUSER=fbuser
JAIL=/srv/jails/$JUSER
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---- output, timing and the tally -------------------------------------------------------

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }
T_START=$(now_ms)
STEP=''
STEP_T=0
TIMINGS=()
end_step() {
  if [ -n "$STEP" ]; then
    local ms=$(($(now_ms) - STEP_T))
    echo "   -- $(secs "$ms")"
    TIMINGS+=("$(printf '%8s  %s' "$(secs "$ms")" "$STEP")")
    STEP=''
  fi
}
step() {
  end_step
  STEP=$1
  STEP_T=$(now_ms)
  echo
  echo "== $1"
}
note() { echo "   $*"; }
indent() { sed 's/^/        | /'; }

PASSED=0
FAILED=0
FAILURES=()
pass() {
  PASSED=$((PASSED + 1))
  echo "   ok    $1"
}
# fail NAME [DETAIL]: counts a failed check and goes on.
fail() {
  FAILED=$((FAILED + 1))
  FAILURES+=("$1")
  echo "   FAIL  $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | tail -n 60 | indent; fi
}
# die NAME [DETAIL]: a failure the rest cannot go on without.
die() {
  fail "$@"
  exit 1
}
# check NAME CMD...: runs CMD (output kept), passes on exit 0.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$out"; fi
}

# ---- the root ------------------------------------------------------------------------

# Runs a command inside the root with a clean environment.
in_root() {
  env -i PATH="$ROOT_PATH" HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive \
    chroot "$ROOT" "$@"
}

# Mount points under the root, deepest first (from the kernel's table, so stale ones count too).
mounts_under_root() {
  awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}

unmount_all() {
  local m ok=0
  for m in $(mounts_under_root); do
    if ! umount "$m" 2>/dev/null; then
      echo "   umount $m: busy, detaching it (umount -l)"
      umount -l "$m" || ok=1
    fi
  done
  if [ -n "$(mounts_under_root)" ]; then
    echo "   still mounted under $ROOT:"
    mounts_under_root | indent
    ok=1
  fi
  return $ok
}

# Processes whose root directory is the fresh box (only this script ever chroots there).
pids_in_root() {
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    if [ "$r" = "$ROOT" ]; then echo "${p#/proc/}"; fi
  done
}

stop_root_processes() {
  local pid pids i
  if [ -f "$ROOT/run/sshd.pid" ]; then
    pid=$(cat "$ROOT/run/sshd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$ROOT" ]; then
      kill "$pid" 2>/dev/null || true
    fi
  fi
  for i in $(seq 1 50); do
    pids=$(pids_in_root)
    [ -z "$pids" ] && return 0
    if [ "$i" = 20 ]; then
      # shellcheck disable=SC2086
      kill $pids 2>/dev/null || true
    elif [ "$i" = 40 ]; then
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
    fi
    sleep 0.1
  done
  echo "   processes still running in the root: $(pids_in_root | tr '\n' ' ')"
  return 1
}

mount_root() {
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  mount --bind /dev/pts "$ROOT/dev/pts"
  mount -t sysfs sysfs "$ROOT/sys"
}

remove_root() {
  [ -e "$ROOT" ] || return 0
  stop_root_processes || die "cannot remove the old root: processes still run in it"
  unmount_all || die "cannot remove the old root: something is still mounted under $ROOT"
  rm -rf --one-file-system "$ROOT"
  rm -f "$READY" "$DIRTY"
}

# The first URI the host's apt uses for a suite: deb822 *.sources first, then one-line lists.
host_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$suite" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/ || line !~ /^[A-Za-z-]+:/) continue
          key = tolower(substr(line, 1, index(line, ":") - 1))
          val = substr(line, index(line, ":") + 1)
          gsub(/^[ \t]+|[ \t]+$/, "", val)
          if (key == "types") types = val
          else if (key == "uris") uris = val
          else if (key == "suites") suites = val
          else if (key == "enabled") enabled = tolower(val)
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        n = split(suites, s, /[ \t]+/); split(uris, u, /[ \t]+/)
        for (j = 1; j <= n; j++) if (s[j] == want) { print u[1]; exit }
      }' "$f" | head -n 1 | grep . && return 0
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk -v want="$suite" '$1 == "deb" && $3 == want { print $2; exit }' | grep . && return 0
  done
  return 1
}

# ---- cleanup, always ------------------------------------------------------------------

TMPD=''
LOCKED=0
TMUX_SOCK=fresh-box-$$
TMUX_DIR=${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)
SSHD_STARTED=0
cleanup() {
  local status=$? problems=0 where=$STEP
  set +e
  end_step
  if [ "$status" != 0 ] && [ "$FAILED" = 0 ]; then
    fail "stopped (exit $status) in step '$where'${ERR_AT:+ at $ERR_AT}"
  fi
  echo
  echo "== cleanup"
  tmux -L "$TMUX_SOCK" kill-server >/dev/null 2>&1
  rm -f "$TMUX_DIR/$TMUX_SOCK"
  if [ "$LOCKED" = 1 ] && [ "$SSHD_STARTED" = 1 ] && [ "$FAILED" -gt 0 ] && [ -f "$ROOT/var/log/fresh-box-sshd.log" ]; then
    echo "   the root's sshd log (end):"
    tail -n 40 "$ROOT/var/log/fresh-box-sshd.log" | indent
  fi
  # Another run's root is not ours to touch (no lock, no cleanup).
  if [ "$LOCKED" = 1 ] && [ -d "$ROOT" ]; then
    stop_root_processes || problems=1
    unmount_all || problems=1
  fi
  if [ "$LOCKED" = 1 ] && [ -n "$TMPD" ]; then rm -rf "$TMPD"; fi
  if [ "$problems" != 0 ]; then fail "cleanup: the root still has mounts or processes (see above)"; fi
  if [ "$LOCKED" != 1 ]; then
    :
  elif [ "$status" = 0 ] && [ "$FAILED" = 0 ]; then
    rm -f "$DIRTY"
  elif [ -f "$DIRTY" ]; then
    echo "   the cached root is left as it is for a look; the next run rebuilds it"
  fi
  echo
  echo "timings:"
  printf '  %s\n' "${TIMINGS[@]}"
  echo "  total: $(secs $(($(now_ms) - T_START)))"
  if [ "$FAILED" -gt 0 ]; then
    echo "failed:"
    printf '  - %s\n' "${FAILURES[@]}"
  fi
  echo "fresh-box: $PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ] || [ "$status" != 0 ]; then exit 1; fi
  exit 0
}
ERR_AT=''
trap 'ERR_AT="line $LINENO: $BASH_COMMAND"' ERR
trap cleanup EXIT
trap 'echo; ERR_AT="SIGINT"; exit 130' INT
trap 'echo; ERR_AT="SIGTERM"; exit 143' TERM

# ---- 0. the host ------------------------------------------------------------------------

step "0. host: prerequisites, the Debian mirror"
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"
for c in debootstrap chroot mount flock tmux ssh sftp scp rsync ssh-keygen node npm; do
  command -v "$c" >/dev/null || die "missing on the host: $c (bash .ci/run installs what is needed)"
done
[ -d node_modules/esbuild ] || die "node_modules is missing: run npm ci first (npm pack builds the bundle)"
MIRROR=$(host_uri "$SUITE") || die "no '$SUITE' deb source in the host's apt configuration (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list)"
UPDATES=$(host_uri "$SUITE-updates" || true)
SECURITY=$(host_uri "$SUITE-security" || true)
note "mirror:   $MIRROR ($SUITE)"
note "updates:  ${UPDATES:-none in the host apt sources}"
note "security: ${SECURITY:-none in the host apt sources}"
PKG_VERSION=$(node -p 'require("./package.json").version')
mkdir -p "$CACHE"
# One run at a time per cache; the lock goes with this process, however it ends.
exec 9>"$CACHE/lock"
flock -n 9 || die "another fresh-box run is using $CACHE"
LOCKED=1
# This run's scratch (key pair, logs, tarball): inside the cache, so a run killed with -9
# leaves nothing in /tmp, and the next run clears it.
rm -rf "$CACHE/run"
mkdir -m 700 "$CACHE/run"
TMPD=$CACHE/run

# Leftovers of a run that was killed (kill -9): its tmux server, mounts and processes.
for sock in "$TMUX_DIR"/fresh-box-*; do
  [ -S "$sock" ] || continue
  if ! kill -0 "${sock##*-}" 2>/dev/null; then
    note "ending the tmux server of an earlier run ($(basename "$sock"))"
    tmux -L "$(basename "$sock")" kill-server >/dev/null 2>&1 || true
    rm -f "$sock"
  fi
done
if [ -d "$ROOT" ]; then
  if [ -n "$(pids_in_root)" ] || [ -n "$(mounts_under_root)" ]; then
    note "an earlier run left processes or mounts in the root; ending them"
    stop_root_processes || die "cannot stop the processes left in $ROOT"
    unmount_all || die "cannot unmount what is left mounted under $ROOT"
  fi
fi

# ---- 1 + 2. the root, cached ------------------------------------------------------------

if [ "${FRESH_BOX_REBUILD:-}" = 1 ]; then
  note "FRESH_BOX_REBUILD=1: building a new root"
  remove_root
elif [ -f "$DIRTY" ]; then
  note "the cached root was left dirty by a run that did not pass; building a new one"
  remove_root
elif [ -e "$ROOT" ] && [ ! -f "$READY" ]; then
  note "the cached root is incomplete (no $(basename "$READY")); building a new one"
  remove_root
fi

if [ -f "$READY" ]; then
  step "1-2. cached root: $ROOT"
  sed 's/^/   /' "$READY"
  # The last run passed and removed its jail; its records (removed/, journal history) go
  # too, so that this run meets the same box as a cold one.
  rm -rf "$ROOT/var/lib/jailwizard"
else
  step "1. debootstrap --variant=minbase $SUITE (from $MIRROR)"
  include=()
  case $MIRROR in https:*) include=(--include=ca-certificates) ;; esac
  if ! debootstrap --variant=minbase "${include[@]}" "$SUITE" "$ROOT" "$MIRROR" >"$TMPD/debootstrap.log" 2>&1; then
    tail -n 30 "$ROOT/debootstrap/debootstrap.log" >>"$TMPD/debootstrap.log" 2>/dev/null
    unmount_all || true
    die "debootstrap failed" "$(cat "$TMPD/debootstrap.log")"
  fi
  unmount_all || die "debootstrap left mounts behind"
  note "$(du -sh --one-file-system "$ROOT" | cut -f1) in $ROOT"

  step "2. apt-get install ${PACKAGES[*]} (in the root)"
  {
    echo "deb $MIRROR $SUITE main"
    if [ -n "$UPDATES" ]; then echo "deb $UPDATES $SUITE-updates main"; fi
    if [ -n "$SECURITY" ]; then echo "deb $SECURITY $SUITE-security main"; fi
  } >"$ROOT/etc/apt/sources.list"
  # The host apt's way to that mirror: its proxy and date checks (a mirror serving
  # snapshots needs the latter off), when it sets them.
  apt-config dump | grep -E '^Acquire::(Check-(Valid-Until|Date)|https?::Proxy) ' >"$ROOT/etc/apt/apt.conf.d/99fresh-box-host" || true
  [ -s "$ROOT/etc/apt/apt.conf.d/99fresh-box-host" ] || rm -f "$ROOT/etc/apt/apt.conf.d/99fresh-box-host"
  # Package installs must not start services.
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  mount_root
  host=$(printf '%s\n' "$MIRROR" "$UPDATES" "$SECURITY" | sed -n 's#^[a-z+]*://\([^/:]*\).*#\1#p' | sort -u)
  for h in $host; do
    if in_root getent hosts "$h" >/dev/null; then
      note "the root resolves $h as it is: no resolv.conf copied"
    else
      note "the root cannot resolve $h: copying the host's /etc/resolv.conf in"
      rm -f "$ROOT/etc/resolv.conf"
      cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
      in_root getent hosts "$h" >/dev/null || die "the root cannot resolve the mirror host $h"
    fi
  done
  in_root apt-get update >"$TMPD/apt.log" 2>&1 || die "apt-get update failed in the root" "$(cat "$TMPD/apt.log")"
  in_root apt-get install -y --no-install-recommends "${PACKAGES[@]}" >"$TMPD/apt.log" 2>&1 ||
    die "apt-get install failed in the root" "$(cat "$TMPD/apt.log")"
  in_root apt-get clean
  unmount_all || die "cannot unmount after the installs"
  {
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $MIRROR"
    in_root dpkg-query -W -f '${Package} ${Version}\n' "${PACKAGES[@]}" openssh-client
  } >"$READY"
  sed 's/^/   /' "$READY"
fi

mount_root

# ---- 3. the package -------------------------------------------------------------------

step "3. npm pack on the host, npm install -g --offline in the root"
npm pack --pack-destination "$TMPD" >"$TMPD/pack.log" 2>&1 || die "npm pack failed" "$(cat "$TMPD/pack.log")"
TGZ=$(ls "$TMPD"/jailwizard-*.tgz) || die "npm pack made no jailwizard-*.tgz" "$(cat "$TMPD/pack.log")"
note "$(basename "$TGZ"): $(stat -c %s "$TGZ") bytes"
# From here on the root changes; it counts as dirty until a run passes.
date -u +%Y-%m-%dT%H:%M:%SZ >"$DIRTY"
rm -f "$ROOT"/tmp/jailwizard-*.tgz
cp "$TGZ" "$ROOT/tmp/"
if out=$(in_root npm install -g --offline --no-audit --no-fund "/tmp/$(basename "$TGZ")" 2>&1); then
  pass "npm install -g --offline of the tarball in the root"
else
  die "npm install -g --offline of the tarball in the root" "$out"
fi
rm -f "$ROOT/tmp/$(basename "$TGZ")"

# ---- 4. versions -----------------------------------------------------------------------

step "4. versions in the root"
NODE_V=$(in_root node --version 2>&1) || die "node --version failed in the root" "$NODE_V"
note "node $NODE_V, npm $(in_root npm --version 2>&1), $(in_root /usr/sbin/sshd -V 2>&1 | head -n 1)"
case $NODE_V in
  v18.*) pass "the root's node is Debian's 18.x ($NODE_V)" ;;
  *) fail "the root's node is Debian's 18.x (got $NODE_V)" ;;
esac
if JW_V=$(in_root jailwizard --version 2>&1) && [ "$JW_V" = "$PKG_VERSION" ]; then
  pass "jailwizard --version is $JW_V"
else
  die "jailwizard --version should print $PKG_VERSION" "$JW_V"
fi

# ---- 5. the root's own sshd -------------------------------------------------------------

step "5. the root's sshd on a free loopback port"
PORT=$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
note "port $PORT"
in_root ssh-keygen -A >/dev/null
in_root mkdir -p /run/sshd
CFG=$ROOT/etc/ssh/sshd_config
# The fresh box's own config (never the host's): where it listens, at the top (global).
sed -i '/^# fresh-box: begin$/,/^# fresh-box: end$/d' "$CFG"
{
  echo '# fresh-box: begin'
  echo "Port $PORT"
  echo 'ListenAddress 127.0.0.1'
  echo 'PidFile /run/sshd.pid'
  echo '# fresh-box: end'
  cat "$CFG"
} >"$TMPD/sshd_config"
cat "$TMPD/sshd_config" >"$CFG"
out=$(in_root /usr/sbin/sshd -t -f /etc/ssh/sshd_config 2>&1) || die "sshd -t rejects the root's config" "$out"
rm -f "$ROOT/run/sshd.pid"
: >"$ROOT/var/log/fresh-box-sshd.log"
# -E: its log in the root (there is no syslog there); kept across the SIGHUP re-exec.
in_root /usr/sbin/sshd -f /etc/ssh/sshd_config -E /var/log/fresh-box-sshd.log ||
  die "the root's sshd did not start" "$(cat "$ROOT/var/log/fresh-box-sshd.log")"
SSHD_STARTED=1
for i in $(seq 1 100); do
  if [ -s "$ROOT/run/sshd.pid" ] && timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then break; fi
  [ "$i" = 100 ] && die "the root's sshd does not listen on 127.0.0.1:$PORT" "$(cat "$ROOT/var/log/fresh-box-sshd.log")"
  sleep 0.1
done
SSHD_PID=$(cat "$ROOT/run/sshd.pid")
note "sshd pid $SSHD_PID listens on 127.0.0.1:$PORT"

# ---- 6. apply -------------------------------------------------------------------------

step "6. jailwizard apply --config (bash rsync scp sftp; $JUSER in $JAIL), in the root"
ssh-keygen -q -t ed25519 -N '' -C fresh-box@host -f "$TMPD/id_ed25519"
PUBKEY=$(cat "$TMPD/id_ed25519.pub")
cat >"$ROOT/tmp/fresh-box-answers.yaml" <<EOF
user: $JUSER
tools: [bash, rsync, scp, sftp]
jail: $JAIL
authorizedKeys:
  - $PUBKEY
createUser: true
EOF
if in_root jailwizard apply --config /tmp/fresh-box-answers.yaml --yes >"$TMPD/apply.log" 2>&1; then
  indent <"$TMPD/apply.log" | tail -n 25
  pass "jailwizard apply --config --yes (including its own connection test) exits 0"
else
  code=$?
  die "jailwizard apply --config --yes exited $code" "$(cat "$TMPD/apply.log")"
fi
rm -f "$ROOT/tmp/fresh-box-answers.yaml"

# ---- 7. from the host, with the real clients ---------------------------------------------

step "7. from the host: sftp, scp, scp -O, rsync; and the escapes"
{
  for t in ed25519 ecdsa rsa; do
    [ -f "$ROOT/etc/ssh/ssh_host_${t}_key.pub" ] && echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$ROOT/etc/ssh/ssh_host_${t}_key.pub")"
  done
} >"$TMPD/known_hosts"
# Only the options given here (-F /dev/null), the host key checked against the root's keys.
OPTS=(-F /dev/null -i "$TMPD/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=15
  -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$TMPD/known_hosts")
# The -W check reads ssh's INFO line "channel 0: open failed: administratively prohibited".
OPTS_INFO=(-o LogLevel=INFO "${OPTS[@]}")
OPTS=(-o LogLevel=ERROR "${OPTS[@]}")
DEST=$JUSER@127.0.0.1
ssh_j() { timeout 60 ssh "${OPTS[@]}" -p "$PORT" "$DEST" "$@" </dev/null; }
sftp_j() { timeout 60 sftp "${OPTS[@]}" -P "$PORT" -b "$1" "$DEST"; }
scp_j() { timeout 60 scp "${OPTS[@]}" -P "$PORT" "$@"; }
rsync_j() { timeout 60 rsync -e "ssh ${OPTS[*]} -p $PORT" "$@"; }
HOME_IN_JAIL=$(in_root getent passwd "$JUSER" | cut -d: -f6)
note "home in the jail: $HOME_IN_JAIL"
head -c 300000 /dev/urandom >"$TMPD/payload"

sftp_round_trip() {
  printf 'put %s sftp.bin\nget sftp.bin %s\n' "$TMPD/payload" "$TMPD/sftp.back" >"$TMPD/sftp.batch"
  sftp_j "$TMPD/sftp.batch" && cmp "$TMPD/payload" "$TMPD/sftp.back" && cmp "$TMPD/payload" "$ROOT$JAIL$HOME_IN_JAIL/sftp.bin"
}
check "sftp put/get round trip" sftp_round_trip

scp_round_trip() { # [-O]
  local tag=scp${1:-}
  scp_j "$@" "$TMPD/payload" "$DEST:$tag.bin" && scp_j "$@" "$DEST:$tag.bin" "$TMPD/$tag.back" &&
    cmp "$TMPD/payload" "$TMPD/$tag.back" && cmp "$TMPD/payload" "$ROOT$JAIL$HOME_IN_JAIL/$tag.bin"
}
check "scp upload/download round trip (SFTP protocol, the default)" scp_round_trip
check "scp -O upload/download round trip (the legacy scp protocol)" scp_round_trip -O

rsync_round_trip() {
  mkdir -p "$TMPD/up/sub" "$TMPD/down"
  cp "$TMPD/payload" "$TMPD/up/a.bin"
  echo hello >"$TMPD/up/sub/b.txt"
  ln -sf b.txt "$TMPD/up/sub/link"
  rsync_j -a "$TMPD/up/" "$DEST:rsync-dir/" && rsync_j -a "$DEST:rsync-dir/" "$TMPD/down/" &&
    diff -r --no-dereference "$TMPD/up" "$TMPD/down" && diff -r --no-dereference "$TMPD/up" "$ROOT$JAIL$HOME_IN_JAIL/rsync-dir"
}
check "rsync upload/download round trip" rsync_round_trip

jail_listing() {
  local remote local_
  remote=$(ssh_j ls -A / | sort) || return 1
  local_=$(ls -A "$ROOT$JAIL" | sort)
  echo "ssh ls -A /: $(echo "$remote" | tr '\n' ' ')"
  [ "$remote" = "$local_" ] || { echo "the jail's root has: $(echo "$local_" | tr '\n' ' ')"; return 1; }
}
check "ssh ls / shows the jail's root, not the box's" jail_listing

shadow_fails() {
  local out
  if out=$(ssh_j cat /etc/shadow 2>&1); then echo "ssh cat /etc/shadow succeeded:"; echo "$out"; return 1; fi
  if grep -q '^root:' <<<"$out"; then echo "it printed shadow lines:"; echo "$out"; return 1; fi
  echo "$out"
}
check "ssh cat /etc/shadow fails" shadow_fails

forward_refused() {
  local out
  if out=$(timeout 60 ssh "${OPTS_INFO[@]}" -p "$PORT" -W "127.0.0.1:$PORT" "$DEST" </dev/null 2>&1); then echo "ssh -W succeeded:"; echo "$out"; return 1; fi
  grep -q 'administratively prohibited' <<<"$out" || { echo "no 'administratively prohibited' in:"; echo "$out"; return 1; }
}
check "ssh -W forwarding is refused (administratively prohibited)" forward_refused

jail_root_write_fails() {
  printf 'put %s /fresh-box-escape\n' "$TMPD/payload" >"$TMPD/escape.batch"
  if sftp_j "$TMPD/escape.batch"; then echo "sftp wrote to the jail root"; return 1; fi
  [ ! -e "$ROOT$JAIL/fresh-box-escape" ] || { echo "$ROOT$JAIL/fresh-box-escape exists"; return 1; }
}
check "sftp put into the jail root fails" jail_root_write_fails

# ---- 8. the wizard in a real terminal -----------------------------------------------------

step "8. the wizard in tmux (80x24) on the root's node $NODE_V: first screens, then Ctrl+C"
# What the wizard must not change: content, type, mode and owner (no timestamps), and sshd's pid.
root_state() {
  (
    cd "$ROOT"
    find etc/passwd etc/group etc/shadow etc/gshadow etc/ssh var/lib/jailwizard srv -xdev \
      -printf '%y %m %U:%G %p\n' 2>/dev/null | sort -k4
    find etc/passwd etc/group etc/shadow etc/gshadow etc/ssh var/lib/jailwizard -xdev -type f \
      -exec sha256sum {} + 2>/dev/null | sort -k2
    echo "sshd pid $(cat run/sshd.pid 2>/dev/null)"
  )
}
root_state >"$TMPD/state.before"
rm -f "$ROOT/tmp/wizexit"
tm() { tmux -L "$TMUX_SOCK" "$@"; }
env -u CI -u TMUX -u TMUX_PANE -u NO_COLOR -u FORCE_COLOR -u LC_ALL -u LC_CTYPE LANG=C.UTF-8 TERM=xterm-256color \
  tmux -L "$TMUX_SOCK" -f /dev/null new-session -d -s wizard -x 80 -y 24 \
  "env -u CI -u NODE_OPTIONS LANG=C.UTF-8 PATH=$ROOT_PATH chroot '$ROOT' jailwizard; echo JWEXIT=\$? > '$ROOT/tmp/wizexit'" \
  \; set-option -sg escape-time 0 \; set-option -g remain-on-exit on
screen_text() { tm capture-pane -p -J -t wizard 2>/dev/null || true; }
# wait_for TEXT SECONDS: polls the screen; fails early if the wizard exits.
wait_for() {
  local want=$1 deadline=$(($(now_ms) + $2 * 1000)) s
  while :; do
    s=$(screen_text)
    if grep -qF -- "$want" <<<"$s"; then return 0; fi
    if [ -f "$ROOT/tmp/wizexit" ]; then
      echo "the wizard exited ($(cat "$ROOT/tmp/wizexit")) without showing '$want'; the screen:"
      screen_text
      return 1
    fi
    if [ "$(now_ms)" -gt "$deadline" ]; then
      echo "no '$want' after $2 s; the screen:"
      echo "$s"
      return 1
    fi
    sleep 0.1
  done
}
wizard_preflight() { wait_for Preflight 30 && wait_for 'Press Enter to start' 60; }
if out=$(wizard_preflight); then
  pass "the wizard shows Preflight and 'Press Enter to start'"
  screen_text | sed '/^$/d' | indent
else
  die "the wizard shows Preflight and 'Press Enter to start'" "$out"
fi
sleep 0.3 # let Ink subscribe to input
tm send-keys -t wizard Enter
if out=$(wait_for 'Which user should be jailed?' 30); then
  pass "Enter leads to 'Which user should be jailed?'"
else
  die "Enter leads to 'Which user should be jailed?'" "$out"
fi
sleep 0.3
tm send-keys -t wizard C-c
for i in $(seq 1 150); do
  [ -s "$ROOT/tmp/wizexit" ] && break
  sleep 0.1
done
WIZEXIT=$(cat "$ROOT/tmp/wizexit" 2>/dev/null || echo 'none (still running after 15 s)')
if [ "$WIZEXIT" = JWEXIT=130 ]; then
  pass "Ctrl+C ends the wizard with exit 130"
else
  fail "Ctrl+C ends the wizard with exit 130 (got $WIZEXIT)" "$(screen_text)"
fi
tm kill-server >/dev/null 2>&1 || true
rm -f "$ROOT/tmp/wizexit"
root_state >"$TMPD/state.after"
if cmp -s "$TMPD/state.before" "$TMPD/state.after"; then
  pass "the wizard changed nothing (accounts, /etc/ssh, state dir, /srv, sshd pid)"
else
  fail "the wizard changed nothing" "$(diff "$TMPD/state.before" "$TMPD/state.after")"
fi

# ---- 9. remove -------------------------------------------------------------------------

step "9. jailwizard remove $JUSER --yes, in the root"
if in_root jailwizard remove "$JUSER" --yes >"$TMPD/remove.log" 2>&1; then
  indent <"$TMPD/remove.log" | tail -n 15
  pass "jailwizard remove $JUSER --yes exits 0"
else
  code=$?
  fail "jailwizard remove $JUSER --yes exited $code" "$(cat "$TMPD/remove.log")"
fi
removed_cleanly() {
  local ok=0 list
  if in_root getent passwd "$JUSER" >/dev/null; then echo "user $JUSER still exists"; ok=1; fi
  if [ -e "$ROOT$JAIL" ]; then echo "$JAIL still exists"; ok=1; fi
  if ls "$ROOT"/etc/ssh/sshd_config.d/*"$JUSER"* >/dev/null 2>&1; then echo "a drop-in for $JUSER is left in /etc/ssh/sshd_config.d"; ok=1; fi
  list=$(in_root jailwizard list 2>&1) || { echo "jailwizard list failed: $list"; ok=1; }
  if grep -qw "$JUSER" <<<"$list"; then echo "jailwizard list still shows $JUSER: $list"; ok=1; fi
  if ssh_j true >/dev/null 2>&1; then echo "$JUSER can still log in"; ok=1; fi
  return $ok
}
check "after remove: no user, no jail, no drop-in, not listed, no login" removed_cleanly

step "10. stop the root's sshd, unmount"
stop_root_processes || fail "the root's processes stopped"
unmount_all || fail "everything under the root unmounted"
end_step
