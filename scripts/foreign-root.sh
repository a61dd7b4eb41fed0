#!/usr/bin/env bash
# Builds (once) a Debian root of another architecture that runs on this x86_64 host under
# qemu-user, for the foreign-arch test (test/foreign-arch.test.ts).
#
#   bash scripts/foreign-root.sh debian13-arm64|debian13-armhf     (as root)
#   bash scripts/foreign-root.sh --check NAME    exit 0 and print the directory if it is built
#
# The last line of stdout is the root's directory. Roots are cached outside the clone, in
# $JW_BED_CACHE (default /var/cache/jailwizard-test), so a fresh clone on the same machine
# reuses them. The cache key is the sha256 of the root's name, suite, arch, mirror, package
# list and the code of build_root below (as bash prints it: comments do not count), so a
# change to what goes into a root builds a new one. A root is never changed after it is
# built: the test mounts an overlay on top of it.
#
# What a root holds: debootstrap --variant=minbase, then Debian's own nodejs, npm,
# openssh-server (with openssh-client) and rsync, and sshd's host keys.
#
# Needs: debootstrap, qemu-user-static and binfmt-support, with binfmt_misc mounted and the
# arch's handler registered with the F flag (the kernel opens the interpreter when the
# handler is registered, so binaries run after chroot, where the interpreter's path does
# not exist); network access to the Debian mirror ($JW_BED_MIRROR, default
# http://deb.debian.org/debian; security updates from $JW_BED_SECURITY).
set -euo pipefail

CHECK=0
if [ "${1:-}" = --check ]; then CHECK=1; shift; fi
NAME=${1:?usage: foreign-root.sh [--check] debian13-arm64|debian13-armhf}
case $NAME in
  debian13-arm64) SUITE=trixie ARCH=arm64 QEMU=qemu-aarch64 ;;
  debian13-armhf) SUITE=trixie ARCH=armhf QEMU=qemu-arm ;;
  *) echo "foreign-root.sh: unknown root $NAME (debian13-arm64, debian13-armhf)" >&2; exit 2 ;;
esac
CACHE=${JW_BED_CACHE:-/var/cache/jailwizard-test}
MIRROR=${JW_BED_MIRROR:-http://deb.debian.org/debian}
SECURITY=${JW_BED_SECURITY:-http://deb.debian.org/debian-security}
PACKAGES=(nodejs npm openssh-server openssh-client rsync)
log() { echo "foreign-root[$NAME]: $*" >&2; }

in_root() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"
}
# --force-unsafe-io: no fsync per unpacked file (hundreds of node-* packages); a root
# whose build is cut short is never marked ready, so it is built again anyway.
apt_in_root() {
  in_root apt-get -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false -o Dpkg::Options::=--force-unsafe-io "$@" >>"$DIR/build.log" 2>&1 ||
    { log "apt-get $* failed:"; tail -n 40 "$DIR/build.log" >&2; exit 1; }
}
MOUNTED=()
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}"; done
  MOUNTED=()
}
# A build that was killed (kill -9, a power cut) may have left /proc and /dev mounted in a root.
unmount_under() {
  awk -v d="$1/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
}
mount_root() {
  mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc")
  mount --bind /dev "$ROOT/dev" && MOUNTED+=("$ROOT/dev")
  mount --bind /dev/pts "$ROOT/dev/pts" && MOUNTED+=("$ROOT/dev/pts")
}

# Everything that goes into a root. debootstrap unpacks on the host and runs its second
# stage (dpkg, maintainer scripts) in the root, where every binary is the foreign arch's
# and runs under qemu.
build_root() {
  log "debootstrap --arch=$ARCH $SUITE from $MIRROR into $ROOT"
  if ! debootstrap --arch="$ARCH" --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$DIR/build.log" 2>&1; then
    tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2 2>/dev/null || tail -n 30 "$DIR/build.log" >&2
    exit 1
  fi
  T1=$(date +%s)
  {
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    echo "deb $SECURITY $SUITE-security main"
  } >"$ROOT/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
  mount_root
  log "apt-get install ${PACKAGES[*]}"
  if ! in_root apt-get update >>"$DIR/build.log" 2>&1; then
    # A partial mirror may carry an arch's main suite but not its updates or security
    # indexes (seen for armhf); the root is then built from the main suite alone.
    log "the mirror lacks $SUITE-updates or $SUITE-security for $ARCH: building from $SUITE alone"
    echo "deb $MIRROR $SUITE main" >"$ROOT/etc/apt/sources.list"
    echo "$SUITE only: $SUITE-updates and $SUITE-security were not on the mirror for $ARCH" >"$DIR/sources.note"
    apt_in_root update
  fi
  apt_in_root install -y "${PACKAGES[@]}"
  apt_in_root clean
  rm -rf "$ROOT"/var/lib/apt/lists/*_Packages "$ROOT"/var/lib/apt/lists/*_Translation-*
  in_root ssh-keygen -A >>"$DIR/build.log" 2>&1
  echo "jw-$NAME" >"$ROOT/etc/hostname"
  rm -f "$ROOT/etc/resolv.conf" "$ROOT/usr/sbin/policy-rc.d"
  unmount_all
}

KEY=$( (echo "$NAME $SUITE $ARCH $MIRROR $SECURITY ${PACKAGES[*]}"; declare -f build_root) | sha256sum | cut -c1-12)
DIR=$CACHE/$NAME-$KEY
ROOT=$DIR/root

if [ "$CHECK" = 1 ]; then
  [ -f "$DIR/ready" ] || exit 1
  echo "$ROOT"
  exit 0
fi
[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }

# binfmt_misc: the handler must exist, be enabled and carry F (fix-binary).
BINFMT=/proc/sys/fs/binfmt_misc
if ! grep -qs '^enabled' "$BINFMT/$QEMU"; then
  log "no enabled binfmt_misc handler $BINFMT/$QEMU; as root: mount -t binfmt_misc binfmt_misc $BINFMT; update-binfmts --enable $QEMU (packages qemu-user-static, binfmt-support)"
  exit 2
fi
if ! grep -q '^flags:.*F' "$BINFMT/$QEMU"; then
  log "the binfmt_misc handler $QEMU lacks the F flag: its interpreter would not be found after chroot ($(grep '^flags' "$BINFMT/$QEMU"))"
  exit 2
fi

mkdir -p "$CACHE"
chmod 755 "$CACHE"
exec 8>"$CACHE/$NAME.lock"
flock 8 # one builder per root name; a second caller waits, then finds it ready

if [ -f "$DIR/ready" ]; then
  log "cached: $DIR ($(head -n 1 "$DIR/ready"))"
  echo "$ROOT"
  exit 0
fi

# Older keys of this root: removed unless a running test uses one as its overlay's lower
# dir (its run dir in $CACHE/runs names it, with the pid of its namespaces).
in_use() {
  local r
  for r in "$CACHE"/runs/*/; do
    [ -f "$r/lower" ] && [ -f "$r/pid" ] || continue
    case $(cat "$r/lower") in "$1"/*) kill -0 "$(cat "$r/pid")" 2>/dev/null && return 0 ;; esac
  done
  return 1
}
for old in "$CACHE/$NAME"-*/; do
  old=${old%/}
  [ "$old" = "$DIR" ] || [ ! -d "$old" ] && continue
  if in_use "$old"; then
    log "keeping $old: a running test uses it"
  else
    log "removing the outdated $old"
    unmount_under "$old"
    rm -rf --one-file-system "$old"
  fi
done

unmount_under "$DIR"
T0=$(date +%s)
rm -rf --one-file-system "$DIR"
mkdir -p "$DIR"
trap 'unmount_all' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
build_root
T2=$(date +%s)

{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $MIRROR in $((T2 - T0)) s (debootstrap $((T1 - T0)) s, packages $((T2 - T1)) s)"
  echo "arch $(in_root dpkg --print-architecture)"
  if [ -f "$DIR/sources.note" ]; then cat "$DIR/sources.note"; fi
  in_root dpkg-query -W -f '${Package} ${Version}\n' nodejs npm openssh-server rsync libc6
  echo "size $(du -sh --one-file-system "$ROOT" | cut -f1)"
} >"$DIR/ready.new"
mv "$DIR/ready.new" "$DIR/ready"
log "built: $(head -n 1 "$DIR/ready")"
echo "$ROOT"
