// `jailwizard doctor`: why can't this user log in? It reads sshd's own log line, recomputes
// the effective ChrootDirectory as sshd does, checks it component by component, looks for
// the other classic causes, and turns what it can fix into a Plan (preview, journal, undo).
// It works on jails jailwizard did not make too: the ArchWiki %h layout, hand-made ones.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Action, Plan, Step } from './effects.ts';
import { UserError } from './errors.ts';
import { fileState, type FileState } from './host-facts.ts';
import { sha256File } from './host/hash.ts';
import { octal } from './host/mode.ts';
import { systemdRunning } from './host/systemd.ts';
import { sshdPidFile } from './host/pidfile.ts';
import { hostEntriesFor, resolveClosure } from './ld-resolve.ts';
import { readElf } from './elf.ts';
import { chrootChain, type ChainLink } from './ownership.ts';
import { readFileAt, rootOnly, rootOnlyChain, withParent } from './safe-fs.ts';
import { mountOf } from './host/mountinfo.ts';
import { copyIntoJail } from './plan.ts';
import { run } from './run.ts';
import {
  authorizedKeysPaths,
  connectAddresses,
  expandUserTokens,
  findIncludeDir,
  includeLineFor,
  readPid,
  sshdEffective,
  type EffectiveConfig,
} from './sshd-config.ts';
import { reloadCommand, reloadEffect, type SshdReload } from './sshd-service.ts';
import { readRecord, type JailRecord } from './state.ts';
import { LOCKED_WITHOUT_PASSWORD, parsePasswd, readPasswd, readShadow, type PasswdEntry } from './host/accounts.ts';
import type { Tool } from './types.ts';
import { RECIPES, TOOLS, type ToolDetection } from '../recipes/index.ts';

export interface Finding {
  id: string;
  title: string;
  /** What was seen: quoted log lines, paths with owner and mode. */
  evidence: string[];
  /** The fix, as actions with undo; absent when only the admin can decide. */
  fix?: { title: string; actions: Action[] };
  /** What to do by hand when there is no automatic fix. */
  manual?: string;
}

export interface DoctorFacts {
  user: PasswdEntry;
  sshdConfig: string;
  effective: EffectiveConfig;
  /** ChrootDirectory with %h, %u, ~ expanded (or jailkit's /./ home); undefined when none applies. */
  chroot?: string;
  /** jailkit's jk_chrootsh layout, and the shell its JAIL/etc/passwd names. */
  jailkit?: { shell: string };
  chain: ChainLink[];
  forceCommand?: string;
  usePam: boolean;
  shadowField?: string;
  shadowLastChange?: string;
  shells: string[];
  /** sshd's PAM stack uses pam_shells, which refuses shells missing from /etc/shells. */
  pamShells: boolean;
  logLine?: { source: string; line: string };
  /** The sshd log that was read, if one was found. */
  logSource?: string;
  /** Every place looked in for it, in order. */
  logsSearched: string[];
  record?: JailRecord;
  /** Jail contents, for the shell, the libraries and the sftp-server. */
  jailFiles: { shellPresent: boolean; elfs: string[]; missingLibs: { name: string; neededBy: string }[]; hostFixes: HostFix[] };
  sftpSubsystem?: string;
  subsystemInJail: boolean;
  keys: { path: string; state?: FileState; parents: { path: string; state?: FileState }[] }[];
  dropIn?: string;
  mount?: { target: string; options: string[] };
  acl: { path: string; mask: string }[];
  /** The chroot dir itself is the user's, holding the user's files (ArchWiki %h gone wrong). */
  homeAsChroot?: { entries: string[]; keepInPlace: string[] };
  reload?: SshdReload;
  pidFile: string;
  listen: { host: string; port: number }[];
}

/** Host entries to copy into the jail for one reason (shell, libraries, sftp-server). */
interface HostFix {
  reason: 'shell' | 'libs' | 'sftp-server';
  entries: ReturnType<typeof hostEntriesFor>;
}

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
  const shells = existsSync('/etc/shells') ? readFileSync('/etc/shells', 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) : [];

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
    if (!shellPresent && existsSync(shell)) hostFixes.push({ reason: 'shell', entries: hostEntriesFor(resolveClosure([shell]).objects) });
    elfs = jailElfs(chroot, user.home);
    missingLibs = resolveClosure(elfs, { root: chroot }).missing;
    if (missingLibs.length > 0) {
      const hostSide = elfs.filter((e) => existsSync(e));
      hostFixes.push({ reason: 'libs', entries: hostEntriesFor(resolveClosure(hostSide).objects) });
    }
    // A jail jailwizard made without sftp has no sftp-server on purpose.
    subsystemInJail = sftpOnly || !sftpSubsystem || (record !== undefined && !record.tools.includes('sftp') && !record.tools.includes('scp')) || existsInRoot(chroot, sftpSubsystem);
    if (!subsystemInJail && sftpSubsystem && existsSync(sftpSubsystem)) {
      hostFixes.push({ reason: 'sftp-server', entries: hostEntriesFor(resolveClosure([sftpSubsystem]).objects) });
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
  const globalEff = await sshdEffective(o.sshdConfig);
  const pidFile = sshdPidFile(globalEff);
  return {
    user,
    sshdConfig: o.sshdConfig,
    effective: eff,
    chroot,
    jailkit: jailkit ? { shell } : undefined,
    chain,
    forceCommand,
    usePam: (eff.get('usepam')?.[0] ?? 'yes') === 'yes',
    shadowField: shadow?.field,
    shadowLastChange: shadow?.lastChange,
    shells,
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

// ---------------------------------------------------------------- diagnosis (pure)


function chownAction(p: string, uid: number, gid: number, oldUid: number, oldGid: number): Action {
  return { effect: { kind: 'run', argv: ['chown', `${uid}:${gid}`, p] }, undo: [{ kind: 'run', argv: ['chown', `${oldUid}:${oldGid}`, p] }], pre: { kind: 'dir', path: p } };
}

function chmodAction(p: string, mode: number, old: number): Action {
  return { effect: { kind: 'run', argv: ['chmod', octal(mode), p] }, undo: [{ kind: 'run', argv: ['chmod', octal(old), p] }], pre: { kind: 'none' } };
}


export function diagnose(f: DoctorFacts, sha256: (s: string) => string): Finding[] {
  const out: Finding[] = [];
  const planned = new Set<string>();
  const u = f.user;

  if (!f.chroot) {
    out.push({
      id: 'no-chroot',
      title: `sshd puts ${u.name} in no chroot at all`,
      evidence: [`sshd -T -C user=${u.name} shows: chrootdirectory ${f.effective.get('chrootdirectory')?.[0] ?? 'none'}`, ...(f.dropIn ? [`${f.dropIn} exists, but its Match block does not apply`] : [])],
      ...(f.dropIn && !findIncludeDir(readSafe(f.sshdConfig)).dropInDir
        ? {
            fix: {
              title: `Include jailwizard's drop-ins from ${f.sshdConfig}`,
              actions: [includeAction(f, sha256)],
            },
          }
        : { manual: f.dropIn ? `check that ${path.dirname(f.dropIn)} is included by ${f.sshdConfig} and that no earlier Match block matches ${u.name}` : `jailwizard apply (or add a Match User ${u.name} block with ChrootDirectory)` }),
    });
  }

  // The chain, with exactly one change per bad component.
  for (const l of f.chain) {
    if (l.ok) continue;
    const isRoot = l.path === f.chroot;
    if (isRoot && f.homeAsChroot) continue; // handled below, keeping every file
    const acl = f.acl.find((a) => a.path === l.path);
    const actions: Action[] = [];
    const st = l.exists ? fileState(l.path, false) : undefined;
    if (!l.exists) {
      out.push({ id: `chain:${l.path}`, title: `chroot component ${l.path} does not exist`, evidence: [`safely_chroot: stat("${l.path}"): No such file or directory`], manual: `create it root-owned, mode 0755, or run jailwizard apply` });
      continue;
    }
    if (st && st.uid !== 0) actions.push(chownAction(l.path, 0, st.gid, st.uid, st.gid));
    if (acl && /w/.test(acl.mask)) {
      actions.push({ effect: { kind: 'run', argv: ['setfacl', '-m', 'm::r-x', l.path] }, undo: [{ kind: 'run', argv: ['setfacl', '-m', `m::${acl.mask}`, l.path] }], pre: { kind: 'none' } });
    } else if (st && st.mode & 0o022) actions.push(chmodAction(l.path, st.mode & ~0o022, st.mode));
    out.push({
      id: `chain:${l.path}`,
      title: `chroot ${isRoot ? 'directory' : 'component'} ${l.path} is ${l.reason}${acl ? ` (an ACL mask ${acl.mask} shows as group-write)` : ''}`,
      evidence: [`${l.path}: owner ${l.owner}${l.symlinkTo ? `, symlink to ${l.symlinkTo}` : ''}`, `sshd: bad ownership or modes for chroot directory${isRoot ? '' : ' component'} "${l.path}${isRoot ? '' : '/'}"`],
      fix: l.reason === 'not a directory' ? undefined : { title: `Fix ${l.path}: ${actions.map((a) => (a.effect.kind === 'run' ? a.effect.argv.join(' ') : '')).join('; ')}`, actions },
      manual: l.reason === 'not a directory' ? `${l.path} must be a directory` : undefined,
    });
  }

  if (f.homeAsChroot && f.chroot) {
    const chroot = f.chroot;
    const st = fileState(chroot, false)!;
    const inner = freeHomeName(f);
    const dest = path.join(chroot, inner);
    const moving = f.homeAsChroot.entries.filter((e) => !f.homeAsChroot!.keepInPlace.includes(e));
    // The chroot becomes root's first: from then on only root can add, remove or rename its
    // entries, so nothing made below can be swapped for a link (a renameat2 loop).
    const actions: Action[] = [chownAction(chroot, 0, 0, st.uid, st.gid)];
    if (st.mode !== 0o755) actions.push(chmodAction(chroot, 0o755, st.mode));
    // The new home and its parents are made root's; the home becomes the user's once their
    // files are in it.
    const parts = inner.split('/');
    parts.forEach((_, i) => {
      const p = path.join(chroot, ...parts.slice(0, i + 1));
      actions.push({ effect: { kind: 'mkdir', path: p, mode: 0o755, uid: 0, gid: 0 }, undo: [{ kind: 'rmdir', path: p }], pre: { kind: 'absent', path: p } });
    });
    for (const e of moving) {
      actions.push({ effect: { kind: 'move', from: path.join(chroot, e), to: path.join(dest, e) }, undo: [{ kind: 'move', from: path.join(dest, e), to: path.join(chroot, e) }], pre: { kind: 'none' } });
    }
    actions.push(chownAction(dest, u.uid, u.gid, 0, 0), chmodAction(dest, 0o750, 0o755));
    out.push({
      id: 'home-as-chroot',
      title: `the chroot ${chroot} is ${u.name}'s own writable home, with ${f.homeAsChroot.entries.length} entries in it`,
      evidence: [`${chroot}: owner ${u.name} ${octal(st.mode)}; sshd needs it root-owned`, `entries: ${f.homeAsChroot.entries.slice(0, 8).join(', ')}${f.homeAsChroot.entries.length > 8 ? ', …' : ''}`],
      fix: {
        title: `Make ${chroot} root-owned and move ${u.name}'s ${moving.length} entries into ${dest} (where sshd starts the session)${f.homeAsChroot.keepInPlace.length ? `; ${f.homeAsChroot.keepInPlace.join(', ')} stays, sshd reads the keys there` : ''}`,
        actions,
      },
    });
  }

  if (f.chroot && !f.forceCommand?.startsWith('internal-sftp') && !f.jailFiles.shellPresent) {
    const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'shell');
    const shell = f.jailkit?.shell ?? u.shell;
    out.push({
      id: 'shell-missing',
      title: `${u.name}'s shell ${shell} is missing inside the jail`,
      evidence: [
        f.jailkit
          ? `${f.chroot}/etc/passwd: ${u.name} has shell ${shell}; jk_chrootsh runs it inside ${f.chroot}, where it does not exist`
          : `/etc/passwd: ${u.name} has shell ${shell}; sshd runs it inside ${f.chroot}, where it does not exist`,
      ],
      ...(hf ? { fix: { title: `Copy ${shell} and its libraries into the jail`, actions: copyActions(hf, f, planned) } } : { manual: `${shell} is not on this host either; change the shell (usermod -s)` }),
    });
  }
  if (f.jailFiles.missingLibs.length > 0) {
    const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'libs');
    out.push({
      id: 'libs-missing',
      title: `${f.jailFiles.missingLibs.length} librar${f.jailFiles.missingLibs.length === 1 ? 'y is' : 'ies are'} missing inside the jail`,
      evidence: f.jailFiles.missingLibs.slice(0, 6).map((m) => `${m.name}, needed by ${m.neededBy}`),
      ...(hf ? { fix: { title: 'Copy the missing libraries from the host', actions: copyActions(hf, f, planned) } } : {}),
    });
  }
  if (f.chroot && !f.subsystemInJail && f.sftpSubsystem) {
    const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'sftp-server');
    out.push({
      id: 'sftp-server-missing',
      title: `sftp for ${u.name} runs ${f.sftpSubsystem}, which is missing inside the jail`,
      evidence: [`Subsystem sftp ${f.sftpSubsystem} is an external binary; a user with a shell runs it inside the chroot`],
      ...(hf ? { fix: { title: `Copy ${f.sftpSubsystem} into the jail`, actions: copyActions(hf, f, planned) } } : {}),
    });
  }
  if (f.shadowField?.startsWith('!') && !f.usePam) {
    const lockOnly = LOCKED_WITHOUT_PASSWORD.has(f.shadowField);
    out.push({
      id: 'locked',
      title: `${u.name}'s account is locked with "${f.shadowField.slice(0, 2)}" and sshd runs with UsePAM no, so even key logins are refused`,
      evidence: ['/etc/shadow password field starts with "!"', 'sshd -T: usepam no'],
      ...(lockOnly
        ? {
            fix: {
              title: `Set the password field to "*" (no password, keys work)`,
              actions: [{ effect: { kind: 'run', argv: ['usermod', '--password', '*', u.name] }, undo: [{ kind: 'run', argv: ['usermod', '--password', f.shadowField, u.name] }, ...(f.shadowLastChange ? [{ kind: 'run' as const, argv: ['chage', '--lastday', f.shadowLastChange, u.name] }] : [])], pre: { kind: 'none' } }],
            },
          }
        : { manual: `the account has a locked password; unlock it (usermod -U ${u.name}) if key logins should work` }),
    });
  }
  if (!f.shells.includes(u.shell) && f.usePam && f.pamShells) {
    const content = `${readSafe('/etc/shells').replace(/\n?$/, '\n')}${u.shell}\n`;
    out.push({
      id: 'shell-not-listed',
      title: `${u.shell} is not in /etc/shells`,
      evidence: [`/etc/passwd: ${u.name} has shell ${u.shell}`, "sshd's PAM stack has pam_shells, which refuses such users (an \"invalid password\" error)"],
      fix: {
        title: `Add ${u.shell} to /etc/shells`,
        actions: [{ effect: { kind: 'write', path: '/etc/shells', content, mode: 0o644, uid: 0, gid: 0 }, undo: [{ kind: 'restore', path: '/etc/shells' }], pre: { kind: 'sha256', path: '/etc/shells', sha256: sha256(readSafe('/etc/shells')) } }],
      },
    });
  }
  for (const k of f.keys) {
    if (!k.state) continue;
    // sshd follows a link here; jailwizard changes nothing through one a user can plant.
    if (k.state.kind === 'symlink') {
      out.push({
        id: `keys-link:${k.path}`,
        title: `${k.path} is a symlink (to ${k.state.target}) in a dir ${u.name} can change`,
        evidence: ['sshd follows it and reads whatever it points to with the user\'s rights', 'jailwizard never follows a link a user can plant'],
        manual: `replace it with a regular file: rm ${k.path}, then put the keys there (owned by ${u.name} or root, mode 0600 or 0644)`,
      });
      continue;
    }
    const regular = k.state.kind === 'file';
    if (!regular) {
      out.push({ id: `keys-type:${k.path}`, title: `sshd ignores ${k.path}: it is not a regular file`, evidence: [`sshd: ${k.path} is not a regular file`], manual: `replace it with a regular file (mode 0600 or 0644)` });
    }
    // StrictModes: the file and each dir up to the home owned by root or the user, none
    // group- or world-writable. The fix goes only as far as sshd asks: 0600 or 0644.
    const bad: string[] = [];
    const actions: Action[] = [];
    // Of something that is not a regular file, only the dirs above are fixed.
    if (regular && k.state.uid !== 0 && k.state.uid !== u.uid) {
      bad.push(`owned by uid ${k.state.uid}`);
      actions.push({ effect: { kind: 'run', argv: ['chown', '0:0', k.path] }, undo: [{ kind: 'run', argv: ['chown', `${k.state.uid}:${k.state.gid}`, k.path] }], pre: { kind: 'none' } });
    }
    if (regular && k.state.mode & 0o022) {
      bad.push(`mode ${octal(k.state.mode)}`);
      actions.push(chmodAction(k.path, k.state.mode & 0o044 ? 0o644 : 0o600, k.state.mode));
    }
    const manual: string[] = [];
    for (const p of k.parents) {
      if (!p.state) continue;
      if (p.state.kind !== 'dir') {
        bad.push(`${p.path} is not a directory`);
        manual.push(`${p.path} must be a directory`);
        continue;
      }
      if (p.state.uid !== 0 && p.state.uid !== u.uid) {
        bad.push(`${p.path} owned by uid ${p.state.uid}`);
        manual.push(`${p.path} must belong to root or ${u.name}`);
      }
      if (p.state.mode & 0o022) {
        bad.push(`${p.path} mode ${octal(p.state.mode)}`);
        // A sticky dir (/tmp) is everyone's: keys do not belong there, and it stays as it is.
        if (p.state.mode & 0o1000) manual.push(`keep the keys out of ${p.path}, which every user can write`);
        else actions.push(chmodAction(p.path, p.state.mode & ~0o022, p.state.mode));
      }
    }
    if (bad.length > 0) {
      out.push({
        id: `keys:${k.path}`,
        title: `sshd ignores ${k.path}: ${bad.join(', ')}`,
        evidence: ['sshd: Authentication refused: bad ownership or modes (StrictModes)'],
        ...(actions.length > 0 ? { fix: { title: `Fix ${k.path}`, actions } } : {}),
        ...(manual.length > 0 ? { manual: manual.join('; ') } : {}),
      });
    }
    if (f.chroot && k.path.startsWith(`${f.chroot}/`) && k.state.uid === u.uid) {
      out.push({ id: `keys-writable:${k.path}`, title: `${u.name} can change their own keys: ${k.path} is inside the jail and theirs`, evidence: [`AuthorizedKeysFile resolves to ${k.path}`], manual: 'use a root-owned AuthorizedKeysFile /etc/ssh/authorized_keys/%u (jailwizard apply does)' });
    }
  }
  if (f.keys.every((k) => !k.state)) {
    out.push({ id: 'no-keys', title: `${u.name} has no authorized_keys file, so no key can log in`, evidence: f.keys.map((k) => `${k.path}: missing`), manual: `add the user's public key to ${f.keys[0]?.path ?? '/etc/ssh/authorized_keys/' + u.name}` });
  }
  const forwarding = ['allowtcpforwarding', 'allowstreamlocalforwarding'].filter((k) => (f.effective.get(k)?.[0] ?? 'no') !== 'no');
  if (f.chroot && f.effective.get('disableforwarding')?.[0] !== 'yes' && forwarding.length > 0) {
    out.push({
      id: 'forwarding',
      title: `port forwarding is allowed for ${u.name}: a jailed user can still reach this host's network through sshd`,
      evidence: forwarding.map((k) => `sshd -T -C user=${u.name}: ${k} ${f.effective.get(k)?.[0]}`),
      manual: `add "DisableForwarding yes" to the Match block for ${u.name} (jailwizard apply does)`,
    });
  }
  if (f.mount) {
    const opts = f.mount.options.filter((o) => o === 'nodev' || (o === 'noexec' && !f.forceCommand?.startsWith('internal-sftp')));
    if (opts.length > 0) {
      out.push({
        id: 'mount',
        title: `the jail's filesystem ${f.mount.target} is mounted ${opts.join(',')}`,
        evidence: [`/proc/self/mountinfo: ${f.mount.target} ${f.mount.options.join(',')}`, opts.includes('noexec') ? 'noexec: the shell and tools cannot run' : 'nodev: /dev/null and friends do not work'],
        manual: `remount ${f.mount.target} without ${opts.join(',')} (and change /etc/fstab), or put the jail on another filesystem`,
      });
    }
  }
  return out;
}

/** `planned` is shared by the copy fixes of one diagnosis: a dir or link two of them need is made once. */
function copyActions(hf: HostFix, f: DoctorFacts, planned: Set<string>): Action[] {
  const have: Record<string, FileState> = {};
  for (const e of hf.entries) {
    const p = path.join(f.chroot!, e.path);
    const s = fileState(p);
    if (s) have[p] = s;
  }
  planned.add(f.chroot!);
  return copyIntoJail(hf.entries.map((e) => (e.kind === 'file' ? { ...e, sha256: sha256File(e.path) } : e)), f.chroot!, have, planned).actions;
}

function freeHomeName(f: DoctorFacts): string {
  const inner = f.user.home.replace(/^\/+/, '');
  const top = inner.split('/')[0]!;
  // sshd starts the session in the passwd home, as a path inside the jail.
  return f.homeAsChroot!.entries.includes(top) ? 'files' : inner;
}

function includeAction(f: DoctorFacts, sha256: (s: string) => string): Action {
  const text = readSafe(f.sshdConfig);
  const line = includeLineFor(f.sshdConfig).line;
  return {
    effect: { kind: 'write', path: f.sshdConfig, content: `${line}\n${text}`, mode: 0o644, uid: 0, gid: 0, summary: `adds one line at the top: ${line}` },
    undo: [{ kind: 'restore', path: f.sshdConfig }],
    pre: { kind: 'sha256', path: f.sshdConfig, sha256: sha256(text) },
  };
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

