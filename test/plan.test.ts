// The planner is pure: fixed answers and host facts in, a fixed plan out (snapshot-tested).
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { planApply, toolBinaries, matchSettings, loginShell, gateGrant } from '../src/plan/index.ts';
import { gateScript } from '../src/plan/gate.ts';
import { aptHookPlan } from '../src/commands/update-jail.ts';
import { deniedSample, internalSftpCommand, keyLine, systemdUnitForPath, fstabLine, jailWide } from '../src/plan/options.ts';
import { addressAllowed as isAllowed } from '../src/host/address.ts';
import { rsyslogAuthLog, rsyslogIncludeDir, syslogNgAuthLog } from '../src/host/syslog.ts';
import { parseAnswers } from '../src/host/answers-file.ts';
import { planRemove, type RemoveFacts } from '../src/plan/remove.ts';
import { planToShellScript, formatPlan, type Action, type Plan } from '../src/model/effects.ts';
import { derivedRole, withRoles } from '../src/model/action-role.ts';
import type { HostFacts, FileState, ClosureFacts, ExtraBinary } from '../src/host/facts.ts';
import type { PlatformFacts } from '../src/host/platform.ts';
import { parseEffective } from '../src/host/sshd-config.ts';
import { UserError } from '../src/model/errors.ts';
import type { Answers, Tool } from '../src/model/types.ts';
import type { JailRecord } from '../src/host/state.ts';
import { removeFacts } from './helpers/remove-facts.ts';
import { reloadFor } from '../src/host/sshd-service.ts';
import { summarizeUpdate } from '../src/commands/update-jail.ts';

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

/** What gatherPlatformFacts says on a Debian 12 host like this one. */
const DEBIAN12: PlatformFacts = {
  os: { id: 'debian', like: [], name: 'Debian GNU/Linux 12 (bookworm)' },
  libc: 'glibc',
  loader: '/lib64/ld-linux-x86-64.so.2',
  init: 'other',
  packageManager: 'apt-get',
  selinux: { mode: 'disabled' },
  missingAccountTools: [],
};

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
      mode: { kind: 'service', unit: 'ssh.service', pid: 812 },
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
    platform: DEBIAN12,
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

/** The facts the host would report once `first` ran: every planned effect turned into its "have" state. */
function afterApply(first: Plan, f: HostFacts): HostFacts {
  const jail: Record<string, FileState> = {};
  let keysFile: (FileState & { text?: string }) | undefined;
  let dropIn: (FileState & { text?: string }) | undefined;
  let keysDir: FileState | undefined;
  const passwd = [...f.passwd];
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
  return {
    ...f,
    passwd,
    shadow: { field: '*', lastChange: '20000' },
    jail,
    keysDir,
    keysFile,
    ancestors: [{ path: '/', state: dir() }, { path: '/srv', state: dir() }, { path: '/srv/jails', state: dir() }],
    sshd: { ...f.sshd, dropIn },
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
    const tools: Tool[] = ['bash', 'rsync', 'scp', 'sftp'];
    const again = planApply(answers(tools), afterApply(plan(tools), facts(tools)), { now: NOW, sha256 });
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

  it("adopts a user locked with !! or !* the same way, and leaves an empty password field alone (not locked: sshd lets keys in)", () => {
    const f = facts(['sftp']);
    const adopt = (field: string) =>
      planApply(answers(['sftp']), {
        ...f,
        passwd: [...f.passwd, { name: 'alice', uid: 1005, gid: 1005, gecos: '', home: '/home/alice', shell: '/usr/sbin/nologin' }],
        shadow: { field, lastChange: '19500' },
      }, { now: NOW, sha256 }).steps.find((s) => s.id === 'user')?.actions.map((a) => a.effect.kind === 'run' && a.effect.argv) ?? [];
    expect(adopt('!!')).toEqual([['usermod', '--password', '*', 'alice']]);
    expect(adopt('!*')).toEqual([['usermod', '--password', '*', 'alice']]);
    expect(adopt('')).toEqual([]);
    expect(adopt('!$6$salt$hash')).toEqual([]);
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
    const f = removeFacts(rec, { homeHasFiles: true, reload: { argv: ['systemctl', 'reload', 'ssh.service'] } });
    const p = planRemove(rec, f, { keepUser: false, keepHome: false, now: NOW });
    expect(p.steps.map((s) => s.id)).toEqual(['sshd', 'keys', 'home', 'jail', 'user', 'record']);
    expect(planToShellScript(p)).toMatchSnapshot();
  });
});

// ---------------------------------------------------------------- the options of #5

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';
const actionsOf = (p: Plan, id: string) => p.steps.find((s) => s.id === id)?.actions ?? [];
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e.message;
    throw e;
  }
  throw new Error('expected a refusal');
};
const rsyslog: HostFacts['syslog'] = {
  kind: 'rsyslog',
  config: '/etc/rsyslog.conf',
  dropInDir: '/etc/rsyslog.d',
  authLog: '/var/log/auth.log',
  validate: ['/usr/sbin/rsyslogd', '-N1', '-f', '/etc/rsyslog.conf'],
  apply: { kind: 'daemon-restart', name: 'rsyslogd', pidFile: '/run/rsyslogd.pid', argv: ['/usr/sbin/rsyslogd'] },
};

describe('options: pieces', () => {
  it('builds internal-sftp flags in a fixed order', () => {
    expect(internalSftpCommand({})).toBe('internal-sftp');
    expect(internalSftpCommand({ log: true, startDir: '/upload', umask: '0027', readOnly: true })).toBe('internal-sftp -R -u 0027 -d /upload -l INFO -f AUTH');
  });

  it('restricts keys with from=, keeps other options, refuses a second source list', () => {
    expect(keyLine(KEY, undefined, 0)).toBe(KEY);
    expect(keyLine(KEY, ['127.0.0.1', '10.0.0.0/8'], 0)).toBe(`from="127.0.0.1,10.0.0.0/8" ${KEY}`);
    expect(keyLine(`no-pty ${KEY}`, ['127.0.0.1'], 0)).toBe(`from="127.0.0.1",no-pty ${KEY}`);
    expect(() => keyLine(`from="1.2.3.4" ${KEY}`, ['127.0.0.1'], 2)).toThrow(/^authorized key 3 has a from= option, and allowFrom adds one/);
  });

  it('matches addresses against networks', () => {
    expect(isAllowed('10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(isAllowed('11.1.2.3', ['10.0.0.0/8'])).toBe(false);
    expect(isAllowed('127.0.0.2', ['127.0.0.1'])).toBe(false);
    expect(isAllowed('127.0.0.2', ['127.0.0.0/30'])).toBe(true);
    expect(isAllowed('127.0.0.5', ['127.0.0.0/30'])).toBe(false);
    expect(isAllowed('1.2.3.4', ['0.0.0.0/0'])).toBe(true);
    expect(deniedSample(['127.0.0.1'])).toBe('127.0.0.2');
    expect(deniedSample(['127.0.0.0/8'])).toBe('192.0.2.1');
  });

  it('names mount units as systemd-escape --path does', () => {
    expect(systemdUnitForPath('/srv/jails/alice/web')).toBe('srv-jails-alice-web.mount');
    expect(systemdUnitForPath('/srv/a-b/c.d')).toBe('srv-a\\x2db-c.d.mount');
    expect(fstabLine({ source: '/srv/web/x', target: '/web', readOnly: true }, '/srv/j/web')).toBe('/srv/web/x /srv/j/web none bind,ro,nodev,nosuid,noexec,nofail 0 0');
  });

  it('reads where rsyslog and syslog-ng put drop-ins and auth lines', () => {
    const conf = 'module(load="imuxsock")\n$IncludeConfig /etc/rsyslog.d/*.conf\n*.*;auth,authpriv.none\t\t-/var/log/syslog\nauth,authpriv.*\t\t\t/var/log/auth.log\n';
    expect(rsyslogIncludeDir(conf)).toBe('/etc/rsyslog.d');
    expect(rsyslogAuthLog(conf)).toBe('/var/log/auth.log');
    expect(syslogNgAuthLog('destination d_auth { file("/var/log/auth.log"); };')).toBe('/var/log/auth.log');
  });

  it('unions what a shared jail holds', () => {
    const a = answers(['sftp'], { shared: true });
    const b = answers(['bash'], { user: 'bob', shared: true, extras: ['locale'], binds: [{ source: '/srv/d', target: '/d', readOnly: true }] });
    expect(jailWide(a, [b])).toMatchObject({ tools: ['bash', 'sftp'], extras: ['locale'], binds: [{ target: '/d' }] });
  });

  it('refuses options that do not fit the tools, with a hint (answers file)', () => {
    const parse = (o: Record<string, unknown>) => refusal(() => parseAnswers(JSON.stringify({ user: 'alice', jail: '/srv/j', ...o }), 'a.json'));
    expect(parse({ tools: ['bash'], readOnly: true })).toMatch(/"readOnly" applies to sftp sessions only/);
    expect(parse({ tools: ['sftp'], umask: 27 })).toMatch(/"umask" must be a quoted octal string/);
    expect(parse({ tools: ['sftp'], umask: '0999' })).toMatch(/"umask"/);
    expect(parse({ tools: ['sftp'], extraBinaries: ['git'] })).toMatch(/need a shell tool/);
    expect(parse({ tools: ['sftp'], groupDir: '/shared' })).toMatch(/needs "group"/);
    expect(parse({ tools: ['sftp'], allowFrom: ['example.com'] })).toMatch(/not an IP address or network/);
    expect(parse({ tools: ['sftp'], extras: ['fonts'] })).toMatch(/unknown extra "fonts"/);
    expect(parse({ tools: ['sftp'], writable: '/up load' })).toMatch(/"writable" must be an absolute path/);
    expect(parse({ tools: ['sftp'], binds: [{ source: 'web', target: '/web' }] })).toMatch(/binds\[0\]\.source/);
    expect(parse({ tools: ['sftp'], readOnly: true, writable: '/up' })).toMatch(/contradict/);
  });
});

describe('options: planApply', () => {
  it('plans an sftp-only jail with -R -u -d -l and an rsyslog socket (snapshot)', () => {
    const p = plan(['sftp'], { syslog: rsyslog }, { readOnly: true, umask: '0027', startDir: '/home/alice', log: true });
    expect(formatPlan(p)).toMatchSnapshot();
    const drop = actionsOf(p, 'sshd').find((a) => a.effect.kind === 'write')!;
    expect(drop.effect.kind === 'write' && drop.effect.content).toContain('ForceCommand internal-sftp -R -u 0027 -d /home/alice -l INFO -f AUTH');
    const logging = actionsOf(p, 'logging');
    expect(logging.map((a) => a.effect.kind)).toEqual(['write', 'run', 'daemon-restart']);
    // Undo order: drop-in gone, daemon restarted without it, socket gone.
    expect(logging[0]!.undo.map((u) => u.kind)).toEqual(['restore', 'daemon-restart', 'unlink']);
    const rec = JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;
    expect(rec.logFile).toBe('/var/log/auth.log');
  });

  it('uses a syslog-ng source where syslog-ng runs, and says what is missing where only journald runs', () => {
    const ng: HostFacts['syslog'] = { kind: 'syslog-ng', config: '/etc/syslog-ng/syslog-ng.conf', dropInDir: '/etc/syslog-ng/conf.d', authLog: '/var/log/auth.log', validate: ['syslog-ng', '--syntax-only'], apply: { kind: 'run', argv: ['syslog-ng-ctl', 'reload'] } };
    const p = plan(['sftp'], { syslog: ng }, { log: true });
    const w = actionsOf(p, 'logging')[0]!.effect;
    expect(w.kind === 'write' && w.content).toContain('unix-dgram("/srv/jails/alice/dev/log")');
    expect(actionsOf(p, 'logging')[2]!.effect).toEqual({ kind: 'run', argv: ['syslog-ng-ctl', 'reload'] });
    const msg = refusal(() => plan(['sftp'], { syslog: { message: 'only systemd-journald runs here, and journald cannot listen on a socket inside a jail', hint: 'install rsyslog' } }, { log: true }));
    expect(msg).toMatch(/^log: only systemd-journald runs here/);
  });

  it('limits sources with a Match Address block, from= on keys, and proves both with sshd -T', () => {
    const p = plan(['sftp'], {}, { allowFrom: ['127.0.0.1', '10.0.0.0/8'] });
    const drop = actionsOf(p, 'sshd').find((a) => a.effect.kind === 'write')!.effect;
    expect(drop.kind === 'write' && drop.content).toContain('Match User alice Address *,!127.0.0.1,!10.0.0.0/8\n    DenyUsers alice\nMatch User alice\n');
    const keys = actionsOf(p, 'keys').find((a) => a.effect.kind === 'write')!.effect;
    expect(keys.kind === 'write' && keys.content).toBe(`from="127.0.0.1,10.0.0.0/8" ${KEY}\n`);
    const expects = actionsOf(p, 'sshd').flatMap((a) => (a.effect.kind === 'sshd-expect' ? [[a.effect.addr, a.effect.expect]] : []));
    expect(expects).toContainEqual(['127.0.0.2', { denyusers: 'alice' }]);
    expect(expects[0]![0]).toBe('127.0.0.1');
  });

  it('bind-mounts host data with nodev,nosuid,noexec: fstab without systemd, a mount unit with it, nothing when in place', () => {
    const binds = [{ source: '/srv/web/example.com', target: '/web', readOnly: true }];
    const src = { '/srv/web/example.com': { real: '/srv/web/example.com', state: dir() } };
    const p = plan(['sftp'], { bindSources: src }, { binds });
    const m = actionsOf(p, 'mounts');
    expect(m.map((a) => a.effect)).toEqual([
      { kind: 'mount', source: '/srv/web/example.com', target: '/srv/jails/alice/web', options: ['ro', 'nodev', 'nosuid', 'noexec'] },
      { kind: 'line-add', path: '/etc/fstab', line: '/srv/web/example.com /srv/jails/alice/web none bind,ro,nodev,nosuid,noexec,nofail 0 0' },
    ]);
    expect(m[0]!.undo).toEqual([{ kind: 'umount', target: '/srv/jails/alice/web' }]);
    expect(actionsOf(p, 'base').some((a) => a.effect.kind === 'mkdir' && a.effect.path === '/srv/jails/alice/web')).toBe(true);
    const sd = plan(['sftp'], { bindSources: src, systemd: true }, { binds });
    expect(formatPlan(sd)).toContain('/etc/systemd/system/srv-jails-alice-web.mount');
    expect(actionsOf(sd, 'mounts').map((a) => a.effect.kind === 'run' ? a.effect.argv.join(' ') : a.effect.kind)).toEqual([
      'mount', 'write', 'systemctl daemon-reload', 'systemctl enable srv-jails-alice-web.mount',
    ]);
    const done = plan(['sftp'], { bindSources: src, mounts: ['/srv/jails/alice/web'], fstab: { path: '/etc/fstab', text: `${fstabLine(binds[0]!, '/srv/jails/alice/web')}\n` } }, { binds });
    expect(actionsOf(done, 'mounts')).toEqual([]);
  });

  it('a bind the answers dropped is taken back: unmounted, forgotten at boot (fstab line or mount unit), and gone from the record', () => {
    const binds = [{ source: '/srv/web/example.com', target: '/web', readOnly: true }];
    const where = '/srv/jails/alice/web';
    const src = { '/srv/web/example.com': { real: '/srv/web/example.com', state: dir() } };
    const recordIn = (p: Plan): JailRecord => JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;
    // What remove would undo (a daemon-reload, undone by nothing, may stay).
    const mountsIn = (r: JailRecord) => r.actions.filter((a) => a.role === 'mount' && a.undo.length > 0).map((a) => a.effect.kind);
    for (const systemd of [false, true]) {
      const first = plan(['sftp'], { bindSources: src, systemd }, { binds });
      const rec = recordIn(first);
      expect(mountsIn(rec).length, `systemd ${systemd}`).toBeGreaterThan(0);
      const unit = `/etc/systemd/system/${systemdUnitForPath(where)}`;
      const f = { ...afterApply(first, facts(['sftp'], { systemd })), record: rec, mounts: [where], fstab: { path: '/etc/fstab', text: systemd ? '' : `${fstabLine(binds[0]!, where)}\n` } };
      const p = planApply(answers(['sftp']), f, { now: NOW, sha256 });
      const undoing = actionsOf(p, 'unmount');
      expect(p.steps.find((x) => x.id === 'unmount')?.title).toBe('Unmount /web, which the answers no longer ask for');
      expect(undoing.map((a) => (a.effect.kind === 'run' ? a.effect.argv.join(' ') : `${a.effect.kind}`)), `systemd ${systemd}`).toEqual(
        systemd ? ['umount', 'systemctl disable srv-jails-alice-web.mount', 'unlink', 'systemctl daemon-reload'] : ['umount', 'line-remove'],
      );
      if (systemd) expect(undoing[2]!.effect).toEqual({ kind: 'unlink', path: unit });
      // Each is undone by what made it: a failed run mounts it again.
      expect(undoing[0]!.undo).toEqual([{ kind: 'mount', source: '/srv/web/example.com', target: where, options: ['ro', 'nodev', 'nosuid', 'noexec'] }]);
      // The record keeps only what the jail still has: no mount, no way for remove to meet it.
      expect(mountsIn(recordIn(p)), `systemd ${systemd}`).toEqual([]);
      // Still asked for: nothing to take back.
      expect(actionsOf(planApply(answers(['sftp'], { binds }), { ...f, bindSources: src }, { now: NOW, sha256 }), 'unmount')).toEqual([]);
    }
  });

  it("a writable dir the answers moved elsewhere stays with the user's files, and the preview says so", () => {
    const recordIn = (p: Plan): JailRecord => JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;
    const first = plan(['rsync'], {}, { writable: '/upload' });
    const f = { ...afterApply(first, facts(['rsync'])), record: recordIn(first) };
    const moved = planApply(answers(['rsync'], { writable: '/incoming' }), f, { now: NOW, sha256 });
    expect(moved.notes.filter((n) => n.startsWith('/upload'))).toEqual([
      "/upload, alice's own dir until now, stays in the jail with what is in it: jailwizard never reads or moves a user's files. Once what is needed is copied out, remove it (check reports it until then).",
    ]);
    // Nothing moved, or the new dir inside the old one: no such note.
    for (const writable of ['/upload', '/upload/in']) expect(planApply(answers(['rsync'], { writable }), f, { now: NOW, sha256 }).notes.filter((n) => n.includes('own dir until now'))).toEqual([]);
  });

  it('refuses bind sources that are /, /etc, contain the jail, are inside it, or missing; and targets jailwizard manages', () => {
    const bindPlan = (source: string, target = '/web', real = source) =>
      refusal(() => plan(['sftp'], { bindSources: { [source]: { real, state: source === '/missing' ? undefined : dir() } } }, { binds: [{ source, target, readOnly: true }] }));
    expect(bindPlan('/')).toMatch(/the whole system/);
    expect(bindPlan('/etc/ssh')).toMatch(/under \/etc/);
    expect(bindPlan('/srv/jails')).toMatch(/contains the jail/);
    expect(bindPlan('/srv/link', '/web', '/srv')).toMatch(/contains the jail/); // through a symlink
    expect(bindPlan('/srv/jails/alice/x')).toMatch(/is inside the jail/);
    expect(bindPlan('/missing')).toMatch(/does not exist/);
    expect(bindPlan('/srv/web', '/home/alice/web')).toMatch(/under \/home/);
  });

  it('refuses kernel filesystems by type and sensitive trees (in, at or above them), each with its reason; a tmpfs elsewhere is fine', () => {
    const bindPlan = (source: string, fsType: string, real = source) => {
      const f = { bindSources: { [source]: { real, state: dir(), fsType } } };
      try {
        return plan(['sftp'], f, { binds: [{ source, target: '/web', readOnly: true }] });
      } catch (e) {
        if (e instanceof UserError) return e.message;
        throw e;
      }
    };
    for (const t of ['proc', 'sysfs', 'devtmpfs', 'devpts', 'cgroup', 'cgroup2', 'debugfs', 'tracefs', 'securityfs', 'bpf', 'configfs', 'mqueue']) {
      expect(bindPlan('/srv/k', t)).toBe(`bind source /srv/k is on a ${t} filesystem (the kernel's own, not data)`);
    }
    expect(bindPlan('/proc', 'proc')).toMatch(/^bind source \/proc is on a proc filesystem/);
    expect(bindPlan('/run', 'tmpfs')).toBe('bind source /run is /run (runtime sockets, pids and secrets)');
    expect(bindPlan('/run/user/0', 'tmpfs')).toBe('bind source /run/user/0 is under /run (runtime sockets, pids and secrets)');
    expect(bindPlan('/root', 'ext4')).toBe("bind source /root is /root (root's home)");
    expect(bindPlan('/boot', 'ext4')).toMatch(/is \/boot \(the kernel and the boot loader\)/);
    expect(bindPlan('/var/lib/mysql', 'ext4')).toBe("bind source /var/lib/mysql is under /var/lib (services' state: databases, keys)");
    expect(bindPlan('/var', 'ext4')).toBe("bind source /var contains /var/lib (services' state: databases, keys)");
    expect(bindPlan('/var/lib/jailwizard', 'ext4')).toMatch(/is \/var\/lib\/jailwizard \(jailwizard's state\)|under \/var\/lib/);
    expect(bindPlan('/srv/data-link', 'ext4', '/etc')).toBe("bind source /srv/data-link (/etc) is /etc (the host's configuration and secrets)");
    expect(bindPlan('/dev/shm', 'tmpfs')).toMatch(/under \/dev/);
    // A tmpfs of its own elsewhere is data like any other.
    const ok = bindPlan('/srv/scratch', 'tmpfs');
    expect(typeof ok === 'string' ? ok : 'planned').toBe('planned');
  });

  it("refuses a bind of jailwizard's own state dir, wherever --state-dir puts it", () => {
    const f = { stateDir: '/srv/jwstate', bindSources: { '/srv/jwstate': { real: '/srv/jwstate', state: dir(), fsType: 'ext4' } } };
    expect(refusal(() => plan(['sftp'], f, { binds: [{ source: '/srv/jwstate', target: '/web', readOnly: true }] }))).toBe("bind source /srv/jwstate is /srv/jwstate (jailwizard's state)");
    const g = { stateDir: '/srv/jwstate', bindSources: { '/srv': { real: '/srv', state: dir(), fsType: 'ext4' } } };
    expect(refusal(() => plan(['sftp'], g, { binds: [{ source: '/srv', target: '/web', readOnly: true }] }))).toMatch(/contains the jail/);
  });

  it('gives the user only its writable dir, and a group dir setgid 2770', () => {
    const p = plan(['sftp'], {}, { writable: '/home/alice/upload', group: 'uploads', groupDir: '/shared' });
    const mk = Object.fromEntries(actionsOf(p, 'base').flatMap((a) => (a.effect.kind === 'mkdir' ? [[a.effect.path, [a.effect.mode, a.effect.uid, a.effect.gid]]] : [])));
    expect(mk['/srv/jails/alice/home/alice']).toEqual([0o755, 0, 0]);
    expect(mk['/srv/jails/alice/home/alice/upload']).toEqual([0o750, 1002, 1002]);
    expect(mk['/srv/jails/alice/shared']).toEqual([0o2770, 0, 1001]);
    const group = actionsOf(p, 'base').find((a) => a.effect.kind === 'write' && a.effect.path.endsWith('etc/group'))!.effect;
    expect(group.kind === 'write' && group.content).toBe('root:x:0:\nalice:x:1002:\nuploads:x:1001:alice\n');
  });

  it('lists root and exactly the jail\'s users in a shared jail', () => {
    const bob = { name: 'bob', uid: 1003, gid: 1003, gecos: 'jailwizard jail', home: '/home/bob', shell: '/usr/sbin/nologin' };
    const bobRec = { user: 'bob', uid: 1003, gid: 1003, jail: '/srv/jails/alice', answers: answers(['sftp'], { user: 'bob', shared: true }), actions: [], manifest: [] } as unknown as JailRecord;
    const p = plan(['sftp'], { sharers: [{ record: bobRec, account: bob }], passwd: [...facts(['sftp']).passwd, bob] }, { shared: true });
    const passwd = actionsOf(p, 'base').find((a) => a.effect.kind === 'write' && a.effect.path.endsWith('etc/passwd'))!.effect;
    expect(passwd.kind === 'write' && passwd.content.trim().split('\n').map((l) => l.split(':')[0])).toEqual(['root', 'alice', 'bob']);
  });

  it('refuses setuid extras unless allowed, and then keeps the bit with a warning', () => {
    const su = { asked: '/bin/su', path: '/bin/su', real: '/usr/bin/su', setid: true, elf: true }; // merged /usr: the copy is of the real file
    const suClosure: ClosureFacts = { name: 'extra', title: 'extra commands', binaries: ['/usr/bin/su'], missing: [], entries: [{ ...file('/usr/bin/su', 72_000), mode: 0o4755 }] };
    expect(refusal(() => plan(['bash'], { extraBinaries: [su], closures: [...closures(['bash']), suClosure] }, { extraBinaries: ['su'] }))).toMatch(/\/bin\/su is setuid\/setgid/);
    const p = plan(['bash'], { extraBinaries: [su], closures: [...closures(['bash']), suClosure] }, { extraBinaries: ['su'], allowSetuid: true });
    const copy = actionsOf(p, 'copy-extra').find((a) => a.effect.kind === 'copy' && a.effect.from === '/usr/bin/su')!.effect;
    expect(copy.kind === 'copy' && copy.mode).toBe(0o4755);
    expect(p.notes.join('\n')).toMatch(/WARNING: \/usr\/bin\/su keeps the setuid\/setgid bit/);
    expect(refusal(() => plan(['bash'], { extraBinaries: [{ asked: 'nano', setid: false, elf: false }] }, { extraBinaries: ['nano'] }))).toMatch(/extra command nano is not on this host/);
  });

  it('refuses extra commands that are host secrets, kernel views, non-programs or scripts, each in one line', () => {
    const refuse = (x: ExtraBinary) => refusal(() => plan(['bash'], { extraBinaries: [x] }, { extraBinaries: [x.asked] }));
    expect(refuse({ asked: '/etc/shadow', path: '/etc/shadow', real: '/etc/shadow', setid: false, elf: false, forbidden: 'is /etc/shadow (the password hashes)' })).toBe(
      'extra command /etc/shadow is /etc/shadow (the password hashes): jailwizard never copies it into a jail',
    );
    expect(refuse({ asked: '/usr/share/doc', path: '/usr/share/doc', real: '/usr/share/doc', setid: false, elf: false, notExecutable: true })).toMatch(/\/usr\/share\/doc is not an executable file/);
    expect(refuse({ asked: '/usr/bin/x.sh', path: '/usr/bin/x.sh', real: '/usr/bin/x.sh', setid: false, elf: false })).toMatch(/is not an ELF program/);
  });

  it('gives a user without bash the gate as ForceCommand, writes it root-owned 0755, and mounts their home noexec', () => {
    const p = plan(['rsync', 'sftp']);
    const dropIn = actionsOf(p, 'sshd').find((a) => a.effect.kind === 'write')!.effect;
    expect(dropIn.kind === 'write' && dropIn.content).toContain(
      '    ForceCommand /usr/lib/jailwizard/gate --rsync=/usr/bin/rsync --sftp=/usr/lib/openssh/sftp-server\n',
    );
    expect(dropIn.kind === 'write' && dropIn.content).toContain('    PermitTTY no\n');
    const expectF = actionsOf(p, 'sshd').find((a) => a.effect.kind === 'sshd-expect')!.effect;
    expect(expectF.kind === 'sshd-expect' && expectF.expect.forcecommand).toBe('/usr/lib/jailwizard/gate --rsync=/usr/bin/rsync --sftp=/usr/lib/openssh/sftp-server');
    const gate = actionsOf(p, 'base').find((a) => a.effect.kind === 'write' && a.effect.path === '/srv/jails/alice/usr/lib/jailwizard/gate')!.effect;
    expect(gate).toMatchObject({ mode: 0o755, uid: 0, gid: 0 });
    expect(gate.kind === 'write' && gate.content).toBe(gateScript());
    expect(actionsOf(p, 'noexec').map((a) => a.effect)).toEqual([
      { kind: 'mount', source: '/srv/jails/alice/home/alice', target: '/srv/jails/alice/home/alice', options: ['rw', 'nodev', 'nosuid', 'noexec'] },
      { kind: 'line-add', path: '/etc/fstab', line: '/srv/jails/alice/home/alice /srv/jails/alice/home/alice none bind,rw,nodev,nosuid,noexec,nofail 0 0' },
    ]);
    // The mount comes after the home exists, so a rollback unmounts before the dir goes.
    const ids = p.steps.map((x) => x.id);
    expect(ids.indexOf('noexec')).toBeGreaterThan(ids.indexOf('base'));
    const record = actionsOf(p, 'record')[0]!.effect;
    expect(record.kind === 'write' && JSON.parse(record.content).gate).toEqual({ rsync: '/usr/bin/rsync', sftp: '/usr/lib/openssh/sftp-server', sftpSubsystem: '/usr/lib/openssh/sftp-server', commands: [] });
  });

  it('noexec covers what the user can write: the writable dir, the group dir, a shared /tmp; bash users only when asked', () => {
    const mounted = (p: Plan) => actionsOf(p, 'noexec').flatMap((a) => (a.effect.kind === 'mount' ? [a.effect.target] : []));
    expect(mounted(plan(['scp'], {}, { writable: '/home/alice/upload', group: 'uploads', groupDir: '/shared', extras: ['tmp'] }))).toEqual([
      '/srv/jails/alice/home/alice/upload', '/srv/jails/alice/shared', '/srv/jails/alice/tmp',
    ]);
    expect(mounted(plan(['bash', 'rsync']))).toEqual([]);
    expect(mounted(plan(['bash'], {}, { noexec: true, extras: ['tmp'] }))).toEqual(['/srv/jails/alice/home/alice', '/srv/jails/alice/tmp']);
    expect(mounted(plan(['rsync'], {}, { noexec: false }))).toEqual([]);
    expect(mounted(plan(['sftp']))).toEqual([]);
    // Already mounted and persisted: nothing to do.
    const where = '/srv/jails/alice/home/alice';
    expect(actionsOf(plan(['rsync'], { mounts: [where], fstab: { path: '/etc/fstab', text: `${where} ${where} none bind,rw,nodev,nosuid,noexec,nofail 0 0\n` } }), 'noexec')).toEqual([]);
    // A shared jail's /tmp is noexec when any of its users is behind the gate.
    const bobRec = { user: 'bob', uid: 1003, gid: 1003, jail: '/srv/jails/alice', answers: answers(['rsync'], { user: 'bob', shared: true }), actions: [], manifest: [] } as unknown as JailRecord;
    expect(mounted(plan(['bash'], { sharers: [{ record: bobRec }] }, { shared: true, extras: ['tmp'] }))).toEqual(['/srv/jails/alice/tmp']);
  });

  it("the gate's grant: git's server commands for git (never git itself), other extras as commands, the sftp-server even with internal-sftp", () => {
    const git: ExtraBinary = { asked: 'git', path: '/usr/bin/git', real: '/usr/bin/git', setid: false, elf: true };
    const md5: ExtraBinary = { asked: 'md5sum', path: '/usr/bin/md5sum', real: '/usr/bin/md5sum', setid: false, elf: true };
    expect(gateGrant({ tools: ['rsync'], extraBinaries: ['git', 'md5sum'] }, { sshd: { sftpSubsystem: undefined, sftpServer: '/usr/lib/openssh/sftp-server' }, extraBinaries: [git, md5] })).toEqual({
      rsync: '/usr/bin/rsync', git: '/usr/bin', commands: ['/usr/bin/md5sum'],
    });
    expect(gateGrant({ tools: ['scp'] }, { sshd: { sftpSubsystem: undefined, sftpServer: '/usr/lib/openssh/sftp-server' }, extraBinaries: [] })).toEqual({
      scp: '/usr/bin/scp', sftp: '/usr/lib/openssh/sftp-server', sftpSubsystem: 'internal-sftp', commands: [],
    });
    // Only this user's extras: a sharer's git is not theirs.
    expect(gateGrant({ tools: ['rsync'] }, { sshd: { sftpSubsystem: undefined }, extraBinaries: [git] })).toEqual({ rsync: '/usr/bin/rsync', commands: [] });
    expect(gateGrant({ tools: ['bash', 'rsync'] }, { sshd: {}, extraBinaries: [] })).toBeUndefined();
    expect(gateGrant({ tools: ['sftp'] }, { sshd: {}, extraBinaries: [] })).toBeUndefined();
    // With internal-sftp, a gated scp user still gets an sftp-server binary to run.
    expect(toolBinaries(['scp'], undefined, '/usr/lib/openssh/sftp-server').flatMap((g) => g.binaries)).toContain('/usr/lib/openssh/sftp-server');
    expect(toolBinaries(['bash', 'scp'], undefined, '/usr/lib/openssh/sftp-server').flatMap((g) => g.binaries)).not.toContain('/usr/lib/openssh/sftp-server');
  });

  it('adds /tmp 1777, /etc/profile and nsswitch.conf as extras', () => {
    const p = plan(['bash'], {}, { extras: ['profile', 'tmp', 'nss'] });
    const base = actionsOf(p, 'base').map((a) => a.effect);
    expect(base).toContainEqual({ kind: 'mkdir', path: '/srv/jails/alice/tmp', mode: 0o1777, uid: 0, gid: 0 });
    expect(base.some((e) => e.kind === 'write' && e.path === '/srv/jails/alice/etc/profile' && e.content.includes('PS1='))).toBe(true);
    expect(base.some((e) => e.kind === 'write' && e.path === '/srv/jails/alice/etc/nsswitch.conf' && e.content.includes('group: files'))).toBe(true);
  });
});

describe('options: planRemove', () => {
  const recordOf = (p: Plan): JailRecord => JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;
  const binds = [{ source: '/srv/web', target: '/web', readOnly: true }];
  const withBind = () => plan(['sftp'], { bindSources: { '/srv/web': { real: '/srv/web', state: dir() } }, syslog: rsyslog }, { binds, log: true });

  it('unmounts and forgets bind mounts and the log socket before the jail goes, then removes the mount point', () => {
    const rec = recordOf(withBind());
    const p = planRemove(rec, removeFacts(rec), { keepUser: false, keepHome: false, now: NOW });
    expect(p.steps.map((s) => s.id)).toEqual(['sshd', 'keys', 'mounts', 'logging', 'jail', 'user', 'record']);
    expect(actionsOf(p, 'mounts').map((a) => a.effect.kind)).toEqual(['line-remove', 'umount']);
    expect(actionsOf(p, 'logging').map((a) => a.effect.kind)).toEqual(['unlink', 'daemon-restart', 'unlink']);
    expect(actionsOf(p, 'jail').some((a) => a.effect.kind === 'rmdir' && a.effect.path === '/srv/jails/alice/web')).toBe(true);
  });

  it('leaves a shared jail to its other users: hands the shared parts over and rewrites etc/passwd', () => {
    const rec = recordOf(withBind());
    const bob = { ...rec, user: 'bob', actions: [], manifest: [] } as JailRecord;
    const names = { passwd: { text: 'root:x:0:0:root:/root:/bin/bash\nbob:x:1003:1003::/home/bob:/usr/sbin/nologin\n', sha256: 'aa' }, group: { text: 'root:x:0:\nbob:x:1003:\n', sha256: 'bb' } };
    const p = planRemove(rec, removeFacts(rec, { sharers: [{ record: bob, sha256: 'cc' }], others: [{ record: bob, sha256: 'cc' }], jailNames: names }), { keepUser: false, keepHome: false, now: NOW });
    expect(p.steps.map((s) => s.id)).toEqual(['sshd', 'keys', 'jail', 'user', 'handover', 'record']);
    const jail = actionsOf(p, 'jail').map((a) => a.effect);
    expect(jail.some((e) => e.kind === 'rmdir' && e.path === '/srv/jails/alice')).toBe(false);
    expect(jail).toContainEqual({ kind: 'rmdir', path: '/srv/jails/alice/home/alice' });
    expect(jail.filter((e) => e.kind === 'write').map((e) => e.kind === 'write' && e.content)).toEqual([names.passwd.text, names.group.text]);
    const heir = JSON.parse((actionsOf(p, 'handover')[0]!.effect as { content: string }).content) as JailRecord;
    const kinds = heir.actions.map((a) => a.effect.kind);
    expect(kinds).toContain('mount');
    expect(heir.actions.some((a) => a.effect.kind === 'mkdir' && a.effect.path === '/srv/jails/alice/web')).toBe(true);
    expect(heir.actions.some((a) => a.effect.kind === 'mkdir' && a.effect.path === '/srv/jails/alice')).toBe(true);
    // The user's own things are not handed over.
    expect(heir.actions.some((a) => 'path' in a.effect && a.effect.path === '/srv/jails/alice/home/alice')).toBe(false);
    expect(heir.actions.some((a) => a.effect.kind === 'run' && a.effect.argv[0] === 'useradd')).toBe(false);
  });
});

describe('planRemove: the noexec bind of the user\'s own dirs', () => {
  const recordOf = (p: Plan): JailRecord => JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;

  it('unmounts the home and drops its fstab line before the home moves out, in a shared jail too', () => {
    for (const sharedJail of [false, true]) {
      const rec = recordOf(plan(['rsync'], {}, { shared: sharedJail, extras: ['tmp'] }));
      const bob = { ...rec, user: 'bob', actions: [], manifest: [] } as JailRecord;
      const f = removeFacts(rec, { homeHasFiles: true, ...(sharedJail ? { sharers: [{ record: bob, sha256: 'cc' }], heir: { record: bob, sha256: 'cc' } } : {}) });
      const p = planRemove(rec, f, { keepUser: false, keepHome: false, now: NOW });
      const ids = p.steps.map((x) => x.id);
      expect(ids.indexOf('mounts'), `shared ${sharedJail}`).toBeLessThan(ids.indexOf('home'));
      const m = actionsOf(p, 'mounts').map((a) => a.effect);
      expect(m).toContainEqual({ kind: 'umount', target: '/srv/jails/alice/home/alice' });
      expect(m.some((e) => e.kind === 'line-remove' && e.line.startsWith('/srv/jails/alice/home/alice '))).toBe(true);
      // The shared /tmp stays mounted for the others and goes with the last user.
      const tmpUmounted = m.some((e) => e.kind === 'umount' && e.target === '/srv/jails/alice/tmp');
      expect(tmpUmounted).toBe(!sharedJail);
      if (sharedJail) {
        const heir = JSON.parse((actionsOf(p, 'handover')[0]!.effect as { content: string }).content) as JailRecord;
        expect(heir.actions.some((a) => a.effect.kind === 'mount' && a.effect.target === '/srv/jails/alice/tmp')).toBe(true);
        expect(heir.actions.some((a) => a.effect.kind === 'mount' && a.effect.target === '/srv/jails/alice/home/alice')).toBe(false);
      }
    }
  });

  it('with systemd: the mount unit of the home goes with the user, the unit of a shared /tmp stays', () => {
    const rec = recordOf(plan(['rsync'], { systemd: true }, { shared: true, extras: ['tmp'] }));
    const bob = { ...rec, user: 'bob', actions: [], manifest: [] } as JailRecord;
    const p = planRemove(rec, removeFacts(rec, { sharers: [{ record: bob, sha256: 'cc' }] }), { keepUser: false, keepHome: false, now: NOW });
    const m = actionsOf(p, 'mounts').map((a) => (a.effect.kind === 'run' ? a.effect.argv.join(' ') : a.effect.kind === 'unlink' ? `unlink ${a.effect.path}` : a.effect.kind));
    expect(m).toContain('unlink /etc/systemd/system/srv-jails-alice-home-alice.mount');
    expect(m).toContain('systemctl disable srv-jails-alice-home-alice.mount');
    expect(m).not.toContain('unlink /etc/systemd/system/srv-jails-alice-tmp.mount');
  });
});

describe('planRemove: what other jails still use', () => {
  it('hands the keys dir, the drop-in dir and the Include line to another jail, so the last one out removes them', () => {
    const noInclude = facts(['sftp']);
    const mainText = 'UsePAM yes\n';
    const p0 = plan(['sftp'], {
      keysDir: undefined,
      sshd: { ...noInclude.sshd, mainText, mainSha256: sha256(mainText), needsInclude: true, includeLine: 'Include /etc/ssh/sshd_config.d/jailwizard-*.conf', dropInDirExists: false },
    });
    const rec = JSON.parse((p0.steps.at(-1)!.actions.at(-1)!.effect as { content: string }).content) as JailRecord;
    expect(rec.addedInclude).toBeDefined();
    const other = { ...rec, user: 'bob', jail: '/srv/jails/bob', dropIn: '/etc/ssh/sshd_config.d/jailwizard-bob.conf', actions: [], manifest: [], addedInclude: undefined } as JailRecord;
    const f: RemoveFacts = {
      stateDir: '/var/lib/jailwizard',
      existing: new Set(rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : []))),
      homeHasFiles: false,
      jailHome: '/srv/jails/alice/home/alice',
      dirEntries: { '/etc/ssh/authorized_keys': ['alice', 'bob'], '/etc/ssh/sshd_config.d': ['jailwizard-alice.conf', 'jailwizard-bob.conf'] },
      otherDropIns: ['jailwizard-bob.conf'],
      mainText: `Include /etc/ssh/sshd_config.d/jailwizard-*.conf\n${mainText}`,
      mainSha256: 'x',
      userExists: true,
      otherJails: 1,
      pidFile: '/run/sshd.pid',
      listen: [],
      ownedDirs: [],
    sharedDirs: [],
      sharers: [],
      others: [{ record: other, sha256: 'dd' }],
    };
    const p = planRemove(rec, f, { keepUser: false, keepHome: false, now: NOW });
    const all = p.steps.flatMap((s) => s.actions.map((a) => a.effect));
    expect(all.some((e) => e.kind === 'rmdir' && (e.path === '/etc/ssh/authorized_keys' || e.path === '/etc/ssh/sshd_config.d'))).toBe(false);
    expect(all.some((e) => e.kind === 'write' && e.path === '/etc/ssh/sshd_config')).toBe(false);
    const heir = JSON.parse((actionsOf(p, 'handover')[0]!.effect as { content: string }).content) as JailRecord;
    expect(heir.addedInclude).toBe(rec.addedInclude);
    // bob's jail lives in /srv/jails too, which alice's apply made.
    expect(heir.actions.map((a) => a.effect.kind === 'mkdir' && a.effect.path).filter(Boolean).sort()).toEqual(['/etc/ssh/authorized_keys', '/etc/ssh/sshd_config.d', '/srv/jails']);
  });

  const aliceRecord = (): JailRecord => JSON.parse((plan(['sftp']).steps.at(-1)!.actions.at(-1)!.effect as { content: string }).content) as JailRecord;
  const rmdirs = (p: Plan) => p.steps.flatMap((s) => s.actions.flatMap((a) => (a.effect.kind === 'rmdir' ? [a.effect] : [])));

  it('leaves a parent it made to the jail that still lives in it, and removes it with the last one', () => {
    const rec = aliceRecord();
    expect(rec.actions.some((a) => a.effect.kind === 'mkdir' && a.effect.path === '/srv/jails')).toBe(true);
    // bob's apply came second: /srv/jails and the keys dir were there already.
    const made = (a: JailRecord['actions'][number]) => !(a.effect.kind === 'mkdir' && ['/srv/jails', '/etc/ssh/authorized_keys'].includes(a.effect.path));
    const bob = JSON.parse(JSON.stringify({ ...rec, actions: rec.actions.filter(made) }).replaceAll('alice', 'bob')) as JailRecord;
    const p = planRemove(rec, removeFacts(rec, { dirEntries: { '/srv/jails': ['alice', 'bob'], '/etc/ssh/authorized_keys': ['alice', 'bob'] }, others: [{ record: bob, sha256: 'bb' }], otherJails: 1 }), { keepUser: false, keepHome: false, now: NOW });
    expect(rmdirs(p).map((e) => e.path)).not.toContain('/srv/jails');
    expect(rmdirs(p).map((e) => e.path)).toContain('/srv/jails/alice');
    const taken = JSON.parse((actionsOf(p, 'handover')[0]!.effect as { content: string }).content) as JailRecord;
    expect(taken.user).toBe('bob');
    expect(taken.actions.map((a) => a.effect)).toContainEqual({ kind: 'mkdir', path: '/srv/jails', mode: 0o755, uid: 0, gid: 0 });
    // bob is the last one: its remove takes /srv/jails, and tolerates what got in since the preview.
    const last = planRemove(taken, removeFacts(taken, { jailHome: '/srv/jails/bob/home/bob', dirEntries: { '/srv/jails': ['bob'] } }), { keepUser: false, keepHome: false, now: NOW });
    expect(rmdirs(last)).toContainEqual({ kind: 'rmdir', path: '/srv/jails', ifEmpty: true });
    expect(planToShellScript(last)).toContain('rmdir --ignore-fail-on-non-empty /srv/jails\n');
  });

  it('keeps a parent it made that holds something nobody told it about, and says so', () => {
    const rec = aliceRecord();
    const p = planRemove(rec, removeFacts(rec, { dirEntries: { '/srv/jails': ['alice', 'README', 'carol'] } }), { keepUser: false, keepHome: false, now: NOW });
    expect(rmdirs(p).map((e) => e.path)).not.toContain('/srv/jails');
    expect(p.notes).toContain('/srv/jails stays: it holds README, carol, which jailwizard did not put there.');
    expect(p.steps.some((s) => s.id === 'handover')).toBe(false);
  });

  it('forgets the last check report with the record', () => {
    const rec = aliceRecord();
    const p = planRemove(rec, removeFacts(rec, { checkFile: '/var/lib/jailwizard/checks/alice.json' }), { keepUser: false, keepHome: false, now: NOW });
    expect(actionsOf(p, 'record').map((a) => a.effect)).toEqual([
      { kind: 'unlink', path: '/var/lib/jailwizard/jails/alice.json' },
      { kind: 'unlink', path: '/var/lib/jailwizard/checks/alice.json' },
    ]);
  });

  it('removes files before the dirs they are in, whatever order a shared record lists them in', () => {
    const rec = aliceRecord();
    const lib = '/srv/jails/alice/usr/lib/x86_64-linux-gnu';
    // What an rsync user handed over when it left: its libraries, listed first, live in alice's dirs.
    const inherited = ['libpopt.so.0', 'liblz4.so.1'].map((n) => ({
      effect: { kind: 'copy', from: `/usr/lib/x86_64-linux-gnu/${n}`, path: `${lib}/${n}`, mode: 0o644, uid: 0, gid: 0, size: 1, sha256: 'x' },
      undo: [{ kind: 'restore', path: `${lib}/${n}` }],
      pre: { kind: 'absent', path: `${lib}/${n}` },
    })) as JailRecord['actions'];
    const merged = { ...rec, actions: [...inherited, ...rec.actions] };
    const p = planRemove(merged, removeFacts(merged), { keepUser: false, keepHome: false, now: NOW });
    const order = actionsOf(p, 'jail').map((a) => (a.effect.kind === 'rmdir' || a.effect.kind === 'unlink' ? a.effect.path : ''));
    expect(order).toContain(`${lib}/libpopt.so.0`);
    order.forEach((path, i) => {
      if (!path) return;
      // Nothing inside this path comes after it.
      expect(order.slice(i + 1).filter((q) => q.startsWith(`${path}/`)), `after ${path}`).toEqual([]);
    });
  });
});

describe('options: startDir', () => {
  it('makes a start dir nothing else makes, root-owned, but never inside a bind mount', () => {
    const mk = (p: Plan) => actionsOf(p, 'base').flatMap((a) => (a.effect.kind === 'mkdir' ? [a.effect.path] : []));
    expect(mk(plan(['sftp'], {}, { startDir: '/pub' }))).toContain('/srv/jails/alice/pub');
    const src = { '/srv/web': { real: '/srv/web', state: dir() } };
    expect(mk(plan(['sftp'], { bindSources: src }, { startDir: '/web/site', binds: [{ source: '/srv/web', target: '/web', readOnly: true }] }))).not.toContain('/srv/jails/alice/web/site');
  });
});

describe('a shared jail keeps its users\' paths apart', () => {
  const src = (...ps: string[]) => Object.fromEntries(ps.map((p) => [p, { real: p, state: dir() }]));
  /** alice applies into the jail bob already shares, with these answers each. */
  const shared = (mine: Partial<Answers>, bobs: Partial<Answers>): Plan => {
    const bob = { user: 'bob', uid: 1003, gid: 1003, jail: '/srv/jails/alice', answers: answers(['sftp'], { user: 'bob', shared: true, ...bobs }), actions: [], manifest: [] } as unknown as JailRecord;
    const account = { name: 'bob', uid: 1003, gid: 1003, gecos: '', home: '/home/bob', shell: '/usr/sbin/nologin' };
    return plan(['sftp'], { sharers: [{ record: bob, account }], bindSources: src('/srv/web', '/srv/other') }, { shared: true, ...mine });
  };
  const web = (target: string, source = '/srv/web') => [{ source, target, readOnly: false }];

  const refused: [string, Partial<Answers>, Partial<Answers>, string][] = [
    ['a bind target inside another user\'s writable dir', { binds: web('/data/web') }, { writable: '/data' }, "bind target /data/web of alice lies inside bob's writable /data, in the shared jail /srv/jails/alice"],
    ['a writable dir that holds another user\'s bind target', { writable: '/data' }, { binds: web('/data/web') }, 'writable /data overlaps a bind mount'],
    ['the same group dir for another group', { group: 'uploads', groupDir: '/shared' }, { group: 'admin', groupDir: '/shared' }, "groupDir /shared of alice is bob's groupDir too"],
    ['a start dir inside another user\'s writable dir', { startDir: '/data/in' }, { writable: '/data' }, "startDir /data/in of alice lies inside bob's writable /data"],
    ['a writable dir that is another user\'s home', { writable: '/home/bob' }, {}, "writable /home/bob of alice is bob's home too"],
    ['a start dir that is another user\'s group dir', { startDir: '/shared' }, { group: 'uploads', groupDir: '/shared' }, "startDir /shared of alice is bob's groupDir too"],
    ['the same bind target for another source', { binds: web('/web') }, { binds: web('/web', '/srv/other') }, "bind target /web of alice is bob's bind target too"],
  ];
  for (const [name, mine, bobs, says] of refused) {
    it(`refuses ${name}, before any change`, () => {
      expect(refusal(() => shared(mine, bobs))).toContain(says);
    });
  }

  const accepted: [string, Partial<Answers>, Partial<Answers>][] = [
    ['the same group dir for the same group', { group: 'uploads', groupDir: '/shared' }, { group: 'uploads', groupDir: '/shared' }],
    ['the same bind', { binds: web('/web') }, { binds: web('/web') }],
    ['a start dir above another user\'s writable dir', { startDir: '/data' }, { writable: '/data/up' }],
    ['a start dir inside another user\'s bind', { startDir: '/web/site' }, { binds: web('/web') }],
    ['a start dir in a group dir both share', { startDir: '/shared', group: 'uploads', groupDir: '/shared' }, { group: 'uploads', groupDir: '/shared' }],
    ['writable dirs side by side', { writable: '/data/alice' }, { writable: '/data/bob' }],
  ];
  for (const [name, mine, bobs] of accepted) {
    it(`accepts ${name}`, () => {
      expect(shared(mine, bobs).steps.length).toBeGreaterThan(0);
    });
  }
});

describe('adopting an existing user: its home and its groups (#11 item 8)', () => {
  const withAlice = (home: string, groups: { name: string; gid: number; members: string[] }[] = []): HostFacts => {
    const f = facts(['sftp']);
    return { ...f, passwd: [...f.passwd, { name: 'alice', uid: 1005, gid: 1005, gecos: '', home, shell: '/bin/bash' }], groups: [...f.groups, ...groups] };
  };
  const refusal = (f: HostFacts, a: Partial<Answers> = {}): UserError => {
    try {
      planApply(answers(['sftp'], a), f, { now: NOW, sha256 });
    } catch (e) {
      if (e instanceof UserError) return e;
      throw e;
    }
    throw new Error('not refused');
  };

  it('refuses a passwd home inside the jail\'s own system dirs, or one that is not a plain path', () => {
    for (const home of ['/lib/x86_64-linux-gnu', '/usr/local/alice', '/etc', '/dev/shm/alice', '/bin']) {
      const e = refusal(withAlice(home));
      expect(e.message).toContain(`alice's home ${home}`);
      expect(e.hint).toContain('usermod --home /home/alice alice');
    }
    expect(refusal(withAlice('/')).message).toContain('is /, which inside the jail is the jail root');
    expect(refusal(withAlice('/home/../etc')).message).toContain('"/home/../etc" in /etc/passwd is not a plain absolute path');
    expect(refusal(withAlice('relative')).message).toContain('not a plain absolute path');
    // A home of its own anywhere else is fine.
    expect(() => planApply(answers(['sftp']), withAlice('/srv/www/alice'), { now: NOW, sha256 })).not.toThrow();
  });

  it('refuses a member of privileged groups (primary or supplementary) unless each is allowed, then warns in the preview', () => {
    const groups = [
      { name: 'adm', gid: 4, members: ['alice'] },
      { name: 'disk', gid: 6, members: ['bob', 'alice'] },
      { name: 'sudo', gid: 27, members: ['alice'] },
      { name: 'shadow', gid: 42, members: [] },
      { name: 'cdrom', gid: 24, members: ['alice'] },
    ];
    const e = refusal(withAlice('/home/alice', groups));
    expect(e.message).toBe('alice is in adm (reads every system log), disk (reads and writes every disk directly, so every file), sudo (may run any command as root with sudo)');
    expect(e.hint).toContain('gpasswd --delete alice adm');
    expect(e.hint).toContain('allowPrivilegedGroups: [adm, disk, sudo]');
    expect(refusal(withAlice('/home/alice', groups), { allowPrivilegedGroups: ['adm', 'sudo'] }).message).toBe('alice is in disk (reads and writes every disk directly, so every file)');
    // A primary group with gid 0 counts too.
    const f = withAlice('/home/alice');
    expect(refusal({ ...f, passwd: f.passwd.map((p) => (p.name === 'alice' ? { ...p, gid: 0 } : p)) }).message).toContain('alice is in root');
    const p = planApply(answers(['sftp'], { allowPrivilegedGroups: ['adm', 'disk', 'sudo'] }), withAlice('/home/alice', groups), { now: NOW, sha256 });
    expect(formatPlan(p)).toContain('WARNING: alice stays in adm (reads every system log), disk (reads and writes every disk directly, so every file), sudo (may run any command as root with sudo), as allowPrivilegedGroups says.');
  });

  it('refuses a writable dir that holds the home (its parents stay root\'s)', () => {
    const e = refusal(withAlice('/srv/www/alice'), { writable: '/srv/www' });
    expect(e.message).toBe('writable /srv/www contains alice\'s home /srv/www/alice, whose parents stay root\'s');
    expect(refusal(facts(['sftp']), { writable: '/home' }).message).toContain('contains alice\'s home /home/alice');
  });
});

describe('what the preview says (#11 items 9, 10)', () => {
  it('a four-tool plan does not say rsync gets dash: bash is the login shell', () => {
    const p = plan(['bash', 'rsync', 'scp', 'sftp']);
    const rsync = p.steps.find((s) => s.id === 'copy-rsync')!;
    expect(rsync.why.join(' ')).not.toMatch(/dash|Without bash/);
    expect(rsync.why.join(' ')).toContain('bash is the login shell');
    // Without bash, dash is the login shell, and the plan says so.
    const alone = plan(['rsync']);
    expect(alone.steps.find((s) => s.id === 'copy-shell')!.why.join(' ')).toContain('dash');
  });

  it('no step says "seed": the admin never saw the seeds', () => {
    for (const p of [plan(['bash', 'rsync', 'scp', 'sftp']), plan(['sftp']), aptHookPlan('DPkg::Post-Invoke { "true"; };\n', undefined)]) {
      expect(formatPlan(p)).not.toMatch(/seed/i);
    }
  });

  it('creates the user without subordinate ids, so /etc/subuid and /etc/subgid are never touched', () => {
    const useradd = plan(['sftp']).steps[0]!.actions[0]!.effect;
    expect(useradd.kind === 'run' && useradd.argv.join(' ')).toContain('-K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0');
  });
});

// ---------------------------------------------------------------- #14: a major upgrade, socket activation

describe('update after a major upgrade (Debian 12 → 13)', () => {
  const tools: Tool[] = ['bash', 'rsync', 'scp', 'sftp'];
  const LOADER = '/usr/lib64/ld-linux-x86-64.so.2';
  const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
  /** Debian 13's layout: the loader link is relative, and (made up here) libc.so.6 a link to its versioned file. */
  const trixie = (): ClosureFacts[] =>
    closures(tools).map((c) => ({
      ...c,
      entries: c.entries.flatMap((e) =>
        e.path === LOADER ? [{ ...e, target: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' }]
        : e.path === LIBC ? [{ ...file('/usr/lib/x86_64-linux-gnu/libc-2.41.so', 2_000_000) }, { path: LIBC, kind: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, size: 12, target: 'libc-2.41.so' }]
        : [e],
      ),
    }));
  const applied = (): { f: HostFacts; rec: JailRecord } => {
    const first = plan(tools);
    const rec = JSON.parse((first.steps.at(-1)!.actions.at(-1)!.effect as { content: string }).content) as JailRecord;
    return { f: afterApply(first, facts(tools)), rec };
  };

  it('replaces the links and files the host moved, each with the old one as its undo, and records the new ones', () => {
    const { f, rec } = applied();
    const p = planApply(answers(tools), { ...f, closures: trixie(), record: rec }, { now: NOW, sha256 });
    const actions = p.steps.flatMap((s) => s.actions);
    const at = (path: string) => actions.filter((a) => 'path' in a.effect && a.effect.path === `/srv/jails/alice${path}`).map((a) => ({ effect: a.effect, undo: a.undo }));
    expect(at(LOADER)).toEqual([
      { effect: { kind: 'unlink', path: `/srv/jails/alice${LOADER}` }, undo: [{ kind: 'restore', path: `/srv/jails/alice${LOADER}` }] },
      { effect: { kind: 'symlink', path: `/srv/jails/alice${LOADER}`, target: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' }, undo: [{ kind: 'unlink', path: `/srv/jails/alice${LOADER}` }] },
    ]);
    expect(at(LIBC).map((x) => x.effect.kind)).toEqual(['unlink', 'symlink']);
    expect(at('/usr/lib/x86_64-linux-gnu/libc-2.41.so').map((x) => x.effect.kind)).toEqual(['copy']);
    // Previewed like every other change.
    expect(formatPlan(p)).toContain(`rm -f /srv/jails/alice${LOADER}`);
    expect(formatPlan(p)).toContain(`ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 /srv/jails/alice${LOADER}`);
    expect(summarizeUpdate(p)).toBe('2 changed, 1 added, 0 removed');
  });

  it('still refuses a link in the way that jailwizard did not make', () => {
    const { f } = applied();
    expect(refusal(() => planApply(answers(tools), { ...f, closures: trixie(), record: undefined }, { now: NOW, sha256 }))).toMatch(/ld-linux-x86-64\.so\.2 exists and is not the symlink/);
  });
});

describe('sshd modes in the planner', () => {
  const socketMode = (killMode = 'process'): HostFacts['sshd']['mode'] => ({ kind: 'socket', unit: 'ssh.service', socket: 'ssh.socket', pid: 4242, killMode, listen: [{ host: '127.0.0.1', port: 22 }, { host: '::1', port: 22 }] });

  it('socket activation: stops ssh.service (the socket starts it with the new config) instead of a SIGHUP that kills it', () => {
    const mode = socketMode();
    const f = facts(['sftp']);
    const p = plan(['sftp'], { sshd: { ...f.sshd, mode, reload: reloadFor(mode) } });
    const reload = actionsOf(p, 'sshd').find((a) => a.effect.kind === 'sshd-reload')!;
    expect(reload.effect).toEqual({ kind: 'sshd-reload', argv: ['systemctl', 'stop', 'ssh.service'], pidFile: '/run/sshd.pid', listen: [{ host: '127.0.0.1', port: 22 }], socket: 'ssh.socket', socketListen: mode.kind === 'socket' ? mode.listen : [] });
    expect(reload.undo).toEqual([reload.effect]);
    expect(formatPlan(p)).toContain('    systemctl stop ssh.service');
    expect(p.notes.join('\n')).toMatch(/socket-activated by ssh\.socket.*KillMode=process/);
  });

  it('socket activation with KillMode other than process: refuses, since stopping would end every session', () => {
    const mode = socketMode('control-group');
    const f = facts(['sftp']);
    expect(refusal(() => plan(['sftp'], { sshd: { ...f.sshd, mode, reload: reloadFor(mode) } }))).toMatch(/KillMode=control-group.*would end every open SSH session/);
  });

  it('Accept=yes (a new sshd -i per connection): nothing to reload, and says so', () => {
    const mode = { kind: 'per-connection' as const, socket: 'ssh.socket' };
    const f = facts(['sftp']);
    const p = plan(['sftp'], { sshd: { ...f.sshd, mode, reload: reloadFor(mode) } });
    expect(actionsOf(p, 'sshd').some((a) => a.effect.kind === 'sshd-reload')).toBe(false);
    expect(p.notes.join('\n')).toMatch(/Accept=yes/);
  });

  it('remove under socket activation stops ssh.service the same way', () => {
    const applied = plan(['sftp']);
    const rec = JSON.parse((applied.steps.at(-1)!.actions.at(-1)!.effect as { content: string }).content) as JailRecord;
    const mode = socketMode();
    const p = planRemove(rec, removeFacts(rec, { reload: reloadFor(mode) }), { keepUser: false, keepHome: false, now: NOW });
    expect(actionsOf(p, 'sshd').find((a) => a.effect.kind === 'sshd-reload')?.effect).toMatchObject({ argv: ['systemctl', 'stop', 'ssh.service'], socket: 'ssh.socket' });
  });
});

describe('action roles: apply records them, remove reads them, older records get them when read', () => {
  const recordOf = (p: Plan): JailRecord => JSON.parse((actionsOf(p, 'record')[0]!.effect as { content: string }).content) as JailRecord;
  /** A record as a jailwizard before roles wrote it. */
  const withoutRoles = (rec: JailRecord): JailRecord => ({ ...rec, actions: rec.actions.map(({ role: _role, ...a }) => a) });
  /** A plan without any role, in its actions or in the records it writes. */
  const roleless = (p: Plan): unknown =>
    JSON.parse(JSON.stringify(p, (k, v: unknown) => (k === 'role' ? undefined : k === 'content' && typeof v === 'string' && v.startsWith('{') ? JSON.stringify(JSON.parse(v), (k2, v2: unknown) => (k2 === 'role' ? undefined : v2)) : v)));
  const alice = { name: 'alice', uid: 1005, gid: 1005, gecos: '', home: '/home/alice', shell: '/bin/bash' };
  const sharedWith = (rec: JailRecord) => {
    const bob = { ...rec, user: 'bob', actions: [], manifest: [] } as JailRecord;
    return { sharers: [{ record: bob, sha256: 'cc' }], others: [{ record: bob, sha256: 'cc' }] };
  };
  const scenarios: [string, () => Plan, (rec: JailRecord) => Partial<RemoveFacts>, { keepUser?: boolean; keepHome?: boolean }?][] = [
    ['sftp only', () => plan(['sftp']), () => ({ homeHasFiles: true, reload: { argv: ['systemctl', 'reload', 'ssh.service'] } })],
    ['four tools', () => plan(['bash', 'rsync', 'scp', 'sftp']), () => ({})],
    ['bind mount and rsyslog', () => plan(['sftp'], { bindSources: { '/srv/web': { real: '/srv/web', state: dir() } }, syslog: rsyslog }, { binds: [{ source: '/srv/web', target: '/web', readOnly: true }], log: true }), () => ({})],
    ['bind mount and rsyslog, shared', () => plan(['sftp'], { bindSources: { '/srv/web': { real: '/srv/web', state: dir() } }, syslog: rsyslog }, { binds: [{ source: '/srv/web', target: '/web', readOnly: true }], log: true }), sharedWith],
    ['systemd units, shared /tmp', () => plan(['rsync'], { systemd: true }, { shared: true, extras: ['tmp'] }), sharedWith],
    ['fstab noexec home, kept user and home', () => plan(['rsync'], {}, { extras: ['tmp'] }), () => ({ homeHasFiles: true }), { keepUser: true, keepHome: true }],
    ['adopted locked user in a group', () => plan(['sftp'], { passwd: [...facts(['sftp']).passwd, alice], shadow: { field: '!', lastChange: '19000' } }, { group: 'uploads', createUser: false }), () => ({})],
    ['keys dir and jail dir with other modes', () => plan(['sftp'], { keysDir: dir(0o775), jail: { '/srv/jails/alice': { ...dir(0o775), uid: 7 } } }), () => ({})],
  ];

  it('gives every action apply plans a role', () => {
    for (const [name, make] of scenarios) {
      const actions = make().steps.flatMap((s) => s.actions);
      expect(actions.filter((a) => a.role === undefined), name).toEqual([]);
      expect(recordOf(make()).actions.filter((a) => a.role === undefined), name).toEqual([]);
    }
    const roles = (p: Plan, id: string) => [...new Set(actionsOf(p, id).map((a) => a.role))];
    const p = plan(['bash', 'rsync', 'scp', 'sftp']);
    expect(roles(p, 'user')).toEqual(['account']);
    expect(roles(p, 'keys')).toEqual(['keys']);
    expect(roles(p, 'base')).toEqual(['jail']);
    expect(roles(p, 'copy-bash')).toEqual(['copy']);
    expect(roles(p, 'sshd')).toEqual(['sshd']);
    expect(roles(p, 'record')).toEqual(['record']);
  });

  it('removes a record written without roles exactly as one written with them', () => {
    for (const [name, make, over, o] of scenarios) {
      const rec = recordOf(make());
      const old = withoutRoles(rec);
      expect(old.actions.every((a) => a.role === undefined)).toBe(true);
      const opts = { keepUser: o?.keepUser ?? false, keepHome: o?.keepHome ?? false, now: NOW };
      const now = planRemove(rec, removeFacts(rec, over(rec)), opts);
      expect(now.steps.length, name).toBeGreaterThan(1);
      expect(roleless(planRemove(old, removeFacts(old, over(old)), opts)), name).toEqual(roleless(now));
      // And once read, an old record has a role on every action.
      expect(withRoles(old).actions.every((a) => a.role !== undefined), name).toBe(true);
    }
  });

  it('works out the role of an old action from its effect, once, when the record is read', () => {
    const rec = { jail: '/srv/j', dropIn: '/etc/ssh/sshd_config.d/jailwizard-a.conf', sshdConfig: '/etc/ssh/sshd_config' };
    const run = (argv: string[], undo: string[][] = []): Action => ({ effect: { kind: 'run', argv }, undo: undo.map((u) => ({ kind: 'run', argv: u })), pre: { kind: 'none' } });
    const write = (p: string, undo: Action['undo'] = [{ kind: 'restore', path: p }]): Action => ({ effect: { kind: 'write', path: p, content: '', mode: 0o644, uid: 0, gid: 0 }, undo, pre: { kind: 'none' } });
    const cases: [Action, string][] = [
      [run(['useradd', '--uid', '1002', 'a'], [['userdel', 'a']]), 'account'],
      [run(['usermod', '--shell', '/bin/sh', 'a'], [['usermod', '--shell', '/bin/bash', 'a']]), 'user'],
      [run(['usermod', '--append', '--groups', 'g', 'a'], [['gpasswd', '--delete', 'a', 'g']]), 'user'],
      [run(['chmod', '0755', '/srv/j'], [['chmod', '0775', '/srv/j']]), 'jail'],
      [run(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', 'rsync'], [['apt-get', 'remove', '-y', 'rsync']]), 'package'],
      [run(['systemctl', 'enable', 'srv-j-web.mount'], [['systemctl', 'disable', 'srv-j-web.mount']]), 'mount'],
      [run(['systemctl', 'daemon-reload']), 'mount'],
      [run(['rsyslogd', '-N1']), 'logging'],
      [write('/etc/ssh/sshd_config.d/jailwizard-a.conf'), 'sshd'],
      [write('/etc/ssh/sshd_config'), 'sshd'],
      [{ effect: { kind: 'mkdir', path: '/etc/ssh/sshd_config.d', mode: 0o755, uid: 0, gid: 0 }, undo: [], pre: { kind: 'none' } }, 'sshd'],
      [write('/etc/ssh/authorized_keys/a'), 'keys'],
      [write('/etc/rsyslog.d/jailwizard-srv-j.conf', [{ kind: 'restore', path: '/etc/rsyslog.d/jailwizard-srv-j.conf' }, { kind: 'unlink', path: '/srv/j/dev/log' }]), 'logging'],
      [write('/etc/systemd/system/srv-j-web.mount'), 'mount'],
      [{ effect: { kind: 'line-add', path: '/etc/fstab', line: '/srv/web /srv/j/web none bind 0 0' }, undo: [], pre: { kind: 'none' } }, 'mount'],
      [{ effect: { kind: 'mount', source: '/srv/web', target: '/srv/j/web', options: [] }, undo: [], pre: { kind: 'none' } }, 'mount'],
      [{ effect: { kind: 'symlink', path: '/srv/j/bin', target: 'usr/bin' }, undo: [], pre: { kind: 'none' } }, 'copy'],
      [{ effect: { kind: 'mknod', path: '/srv/j/dev/null', major: 1, minor: 3, mode: 0o666 }, undo: [], pre: { kind: 'none' } }, 'jail'],
      [{ effect: { kind: 'sshd-validate', config: '/etc/ssh/sshd_config' }, undo: [], pre: { kind: 'none' } }, 'sshd'],
    ];
    for (const [a, role] of cases) expect(derivedRole(a, rec), JSON.stringify(a.effect)).toBe(role);
    const read = withRoles({ ...rec, actions: cases.map(([a]) => a) });
    expect(read.actions.map((a) => a.role)).toEqual(cases.map(([, r]) => r));
    // A record that has roles keeps them as they are.
    const tagged = { ...rec, actions: [{ ...cases[0]![0], role: 'user' as const }] };
    expect(withRoles(tagged)).toBe(tagged);
  });
});
