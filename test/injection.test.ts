// User text in generated artifacts (#12 item 10): hostile strings (newlines, quotes, #, %, *,
// !, $(), backticks, Jinja) go into every field of the answers, into --state-dir,
// --sshd-config and the answers file's name. Each is either refused (exit 2, nothing
// printed on stdout) or quoted: the --dry-run / `export --format sh` script must pass the
// real `sh -n`, the Ansible playbook must load with ansible's own YAML loader as exactly the
// one play a clean export has, and the sshd drop-in must pass the real `sshd -t`.
//
// The payloads that end in "\n)(" make any escape a syntax error: inside a comment, quotes or
// a heredoc ")(" is text; at the start of a command it is not. The answers fields run
// in-process through the same functions `apply --dry-run` calls (loadAnswers, checkedPlan,
// planToShellScript); the command-line options and file names go through the bundle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from '../src/host/run.ts';
import { UserError } from '../src/model/errors.ts';
import { loadAnswers } from '../src/host/answers-file.ts';
import { checkedPlan } from '../src/workflows/apply.ts';
import { oneLine, planToShellScript, type Plan } from '../src/model/effects.ts';
import { ansiblePlaybook } from '../src/workflows/export-ansible.ts';
import { checkSshdValue, renderDropIn } from '../src/host/sshd-config.ts';
import type { Answers } from '../src/model/types.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { BIN, out, setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';

const skip = rootOrSkipReason();

/** Escapes that would leave a comment, quotes or a heredoc, each followed by a syntax error. */
const BREAKOUTS = ['x\n)(', "x'\n)(", 'x"\n)(', 'x#\n)(', 'x%u\n)(', 'x*\n)(', '!x\n)(', '$(\n)(', 'x`\n)(', 'x\r\n)(', "'\n)(\n'"];
/** Characters that mean something to sh, YAML, Jinja or sshd_config, without a newline. */
const SINGLES = ["a'b", 'a"b', 'a#b', 'a%u', 'a*b', '!a', '$(id)', '`id`', 'a b', 'a\\b', '{{ 7*7 }}', '- x: y', '*alias', '&anchor'];
const HOSTILE = [...BREAKOUTS, ...SINGLES];

/** `sh -n` on a script: 0 when it parses. */
async function shParses(script: string, dir: string): Promise<{ ok: boolean; why: string }> {
  const f = path.join(dir, `script-${Math.random().toString(16).slice(2)}.sh`);
  writeFileSync(f, script);
  const r = await run(['sh', '-n', f]);
  rmSync(f, { force: true });
  return { ok: r.exitCode === 0, why: r.stderr.trim() };
}

/** The playbook as Ansible reads it: the number of plays and every task name, blocks included. */
const PLAY_SHAPE = `
import json, sys
from ansible.parsing.utils.yaml import from_yaml
data = from_yaml(open(sys.argv[1]).read())
def names(tasks):
    out = []
    for t in tasks or []:
        out.append(str(t.get('name')))
        for k in ('block', 'rescue', 'always'):
            out += names(t.get(k))
    return out
print(json.dumps({'plays': len(data), 'hosts': [p.get('hosts') for p in data], 'tasks': [names(p.get('tasks')) for p in data]}))
`;

async function playbookShape(file: string, dir: string): Promise<{ plays: number; hosts: string[]; tasks: string[][] }> {
  const py = path.join(dir, 'play-shape.py');
  writeFileSync(py, PLAY_SHAPE);
  // Debian's ansible-core, the one .ci/run installs, with its own YAML loader.
  const r = await run(['/usr/bin/python3', py, file]);
  if (r.exitCode !== 0) throw new Error(`ansible's YAML loader rejects ${file}: ${r.stderr.trim().split('\n').slice(-1)[0]}`);
  return JSON.parse(r.stdout);
}

describe('generated text keeps user text in its place (pure)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'jw-inject-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('oneLine shows every control character as an escape', () => {
    expect(oneLine('a\nb\rc\td\u001be\u2028f')).toBe('a\\nb\\rc\\td\\u001be\\u2028f');
  });

  it('a plan whose titles, reasons, notes and paths hold hostile text is a script sh parses', async () => {
    for (const h of HOSTILE) {
      const plan: Plan = {
        command: 'apply',
        user: h,
        notes: [`note ${h}`],
        steps: [
          {
            id: 'x',
            title: `title ${h}`,
            why: [`why ${h}`],
            actions: [
              { effect: { kind: 'restore', path: `/srv/${h}` }, undo: [], pre: { kind: 'none' } },
              { effect: { kind: 'run', argv: ['useradd', h] }, undo: [], pre: { kind: 'none' } },
              { effect: { kind: 'write', path: `/srv/${h}`, content: `${h}\nJAILWIZARD_EOF\n${h}\n`, mode: 0o644, uid: 0, gid: 0, summary: `summary ${h}` }, undo: [], pre: { kind: 'none' } },
              { effect: { kind: 'line-add', path: `/etc/${h}`, line: h }, undo: [], pre: { kind: 'none' } },
              { effect: { kind: 'sshd-expect', config: `/etc/${h}`, user: h, addr: '127.0.0.1', expect: { chrootdirectory: h } }, undo: [], pre: { kind: 'none' } },
            ],
          },
        ],
      };
      const { ok, why } = await shParses(planToShellScript(plan), dir);
      expect(ok, `${JSON.stringify(h)}: ${why}\n${planToShellScript(plan)}`).toBe(true);
    }
  });

  it("the playbook's comments and names hold the answers file's name, the jail and the tools on their own lines", async () => {
    const a: Answers = { user: 'alice', tools: ['sftp'], jail: '/srv/jails/alice', arch: 'auto', authorizedKeys: [], createUser: true, installMissing: false };
    const clean = path.join(dir, 'clean.yml');
    writeFileSync(clean, ansiblePlaybook({ version: '1.0.0', answers: a, answersName: 'alice.json', source: 'alice.json' }));
    const want = await playbookShape(clean, dir);
    expect(want.plays).toBe(1);
    const crafted = 'x\n- hosts: all\n  tasks: [{shell: id > PWNED}]\n#';
    for (const h of [...HOSTILE, crafted]) {
      const f = path.join(dir, 'hostile.yml');
      writeFileSync(f, ansiblePlaybook({ version: '1.0.0', answers: { ...a, jail: `/srv/${h}` }, answersName: 'alice.json', source: `${h}.json` }));
      expect(await playbookShape(f, dir), JSON.stringify(h)).toEqual(want);
    }
    // The user and the file name go into commands and templated strings: refused unless plain.
    for (const h of HOSTILE) {
      expect(() => ansiblePlaybook({ version: '1.0.0', answers: { ...a, user: h }, answersName: 'alice.json', source: 'a.json' }), JSON.stringify(h)).toThrow(UserError);
    }
  });

  it('the sshd drop-in refuses any value that could add a line, a comment, a quote or a token', () => {
    const settings = { ChrootDirectory: '/srv/jails/alice', DisableForwarding: 'yes', AuthorizedKeysFile: '/etc/ssh/authorized_keys/%u', ForceCommand: 'internal-sftp -u 0027 -d /web' };
    expect(renderDropIn('alice', settings, '*,!127.0.0.1,!::1')).toContain('    AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n');
    for (const h of HOSTILE) {
      if (/^[A-Za-z0-9._+@/,:=!* -]+$/.test(h)) continue; // plain characters (`a b`, `!a`, `a*b`) cannot add anything
      expect(() => renderDropIn(h, settings), `user ${JSON.stringify(h)}`).toThrow(UserError);
      expect(() => renderDropIn('alice', { ...settings, ChrootDirectory: `/srv/${h}` }), `jail ${JSON.stringify(h)}`).toThrow(UserError);
      expect(() => renderDropIn('alice', { ...settings, ForceCommand: `internal-sftp -d /${h}` }), `ForceCommand ${JSON.stringify(h)}`).toThrow(UserError);
      expect(() => renderDropIn('alice', settings, `*,!${h}`), `address ${JSON.stringify(h)}`).toThrow(UserError);
    }
    expect(() => checkSshdValue('ChrootDirectory', '/srv/%h')).toThrow(/refusing to write ChrootDirectory/);
  });
});

describe.skipIf(skip)('hostile answers, options and file names through apply --dry-run and export (root, private sshd)', () => {
  let env: TestEnv;
  let key: string;
  beforeAll(async () => {
    env = await setupEnv();
    key = env.key.publicKey;
  });
  afterAll(async () => {
    await teardownEnv(env);
  });

  /** A real ELF program (a copy of /bin/true) whose file name ends in the hostile text. */
  const programNamed = (h: string): string => {
    const dir = path.join(env.jailRoot, 'programs');
    mkdirSync(dir, { recursive: true });
    const p = path.join(dir, `t${h.replace(/\//g, '_')}`);
    copyFileSync('/bin/true', p);
    chmodSync(p, 0o755);
    return p;
  };

  /** An answers field set to a hostile value, on top of answers that plan cleanly. */
  const FIELDS: { name: string; set: (h: string, user: string) => Record<string, unknown> }[] = [
    { name: 'user', set: (h) => ({ user: h }) },
    { name: 'tools', set: (h) => ({ tools: [h] }) },
    { name: 'jail', set: (h) => ({ jail: `${env.jailRoot}/${h}` }) },
    { name: 'arch', set: (h) => ({ arch: h }) },
    { name: 'authorizedKeys (comment)', set: (h) => ({ authorizedKeys: [`${key} ${h}`] }) },
    { name: 'authorizedKeys (options)', set: (h) => ({ authorizedKeys: [`${h} ${key}`] }) },
    { name: 'group', set: (h) => ({ group: h }) },
    { name: 'writable', set: (h, u) => ({ writable: `/home/${u}/${h}` }) },
    { name: 'umask', set: (h) => ({ umask: h }) },
    { name: 'startDir', set: (h) => ({ startDir: `/${h}` }) },
    { name: 'groupDir', set: (h) => ({ group: 'users', groupDir: `/${h}` }) },
    { name: 'binds.source', set: (h) => ({ binds: [{ source: `/srv/${h}`, target: '/web', readOnly: true }] }) },
    { name: 'binds.target', set: (h) => ({ binds: [{ source: env.jailRoot, target: `/${h}`, readOnly: true }] }) },
    { name: 'allowFrom', set: (h) => ({ allowFrom: [h] }) },
    { name: 'extraBinaries (path)', set: (h) => ({ tools: ['bash'], extraBinaries: [`/usr/bin/${h}`] }) },
    { name: 'extraBinaries (name)', set: (h) => ({ tools: ['bash'], extraBinaries: [h] }) },
    { name: 'extraBinaries (an ELF whose name holds it)', set: (h) => ({ tools: ['bash'], extraBinaries: [programNamed(h)] }) },
    { name: 'extras', set: (h) => ({ tools: ['bash'], extras: [h] }) },
  ];

  it('every answers field: refused, or a script that sh parses with a drop-in sshd -t accepts', async () => {
    const dir = path.join(env.work, 'answers');
    mkdirSync(dir);
    const o = { sshdConfig: env.sshd.configPath, stateDir: env.stateDir };
    const accepted: string[] = [];
    let n = 0;
    for (const f of FIELDS) {
      for (const h of HOSTILE) {
        const user = uniqueUser(`i${n++}`);
        const file = path.join(dir, `${user}.json`);
        writeFileSync(file, JSON.stringify({ user, tools: ['sftp'], jail: path.join(env.jailRoot, user), authorizedKeys: [key], ...f.set(h, user) }));
        const what = `${f.name} = ${JSON.stringify(h)}`;
        let plan: Plan;
        try {
          const a = await loadAnswers(file);
          plan = (await checkedPlan(a, o)).plan;
        } catch (e) {
          if (e instanceof UserError) continue; // refused: exit 2 from the command line, nothing printed on stdout
          throw new Error(`${what}: ${(e as Error).stack}`);
        }
        accepted.push(what);
        const script = planToShellScript(plan);
        const { ok, why } = await shParses(script, env.work);
        expect(ok, `${what}: sh -n: ${why}`).toBe(true);
        const dropIn = plan.steps.flatMap((s) => s.actions).map((x) => x.effect).find((e) => e.kind === 'write' && e.path.startsWith(env.sshd.dropInDir));
        expect(dropIn, what).toBeDefined();
        await expectSshdAccepts(dropIn!.kind === 'write' ? dropIn!.content : '', what);
      }
    }
    // Only the key's comment takes hostile text (it is data in the keys file).
    expect(accepted.every((w) => w.startsWith('authorizedKeys (comment)')), accepted.join('\n')).toBe(true);
    expect(accepted.length).toBeGreaterThan(0);
  }, 600_000);

  /** `sshd -t` on the private sshd's own config with the drop-in as its only include. */
  async function expectSshdAccepts(dropIn: string, what: string): Promise<void> {
    const d = mkdtempSync(path.join(env.work, 'dropin-'));
    writeFileSync(path.join(d, 'jw.conf'), dropIn);
    const main = readFileSync(env.sshd.configPath, 'utf8').replace(`Include ${env.sshd.dropInDir}/*.conf`, `Include ${d}/*.conf`);
    writeFileSync(path.join(d, 'sshd_config'), main);
    const r = await run(['/usr/sbin/sshd', '-t', '-f', path.join(d, 'sshd_config')]);
    expect(r.exitCode, `${what}: sshd -t: ${r.stderr}`).toBe(0);
    rmSync(d, { recursive: true, force: true });
  }

  /** The bundle, as an admin runs it; the options of the private sshd are given by hand. */
  const cli = (args: string[]) => run([process.execPath, BIN, ...args], { timeoutMs: 120_000 });

  it('--state-dir with hostile text: --dry-run and export --format sh print scripts that sh parses', async () => {
    const user = uniqueUser('isd');
    const file = path.join(env.work, `${user}.json`);
    writeFileSync(file, JSON.stringify({ user, tools: ['bash', 'rsync'], jail: path.join(env.jailRoot, user), authorizedKeys: [key] }));
    for (const h of BREAKOUTS) {
      const stateDir = path.join(env.work, `state${h}`);
      for (const args of [['apply', '--dry-run', '--config', file], ['export', '--format', 'sh', '--config', file]]) {
        const r = await cli([...args, '--sshd-config', env.sshd.configPath, '--state-dir', stateDir]);
        expect(r.exitCode, `${JSON.stringify(h)}: ${out(r)}`).toBe(0);
        expect(r.stdout).toContain(`# Step 1: Create user ${user}`);
        const { ok, why } = await shParses(r.stdout, env.work);
        expect(ok, `${args[0]} --state-dir ${JSON.stringify(stateDir)}: sh -n: ${why}`).toBe(true);
      }
      // A dry run changes nothing, not even the state dir.
      expect(readdirSync(env.work).filter((n) => n.startsWith('state') && n !== 'state')).toEqual([]);
    }
  }, 300_000);

  it('--sshd-config with hostile text is refused in one line (its dir could go into an Include line)', async () => {
    const user = uniqueUser('isc');
    const file = path.join(env.work, `${user}.json`);
    writeFileSync(file, JSON.stringify({ user, tools: ['sftp'], jail: path.join(env.jailRoot, user), authorizedKeys: [key] }));
    for (const h of BREAKOUTS) {
      const cfg = path.join(env.work, `sshd${h}`, 'sshd_config');
      mkdirSync(path.dirname(cfg), { recursive: true });
      writeFileSync(cfg, readFileSync(env.sshd.configPath));
      const r = await cli(['apply', '--dry-run', '--config', file, '--sshd-config', cfg, '--state-dir', env.stateDir]);
      expect(r.exitCode, out(r)).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n'), out(r)).toHaveLength(2);
      expect(r.stderr).toMatch(/^jailwizard: --sshd-config ".*" has characters sshd_config cannot hold/);
      rmSync(path.dirname(cfg), { recursive: true, force: true });
    }
  }, 300_000);

  it("the answers file's name: export --format ansible writes one play, whatever the name", async () => {
    const user = uniqueUser('ian');
    const clean = path.join(env.work, 'clean');
    mkdirSync(clean);
    const cleanFile = path.join(clean, `${user}.json`);
    const text = JSON.stringify({ user, tools: ['sftp'], jail: path.join(env.jailRoot, user), authorizedKeys: [key] });
    writeFileSync(cleanFile, text);
    const c = await cli(['export', '--format', 'ansible', '--config', cleanFile, '--out', path.join(clean, 'out')]);
    expect(c.exitCode, out(c)).toBe(0);
    const want = await playbookShape(path.join(clean, 'out', 'playbook.yml'), env.work);
    const crafted = 'x\n- hosts: all\n  tasks: [{shell: id > PWNED}]\n#';
    let i = 0;
    for (const h of [...HOSTILE, crafted]) {
      const d = path.join(env.work, `ansible-${i++}`);
      mkdirSync(d);
      const file = path.join(d, `${h.replace(/\//g, '_')}.json`);
      writeFileSync(file, text);
      const r = await cli(['export', '--format', 'ansible', '--config', file, '--out', path.join(d, 'out')]);
      expect(r.exitCode, `${JSON.stringify(h)}: ${out(r)}`).toBe(0);
      const pb = path.join(d, 'out', 'playbook.yml');
      expect(await playbookShape(pb, env.work), JSON.stringify(h)).toEqual(want);
      expect(readFileSync(pb, 'utf8')).not.toMatch(/^- hosts: all$/m);
      // The answers travel under the user's name, never the given one.
      expect(readdirSync(path.join(d, 'out', 'files'))).toEqual([`${user}.json`]);
    }
  }, 300_000);
});
