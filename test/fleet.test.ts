// Fleets: apply --json and plan --json for machines, the difference between two answers
// files planned alone, and the Ansible export run for real with Debian's ansible-core
// against the private sshd (ansible-playbook -c local on this host).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { answersFile, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, runOk, type RunResult } from '../src/host/run.ts';
import type { ApplyJson } from '../src/commands/apply.ts';
import type { PlanJson } from '../src/commands/plan.ts';

const skip = rootOrSkipReason();
const PKG = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };

/** stdout must be exactly one JSON object: nothing before it, nothing after it. */
function json<T>(r: RunResult): T {
  expect(r.stdout.trim().startsWith('{'), out(r)).toBe(true);
  try {
    return JSON.parse(r.stdout) as T;
  } catch (e) {
    throw new Error(`stdout is not one JSON object: ${(e as Error).message}\n${out(r)}`);
  }
}

/** The dry-run script embeds the record, which carries the time it was planned. */
const timeless = (script: string): string => script.replace(/"appliedAt": "[^"]*"/g, '"appliedAt": "…"');

/** `install -m MODE -o 0 -g 0 FROM TO`: the host files a plan copies into the jail. */
function copiedFrom(plan: PlanJson): string[] {
  return plan.steps.flatMap((s) => s.commands).flatMap((c) => {
    const m = /^install -m \d+ -o \d+ -g \d+ (\/\S+) (\/\S+)$/.exec(c);
    return m ? [m[1]!] : [];
  });
}

async function newKey(env: TestEnv, name: string): Promise<string> {
  const file = path.join(env.work, name);
  await runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

describe.skipIf(skip)('fleets: apply --json, plan --json, export', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('apply --json changes and proves the first time, changes nothing the second time, and answers bad input in JSON', async () => {
    const user = uniqueUser('json');
    const cfg = answersFile(env, { user, tools: ['sftp'] });
    const before = await snapshot(env);

    const planned = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    expect(planned.changed).toBe(true);
    expect(planned.steps.map((s) => s.id)).toEqual(['user', 'keys', 'jail', 'base', 'sshd', 'record']);
    for (const s of planned.steps) expect(s.commands.length, s.title).toBeGreaterThan(0);

    // --json cannot ask: without --yes it refuses, in JSON, and changes nothing.
    const asked = await jw(env, ['apply', '--config', cfg, '--json']);
    expect(asked.exitCode, out(asked)).toBe(2);
    const refusal = json<ApplyJson>(asked);
    expect(refusal).toMatchObject({ changed: false, steps: [], exit: { code: 2, meaning: 'bad input, nothing changed' } });
    expect(refusal.error?.message).toMatch(/--json cannot ask/);
    expect(refusal.error?.hint).toMatch(/--yes/);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);

    // A failure at step 3 rolls back: exit 1, the steps that ran, changed false.
    const failed = await jw(env, ['apply', '--config', cfg, '--yes', '--json'], { env: { JAILWIZARD_FAIL_AT: '3' } });
    expect(failed.exitCode, out(failed)).toBe(1);
    const rf = json<ApplyJson>(failed);
    expect(rf).toMatchObject({ changed: false, rolledBack: true, manual: [], verification: null, exit: { code: 1, meaning: 'failed and rolled back' } });
    expect(rf.steps.map((s) => [s.id, s.ok])).toEqual([['user', true], ['keys', true], ['jail', false]]);
    expect(rf.error?.message).toMatch(/JAILWIZARD_FAIL_AT/);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);

    const first = await jw(env, ['apply', '--config', cfg, '--yes', '--json']);
    expect(first.exitCode, out(first)).toBe(0);
    const r1 = json<ApplyJson>(first);
    expect(r1).toMatchObject({ command: 'apply', version: PKG.version, user, changed: true, rolledBack: false, manual: [], error: null, exit: { code: 0, meaning: 'ok' } });
    expect(r1.steps.map((s) => s.title)).toEqual(planned.steps.map((s) => s.title));
    expect(r1.steps.every((s) => s.ok)).toBe(true);
    expect(r1.verification?.ok).toBe(true);
    expect(r1.verification!.probes.length).toBeGreaterThan(3);
    expect(r1.verification!.probes.filter((p) => !p.ok)).toEqual([]);
    expect(r1.verification!.probes.map((p) => p.name)).toContain('escape: no shell for an sftp-only user');
    // Progress went to stderr.
    expect(first.stderr).toContain(r1.steps[0]!.title);

    const after = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    expect(after).toMatchObject({ changed: false, steps: [] });

    const second = await jw(env, ['apply', '--config', cfg, '--yes', '--json']);
    expect(second.exitCode, out(second)).toBe(0);
    const r2 = json<ApplyJson>(second);
    expect(r2).toMatchObject({ changed: false, steps: [], exit: { code: 0, meaning: 'ok' }, error: null });
    expect(r2.verification?.ok).toBe(true);
    expect(r2.verification!.probes.map((p) => p.name)).toEqual(r1.verification!.probes.map((p) => p.name));

    // Nothing to change needs no --yes; --no-test then prints the same object without probes.
    const quiet = await jw(env, ['apply', '--config', cfg, '--json', '--no-test']);
    expect(quiet.exitCode, out(quiet)).toBe(0);
    expect(json<ApplyJson>(quiet)).toMatchObject({ changed: false, steps: [], verification: null });

    // Bad input: still one JSON object, exit 2.
    const badCfg = answersFile(env, { user, tools: ['telnet' as never] }, 'bad.json');
    for (const args of [
      ['apply', '--config', badCfg, '--yes', '--json'],
      ['apply', '--config', path.join(env.work, 'missing.yaml'), '--yes', '--json'],
      ['apply', '--yes', '--json'],
      ['apply', '--config', cfg, '--json', '--dry-run'],
    ]) {
      const r = await jw(env, args);
      expect(r.exitCode, out(r)).toBe(2);
      const j = json<ApplyJson>(r);
      expect(j).toMatchObject({ command: 'apply', changed: false, steps: [], exit: { code: 2, meaning: 'bad input, nothing changed' } });
      expect(j.error?.message.length).toBeGreaterThan(0);
      expect(r.stderr).toContain(j.error!.message);
    }
    const badPlan = await jw(env, ['plan', '--config', badCfg, '--json']);
    expect(badPlan.exitCode, out(badPlan)).toBe(2);
    expect(json<{ error: { message: string } }>(badPlan).error.message).toMatch(/telnet/);

    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
  });

  it('export --format sh is the --dry-run script, and valid sh', async () => {
    const user = uniqueUser('sh');
    const cfg = answersFile(env, { user, tools: ['bash', 'sftp'] });
    const dry = await jw(env, ['apply', '--config', cfg, '--dry-run']);
    expect(dry.exitCode, out(dry)).toBe(0);
    const exported = await jw(env, ['export', '--config', cfg, '--format', 'sh']);
    expect(exported.exitCode, out(exported)).toBe(0);
    expect(timeless(exported.stdout)).toBe(timeless(dry.stdout));
    expect((await run(['sh', '-n'], { input: exported.stdout })).exitCode).toBe(0);

    const dir = path.join(env.work, 'sh-export');
    const toDir = await jw(env, ['export', '--config', cfg, '--format', 'sh', '--out', dir]);
    expect(toDir.exitCode, out(toDir)).toBe(0);
    const file = path.join(dir, `jailwizard-${user}.sh`);
    expect(timeless(readFileSync(file, 'utf8'))).toBe(timeless(dry.stdout));
    expect(statSync(file).mode & 0o777).toBe(0o700);
    expect((await run(['sh', '-n', file])).exitCode).toBe(0);

    const noFormat = await jw(env, ['export', '--config', cfg]);
    expect(noFormat.exitCode).toBe(2);
    expect(noFormat.stderr).toMatch(/--format ansible or --format sh/);
  });

  it('plans only the difference: a tool added, a key added, a key removed', async () => {
    const user = uniqueUser('diff');
    const key1 = env.key.publicKey;
    const cfg = answersFile(env, { user, tools: ['sftp'], authorizedKeys: [key1] });
    const first = await jw(env, ['apply', '--config', cfg, '--yes', '--json', '--no-test']);
    expect(first.exitCode, out(first)).toBe(0);
    expect(json<ApplyJson>(first).changed).toBe(true);

    // + rsync: the shell (dash), rsync, the sftp-server (sftp with a shell is no longer
    // internal-sftp), their libraries, the login shell, the gate that runs only rsync and the
    // sftp-server (ForceCommand), the home mounted noexec, and the Match block. Nothing else.
    answersFile(env, { user, tools: ['sftp', 'rsync'], authorizedKeys: [key1] });
    const plus = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    const ids = plus.steps.map((s) => s.id);
    expect(ids).toContain('copy-rsync');
    expect(ids).toContain('copy-shell');
    for (const id of ids) expect(['user', 'base', 'copy-shell', 'copy-rsync', 'copy-sftp', 'noexec', 'sshd', 'record']).toContain(id);
    const step = (id: string) => plus.steps.find((s) => s.id === id);
    expect(step('noexec')?.commands[0]).toBe(`mount --bind ${path.join(env.jailRoot, user, 'home', user)} ${path.join(env.jailRoot, user, 'home', user)}`);
    expect(step('user')?.commands).toEqual([`usermod --shell /bin/sh ${user}`]);
    // The jail's own passwd names the new shell; no dir, device or group is made again.
    const base = step('base')?.commands ?? [];
    expect(base.filter((c) => /^(install|mknod|chown|chmod)\b/.test(c))).toEqual([
      expect.stringMatching(/\/etc\/passwd <</),
      ...['usr', 'usr/lib', 'usr/lib/jailwizard'].map((d) => `install -d -m 0755 -o 0 -g 0 ${path.join(env.jailRoot, user, d)}`),
      expect.stringMatching(/^install -m 0755 -o 0 -g 0 \/dev\/stdin .*\/usr\/lib\/jailwizard\/gate <</),
    ]);
    expect(base.join('\n')).toContain(`${user}:x:`);
    const sshd = step('sshd')!.commands;
    expect(sshd.filter((c) => c.startsWith('install'))).toEqual([expect.stringContaining(`jailwizard-${user}.conf`)]);
    expect(sshd.join('\n')).toContain('ForceCommand /usr/lib/jailwizard/gate --rsync=/usr/bin/rsync --sftp=/usr/lib/openssh/sftp-server');
    // Every copied file is rsync, dash, the sftp-server or a shared library.
    const copied = copiedFrom(plus);
    expect(copied).toContain('/usr/bin/rsync');
    expect(copied.some((f) => /\/dash$/.test(f))).toBe(true);
    const other = copied.filter((f) => !/\/(rsync|dash|sftp-server|ld-linux[^/]*\.so[.\d]*|lib[^/]+\.so[.\d]*)$/.test(f));
    expect(other).toEqual([]);
    expect(copied.length).toBeLessThan(40);
    expect(new Set(copied).size).toBe(copied.length);

    const applied = await jw(env, ['apply', '--config', cfg, '--yes', '--json']);
    expect(applied.exitCode, out(applied)).toBe(0);
    const ra = json<ApplyJson>(applied);
    expect(ra.changed).toBe(true);
    expect(ra.steps.map((s) => s.id)).toEqual(ids);
    expect(ra.verification?.ok).toBe(true);
    expect(ra.verification!.probes.map((p) => p.name)).toContain('rsync: upload/download round trip');
    expect(json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json'])).changed).toBe(false);

    // + a key: only the keys file (and the record).
    const key2 = await newKey(env, 'second_key');
    answersFile(env, { user, tools: ['sftp', 'rsync'], authorizedKeys: [key1, key2] });
    const addKey = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    expect(addKey.steps.map((s) => s.id)).toEqual(['keys', 'record']);
    expect(addKey.steps[0]!.commands).toContain(key2);
    expect(addKey.steps[0]!.commands).toContain(key1);
    const ak = json<ApplyJson>(await jw(env, ['apply', '--config', cfg, '--yes', '--json', '--no-test']));
    expect(ak).toMatchObject({ changed: true, exit: { code: 0 } });
    expect(ak.steps.map((s) => s.id)).toEqual(['keys', 'record']);
    expect(readFileSync(`/etc/ssh/authorized_keys/${user}`, 'utf8')).toBe(`${key1}\n${key2}\n`);

    // - a key: only the keys file again.
    answersFile(env, { user, tools: ['sftp', 'rsync'], authorizedKeys: [key2] });
    const rmKey = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    expect(rmKey.steps.map((s) => s.id)).toEqual(['keys', 'record']);
    expect(rmKey.steps[0]!.commands).not.toContain(key1);
    const rk = json<ApplyJson>(await jw(env, ['apply', '--config', cfg, '--yes', '--json', '--no-test']));
    expect(rk.steps.map((s) => s.id)).toEqual(['keys', 'record']);
    expect(readFileSync(`/etc/ssh/authorized_keys/${user}`, 'utf8')).toBe(`${key2}\n`);
    expect(json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json'])).changed).toBe(false);

    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });
});

// ---------------------------------------------------------------- Ansible

const ANSIBLE = '/usr/bin/ansible-playbook';
function ansibleOrSkipReason(): string | undefined {
  if (skip) return skip;
  if (existsSync(ANSIBLE)) return undefined;
  if (process.env.JW_TEST_CI === 'true' || process.env.CI === 'true') throw new Error('CI must install ansible-core (see .ci/run)');
  const reason = 'skipped: the Ansible export test needs ansible-playbook (apt-get install ansible-core)';
  console.warn(`[jailwizard tests] ${reason}`);
  return reason;
}

/** The PLAY RECAP line for localhost. */
function recap(r: RunResult): { ok: number; changed: number; failed: number; skipped: number } {
  const m = /^localhost\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)/m.exec(r.stdout);
  if (!m) throw new Error(`no PLAY RECAP for localhost\n${out(r)}`);
  return { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]), skipped: Number(m[4]) };
}

/** Each task's outcome in the default callback's output: name → ok, changed, skipping… */
function tasks(r: RunResult): Map<string, { status: string; body: string }> {
  const found = new Map<string, { status: string; body: string }>();
  const parts = r.stdout.split(/^TASK \[(.+?)\] \*+$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const body = parts[i + 1]!;
    const status = /^(ok|changed|skipping|fatal|failed): \[localhost\]/m.exec(body)?.[1] ?? 'none';
    found.set(parts[i]!, { status, body });
  }
  return found;
}

/** The msg of an ansible.builtin.debug task, parsed from `ok: [localhost] => {…}`. */
function debugMsg(r: RunResult, task: string): unknown {
  const t = tasks(r).get(task);
  if (!t) throw new Error(`no task ${task}\n${out(r)}`);
  const start = t.body.indexOf('=> {');
  const end = t.body.indexOf('\n}', start);
  return (JSON.parse(t.body.slice(start + 3, end + 2)) as { msg: unknown }).msg;
}

describe.skipIf(ansibleOrSkipReason())('the Ansible export, run by ansible-playbook on this host', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  it('passes --syntax-check, changes nothing in --check, converges, and then changes only what the answers add', { timeout: 900_000 }, async () => {
    const user = uniqueUser('ansible');
    const cfg = answersFile(env, { user, tools: ['sftp', 'scp'] });
    const dir = path.join(env.work, 'ansible');
    const prefix = path.join(env.work, 'prefix');
    const configDir = path.join(env.work, 'etc-jailwizard');

    // The package as it ships, installed by the playbook offline from the tarball.
    const packDir = path.join(env.work, 'pack');
    mkdirSync(packDir);
    const packed = await runOk(['npm', 'pack', '--json', '--ignore-scripts', '--pack-destination', packDir], { timeoutMs: 120_000 });
    const tarball = path.join(packDir, (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string }[])[0]!.filename);

    const exported = await jw(env, ['export', '--config', cfg, '--format', 'ansible', '--out', dir]);
    expect(exported.exitCode, out(exported)).toBe(0);
    const playbook = readFileSync(path.join(dir, 'playbook.yml'), 'utf8');
    expect(playbook).toContain(`jailwizard@${PKG.version}`);
    // Only ansible.builtin modules.
    const modules = [...playbook.matchAll(/^\s+(?:- )?([a-z_]+\.[a-z_]+\.[a-z_]+):/gm)].map((m) => m[1]!);
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.filter((m) => !m.startsWith('ansible.builtin.'))).toEqual([]);
    const copied = path.join(dir, 'files', `${user}.json`);
    expect(readFileSync(copied, 'utf8')).toBe(readFileSync(cfg, 'utf8'));
    expect(statSync(copied).mode & 0o777).toBe(0o600);

    const vars = JSON.stringify({ jailwizard_package: tarball, jailwizard_prefix: prefix, jailwizard_config_dir: configDir, jailwizard_flags: env.common.join(' ') });
    const ansibleEnv = {
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_FORCE_COLOR: '0',
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_LOCAL_TEMP: path.join(env.work, 'ansible-local'),
      ANSIBLE_REMOTE_TEMP: path.join(env.work, 'ansible-remote'),
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_CONFIG: path.join(env.work, 'no-ansible.cfg'),
    };
    const playbookRun = (...extra: string[]): Promise<RunResult> =>
      run([ANSIBLE, '-c', 'local', '-i', 'localhost,', 'playbook.yml', '-e', vars, ...extra], { cwd: dir, env: ansibleEnv, timeoutMs: 600_000 });

    const syntax = await playbookRun('--syntax-check');
    expect(syntax.exitCode, out(syntax)).toBe(0);

    // --check on a fresh host: reports that apply would change it, changes nothing.
    const before = await snapshot(env);
    const check = await playbookRun('--check');
    expect(check.exitCode, out(check)).toBe(0);
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    expect(existsSync(path.join(prefix, 'bin/jailwizard'))).toBe(false);
    expect(existsSync(configDir)).toBe(false);
    const ct = tasks(check);
    expect(ct.get('What apply would change')?.status, out(check)).toBe('changed');
    expect(ct.get(`Apply the answers for ${user} (changes only what differs, then tests)`)?.status).toBe('skipping');
    expect(debugMsg(check, 'The steps apply would run')).toEqual(expect.arrayContaining([expect.stringMatching(/^Create user /)]));
    expect(recap(check).changed).toBeGreaterThan(0);

    // The first real run installs jailwizard, copies the answers, applies and proves.
    const first = await playbookRun();
    expect(first.exitCode, out(first)).toBe(0);
    expect(recap(first).changed).toBeGreaterThan(0);
    const ft = tasks(first);
    expect(ft.get(`Install jailwizard ${PKG.version} with npm`)?.status, out(first)).toBe('changed');
    expect(ft.get(`Apply the answers for ${user} (changes only what differs, then tests)`)?.status).toBe('changed');
    expect(ft.get(`Prove the jail of ${user} with the real ssh, sftp, scp and rsync clients`)?.status).toBe('ok');
    expect((await runOk([path.join(prefix, 'bin/jailwizard'), '--version'])).stdout.trim()).toBe(PKG.version);
    expect(statSync(path.join(configDir, `${user}.json`)).mode & 0o777).toBe(0o600);
    const tested = await jw(env, ['test', user]);
    expect(tested.exitCode, out(tested)).toBe(0);

    // The second run changes nothing, and installs nothing.
    const second = await playbookRun();
    expect(second.exitCode, out(second)).toBe(0);
    expect(recap(second).changed, out(second)).toBe(0);
    expect(tasks(second).get(`Install jailwizard ${PKG.version} with npm`)?.status).toBe('skipping');
    expect(debugMsg(second, 'The steps apply ran')).toEqual([]);

    // rsync added: the plan and the run are about rsync alone (its shell is already there, and
    // the gate's ForceCommand now lets rsync through too).
    answersFile(env, { user, tools: ['sftp', 'scp', 'rsync'] });
    expect((await jw(env, ['export', '--config', cfg, '--format', 'ansible', '--out', dir])).exitCode).toBe(0);
    const plan = json<PlanJson>(await jw(env, ['plan', '--config', cfg, '--json']));
    expect(plan.steps.map((s) => s.id)).toEqual(['copy-rsync', 'sshd', 'record']);
    expect(plan.steps[1]!.commands.join('\n')).toContain('ForceCommand /usr/lib/jailwizard/gate --rsync=/usr/bin/rsync --scp=/usr/bin/scp');
    const checkRsync = await playbookRun('--check');
    expect(checkRsync.exitCode, out(checkRsync)).toBe(0);
    expect(debugMsg(checkRsync, 'The steps apply would run')).toEqual(plan.steps.map((s) => s.title));
    const third = await playbookRun();
    expect(third.exitCode, out(third)).toBe(0);
    const steps = debugMsg(third, 'The steps apply ran') as string[];
    expect(steps).toEqual(plan.steps.map((s) => s.title));
    expect(steps[0]).toMatch(/^Copy rsync and what they need/);
    // Changed: the answers file on the host, and the apply.
    expect(recap(third).changed, out(third)).toBe(2);
    const fourth = await playbookRun();
    expect(recap(fourth).changed, out(fourth)).toBe(0);

    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });
});
