#!/usr/bin/env bash
# Builds (once) a Debian root that boots with systemd in systemd-nspawn, for the test bed.
#
#   bash scripts/bed-root.sh debian12-amd64|debian13-amd64     (as root)
#
# The last line of stdout is the root's directory. Roots are cached outside the clone, in
# $JW_BED_CACHE (default /var/cache/jailwizard-test), so a fresh clone on the same machine
# reuses them. The cache key is the sha256 of this file and the root's name: whatever this
# script puts into a root is written here, so any change to it builds a new root. A root is
# never changed after it is built: the tests boot an overlay on top of it.
#
# What a root holds:
#   debootstrap --variant=minbase, then systemd, systemd-sysv, dbus, openssh-server,
#   openssh-client, rsync, nodejs, npm, tmux, procps (no rsyslog: the journal only);
#   /opt/jailwizard-bed/debs: rsyslog with what it needs, and rsync (for a real
#   `apt-get install --reinstall` inside a container that has no network);
#   debian12 only: /opt/jailwizard-bed/trixie: Debian 13's package lists and every .deb a
#   `dist-upgrade` to trixie needs (apt-get --download-only), for the upgrade test.
#
# Needs: debootstrap, network access to the Debian mirror ($JW_BED_MIRROR, default
# http://deb.debian.org/debian; security updates from $JW_BED_SECURITY).
set -euo pipefail

NAME=${1:?usage: bed-root.sh debian12-amd64|debian13-amd64}
case $NAME in
  debian12-amd64) SUITE=bookworm ;;
  debian13-amd64) SUITE=trixie ;;
  *) echo "bed-root.sh: unknown root $NAME (debian12-amd64, debian13-amd64)" >&2; exit 2 ;;
esac
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${JW_BED_CACHE:-/var/cache/jailwizard-test}
MIRROR=${JW_BED_MIRROR:-http://deb.debian.org/debian}
SECURITY=${JW_BED_SECURITY:-http://deb.debian.org/debian-security}
PACKAGES=(systemd systemd-sysv dbus openssh-server openssh-client rsync nodejs npm tmux procps)
KEY=$( (cat "$SCRIPT"; echo "$NAME") | sha256sum | cut -c1-12)
DIR=$CACHE/$NAME-$KEY
ROOT=$DIR/root
log() { echo "bed-root[$NAME]: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 2; }
mkdir -p "$CACHE"
chmod 755 "$CACHE"
exec 8>"$CACHE/$NAME.lock"
flock 8 # one builder per root name; a second caller waits, then finds it ready

if [ -f "$DIR/ready" ]; then
  log "cached: $DIR ($(head -n 1 "$DIR/ready"))"
  echo "$ROOT"
  exit 0
fi

# An older key of this root: removed unless a container still uses it as its lower dir.
for old in "$CACHE/$NAME"-*/; do
  old=${old%/}
  [ "$old" = "$DIR" ] || [ ! -d "$old" ] && continue
  if grep -qF "$old/" /proc/self/mountinfo; then
    log "keeping $old: still mounted (a running test uses it)"
  else
    log "removing the outdated $old"
    rm -rf --one-file-system "$old"
  fi
done

T0=$(date +%s)
rm -rf --one-file-system "$DIR"
mkdir -p "$DIR"
MOUNTED=()
unmount_all() {
  local i
  for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}"; done
  MOUNTED=()
}
trap 'unmount_all' EXIT
mount_root() {
  mount -t proc proc "$ROOT/proc" && MOUNTED+=("$ROOT/proc")
  mount --bind /dev "$ROOT/dev" && MOUNTED+=("$ROOT/dev")
  mount --bind /dev/pts "$ROOT/dev/pts" && MOUNTED+=("$ROOT/dev/pts")
  mount -t sysfs sysfs "$ROOT/sys" && MOUNTED+=("$ROOT/sys")
}
in_root() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"
}
apt_in_root() {
  in_root apt-get -o Dpkg::Use-Pty=0 -o APT::Install-Recommends=false "$@" >>"$DIR/build.log" 2>&1 ||
    { log "apt-get $* failed:"; tail -n 40 "$DIR/build.log" >&2; exit 1; }
}

log "debootstrap $SUITE from $MIRROR into $ROOT"
if ! debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$DIR/build.log" 2>&1; then
  tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2 2>/dev/null || tail -n 30 "$DIR/build.log" >&2
  exit 1
fi
T1=$(date +%s)

sources() { # SUITE
  echo "deb $MIRROR $1 main"
  echo "deb $MIRROR $1-updates main"
  echo "deb $SECURITY $1-security main"
}
sources "$SUITE" >"$ROOT/etc/apt/sources.list"
# Installs must not start services while this builds.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
mount_root
log "apt-get install ${PACKAGES[*]}"
apt_in_root update
apt_in_root install -y "${PACKAGES[@]}"

# The debs a test installs from files (the container has no network).
mkdir -p "$ROOT/opt/jailwizard-bed/debs"
apt_in_root clean
apt_in_root install -y --download-only rsyslog
mv "$ROOT"/var/cache/apt/archives/*.deb "$ROOT/opt/jailwizard-bed/debs/"
in_root sh -c 'cd /opt/jailwizard-bed/debs && apt-get download rsync' >>"$DIR/build.log" 2>&1
apt_in_root clean

if [ "$NAME" = debian12-amd64 ]; then
  # Debian 13's lists and debs for a dist-upgrade, fetched in a throwaway copy of the root's
  # apt state, so the root itself stays a plain bookworm.
  log "fetching what a dist-upgrade to trixie needs"
  UP=$ROOT/opt/jailwizard-bed/trixie
  mkdir -p "$UP/lists/partial" "$UP/archives/partial"
  sources trixie >"$UP/sources.list"
  TRIXIE=(-o Dir::Etc::SourceList=/opt/jailwizard-bed/trixie/sources.list -o Dir::Etc::SourceParts=/nonexistent
    -o Dir::State::Lists=/opt/jailwizard-bed/trixie/lists -o Dir::Cache::Archives=/opt/jailwizard-bed/trixie/archives)
  apt_in_root "${TRIXIE[@]}" update
  # With Recommends, as a plain `apt-get dist-upgrade` on the booted root does.
  apt_in_root "${TRIXIE[@]}" -o APT::Install-Recommends=true -y --download-only dist-upgrade
  rm -rf "$UP/lists/partial" "$UP/archives/partial" "$UP/lists/lock" "$UP/archives/lock"
  du -sh "$UP" | sed 's/^/bed-root: trixie upgrade set: /' >&2
fi

# What a booted container needs: a hostname, no machine-id (systemd makes one at boot), no
# build-time resolv.conf, no policy-rc.d, and nothing started that only slows a boot.
echo "jw-$NAME" >"$ROOT/etc/hostname"
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/etc/resolv.conf" "$ROOT/usr/sbin/policy-rc.d"
for u in apt-daily.timer apt-daily-upgrade.timer man-db.timer e2scrub_all.timer fstrim.timer dpkg-db-backup.timer; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
# sshd's host keys are made once here, so every container of this root has the same ones.
in_root ssh-keygen -A >>"$DIR/build.log" 2>&1
unmount_all

{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $MIRROR in $(($(date +%s) - T0)) s (debootstrap $((T1 - T0)) s)"
  in_root dpkg-query -W -f '${Package} ${Version}\n' systemd openssh-server rsync nodejs npm libc6
  echo "size $(du -sh --one-file-system "$ROOT" | cut -f1)"
} >"$DIR/ready.new"
mv "$DIR/ready.new" "$DIR/ready"
log "built: $(head -n 1 "$DIR/ready")"
echo "$ROOT"
