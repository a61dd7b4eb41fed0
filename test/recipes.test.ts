// A tool is one recipe file plus its registration: a throw-away recipe registered here
// shows up in the wizard's tool list, the answers, the plan, the probe table, the connect
// hints and doctor's guess, with no other file changed. Pure apart from reading this host
// (gatherFacts, a temp dir for doctor): nothing on the host changes.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECIPES, TOOLS, registerRecipe, shell, unregisterRecipe, type Recipe } from '../recipes/index.ts';
import { parseAnswers } from '../src/host/answers-file.ts';
import { connectCommands } from '../src/plan/connect-commands.ts';
import { inferTools, type DoctorFacts } from '../src/workflows/doctor.ts';
import { gatherFacts } from '../src/host/facts.ts';
import { matchSettings, planApply, toolBinaries } from '../src/plan/index.ts';
import { parseEffective } from '../src/host/sshd-config.ts';
import type { Answers } from '../src/model/types.ts';
import { probeTable, type ProbeTarget } from '../src/workflows/verify.ts';
import { RUN_ID } from './helpers/names.ts';

/** The worked example of README's "Adding a tool", as a test registers it. */
const jwfake: Recipe = {
  name: 'jwfake',
  summary: 'a throw-away tool that exists only in this test',
  why: ['jwfake is registered by a test, to prove that a recipe file is all a tool needs.'],
  binaries: ['/usr/bin/env'],
  needsShell: true,
  match: { X11Forwarding: 'no' },
  packages: { 'apt-get': 'coreutils' },
  probes: [
    { name: 'jwfake: upload/download round trip', order: 140, client: 'rsync', args: ['--checksum'], expect: 'round-trip' },
    { name: 'jwfake: runs in the jail', order: 141, client: 'ssh', path: '/usr/bin/env', args: ['true'], expect: 'runs' },
    { name: 'escape: cannot write {path} (jwfake)', order: 400, client: 'rsync', expect: 'write-refused' },
  ],
  connect: [{ order: 50, template: "jwfake{ --port %port} %dest" }],
  detect: { inJail: '/usr/bin/env' },
};

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const target = (tools: string[], over: Partial<ProbeTarget> = {}): ProbeTarget => ({
  user: 'alice', tools, jail: '/srv/j/alice', host: '127.0.0.1', port: 2222, identityFile: '/dev/null', ...over,
});
const names = (t: ProbeTarget): (string | undefined)[] => probeTable(t, 'jwprobe-x').map((p) => p.name ?? p.row?.option);

describe('a recipe is everything about a tool', () => {
  let scratch = '';
  beforeAll(() => {
    registerRecipe(jwfake);
    scratch = mkdtempSync(join(tmpdir(), 'jw-recipes-'));
  });
  afterAll(() => {
    unregisterRecipe('jwfake');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('registration makes the tool known: the tool list, and answers that name it', () => {
    expect(TOOLS).toEqual(['bash', 'rsync', 'scp', 'sftp', 'jwfake']);
    expect(RECIPES.jwfake).toBe(jwfake);
    const a = parseAnswers('user: alice\ntools: [bash, jwfake]\njail: /srv/j/alice\n', 'test.yaml');
    expect(a.tools).toEqual(['bash', 'jwfake']);
    // The shell is a recipe of its own, not a tool anyone picks.
    expect(() => registerRecipe({ ...jwfake, name: 'shell' })).toThrow(/reserved/);
    expect(TOOLS).not.toContain('shell');
  });

  it('the planner copies its binaries with its reasons and puts its Match lines in the drop-in', async () => {
    expect(toolBinaries(['jwfake'], undefined).map((g) => [g.name, g.binaries])).toEqual([
      ['shell', shell.binaries],
      ['jwfake', ['/usr/bin/env']],
    ]);
    expect(matchSettings({ tools: ['jwfake'], jail: '/srv/j/alice' })).toMatchObject({ X11Forwarding: 'no', PermitTTY: 'no' });
    const a: Answers = {
      user: `jwt${RUN_ID}fake`, tools: ['bash', 'jwfake'], jail: `/srv/jwtest-${RUN_ID}-recipes/jail`, arch: 'auto',
      authorizedKeys: [], createUser: true, installMissing: false,
    };
    const facts = await gatherFacts(a, { sshdConfig: '/etc/ssh/sshd_config', stateDir: join(scratch, 'state') });
    const plan = planApply(a, facts, { now: '2026-11-30T00:00:00.000Z', sha256 });
    const copy = plan.steps.find((s) => s.id === 'copy-jwfake');
    expect(copy?.title).toMatch(/^Copy env and what they need/);
    expect(copy?.why).toEqual(jwfake.why);
    expect(JSON.stringify(plan.steps)).toContain('X11Forwarding no');
  });

  it("its probes join the table in their order, a write attempt per forbidden path", () => {
    const got = names(target(['bash', 'jwfake']));
    expect(got.slice(0, 3)).toEqual(['ssh: shell sees the jail as /', 'jwfake: upload/download round trip', 'jwfake: runs in the jail']);
    expect(got.filter((n) => n?.startsWith('escape: cannot write'))).toEqual([
      'escape: cannot write the jail root (ssh)',
      'escape: cannot write the jail root (jwfake)',
      'escape: cannot write /etc/ (ssh)',
      'escape: cannot write /etc/ (jwfake)',
      'escape: cannot write /bin/ (ssh)',
      'escape: cannot write /bin/ (jwfake)',
      'escape: cannot write /etc/ssh/authorized_keys/alice (ssh)',
      'escape: cannot write /etc/ssh/authorized_keys/alice (jwfake)',
    ]);
    const spec = probeTable(target(['jwfake']), 'jwprobe-x').find((p) => p.name === 'escape: cannot write /etc/ (jwfake)');
    expect(spec?.path).toBe('/etc/jwprobe-x');
    expect(spec?.spec?.client).toBe('rsync');
  });

  it('its connect hint is filled in with the port and an IPv6 host in brackets', () => {
    expect(connectCommands('alice', ['bash', 'jwfake'], { host: '2001:db8::1', port: 2222 })).toEqual([
      'ssh -p 2222 alice@2001:db8::1',
      'jwfake --port 2222 alice@[2001:db8::1]',
    ]);
    expect(connectCommands('alice', ['jwfake'], { host: 'h.example', port: 22 })).toEqual(['jwfake alice@h.example']);
  });

  it('doctor recognises it in a jail it did not make', () => {
    const chroot = join(scratch, 'jail');
    mkdirSync(join(chroot, 'usr/bin'), { recursive: true });
    writeFileSync(join(chroot, 'usr/bin/env'), '');
    const f = doctorFacts(chroot, '/bin/sh');
    expect(inferTools(f)).toEqual(['jwfake']);
    writeFileSync(join(chroot, 'usr/bin/rsync'), '');
    expect(inferTools(doctorFacts(chroot, '/bin/bash'))).toEqual(['bash', 'rsync', 'jwfake']);
  });
});

describe('the built-in tools as recipes say them', () => {
  it('the probe table for [sftp] is what the connection test printed before the table', () => {
    expect(names(target(['sftp']))).toEqual([
      'sftp: put/get round trip',
      'escape: /etc/shadow unreadable (sftp)',
      'escape: cd /.. stays in the jail (sftp)',
      'escape: no shell for an sftp-only user',
      'every jail (DisableForwarding)',
      'escape: cannot write the jail root (sftp)',
      'escape: cannot write /etc/ (sftp)',
      'escape: cannot write /bin/ (sftp)',
      'escape: cannot write /etc/ssh/authorized_keys/alice (sftp)',
    ]);
  });

  it('all four tools, with options: tools first, then options, escapes, writes, the source refusal', () => {
    const t = target(['bash', 'rsync', 'scp', 'sftp'], { writable: '/upload', extras: ['tmp', 'locale'], allowFrom: ['127.0.0.1'], gated: false, noexecDirs: ['/upload'] });
    expect(names(t)).toEqual([
      'ssh: shell sees the jail as /',
      'sftp: put/get round trip',
      'scp: round trip (SFTP protocol)',
      'scp -O: round trip (legacy protocol)',
      'rsync: upload/download round trip',
      'writable',
      'extras: locale',
      'extras: tmp',
      'escape: /etc/shadow unreadable (ssh)',
      'escape: /etc/shadow unreadable (sftp)',
      'escape: cd /.. stays in the jail (ssh)',
      'escape: cd /.. stays in the jail (sftp)',
      'noexec',
      'the gate or noexec: uploaded programs',
      'every jail (DisableForwarding)',
      'escape: cannot write the jail root (ssh)',
      'escape: cannot write the jail root (sftp)',
      'escape: cannot write /etc/ (ssh)',
      'escape: cannot write /etc/ (sftp)',
      'escape: cannot write /bin/ (ssh)',
      'escape: cannot write /bin/ (sftp)',
      'escape: cannot write /etc/ssh/authorized_keys/alice (ssh)',
      'escape: cannot write /etc/ssh/authorized_keys/alice (sftp)',
      'allowFrom',
    ]);
    // A read-only sftp jail proves the refusal instead of the round trip.
    expect(names(target(['sftp'], { readOnly: true }))[0]).toBe('readOnly');
  });

  it('the shell is its own recipe: its reasons and packages are not borrowed from rsync and bash', () => {
    expect(shell.packages?.['apt-get']).toBe('dash');
    expect(RECIPES.rsync!.why.slice(1)).toEqual(shell.why);
    expect(RECIPES.rsync!.whyWithBash).toBeDefined();
  });
});

function doctorFacts(chroot: string, loginShell: string): DoctorFacts {
  return {
    user: { name: 'alice', uid: 1001, gid: 1001, gecos: '', home: chroot, shell: loginShell },
    sshdConfig: '/etc/ssh/sshd_config',
    sshdConfigText: '',
    effective: parseEffective(`chrootdirectory ${chroot}\n`),
    chroot,
    chain: [],
    chainStates: {},
    usePam: true,
    shells: [loginShell],
    shellsText: `${loginShell}\n`,
    pamShells: false,
    jailFiles: { shellPresent: true, elfs: [], missingLibs: [], hostFixes: [] },
    // An external sftp-server that is not in the jail: no sftp.
    sftpSubsystem: '/usr/lib/openssh/sftp-server',
    subsystemInJail: false,
    keys: [],
    acl: [],
    pidFile: '/run/sshd.pid',
    listen: [],
    logsSearched: [],
  };
}
