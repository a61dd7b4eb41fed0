// Systems that cannot be downloaded here, as fake roots (test/helpers/layouts.ts): Rocky/RHEL 9
// with SELinux, and Alpine with musl, busybox and OpenRC. The real code reads them: what
// kind of system each is (gatherPlatformFacts), the ELF closures of their binaries
// (resolveClosure inside the root), sshd's effective config (the host's real `sshd -T` on
// the layout's sshd_config), OpenRC's reload; then the pure planner either plans the jail
// or refuses with one line and a hint.
import { reloadFor } from '../src/host/sshd-service.ts';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/model/errors.ts';
import { chrootFailureUsers, findFailure, sshdLogLines } from '../src/workflows/doctor.ts';
import { gatherSshdFacts, type ClosureFacts, type HostFacts } from '../src/host/facts.ts';
import { hostEntriesFor, resolveClosure } from '../src/host/ld-resolve.ts';
import { planApply, toolBinaries } from '../src/plan/index.ts';
import { formatPlan, type Plan } from '../src/model/effects.ts';
import { gatherPlatformFacts, openrcReload, type PlatformFacts } from '../src/host/platform.ts';
import { DEFAULT_SSHD_CONFIG } from '../src/host/sshd-config.ts';
import { run } from '../src/host/run.ts';
import type { Answers, Tool } from '../src/model/types.ts';
import { alpineRoot, rhel9Root } from './helpers/layouts.ts';

const scratch = mkdtempSync(join(tmpdir(), 'jw-layouts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string): string => join(scratch, `${name}-${++n}`);

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const NOW = '2026-12-01T12:00:00.000Z';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';

function answers(tools: Tool[], over: Partial<Answers> = {}): Answers {
  return { user: 'alice', tools, jail: '/srv/jails/alice', arch: 'auto', authorizedKeys: [KEY], createUser: true, installMissing: false, ...over };
}

/** Each tool's binaries with their closure as found inside the layout root (what gatherFacts does on a host). */
function closuresIn(root: string, tools: Tool[], sftpSubsystem: string | undefined): ClosureFacts[] {
  return toolBinaries(tools, sftpSubsystem).map((g) => {
    const c = resolveClosure(g.binaries, { root });
    const entries = hostEntriesFor(c.objects, { root }).map((e) => (e.kind === 'file' ? { ...e, sha256: sha256(e.path), mtimeMs: 0 } : e));
    return { ...g, entries, missing: c.missing };
  });
}

/** The layout's sshd_config, read by the host's real sshd (-T) with a host key of its own, as its first boot would make. */
async function sshdOf(root: string, user = 'alice'): Promise<HostFacts['sshd']> {
  const cfg = join(root, 'etc/ssh/sshd_config');
  const key = join(root, 'etc/ssh/ssh_host_ed25519_key');
  const r = await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
  expect(r.exitCode, r.stderr).toBe(0);
  writeFileSync(cfg, `HostKey ${key}\n${readFileSync(cfg, 'utf8')}`);
  return gatherSshdFacts(cfg, user);
}

function factsFor(platform: PlatformFacts, sshd: HostFacts['sshd'], closures: ClosureFacts[]): HostFacts {
  return {
    hostArch: 'x86_64',
    passwd: [{ name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' }],
    groups: [{ name: 'root', gid: 0, members: [] }],
    loginDefs: { UID_MIN: 1000, UID_MAX: 60000 },
    ancestors: [{ path: '/', state: { kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096 } }, { path: '/srv', state: { kind: 'dir', mode: 0o755, uid: 0, gid: 0, size: 4096 } }, { path: '/srv/jails' }],
    jail: {},
    closures,
    packages: { manager: platform.packageManager, missing: [], installs: [] },
    sshd,
    stateDir: '/var/lib/jailwizard',
    sharers: [],
    extraBinaries: [],
    mounts: [],
    bindSources: {},
    fstab: { path: '/etc/fstab', text: '' },
    mountUnits: {},
    systemd: platform.init === 'systemd',
    platform,
  };
}

/** The UserError a plan throws (and that it is one line with a hint), or fails. */
function refusal(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const u = e as UserError;
    expect(u.message).not.toContain('\n');
    expect(u.hint).toBeTruthy();
    return u;
  }
  throw new Error('expected a refusal, got a plan');
}

const copied = (p: Plan): string[] => p.steps.flatMap((s) => s.actions).flatMap((a) => (a.effect.kind === 'copy' || a.effect.kind === 'symlink' ? [a.effect.path] : []));

describe('this host (Debian 12, the real files)', () => {
  it('is glibc with apt-get, no SELinux, a real /bin/sh and the shadow tools', () => {
    const p = gatherPlatformFacts();
    expect(p).toMatchObject({ os: { id: 'debian' }, libc: 'glibc', packageManager: 'apt-get', selinux: { mode: 'disabled' }, missingAccountTools: [] });
    expect(p.loader).toMatch(/^\/lib(64)?\/ld-linux-x86-64\.so\.2$/);
    expect(p.busyboxShell).toBeUndefined();
  });
});

describe('Rocky/RHEL 9 layout', () => {
  it('is read as RHEL-like: glibc via /lib64, dnf, systemd, SELinux as the kernel and the config say', () => {
    const root = rhel9Root(fresh('rhel'), { now: 'enforcing' });
    expect(gatherPlatformFacts(root)).toEqual({
      os: { id: 'rocky', like: ['rhel', 'centos', 'fedora'], name: 'Rocky Linux 9.4 (Blue Onyx)' },
      libc: 'glibc',
      loader: '/lib64/ld-linux-x86-64.so.2',
      init: 'systemd',
      packageManager: 'dnf',
      selinux: { mode: 'enforcing', atBoot: 'enforcing', policy: 'targeted' },
      busyboxShell: undefined,
      missingAccountTools: [],
    });
    expect(gatherPlatformFacts(rhel9Root(fresh('rhel'), { now: 'permissive', atBoot: 'enforcing' })).selinux).toEqual({ mode: 'permissive', atBoot: 'enforcing', policy: 'targeted' });
    // No selinuxfs (SELinux off in the kernel): disabled, whatever the config file says.
    expect(gatherPlatformFacts(rhel9Root(fresh('rhel'), { now: 'disabled', atBoot: 'enforcing' })).selinux.mode).toBe('disabled');
  });

  it('sshd -T on RHEL 9\'s sshd_config gives the sftp-server in /usr/libexec/openssh and the drop-in dir', async () => {
    const root = rhel9Root(fresh('rhel'), { now: 'disabled' });
    const s = await sshdOf(root);
    expect(s.sftpSubsystem).toBe('/usr/libexec/openssh/sftp-server');
    expect(s.dropInDir).toBe('/etc/ssh/sshd_config.d');
    expect(s.needsInclude).toBe(false);
  });

  it('SELinux enforcing: refuses (exit 2) and names the labels the jail needs', async () => {
    const root = rhel9Root(fresh('rhel'), { now: 'enforcing' });
    const sshd = await sshdOf(root);
    const tools: Tool[] = ['bash', 'rsync', 'scp', 'sftp'];
    const facts = factsFor(gatherPlatformFacts(root), sshd, closuresIn(root, tools, sshd.sftpSubsystem));
    const u = refusal(() => planApply(answers(tools), facts, { now: NOW, sha256 }));
    expect(u.message).toMatch(/^SELinux is enforcing \(targeted\): jailwizard cannot label a jail yet/);
    expect(u.hint).toContain('semanage fcontext -a -e / /srv/jails/alice');
    expect(u.hint).toContain('restorecon -RF /srv/jails/alice /etc/ssh/authorized_keys');
    // sftp-only needs labels too (the home, /dev): refused the same way.
    refusal(() => planApply(answers(['sftp']), factsFor(gatherPlatformFacts(root), sshd, []), { now: NOW, sha256 }));
  });

  it('SELinux permissive: plans the RHEL layout (lib64, libexec sftp-server) and warns with the label commands', async () => {
    const root = rhel9Root(fresh('rhel'), { now: 'permissive', atBoot: 'enforcing' });
    const sshd = await sshdOf(root);
    const tools: Tool[] = ['bash', 'rsync', 'scp', 'sftp'];
    const closures = closuresIn(root, tools, sshd.sftpSubsystem);
    expect(closures.flatMap((c) => c.missing)).toEqual([]);
    const p = planApply(answers(tools), factsFor(gatherPlatformFacts(root), sshd, closures), { now: NOW, sha256 });
    const paths = copied(p);
    for (const want of ['/srv/jails/alice/lib64', '/srv/jails/alice/usr/lib64/ld-linux-x86-64.so.2', '/srv/jails/alice/usr/lib64/libc.so.6', '/srv/jails/alice/usr/libexec/openssh/sftp-server', '/srv/jails/alice/usr/lib64/libtinfo.so.6', '/srv/jails/alice/usr/lib64/libtinfo.so.6.2', '/srv/jails/alice/usr/lib64/libpcre2-8.so.0']) {
      expect(paths, want).toContain(want);
    }
    expect(paths.some((x) => x.includes('-linux-gnu'))).toBe(false);
    expect(p.notes.join('\n')).toContain('WARNING: SELinux is permissive now but enforcing after the next boot');
    expect(formatPlan(p)).toContain('semanage fcontext -a -e / /srv/jails/alice && restorecon -RF /srv/jails/alice /etc/ssh/authorized_keys');
  });

  it('doctor reads RHEL 9\'s /var/log/secure: the failed chroot and whose login it was', async () => {
    const root = rhel9Root(fresh('rhel'), { now: 'disabled' });
    const log = await sshdLogLines(join(root, 'var/log/secure'));
    expect(findFailure(log!.lines, 'alice')).toBe('Nov 30 10:01:02 rocky9 sshd[2348]: fatal: bad ownership or modes for chroot directory component "/srv/"');
    expect(chrootFailureUsers(log!.lines)).toEqual(['alice']);
  });

  it('SELinux disabled: plans without a warning', async () => {
    const root = rhel9Root(fresh('rhel'), { now: 'disabled' });
    const sshd = await sshdOf(root);
    const p = planApply(answers(['sftp']), factsFor(gatherPlatformFacts(root), sshd, []), { now: NOW, sha256 });
    expect(p.notes.some((x) => x.includes('SELinux'))).toBe(false);
  });
});

describe('Alpine 3.20 layout', () => {
  it('is read as musl, busybox /bin/sh, OpenRC and apk; without `shadow` the account tools are missing', () => {
    expect(gatherPlatformFacts(alpineRoot(fresh('alpine'), { shadow: false }))).toEqual({
      os: { id: 'alpine', like: [], name: 'Alpine Linux v3.20' },
      libc: 'musl',
      loader: '/lib/ld-musl-x86_64.so.1',
      init: 'openrc',
      packageManager: 'apk',
      selinux: { mode: 'disabled', atBoot: undefined, policy: undefined },
      busyboxShell: '/bin/busybox',
      missingAccountTools: ['useradd', 'usermod', 'userdel', 'gpasswd', 'chage'],
    });
  });

  it('resolves musl closures inside the root: the loader is libc, libraries from /lib and /usr/lib', () => {
    const root = alpineRoot(fresh('alpine'), { shadow: true });
    const c = resolveClosure(['/usr/bin/rsync', '/bin/bash'], { root });
    expect(c.missing).toEqual([]);
    expect(c.objects.sort()).toEqual(
      ['/usr/bin/rsync', '/bin/bash', '/lib/ld-musl-x86_64.so.1', '/usr/lib/libacl.so.1', '/usr/lib/libpopt.so.0', '/usr/lib/liblz4.so.1', '/usr/lib/libzstd.so.1', '/usr/lib/libxxhash.so.0', '/lib/libcrypto.so.3', '/lib/libz.so.1', '/usr/lib/libreadline.so.8', '/usr/lib/libncursesw.so.6'].sort(),
    );
  });

  it('without the shadow tools: refuses (exit 2) with `apk add shadow`', () => {
    const root = alpineRoot(fresh('alpine'), { shadow: false });
    const sshd = { mainConfig: DEFAULT_SSHD_CONFIG, mainText: '', mainSha256: sha256(''), dropInDir: '/etc/ssh/sshd_config.d', dropInPath: '/etc/ssh/sshd_config.d/jailwizard-alice.conf', dropInDirExists: true, needsInclude: false, pidFile: '/run/sshd.pid', mode: { kind: 'stopped' as const }, listen: [], effective: new Map() };
    const u = refusal(() => planApply(answers(['sftp']), factsFor(gatherPlatformFacts(root), sshd, []), { now: NOW, sha256 }));
    expect(u.message).toBe('useradd, usermod, userdel, gpasswd, chage not installed: jailwizard creates, changes and removes the jailed account with the shadow tools');
    expect(u.hint).toMatch(/^apk add shadow/);
  });

  it('with the shadow tools: an sftp-only jail is planned and sshd is reloaded through OpenRC', () => {
    const root = alpineRoot(fresh('alpine'), { shadow: true });
    const reload = openrcReload(DEFAULT_SSHD_CONFIG, DEFAULT_SSHD_CONFIG, root);
    expect(reload).toEqual({ argv: ['rc-service', 'sshd', 'reload'] });
    const mainText = 'Include /etc/ssh/sshd_config.d/*.conf\nSubsystem sftp /usr/lib/ssh/sftp-server\n';
    const sshd = { mainConfig: DEFAULT_SSHD_CONFIG, mainText, mainSha256: sha256(mainText), dropInDir: '/etc/ssh/sshd_config.d', dropInPath: '/etc/ssh/sshd_config.d/jailwizard-alice.conf', dropInDirExists: true, needsInclude: false, sftpSubsystem: '/usr/lib/ssh/sftp-server', pidFile: '/run/sshd.pid', mode: { kind: 'openrc' as const, pid: 2101 }, reload: reloadFor({ kind: 'openrc', pid: 2101 }), listen: [{ host: '127.0.0.1', port: 22 }], effective: new Map() };
    const p = planApply(answers(['sftp']), factsFor(gatherPlatformFacts(root), sshd, []), { now: NOW, sha256 });
    expect(copied(p)).toEqual([]);
    const reloadAction = p.steps.flatMap((s) => s.actions).find((a) => a.effect.kind === 'sshd-reload');
    expect(reloadAction?.effect).toMatchObject({ argv: ['rc-service', 'sshd', 'reload'] });
    expect(formatPlan(p)).toContain('rc-service sshd reload');
  });

  it('with the shadow tools: a jail with a shell is refused (busybox would bring every applet)', () => {
    const root = alpineRoot(fresh('alpine'), { shadow: true });
    const platform = gatherPlatformFacts(root);
    const sshd = { mainConfig: DEFAULT_SSHD_CONFIG, mainText: '', mainSha256: sha256(''), dropInDir: '/etc/ssh/sshd_config.d', dropInPath: '/etc/ssh/sshd_config.d/jailwizard-alice.conf', dropInDirExists: true, needsInclude: false, sftpSubsystem: '/usr/lib/ssh/sftp-server', pidFile: '/run/sshd.pid', mode: { kind: 'stopped' as const }, listen: [], effective: new Map() };
    for (const tools of [['rsync'], ['scp'], ['bash', 'sftp']] as Tool[][]) {
      const u = refusal(() => planApply(answers(tools), factsFor(platform, sshd, closuresIn(root, tools, sshd.sftpSubsystem)), { now: NOW, sha256 }));
      expect(u.message).toMatch(/^\/bin\/sh is busybox here \(\/bin\/busybox\): .* on Alpine Linux v3\.20$/);
      expect(u.hint).toContain('tools: [sftp]');
    }
  });

  it('doctor reads busybox syslogd\'s /var/log/messages (facility.level before the program)', async () => {
    const root = alpineRoot(fresh('alpine'), { shadow: true });
    const log = await sshdLogLines(join(root, 'var/log/messages'));
    expect(findFailure(log!.lines, 'alice')).toBe('Nov 30 10:05:09 alpine auth.crit sshd[3103]: fatal: bad ownership or modes for chroot directory "/srv/jails/alice"');
    expect(chrootFailureUsers(log!.lines)).toEqual(['alice']);
  });

  it('OpenRC reload only for the stock config and an sshd that OpenRC started', () => {
    const root = alpineRoot(fresh('alpine'), { shadow: true });
    expect(openrcReload('/etc/ssh/other_config', DEFAULT_SSHD_CONFIG, root)).toBeUndefined();
    rmSync(join(root, 'run/openrc/started/sshd'));
    expect(openrcReload(DEFAULT_SSHD_CONFIG, DEFAULT_SSHD_CONFIG, root)).toBeUndefined();
    // This host: no OpenRC.
    expect(openrcReload(DEFAULT_SSHD_CONFIG, DEFAULT_SSHD_CONFIG)).toBeUndefined();
  });
});
