// The planner is pure: fixed answers and host facts in, a fixed plan out (snapshot-tested).
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { planApply, toolBinaries, matchSettings, loginShell } from '../src/plan.ts';
import { planRemove, type RemoveFacts } from '../src/plan-remove.ts';
import { planToShellScript, formatPlan, type Plan } from '../src/effects.ts';
import type { HostFacts, FileState, ClosureFacts } from '../src/host-facts.ts';
import { parseEffective } from '../src/sshd-config.ts';
import { UserError } from '../src/errors.ts';
import type { Answers, Tool } from '../src/types.ts';
import type { JailRecord } from '../src/state.ts';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const NOW = '2026-11-23T12:00:00.000Z';
const dir = (mode = 0o755): FileState => ({ kind: 'dir', mode, uid: 0, gid: 0, size: 4096 });

function file(path: string, size: number) {
  return { path, kind: 'file' as const, mode: 0o755, uid: 0, gid: 0, size, sha256: sha256(path), mtimeMs: 1_763_000_000_000 };
}

/** A Debian-12-like closure for each group, small enough to read in a snapshot. */
function closures(tools: Tool[]): ClosureFacts[] {
  const libc = [
    { path: '/lib64', kind: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 9, target: 'usr/lib64' },
    { path: '/usr', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/lib64', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/lib64/ld-linux-x86-64.so.2', kind: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 42, target: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    { path: '/lib', kind: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 7, target: 'usr/lib' },
    { path: '/usr/lib', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/lib/x86_64-linux-gnu', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    file('/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 210_968),
    file('/usr/lib/x86_64-linux-gnu/libc.so.6', 1_922_136),
  ];
  const bin = [
    { path: '/bin', kind: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 7, target: 'usr/bin' },
    { path: '/usr', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/bin', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/lib', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
    { path: '/usr/lib/openssh', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 },
  ];
  return toolBinaries(tools, '/usr/lib/openssh/sftp-server').map((g) => ({
    ...g,
    missing: [],
    entries: [...bin, ...g.binaries.map((b) => ({ ...file(b.replace(/^\/bin\//, '/usr/bin/'), 100_000), mode: 0o4755 })), ...libc],
  }));
}

function facts(tools: Tool[], over: Partial<HostFacts> = {}): HostFacts {
  const mainText = 'Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\nSubsystem sftp /usr/lib/openssh/sftp-server\n';
  return {
    hostArch: 'x86_64',
    passwd: [
      { name: 'root', uid: 0, gid: 0, gecos: 'root', home: '/root', shell: '/bin/bash' },
      { name: 'admin', uid: 1000, gid: 1000, gecos: 'Admin', home: '/home/admin', shell: '/bin/bash' },
    ],
    groups: [
      { name: 'root', gid: 0, members: [] },
      { name: 'admin', gid: 1000, members: [] },
      { name: 'uploads', gid: 1001, members: [] },
    ],
    loginDefs: { UID_MIN: 1000, UID_MAX: 60000 },
    ancestors: [{ path: '/', state: dir() }, { path: '/srv', state: dir() }, { path: '/srv/jails' }],
    jail: {},
    closures: closures(tools),
    packages: { manager: 'apt-get', missing: [], installs: [] },
    sshd: {
      mainConfig: '/etc/ssh/sshd_config',
      mainText,
      mainSha256: sha256(mainText),
      dropInDir: '/etc/ssh/sshd_config.d',
      dropInPath: '/etc/ssh/sshd_config.d/jailwizard-alice.conf',
      dropInDirExists: true,
      needsInclude: false,
      sftpSubsystem: '/usr/lib/openssh/sftp-server',
      pidFile: '/run/sshd.pid',
      reload: { argv: ['systemctl', 'reload', 'ssh.service'], pid: 812 },
      listen: [{ host: '127.0.0.1', port: 22 }],
      effective: parseEffective('port 22\n'),
    },
    stateDir: '/var/lib/jailwizard',
    sharers: [],
    extraBinaries: [],
    mounts: [],
    bindSources: {},
    fstab: { path: '/etc/fstab', text: '' },
    mountUnits: {},
    systemd: false,
    ...over,
  };
}

function answers(tools: Tool[], over: Partial<Answers> = {}): Answers {
  return {
    user: 'alice',
    tools,
    jail: '/srv/jails/alice',
    arch: 'auto',
    authorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop'],
    createUser: true,
    installMissing: false,
    ...over,
  };
}

const plan = (tools: Tool[], over: Partial<HostFacts> = {}, a: Partial<Answers> = {}): Plan =>
  planApply(answers(tools, a), facts(tools, over), { now: NOW, sha256 });

describe('planApply', () => {
  it('plans a four-tool jail (snapshot of the dry-run script)', () => {
    expect(planToShellScript(plan(['bash', 'rsync', 'scp', 'sftp']))).toMatchSnapshot();
  });

  it('plans an sftp-only jail with internal-sftp and no binaries (snapshot)', () => {
    const p = plan(['sftp']);
    expect(formatPlan(p)).toMatchSnapshot();
    expect(p.steps.map((s) => s.id)).not.toContain('copy-sftp');
    expect(p.steps.flatMap((s) => s.actions).some((a) => a.effect.kind === 'copy')).toBe(false);
  });

  it('plans nothing when the host already matches', () => {
    const first = plan(['bash', 'rsync', 'scp', 'sftp']);
    // Turn every planned effect into the "have" state the facts would then report.
    const jail: Record<string, FileState> = {};
    let keysFile: (FileState & { text?: string }) | undefined;
    let dropIn: (FileState & { text?: string }) | undefined;
    let keysDir: FileState | undefined;
    const passwd = [...facts([]).passwd];
    for (const a of first.steps.flatMap((s) => s.actions)) {
      const e = a.effect;
      if (e.kind === 'mkdir') {
        if (e.path === '/etc/ssh/authorized_keys') keysDir = { kind: 'dir', mode: e.mode, uid: e.uid, gid: e.gid, size: 0 };
        else jail[e.path] = { kind: 'dir', mode: e.mode, uid: e.uid, gid: e.gid, size: 0 };
      } else if (e.kind === 'copy') jail[e.path] = { kind: 'file', mode: e.mode, uid: 0, gid: 0, size: e.size, sha256: e.sha256 };
      else if (e.kind === 'write') {
        const st = { kind: 'file' as const, mode: e.mode, uid: e.uid, gid: e.gid, size: e.content.length, sha256: sha256(e.content), text: e.content };
        if (e.path.startsWith('/etc/ssh/authorized_keys/')) keysFile = st;
        else if (e.path.endsWith('.conf')) dropIn = st;
        else jail[e.path] = st;
      } else if (e.kind === 'symlink') jail[e.path] = { kind: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, target: e.target };
      else if (e.kind === 'mknod') jail[e.path] = { kind: 'char', mode: e.mode, uid: 0, gid: 0, size: 0, major: e.major, minor: e.minor };
      else if (e.kind === 'run' && e.argv[0] === 'useradd') passwd.push({ name: 'alice', uid: 1002, gid: 1002, gecos: 'jailwizard jail', home: '/home/alice', shell: '/bin/bash' });
    }
    const f = facts(['bash', 'rsync', 'scp', 'sftp']);
    const again = planApply(answers(['bash', 'rsync', 'scp', 'sftp']), {
      ...f,
      passwd,
      shadow: { field: '*', lastChange: '20000' },
      jail,
      keysDir,
      keysFile,
      ancestors: [{ path: '/', state: dir() }, { path: '/srv', state: dir() }, { path: '/srv/jails', state: dir() }],
      sshd: { ...f.sshd, dropIn },
    }, { now: NOW, sha256 });
    expect(again.steps).toEqual([]);
  });

  it('picks a uid free as both uid and gid', () => {
    const p = plan(['sftp']);
    const useradd = p.steps[0]!.actions[0]!.effect;
    expect(useradd.kind === 'run' && useradd.argv.slice(0, 3)).toEqual(['useradd', '--uid', '1002']);
  });

  it('adopts an existing user locked with ! and undoes it exactly', () => {
    const f = facts(['sftp']);
    const p = planApply(answers(['sftp']), {
      ...f,
      passwd: [...f.passwd, { name: 'alice', uid: 1005, gid: 1005, gecos: '', home: '/home/alice', shell: '/bin/bash' }],
      shadow: { field: '!', lastChange: '19500' },
    }, { now: NOW, sha256 });
    const user = p.steps.find((s) => s.id === 'user')!;
    expect(user.actions.map((a) => a.effect.kind === 'run' && a.effect.argv)).toEqual([
      ['usermod', '--shell', '/usr/sbin/nologin', 'alice'],
      ['usermod', '--password', '*', 'alice'],
    ]);
    expect(user.actions[1]!.undo.map((u) => u.kind === 'run' && u.argv)).toEqual([
      ['usermod', '--password', '!', 'alice'],
      ['chage', '--lastday', '19500', 'alice'],
    ]);
  });

  it('adds an Include that names only jailwizard drop-ins when the config has none', () => {
    const f = facts(['sftp']);
    const mainText = 'UsePAM yes\n';
    const p = planApply(answers(['sftp']), {
      ...f,
      sshd: { ...f.sshd, mainText, mainSha256: sha256(mainText), needsInclude: true, includeLine: 'Include /etc/ssh/sshd_config.d/jailwizard-*.conf', dropInDirExists: false },
    }, { now: NOW, sha256 });
    const sshd = p.steps.find((s) => s.id === 'sshd')!;
    const write = sshd.actions.find((a) => a.effect.kind === 'write' && a.effect.path === '/etc/ssh/sshd_config')!;
    expect(write.effect.kind === 'write' && write.effect.content).toBe('Include /etc/ssh/sshd_config.d/jailwizard-*.conf\nUsePAM yes\n');
    expect(write.pre).toEqual({ kind: 'sha256', path: '/etc/ssh/sshd_config', sha256: sha256(mainText) });
    expect(sshd.actions.map((a) => a.effect.kind)).toEqual(['mkdir', 'write', 'write', 'sshd-validate', 'sshd-expect', 'sshd-reload']);
  });

  it('refuses a group-writable parent, naming it', () => {
    expect(() => plan(['sftp'], { ancestors: [{ path: '/', state: dir() }, { path: '/srv', state: dir(0o775) }] })).toThrow(/\/srv is owned by uid 0 with mode 0775/);
  });

  it('refuses a missing tool without installMissing, naming the install command', () => {
    const over = { packages: { manager: 'apt-get' as const, missing: [{ binary: '/usr/bin/rsync', pkg: 'rsync' }], installs: ['rsync'] } };
    let err: unknown;
    try {
      plan(['rsync'], over);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).hint).toContain('apt-get install -y --no-install-recommends rsync');
    const p = plan(['rsync'], over, { installMissing: true });
    expect(p.steps.map((s) => s.id)).toEqual(['packages']);
    expect(p.steps[0]!.actions[0]!.undo[0]).toEqual({ kind: 'run', argv: ['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'remove', '-y', 'rsync'] });
  });

  it('drops setuid/setgid bits when copying', () => {
    const copies = plan(['bash']).steps.flatMap((s) => s.actions).filter((a) => a.effect.kind === 'copy');
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c.effect.kind === 'copy' && c.effect.mode & 0o6000).toBe(0);
  });
});

describe('recipes through the planner', () => {
  it('chooses the login shell and the Match block from the tools', () => {
    expect(loginShell(['sftp'])).toBe('/usr/sbin/nologin');
    expect(loginShell(['rsync'])).toBe('/bin/sh');
    expect(loginShell(['bash', 'sftp'])).toBe('/bin/bash');
    expect(matchSettings({ tools: ['sftp'], jail: '/srv/j' })).toEqual({
      ChrootDirectory: '/srv/j', DisableForwarding: 'yes', AuthorizedKeysFile: '/etc/ssh/authorized_keys/%u', ForceCommand: 'internal-sftp', PermitTTY: 'no',
    });
    expect(matchSettings({ tools: ['rsync', 'sftp'], jail: '/srv/j' })).toMatchObject({ PermitTTY: 'no' });
    expect(matchSettings({ tools: ['bash'], jail: '/srv/j' })).not.toHaveProperty('ForceCommand');
    // sftp with a shell needs the external sftp-server at the same path.
    expect(toolBinaries(['bash', 'sftp'], '/usr/lib/openssh/sftp-server').map((g) => [g.name, g.binaries])).toContainEqual(['sftp', ['/usr/lib/openssh/sftp-server']]);
    expect(toolBinaries(['sftp'], '/usr/lib/openssh/sftp-server')).toEqual([]);
  });
});

describe('planRemove', () => {
  it('undoes a recorded apply in reverse, sshd first (snapshot)', () => {
    const applied = plan(['sftp']);
    const rec = JSON.parse((applied.steps.at(-1)!.actions.at(-1)!.effect as { content: string }).content) as JailRecord;
    const named = rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : []));
    const f: RemoveFacts = {
      stateDir: '/var/lib/jailwizard',
      existing: new Set(named),
      homeHasFiles: true,
      jailHome: '/srv/jails/alice/home/alice',
      keysDirEntries: ['alice'],
      otherDropIns: [],
      mainText: 'x',
      mainSha256: sha256('x'),
      userExists: true,
      otherJails: 0,
      reload: { argv: ['systemctl', 'reload', 'ssh.service'] },
      pidFile: '/run/sshd.pid',
      listen: [{ host: '127.0.0.1', port: 22 }],
      ownedDirs: [],
      sharers: [],
    };
    const p = planRemove(rec, f, { keepUser: false, keepHome: false, now: NOW });
    expect(p.steps.map((s) => s.id)).toEqual(['sshd', 'keys', 'home', 'jail', 'user', 'record']);
    expect(planToShellScript(p)).toMatchSnapshot();
  });
});
