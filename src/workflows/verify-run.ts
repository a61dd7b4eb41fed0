// The connection test as a workflow: inside an open run of the executor, authorize a
// temporary key and journal where the probes may leave files, run the probes with the real
// clients, then roll those two steps back. `apply`, `test`, `doctor --fix` and the wizard
// run it as runPlan's verify.
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../model/errors.ts';
import type { Executor } from '../engine/executor.ts';
import type { Plan, Step } from '../model/effects.ts';
import { rootOnlyChain, safeLstat, safeReadFile } from '../host/safe-fs.ts';
import { AUTHORIZED_KEYS_DIR } from '../plan/index.ts';
import { keyLine } from '../plan/options.ts';
import { unparsableKeyLines } from '../model/key-options.ts';
import { runOk } from '../host/run.ts';
import { authorizedKeysPaths, connectAddresses, sshdEffective } from '../host/sshd-config.ts';
import { readPasswd, type PasswdEntry } from '../host/accounts.ts';
import { clientPids } from '../host/ssh-client.ts';
import { probeFilesAction } from '../host/probe-files.ts';
import type { JailRecord } from '../host/state.ts';
import { probeDirs, probeTag, refusalSource, runProbes, type ProbeOptions, type ProbeResult, type ProbeTarget } from './verify.ts';

/** What verifyJail needs: a jail jailwizard made has answers (its options) and maybe a logFile; doctor's jails have neither. */
export type VerifyTarget = Pick<JailRecord, 'user' | 'jail' | 'tools' | 'sshdConfig'> & Partial<Pick<JailRecord, 'answers' | 'logFile' | 'actions' | 'gate'>>;

/** The options of the record's answers that the probes prove (#5), and where its log lands. */
export function probeOptions(rec: VerifyTarget): ProbeOptions {
  const a = rec.answers;
  if (!a) return {};
  const o: ProbeOptions = {
    readOnly: a.readOnly,
    umask: a.umask,
    startDir: a.startDir,
    writable: a.writable,
    group: a.group,
    groupDir: a.groupDir,
    binds: a.binds,
    log: a.log,
    allowFrom: a.allowFrom,
    extraBinaries: a.extraBinaries,
    extras: a.extras,
    logFile: rec.logFile,
    noexecDirs: noexecBinds(rec),
    gated: rec.gate !== undefined,
  };
  for (const k of Object.keys(o) as (keyof ProbeOptions)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/** The dirs jailwizard bound onto themselves noexec in this jail, from the record (paths inside the jail). */
function noexecBinds(rec: VerifyTarget): string[] | undefined {
  const dirs = (rec.actions ?? []).flatMap((a) =>
    a.effect.kind === 'mount' && a.effect.source === a.effect.target && a.effect.target.startsWith(`${rec.jail}/`) ? [a.effect.target.slice(rec.jail.length)] : [],
  );
  return dirs.length > 0 ? [...new Set(dirs)] : undefined;
}

/** Runs the probes inside an open executor run; the temporary key is rolled back afterwards. */
export async function verifyJail(ex: Executor, rec: VerifyTarget, onResult?: (r: ProbeResult) => void): Promise<ProbeResult[]> {
  const eff = await sshdEffective(rec.sshdConfig);
  const target = connectAddresses(eff)[0];
  if (!target) throw new UserError(`sshd (${rec.sshdConfig}) listens on no address`, 'check ListenAddress and Port');

  // Root-only, under the journal: it goes when the run ends, even after a kill -9 (by `rollback`).
  const dir = ex.scratchDir();
  try {
    const key = path.join(dir, 'id_ed25519');
    const account = readPasswd().find((p) => p.name === rec.user);
    // The key is made while sshd says how it treats this user (both take a while).
    const made = runOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `jailwizard-test-${Date.now()}`, '-f', key]);
    const userEff = account
      ? await sshdEffective(rec.sshdConfig, { user: rec.user, addr: target.host }).catch(async (e: unknown) => {
          await made.catch(() => undefined); // never remove the dir under a running ssh-keygen
          throw e;
        })
      : undefined;
    await made;
    const pub = readFileSync(`${key}.pub`, 'utf8').trim();
    const options = probeOptions(rec);
    // With allowFrom, the key also admits the source the refusal probe uses, so that the
    // refusal can only come from sshd's Match … Address block, never from the key.
    const denied = options.allowFrom?.length ? refusalSource(options.allowFrom) : undefined;
    const from = [...new Set(['127.0.0.1', '::1', target.host, ...(denied ? [denied] : [])])];
    const tag = probeTag();
    const probes: ProbeTarget = { ...options, user: rec.user, tools: rec.tools, jail: rec.jail, host: target.host, port: target.port, identityFile: key, tag, scratch: dir };
    const maxSessions = Number(userEff?.get('maxsessions')?.[0]);
    if (Number.isInteger(maxSessions) && maxSessions > 0) probes.maxSessions = maxSessions;
    // Where sshd reads this user's keys: jailwizard's /etc/ssh/authorized_keys/%u, or the
    // admin's own setting for a jail jailwizard did not make.
    const keysPath = (account && userEff && authorizedKeysPaths(userEff, account)[0]) || path.join(AUTHORIZED_KEYS_DIR, rec.user);
    // Appended, and cut off again afterwards: the keys file is never read, replaced or
    // followed through a link (it may be the user's own, in a dir they can write). The
    // leading newline ends a last line that has none; sshd skips the empty line.
    const present = safeLstat(keysPath) !== undefined;
    // The same function writes the admin's lines: the test key gets jailwizard's options
    // (from=, with the test's sources in place of allowFrom) exactly as they would.
    const line = keyLine(pub, from, 0);
    const text = `\n${line}\n`;
    const plan: Plan = {
      command: 'test',
      user: rec.user,
      notes: [],
      steps: [
        {
          id: 'test-key',
          title: `Authorize a temporary test key for ${rec.user} (from ${from.join(',')} only)`,
          why: ['Removed again right after the probes, even if they fail.'],
          actions: [
            {
              // Made root's and readable when absent: sshd reads the keys as the user.
              effect: { kind: 'append', path: keysPath, text, mode: 0o644, uid: 0, gid: 0 },
              undo: [{ kind: 'unappend', path: keysPath, text, removeIfEmpty: !present }],
              pre: { kind: 'none' },
            },
          ],
        },
        probeFilesStep(probes, account, dir),
      ],
    };
    await ex.quietly(() => ex.apply(plan));
    try {
      // Every line sshd will read parses, the admin's and ours; read only where root alone
      // can write (jailwizard's keys dir), never in a user's own .ssh.
      const keys = keysProbe(keysPath);
      if (keys) onResult?.(keys);
      return [...(keys ? [keys] : []), ...(await runProbes({ ...probes, onClient: (n) => pauseWhileClientRuns(ex, n, dir) }, onResult))];
    } finally {
      await ex.quietly(() => ex.rollback('the temporary test key and the probes\' files are removed', plan.steps.length));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every line of the keys file, the temporary one included, as sshd parses its options: a line sshd skips fails the test. */
/** Read after the test key was appended: the admin's lines and ours, as sshd reads them now. */
function keysProbe(keysPath: string): ProbeResult | undefined {
  if (!rootOnlyChain(path.dirname(keysPath))) return undefined;
  const content = safeReadFile(keysPath, 1 << 20)?.toString('utf8') ?? '';
  const lines = content.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#')).length;
  const bad = unparsableKeyLines(content);
  const name = 'keys: every line parses as sshd reads its options';
  if (bad.length === 0) return { name, ok: true, detail: `${lines} line${lines === 1 ? '' : 's'} in ${keysPath}` };
  return { name, ok: false, detail: bad.map((b) => `${keysPath} line ${b.line}: ${b.reason} (sshd skips that key)`).join('; ') };
}

/** Journals where the probes may leave files, before the first client starts (#11: kill -9 during the test). */
function probeFilesStep(t: ProbeTarget, account: PasswdEntry | undefined, scratch: string): Step {
  return {
    id: 'test-files',
    title: `Note where the connection test may leave files (${t.tag}…)`,
    why: ['Removed again right after the probes; a rollback after a crash stops leftover clients and removes them too.'],
    actions: [probeFilesAction({ dirs: probeDirs(t, account?.home), prefix: t.tag!, clients: scratch, jail: t.jail, uid: account?.uid })],
  };
}

/** Test-only (JAILWIZARD_PAUSE_AT=client:N): once the n-th client runs, wait there, so a test can kill -9 the run mid-probe. */
async function pauseWhileClientRuns(ex: Executor, n: number, scratch: string): Promise<void> {
  if (process.env.JAILWIZARD_PAUSE_AT !== `client:${n}`) return;
  // The client is spawned a tick after run() is called: wait until it shows in /proc (the control master runs all along).
  for (let i = 0; i < 100 && clientPids(scratch).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await ex.pauseAt(`client:${n}`, `while client ${n} of the connection test runs`);
}
