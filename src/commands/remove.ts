// `jailwizard remove USER`: undo everything apply made for the user, journaled like apply.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError, exitCodeFor, explain } from '../model/errors.ts';
import { assertNoUnfinished, lexists } from '../engine/executor.ts';
import { runPlan } from '../engine/run-plan.ts';
import { planRemove, type Heir, type RemoveFacts } from '../plan/remove.ts';
import { connectAddresses, sshdEffective } from '../host/sshd-config.ts';
import { detectSshdMode, reloadFor, reloadProblem } from '../host/sshd-service.ts';
import { forgetUpdate, listRecords, quarantineDir, readRecord, readRetiredUids, recordPath, sharersOf, type JailRecord } from '../host/state.ts';
import { listAt, lstatAt, withDir } from '../host/safe-fs.ts';
import { sha256, sha256File } from '../host/hash.ts';
import { sshdPidFile } from '../host/pidfile.ts';
import { jailNames } from '../plan/index.ts';
import { APT_HOOK } from './update-jail.ts';
import { checkPath } from './check.ts';
import { readGroups, readPasswd, type PasswdEntry } from '../host/accounts.ts';
import { printEvent, say, warn } from './output.ts';
import { askOnTerminal, type CommonOptions } from './common.ts';

export interface RemoveOptions extends CommonOptions {
  yes: boolean;
  keepUser: boolean;
  keepHome: boolean;
}

async function removeFacts(rec: JailRecord, stateDir: string): Promise<RemoveFacts> {
  const passwd = readPasswd();
  const user = passwd.find((p) => p.name === rec.user);
  const records = listRecords(stateDir).filter((r) => r.user !== rec.user);
  const withSha = (r: JailRecord): Heir => ({ record: r, sha256: sha256File(recordPath(stateDir, r.user)) });
  const sharers = rec.answers.shared ? sharersOf(stateDir, rec) : [];
  const jailHome = path.join(rec.jail, user?.home ?? `/home/${rec.user}`);
  const named = rec.actions.flatMap((a) => ('path' in a.effect ? [a.effect.path] : []));
  const mainText = readFileSync(rec.sshdConfig, 'utf8');
  const eff = await sshdEffective(rec.sshdConfig);
  const pidFile = sshdPidFile(eff);
  const dropInDir = path.dirname(rec.dropIn);
  const checkFile = checkPath(stateDir, rec.user);
  const mode = await detectSshdMode(rec.sshdConfig, pidFile);
  return {
    stateDir,
    existing: new Set(named.filter(lexists)),
    homeHasFiles: existsSync(jailHome) && readdirSync(jailHome).length > 0,
    jailHome,
    dirEntries: outsideDirEntries(rec),
    otherDropIns: existsSync(dropInDir)
      ? readdirSync(dropInDir).filter((n) => n.startsWith('jailwizard-') && path.join(dropInDir, n) !== rec.dropIn)
      : [],
    mainText,
    mainSha256: sha256(mainText),
    userExists: user !== undefined,
    aptHook: existsSync(APT_HOOK) ? APT_HOOK : undefined,
    otherJails: records.length,
    reload: reloadFor(mode),
    reloadProblem: reloadProblem(mode),
    pidFile,
    listen: connectAddresses(eff),
    ownedDirs: rec.answers.writable ? [dirFacts(path.join(rec.jail, rec.answers.writable))] : [],
    sharedDirs: sharedDirsOf([rec, ...sharers]).map((d) => sharedDirFacts(path.join(rec.jail, d), rec.uid)),
    removedDir: sameFilesystem(stateDir, path.dirname(rec.jail)) ? undefined : quarantineDir(rec.jail),
    retiredUids: retiredUidsFacts(stateDir),
    sharers: sharers.map(withSha),
    others: records.map(withSha),
    ...(existsSync(checkFile) ? { checkFile } : {}),
    jailNames: sharers.length > 0 ? namesWithout(sharers, passwd) : undefined,
  };
}

/** What is in each dir outside the jail that the record made (a parent, the keys dir, the drop-in dir). */
function outsideDirEntries(rec: JailRecord): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const a of rec.actions) {
    const e = a.effect;
    if (e.kind !== 'mkdir' || e.path === rec.jail || e.path.startsWith(`${rec.jail}/`)) continue;
    try {
      out[e.path] = readdirSync(e.path);
    } catch {
      // gone already, or not a dir any more: the plan does not touch it
    }
  }
  return out;
}

/** The dirs every user of the jail may write: each user's group dir, and /tmp. */
function sharedDirsOf(records: JailRecord[]): string[] {
  const dirs = records.flatMap((r) => [...(r.answers.groupDir ? [r.answers.groupDir] : []), ...(r.answers.extras?.includes('tmp') ? ['/tmp'] : [])]);
  return [...new Set(dirs)];
}

/** A shared dir's top level, by lstat of each name (nothing is opened but the dir): whether it holds anything, and how much of it is this user's. */
function sharedDirFacts(p: string, uid: number): RemoveFacts['sharedDirs'][number] {
  let entries = 0;
  let userEntries = 0;
  try {
    withDir(p, (d) => {
      for (const name of listAt(d)) {
        entries++;
        if (lstatAt(d, name)?.uid === uid) userEntries++;
      }
    });
  } catch {
    // absent, or behind a link jailwizard does not follow: nothing to move
  }
  return { path: p, hasFiles: entries > 0, userEntries };
}

function sameFilesystem(a: string, b: string): boolean {
  try {
    return statSync(a).dev === statSync(b).dev;
  } catch {
    return false;
  }
}

function retiredUidsFacts(stateDir: string): RemoveFacts['retiredUids'] {
  const { list, text } = readRetiredUids(stateDir);
  return { list, sha256: text === undefined ? undefined : sha256(text) };
}

function dirFacts(p: string): { path: string; hasFiles: boolean } {
  return { path: p, hasFiles: existsSync(p) && readdirSync(p).length > 0 };
}

/** The shared jail's etc/passwd and etc/group as they must read once this user is gone. */
function namesWithout(sharers: JailRecord[], passwd: PasswdEntry[]): NonNullable<RemoveFacts['jailNames']> {
  const [first, ...rest] = sharers as [JailRecord, ...JailRecord[]];
  const account = passwd.find((p) => p.name === first.user);
  const planned = { ...(account ?? { name: first.user, uid: first.uid, gid: first.gid, gecos: 'jailwizard jail', home: `/home/${first.user}`, shell: '/usr/sbin/nologin' }), exists: true };
  const { passwdText, groupText } = jailNames(first.answers, planned, {
    passwd,
    groups: readGroups(),
    sharers: rest.map((r) => ({ record: r, account: passwd.find((p) => p.name === r.user) })),
  });
  const cur = (rel: string): string | undefined => {
    const p = path.join(first.jail, rel);
    return existsSync(p) ? sha256File(p) : undefined;
  };
  return { passwd: { text: passwdText, sha256: cur('etc/passwd') }, group: { text: groupText, sha256: cur('etc/group') } };
}

export async function removeCommand(user: string, o: RemoveOptions): Promise<number> {
  assertNoUnfinished(o.stateDir);
  const rec = readRecord(o.stateDir, user);
  if (!rec) throw new UserError(`jailwizard manages no jail for ${user}`, 'see `jailwizard list`; jailwizard only removes what it made');
  const plan = planRemove(rec, await removeFacts(rec, o.stateDir), { keepUser: o.keepUser, keepHome: o.keepHome, now: new Date().toISOString() });
  const outcome = await runPlan(plan, {
    stateDir: o.stateDir,
    command: 'remove',
    user,
    listener: printEvent,
    confirm: askOnTerminal((p) => `Remove ${user}'s jail (${p.steps.length} steps)?`, o.yes),
    onFailure: (e) => warn(`jailwizard: ${explain(e)}`),
  });
  if (outcome.status === 'committed') {
    forgetUpdate(o.stateDir, user);
    say(`Removed ${user}'s jail ${rec.jail}.`);
    for (const k of outcome.kept) say(`${k} stays: something else was put in it after the preview, and it is not jailwizard's to remove.`);
    for (const n of plan.notes) say(n);
  }
  return exitCodeFor(outcome);
}
