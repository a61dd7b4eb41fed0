// `jailwizard doctor`: why can't this user log in? It reads sshd's own log line, recomputes
// the effective ChrootDirectory as sshd does, checks it component by component, looks for
// the other classic causes, and turns what it can fix into a Plan (preview, journal, undo).
// It works on jails jailwizard did not make too: the ArchWiki %h layout, hand-made ones.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Action, Plan, Step } from '../model/effects.ts';
import { UserError } from '../model/errors.ts';
import { fileState, type FileState } from '../host/facts.ts';
import { sha256File } from '../host/hash.ts';
import { systemdRunning } from '../host/systemd.ts';
import { sshdPidFile } from '../host/pidfile.ts';
import { hostEntriesFor, resolveClosure } from '../host/ld-resolve.ts';
import { readElf } from '../host/elf.ts';
import { chrootChain } from '../host/ownership.ts';
import { readFileAt, rootOnly, rootOnlyChain, withParent } from '../host/safe-fs.ts';
import { mountOf } from '../host/mountinfo.ts';
import type { DoctorFacts, Finding, HostFix } from '../plan/doctor-checks.ts';
import { run } from '../host/run.ts';
import {
  authorizedKeysPaths,
  connectAddresses,
  expandUserTokens,
  findIncludeDir,
  includeLineFor,
  readPid,
  sshdEffective,
} from '../host/sshd-config.ts';
import { reloadCommand, reloadEffect } from '../host/sshd-service.ts';
import { readRecord } from '../host/state.ts';
import { parsePasswd, readPasswd, readShadow } from '../host/accounts.ts';
import type { Tool } from '../model/types.ts';
import { RECIPES, TOOLS, type ToolDetection } from '../../recipes/index.ts';

// The facts and the checks over them live in src/plan/doctor-checks.ts; diagnose is the table's.
export { diagnose, DOCTOR_CHECKS, type DoctorCheck, type DoctorFacts, type Finding } from '../plan/doctor-checks.ts';

// ---------------------------------------------------------------- the sshd log

const FAILURE = /fatal:|error:|bad ownership|safely_chroot|not allowed because|Authentication refused|chroot|Permission denied|Broken pipe/i;

/**
 * The account an sshd log line names, exactly as written: `for alice from`, `user alice`,
 * `User alice`, `user 'alice'`, `invalid user alice`. undefined when it names none (a
 * `fatal: bad ownership …` line names no user).
 */
export function userNamedIn(line: string): string | undefined {
  const m = /\b(?:[Uu]ser '?([^\s'(),[\]]+)|for ([^\s'(),[\]]+) from\b)/.exec(line);
  return m?.[1] ?? m?.[2];
}

/** The user's latest sshd failure: after their last "Accepted", or a line that names them. */
export function findFailure(lines: string[], user: string): string | undefined {
  const named = (l: string): boolean => userNamedIn(l) === user;
  // "Connection closed by invalid user" is only the consequence: keep looking for the cause.
  let consequence: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!;
    if (named(l) && /(Connection closed|Disconnected) (by|from) (invalid|authenticating) user/.test(l)) {
      consequence ??= l;
      continue;
    }
    if (named(l) && /not allowed|refused|invalid|locked|shell|Could not open/i.test(l)) return l;
    if (named(l) && /\bAccepted \S+ for /.test(l)) {
      // The session's fatal line follows its "Accepted" line closely; other sessions' lines
      // may come in between, so a line that names another user is theirs, never this one's.
      const after = lines.slice(i + 1, i + 12).find((x) => FAILURE.test(x) && !/Accepted/.test(x) && (userNamedIn(x) ?? user) === user);
      if (after) return after;
    }
  }
  return consequence;
}

const CHROOT_FAILURE = /bad ownership or modes for chroot|safely_chroot|chroot path component/;

/**
 * Users whose latest sshd session ended in a chroot failure, and who still exist: what
 * is broken now (a user who logged in fine since, or was removed, is not named). A
 * session's lines follow its "Accepted" line, up to the next one.
 */
export function chrootFailureUsers(lines: string[], exists: (user: string) => boolean = () => true): string[] {
  const latest = new Map<string, boolean>();
  lines.forEach((l, i) => {
    const m = /Accepted \S+ for (\S+) /.exec(l);
    if (!m) return;
    let failed = false;
    for (const x of lines.slice(i + 1, i + 12)) {
      if (/Accepted \S+ for /.test(x)) break;
      if (CHROOT_FAILURE.test(x)) failed = true;
    }
    latest.delete(m[1]!); // keeps the map in the order of each user's latest session
    latest.set(m[1]!, failed);
  });
  return [...latest].flatMap(([user, failed]) => (failed && exists(user) ? [user] : []));
}

/** The syslog identifiers sshd's lines carry in the journal. */
export const SSHD_IDENTIFIERS = ['sshd', 'sshd-session', 'sshd-auth'];

/** Where sshd's log is looked for, in order, when --sshd-log does not say. */
export const SSHD_LOG_PLACES = [`journalctl ${SSHD_IDENTIFIERS.map((t) => `-t ${t}`).join(' ')}`, '/var/log/auth.log', '/var/log/secure'];

/** The tail of sshd's log: --sshd-log, the journal, auth.log or secure; and what was searched. */
export async function findSshdLog(sshdLog?: string): Promise<{ log?: { source: string; lines: string[] }; searched: string[] }> {
  const tail = (text: string): string[] => text.split('\n').slice(-20000);
  if (sshdLog) return { log: existsSync(sshdLog) ? { source: sshdLog, lines: tail(readFileSync(sshdLog, 'utf8')) } : undefined, searched: [sshdLog] };
  const searched: string[] = [];
  if (systemdRunning()) {
    searched.push(SSHD_LOG_PLACES[0]!);
    // By syslog identifier, not by unit (-u ssh): the session child that logs the chroot
    // failure exits at once, often before journald can read its unit from /proc, and such
    // a line has no _SYSTEMD_UNIT (measured on a booted Debian 13). sshd-session and
    // sshd-auth are OpenSSH 9.8+'s per-connection programs.
    const r = await run(['journalctl', ...SSHD_IDENTIFIERS.flatMap((t) => ['-t', t]), '-o', 'short-iso', '--no-pager', '-n', '20000'], { timeoutMs: 20_000 });
    if (r.exitCode === 0 && r.stdout.trim()) return { log: { source: SSHD_LOG_PLACES[0]!, lines: tail(r.stdout) }, searched };
  }
  for (const f of SSHD_LOG_PLACES.slice(1)) {
    searched.push(f);
    if (existsSync(f)) return { log: { source: f, lines: tail(readFileSync(f, 'utf8')) }, searched };
  }
  return { searched };
}

/** The tail of sshd's log: --sshd-log, the journal, auth.log or secure. */
export async function sshdLogLines(sshdLog?: string): Promise<{ source: string; lines: string[] } | undefined> {
  return (await findSshdLog(sshdLog)).log;
}

async function readLog(user: string, sshdLog?: string): Promise<Pick<DoctorFacts, 'logLine' | 'logSource' | 'logsSearched'>> {
  if (sshdLog && !existsSync(sshdLog)) throw new UserError(`sshd log ${sshdLog} does not exist`, 'give the file sshd logs to (e.g. /var/log/auth.log)');
  const { log, searched } = await findSshdLog(sshdLog);
  const line = log && findFailure(log.lines, user);
  return { logLine: log && line ? { source: log.source, line } : undefined, logSource: log?.source, logsSearched: searched };
}

// ---------------------------------------------------------------- facts

/** The ACL mask of a dir whose group bits show write (the mask is what `ls -l` shows). */
async function aclMask(p: string): Promise<string | undefined> {
  const r = await run(['getfacl', '--absolute-names', '--omit-header', p], { timeoutMs: 5000 });
  return r.exitCode === 0 ? /^mask::(\S+)/m.exec(r.stdout)?.[1] : undefined;
}

/** Resolves `p` inside `root` as the jailed process would (symlinks relative to root). */
function existsInRoot(root: string, p: string, depth = 0): boolean {
  if (depth > 40) return false;
  const parts = p.split('/').filter(Boolean);
  let cur = '';
  for (let i = 0; i < parts.length; i++) {
    const next = `${cur}/${parts[i]}`;
    let st;
    try {
      st = lstatSync(path.join(root, next));
    } catch {
      return false;
    }
    if (st.isSymbolicLink()) {
      const t = readlinkSafe(path.join(root, next));
      const rest = parts.slice(i + 1).join('/');
      const target = t.startsWith('/') ? t : path.posix.join(cur || '/', t);
      return existsInRoot(root, path.posix.join(target, rest), depth + 1);
    }
    cur = next;
  }
  return true;
}

function readlinkSafe(p: string): string {
  try {
    return readlinkSync(p);
  } catch {
    return '';
  }
}

/**
 * Regular ELF files under the jail's bin/lib dirs (not the user's home). Only dirs root
 * alone can change are walked: what a user can swap or fill (a FIFO, a huge file) is never
 * opened.
 */
function jailElfs(jail: string, home: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(jail, rel);
    if (abs === path.join(jail, home)) return;
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (rel.split('/').length > 6 || !rootOnly(st)) return;
      for (const n of readdirSync(abs)) walk(path.posix.join(rel, n));
    } else if (st.isFile() && st.size > 64 && st.uid === 0) {
      try {
        if (readElf(abs)) out.push(`/${rel}`);
      } catch {
        // a truncated ELF is reported by check, not here
      }
    }
  };
  for (const top of ['bin', 'sbin', 'usr', 'lib', 'lib64']) walk(top);
  return out;
}

export async function gatherDoctorFacts(userName: string, o: { sshdConfig: string; stateDir: string; sshdLog?: string }): Promise<DoctorFacts> {
  const user = readPasswd().find((p) => p.name === userName);
  if (!user) throw new UserError(`user ${userName} does not exist`, 'check the name (getent passwd)');
  const eff = await sshdEffective(o.sshdConfig, { user: userName, addr: '127.0.0.1' });
  const rawChroot = eff.get('chrootdirectory')?.[0];
  // jailkit's layout: no sshd chroot, but a home like /srv/jail/./home/alice, where its
  // jk_chrootsh chroots to the part before /./ and runs the shell named in JAIL/etc/passwd.
  const jailkit = (!rawChroot || rawChroot === 'none') && user.home.includes('/./');
  const chroot = jailkit ? user.home.split('/./')[0] : rawChroot && rawChroot !== 'none' ? expandUserTokens(rawChroot, user) : undefined;
  const jailShell = jailkit && chroot ? parsePasswd(readRootOnly(path.join(chroot, 'etc/passwd'))).find((p) => p.name === userName)?.shell : undefined;
  const shell = jailShell ?? user.shell;
  const force = eff.get('forcecommand')?.[0];
  const forceCommand = force && force !== 'none' ? force : undefined;
  const sftpOnly = forceCommand?.startsWith('internal-sftp') ?? false;
  const names = new Map(readPasswd().map((p) => [p.uid, p.name]));
  const chain = chroot ? chrootChain(chroot, names) : [];

  const shadow = readShadow(userName);
  const shellsText = readSafe('/etc/shells');
  const shells = shellsText.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

  // Inside the jail: the shell, every ELF's libraries, and the external sftp-server.
  const sub = (eff.get('subsystem') ?? []).map((v) => v.split(/\s+/)).find((w) => w[0] === 'sftp');
  const sftpSubsystem = sub && sub[1] !== 'internal-sftp' ? sub[1] : undefined;
  const record = readRecord(o.stateDir, userName);
  const hostFixes: HostFix[] = [];
  let shellPresent = true;
  let elfs: string[] = [];
  let missingLibs: { name: string; neededBy: string }[] = [];
  let subsystemInJail = true;
  // Inside a chroot a user can still change, nothing is read: its chain is fixed first.
  if (chroot && existsSync(chroot) && rootOnlyChain(chroot)) {
    shellPresent = sftpOnly || existsInRoot(chroot, shell);
    if (!shellPresent && existsSync(shell)) hostFixes.push(hostFix('shell', resolveClosure([shell]).objects, chroot));
    elfs = jailElfs(chroot, user.home);
    missingLibs = resolveClosure(elfs, { root: chroot }).missing;
    if (missingLibs.length > 0) {
      const hostSide = elfs.filter((e) => existsSync(e));
      hostFixes.push(hostFix('libs', resolveClosure(hostSide).objects, chroot));
    }
    // A jail jailwizard made without sftp has no sftp-server on purpose.
    subsystemInJail = sftpOnly || !sftpSubsystem || (record !== undefined && !record.tools.includes('sftp') && !record.tools.includes('scp')) || existsInRoot(chroot, sftpSubsystem);
    if (!subsystemInJail && sftpSubsystem && existsSync(sftpSubsystem)) {
      hostFixes.push(hostFix('sftp-server', resolveClosure([sftpSubsystem]).objects, chroot));
    }
  }

  const keys = authorizedKeysPaths(eff, user).map((k) => keysFacts(k, user.home));

  // A jailwizard drop-in for this user that sshd does not apply.
  const mainText = readFileSync(o.sshdConfig, 'utf8');
  const inc = findIncludeDir(mainText);
  const dropInCandidates = [record?.dropIn, inc.dropInDir && path.join(inc.dropInDir, `jailwizard-${userName}.conf`), path.join(includeLineFor(o.sshdConfig).dir, `jailwizard-${userName}.conf`)];
  const dropIn = dropInCandidates.find((p): p is string => !!p && existsSync(p));

  const acl: { path: string; mask: string }[] = [];
  for (const l of chain) {
    if (l.exists && l.mode !== undefined && l.mode & 0o020) {
      const mask = await aclMask(l.path);
      if (mask) acl.push({ path: l.path, mask });
    }
  }

  // The %h layout gone wrong: the chroot is the user's own dir, with the user's files in it.
  let homeAsChroot: DoctorFacts['homeAsChroot'];
  if (chroot && existsSync(chroot)) {
    const st = statSync(chroot);
    // A jail jailwizard made that was chowned is not a home: it gets the plain chown fix.
    if (st.uid === user.uid && readdirSync(chroot).length > 0 && record?.jail !== chroot) {
      const keepInPlace = keys.map((k) => k.path).filter((k) => k.startsWith(`${chroot}/`)).map((k) => path.relative(chroot, k).split('/')[0]!);
      homeAsChroot = { entries: readdirSync(chroot).sort(), keepInPlace: [...new Set(keepInPlace)] };
    }
  }
  // What the checks look at of the chain: each existing component, and the chroot itself.
  const chainStates: Record<string, FileState> = {};
  for (const p of [...chain.filter((l) => l.exists).map((l) => l.path), ...(chroot ? [chroot] : [])]) {
    const st = fileState(p, false);
    if (st) chainStates[p] = st;
  }
  const globalEff = await sshdEffective(o.sshdConfig);
  const pidFile = sshdPidFile(globalEff);
  return {
    user,
    sshdConfig: o.sshdConfig,
    sshdConfigText: mainText,
    effective: eff,
    chroot,
    jailkit: jailkit ? { shell } : undefined,
    chain,
    chainStates,
    forceCommand,
    usePam: (eff.get('usepam')?.[0] ?? 'yes') === 'yes',
    shadowField: shadow?.field,
    shadowLastChange: shadow?.lastChange,
    shells,
    shellsText,
    pamShells: pamUsesShells(),
    ...(await readLog(userName, o.sshdLog)),
    record,
    jailFiles: { shellPresent, elfs, missingLibs, hostFixes },
    sftpSubsystem,
    subsystemInJail,
    keys,
    dropIn,
    mount: chroot && existsSync(chroot) ? mountOf(chroot) : undefined,
    acl,
    homeAsChroot,
    reload: await reloadCommand(o.sshdConfig, pidFile),
    pidFile,
    listen: connectAddresses(globalEff),
  };
}

/** Host entries to copy into the jail for one reason: each file hashed, and what is at their jail paths now. */
function hostFix(reason: HostFix['reason'], objects: Parameters<typeof hostEntriesFor>[0], chroot: string): HostFix {
  const entries = hostEntriesFor(objects).map((e) => (e.kind === 'file' ? { ...e, sha256: sha256File(e.path) } : e));
  const have: Record<string, FileState> = {};
  for (const e of entries) {
    const p = path.join(chroot, e.path);
    const s = fileState(p);
    if (s) have[p] = s;
  }
  return { reason, entries, have };
}

/** Whether /etc/pam.d/sshd (with its @include files) uses pam_shells. */
function pamUsesShells(file = '/etc/pam.d/sshd', depth = 0): boolean {
  if (depth > 5) return false;
  const text = readSafe(file);
  if (/^\s*[^#\s].*pam_shells\.so/m.test(text)) return true;
  return [...text.matchAll(/^@include\s+(\S+)/gm)].some((m) => pamUsesShells(path.join('/etc/pam.d', m[1]!), depth + 1));
}

/**
 * A keys file as sshd's StrictModes sees it: the file (a link is followed only where root
 * alone could have made it), then every dir above it up to the user's home, or to "/".
 */
function keysFacts(p: string, home: string): DoctorFacts['keys'][number] {
  let state = fileState(p, false);
  if (state?.kind === 'symlink' && rootOnlyChain(path.dirname(p))) {
    try {
      const st = statSync(p);
      state = { kind: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size };
    } catch {
      // a dangling link: reported as the link it is
    }
  }
  const parents: { path: string; state?: FileState }[] = [];
  const stop = path.normalize(home); // jailkit's homes hold a /./
  for (let d = path.dirname(path.normalize(p)); ; d = path.dirname(d)) {
    parents.unshift({ path: d, state: fileState(d, false) });
    if (d === '/' || d === stop) break;
  }
  return { path: p, state, parents };
}

/** A small config file inside a jail, read only from a dir root alone can change ('' otherwise). */
function readRootOnly(p: string): string {
  try {
    return withParent(p, (d, name) => (d.rootOnly ? readFileAt(d, name, 1 << 20).toString('utf8') : ''));
  } catch {
    return '';
  }
}

function readSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** The fixes as a Plan: one step per finding, then sshd validated and reloaded if touched. */
export function planFixes(f: DoctorFacts, findings: Finding[]): Plan {
  const steps: Step[] = findings.filter((x) => x.fix && x.fix.actions.length > 0).map((x) => ({ id: x.id, title: x.fix!.title, why: [x.title], actions: x.fix!.actions }));
  const touchesSshd = steps.some((s) => s.actions.some((a) => a.effect.kind === 'write' && a.effect.path === f.sshdConfig));
  if (touchesSshd) {
    const actions: Action[] = [{ effect: { kind: 'sshd-validate', config: f.sshdConfig }, undo: [], pre: { kind: 'none' } }];
    // A socket-activated sshd that is not running reads the new config when it starts.
    if (f.reload && (f.reload.socket || readPid(f.pidFile) !== undefined)) {
      const e = reloadEffect(f.reload, f.pidFile, f.listen);
      actions.push({ effect: e, undo: [e], pre: { kind: 'none' }, deferUndo: true });
    }
    steps.push({ id: 'sshd', title: 'Check sshd\'s config and reload it', why: [], actions });
  }
  return { command: 'apply', user: f.user.name, steps, notes: [] };
}

/** The tools to prove after a fix, for jails jailwizard did not make: each recipe says how it shows. */
export function inferTools(f: DoctorFacts): Tool[] {
  if (f.record) return f.record.tools;
  const recipes = TOOLS.map((t) => RECIPES[t]!);
  const forced = recipes.find((r) => r.detect?.forceCommand && f.forceCommand?.startsWith(r.detect.forceCommand));
  if (forced) return [forced.name];
  const shows = (d: ToolDetection): boolean =>
    (d.loginShell !== undefined && !!f.chroot && f.user.shell.endsWith(d.loginShell) && f.jailFiles.shellPresent) ||
    (d.inJail !== undefined && !!f.chroot && existsInRoot(f.chroot, d.inJail)) ||
    (d.sftpSubsystem === true && (!f.sftpSubsystem || f.subsystemInJail));
  return recipes.filter((r) => r.detect && shows(r.detect)).map((r) => r.name);
}

