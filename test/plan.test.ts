// The planner is pure: fixed answers and host facts in, a fixed plan out (snapshot-tested).
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { planApply, toolBinaries, matchSettings, loginShell } from '../src/plan.ts';
import { deniedSample, internalSftpCommand, addressAllowed as isAllowed, keyLine, systemdUnitForPath, fstabLine, jailWide } from '../src/plan-options.ts';
import { rsyslogAuthLog, rsyslogIncludeDir, syslogNgAuthLog } from '../src/syslog.ts';
import { parseAnswers } from '../src/answers.ts';
import { planRemove, type RemoveFacts } from '../src/plan-remove.ts';
import { planToShellScript, formatPlan, type Plan } from '../src/effects.ts';
import type { HostFacts, FileState, ClosureFacts } from '../src/host-facts.ts';
import { parseEffective } from '../src/sshd-config.ts';
import { UserError } from '../src/errors.ts';
import type { Answers, Tool } from '../src/types.ts';
import type { JailRecord } from '../src/state.ts';
import { reloadFor } from '../src/sshd-service.ts';
import { summarizeUpdate } from '../src/commands/update.ts';

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

/** Remove facts for a record whose paths all exist, with overrides. */
const removeFacts = (rec: JailRecord, over: Partial<RemoveFacts> = {}): RemoveFacts => ({
  stateDir: '/var/lib/jailwizard',
  existing: new Set(rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : a.effect.kind === 'mount' ? [a.effect.target] : []))),
  homeHasFiles: false,
  jailHome: '/srv/jails/alice/home/alice',
  keysDirEntries: ['alice'],
  otherDropIns: [],
  mainText: 'x',
  mainSha256: sha256('x'),
  userExists: true,
  otherJails: 0,
  pidFile: '/run/sshd.pid',
  listen: [{ host: '127.0.0.1', port: 22 }],
  ownedDirs: [],
  sharedDirs: [],
  sharers: [],
  ...over,
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
    expect(() => keyLine(`from="1.2.3.4" ${KEY}`, ['127.0.0.1'], 2)).toThrow(/key 3 already has a from=/);
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
    const p = planRemove(rec, removeFacts(rec, { sharers: [{ record: bob, sha256: 'cc' }], heir: { record: bob, sha256: 'cc' }, jailNames: names }), { keepUser: false, keepHome: false, now: NOW });
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
    const other = { ...rec, user: 'bob', actions: [], manifest: [], addedInclude: undefined } as JailRecord;
    const f: RemoveFacts = {
      stateDir: '/var/lib/jailwizard',
      existing: new Set(rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : []))),
      homeHasFiles: false,
      jailHome: '/srv/jails/alice/home/alice',
      keysDirEntries: ['alice', 'bob'],
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
      heir: { record: other, sha256: 'dd' },
    };
    const p = planRemove(rec, f, { keepUser: false, keepHome: false, now: NOW });
    const all = p.steps.flatMap((s) => s.actions.map((a) => a.effect));
    expect(all.some((e) => e.kind === 'rmdir' && (e.path === '/etc/ssh/authorized_keys' || e.path === '/etc/ssh/sshd_config.d'))).toBe(false);
    expect(all.some((e) => e.kind === 'write' && e.path === '/etc/ssh/sshd_config')).toBe(false);
    const heir = JSON.parse((actionsOf(p, 'handover')[0]!.effect as { content: string }).content) as JailRecord;
    expect(heir.addedInclude).toBe(rec.addedInclude);
    expect(heir.actions.map((a) => a.effect.kind === 'mkdir' && a.effect.path).filter(Boolean).sort()).toEqual(['/etc/ssh/authorized_keys', '/etc/ssh/sshd_config.d']);
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
