// What the wizard's screens need from the host and the engine, behind one interface so the
// App stays thin and screen tests can pass small fakes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { answersToYaml, parseAnswers } from '../host/answers-file.ts';
import { checkedPlan, executeApply, toolArches, type ApplyHooks, type ApplyOutcome } from '../workflows/apply.ts';
import { EXIT, UserError, exitCodeFor, explain } from '../model/errors.ts';
import { rollbackUnfinished } from '../engine/executor.ts';
import { planToShellScript, type Plan } from '../model/effects.ts';
import { hostArch } from '../host/facts.ts';
import { chrootChain, type ChainLink } from '../host/ownership.ts';
import { RECIPES, SFTP_SUBSYSTEM } from '../../recipes/index.ts';
import { sshdEffective } from '../host/sshd-config.ts';
import { connectTarget, type ConnectTarget } from '../host/connect-target.ts';
import { recordForJail } from '../host/state.ts';
import { type Answers, type Arch, type Tool } from '../model/types.ts';
import { TOOLS } from '../../recipes/index.ts';
import { adminNames, checkAuthorizedKey, checkJailPath, checkUserAllowed, checkUserName, keyBlob, readUserHost, splitKeys } from '../host/validate.ts';
import { readPasswd } from '../host/accounts.ts';
import { runPreflight, type Preflight } from './preflight.ts';
import { diagnose, gatherDoctorFacts, planFixes, type DoctorFacts } from '../workflows/doctor.ts';
import { formatReport, runDoctorFix, type RepairServices } from '../workflows/doctor-fix.ts';
import { listRecords } from '../host/state.ts';
import { sha256 } from '../host/hash.ts';

/** One line of the key field's input, checked. */
export type KeyCheck =
  | { status: 'added'; line: string; label: string; fingerprint: string }
  | { status: 'duplicate'; line: string; fingerprint: string }
  | { status: 'refused'; line: string; error: string };

export interface Services extends RepairServices {
  preflight(): Promise<Preflight>;
  rollbackUnfinished(): Promise<{ manual: string[] }>;
  users(): string[];
  validateUser(name: string): string | undefined;
  homeOf(user: string): string;
  chain(jail: string): ChainLink[];
  validateJail(jail: string, user: string): string | undefined;
  missingTools(): Tool[];
  arches(tools: Tool[]): { host: Arch; available: Arch[] };
  /**
   * Checks what was typed or pasted in the key field (key lines, or a .pub path) line by
   * line with ssh-keygen -l, against the keys already chosen: each line is a key to add,
   * a duplicate, or refused with the reason.
   */
  checkKeys(text: string, existing: string[]): Promise<{ lines: KeyCheck[] } | { error: string }>;
  /** The answers file's own checks (structure, formats, options that contradict each other). */
  checkAnswers(a: Answers): { answers: Answers } | { error: { message: string; hint?: string } };
  plan(a: Answers): Promise<Plan>;
  execute(a: Answers, plan: Plan, hooks: ApplyHooks): Promise<ApplyOutcome>;
  saveScript(plan: Plan): string;
  saveAnswers(a: Answers, where: 'cwd' | 'state'): string;
  /** Where users connect: the admin's own session's server address, or the FQDN, and sshd's port. */
  connectTarget(): Promise<ConnectTarget>;
  /** Flags to repeat in the commands the summary shows (--sshd-config, --state-dir). */
  extraFlags: string;
}

/**
 * Checks the wizard's answers exactly as an answers file is checked (parseAnswers), so the
 * Options screen refuses what `apply --config` would refuse, with the same words. Lives
 * here, not in the screens, so the screen part of the bundle does not carry the parser.
 */
export function checkAnswers(a: Answers): { answers: Answers } | { error: { message: string; hint?: string } } {
  try {
    return { answers: parseAnswers(JSON.stringify(a), 'wizard') };
  } catch (e) {
    if (e instanceof UserError) return { error: { message: e.message, hint: e.hint } };
    throw e;
  }
}

function message(e: unknown): string {
  return e instanceof UserError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : String((e as Error)?.message ?? e);
}

export function realServices(o: { sshdConfig: string; stateDir: string; sshdLog?: string }, extraFlags: string): Services {
  const host = readUserHost();
  const diagnosed = new Map<string, { facts: DoctorFacts; plan: Plan }>();
  let failures: string[] = [];
  return {
    repairCandidates() {
      // Users whose latest login failed on the chroot (preflight), then the jails jailwizard
      // manages whose user still exists.
      const out = failures.map((user) => ({ user, reason: 'latest login failed on the chroot' }));
      const users = new Set(readPasswd().map((p) => p.name));
      // An unusable record is shown by the preflight; the repair still offers the log's users.
      const records = ((): ReturnType<typeof listRecords> => {
        try {
          return listRecords(o.stateDir);
        } catch {
          return [];
        }
      })();
      for (const r of records) if (!failures.includes(r.user) && users.has(r.user)) out.push({ user: r.user, reason: `jail ${r.jail}` });
      return out;
    },
    async diagnose(user) {
      const facts = await gatherDoctorFacts(user, o);
      const findings = diagnose(facts, sha256);
      const plan = planFixes(facts, findings);
      diagnosed.set(user, { facts, plan });
      return { report: formatReport(facts, findings).trimEnd().split('\n'), plan };
    },
    async fix(user, listener, onProbe) {
      const d = diagnosed.get(user);
      if (!d) return { ok: false, error: 'diagnose first', manual: [], probes: [], exitCode: EXIT.failed };
      let r: Awaited<ReturnType<typeof runDoctorFix>>;
      try {
        r = await runDoctorFix(d.facts, d.plan, o, { listener, onProbe });
      } catch (e) {
        // Refused before any change (another run's journal is unfinished).
        return { ok: false, error: explain(e), manual: [], probes: [], exitCode: exitCodeFor(e) };
      }
      const exitCode = exitCodeFor(r);
      // The fixes stay when the test fails or cannot run; a rolled-back run has no probes to show.
      if (r.status !== 'committed' || !r.verified) return { ok: false, error: explain(r.error), manual: r.manual, probes: [], exitCode };
      const failed = r.verified.filter((p) => !p.ok);
      return { ok: failed.length === 0, error: failed.length ? `${failed.length} probe(s) still fail: ${failed.map((p) => p.name).join('; ')}` : undefined, manual: [], probes: r.verified, exitCode };
    },
    extraFlags,
    preflight: async () => {
      const p = await runPreflight(o);
      failures = p.repairUsers;
      return p;
    },
    rollbackUnfinished: () => rollbackUnfinished(o.stateDir),
    users() {
      const admins = adminNames(host);
      return host.passwd
        .filter((p) => p.uid >= host.loginDefs.UID_MIN && p.uid <= host.loginDefs.UID_MAX && !admins.has(p.name) && p.name !== 'nobody')
        .map((p) => p.name);
    },
    validateUser(name) {
      try {
        checkUserName(name);
        checkUserAllowed(name, host);
        return undefined;
      } catch (e) {
        return message(e);
      }
    },
    homeOf: (user) => host.passwd.find((p) => p.name === user)?.home ?? `/home/${user}`,
    chain: (jail) => chrootChain(jail, new Map(host.passwd.map((p) => [p.uid, p.name]))),
    validateJail(jail, user) {
      try {
        // Another user's jail is fine when it is shared (the Options screen sets shared too).
        const managed = recordForJail(o.stateDir, jail, user);
        if (managed && !managed.answers.shared) return `jail ${jail} belongs to ${managed.user} and is not shared`;
        checkJailPath(jail, { isManagedJail: (p) => recordForJail(o.stateDir, p) !== undefined });
        return undefined;
      } catch (e) {
        return message(e);
      }
    },
    missingTools: () => TOOLS.filter((t) => RECIPES[t].binaries.some((b) => b !== SFTP_SUBSYSTEM && !existsSync(b))),
    arches(tools) {
      const found = toolArches(tools);
      const all = new Set<Arch>(Object.values(found).flatMap((x) => x ?? []));
      return { host: hostArch(), available: [...all] };
    },
    checkAnswers,
    async checkKeys(text, existing) {
      let source = text;
      if (text.startsWith('/') || text.startsWith('~')) {
        const p = text.replace(/^~(?=\/)/, process.env.HOME ?? '/root');
        if (!existsSync(p)) return { error: `${p} does not exist` };
        source = readFileSync(p, 'utf8');
      }
      const lines = splitKeys(source);
      if (lines.length === 0) return { error: 'no key found' };
      const infos = await Promise.all(lines.map((l) => checkAuthorizedKey(l).then((info) => ({ info }), (e: unknown) => ({ error: message(e) }))));
      const seen = new Set(existing.map(keyBlob));
      return {
        lines: lines.map((line, i): KeyCheck => {
          const r = infos[i]!;
          if ('error' in r) return { status: 'refused', line, error: r.error };
          const { type, bits, fingerprint, comment } = r.info;
          if (seen.has(keyBlob(line))) return { status: 'duplicate', line, fingerprint };
          seen.add(keyBlob(line));
          return { status: 'added', line, fingerprint, label: `${type} ${bits} ${fingerprint} ${comment}`.trim() };
        }),
      };
    },
    async plan(a) {
      return (await checkedPlan(a, o)).plan;
    },
    // Refused before any change (another run's journal is unfinished): an outcome all the same.
    execute: (a, plan, hooks) =>
      executeApply(a, { ...o, noTest: false }, plan, hooks).catch((e: unknown): ApplyOutcome => ({ ok: false, exitCode: exitCodeFor(e), error: explain(e), probes: [], manual: [] })),
    saveScript(plan) {
      const p = path.resolve(`jailwizard-${plan.user}.sh`);
      writeFileSync(p, planToShellScript(plan), { mode: 0o600 });
      return p;
    },
    saveAnswers(a, where) {
      const dir = where === 'cwd' ? process.cwd() : path.join(o.stateDir, 'answers');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const p = path.join(dir, where === 'cwd' ? `jailwizard-${a.user}.yaml` : `${a.user}.yaml`);
      writeFileSync(p, answersToYaml(a), { mode: 0o600 });
      return p;
    },
    async connectTarget() {
      return connectTarget(await sshdEffective(o.sshdConfig));
    },
  };
}
