// `jailwizard check`: an audit of managed jails that says what is wrong and why it matters,
// with fewer false alarms than jk_check: full sha256 against the manifest (not one random
// block), and no noise about the passwd and group files jailwizard wrote itself.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { DEVICE_NODES } from '../../recipes/index.ts';
import { readElf } from '../host/elf.ts';
import { devNumbers, fileState, resolveExtra } from '../host/facts.ts';
import { resolveClosure } from '../host/ld-resolve.ts';
import { chrootChain } from '../host/ownership.ts';
import { AUTHORIZED_KEYS_DIR, matchSettings } from '../plan/index.ts';
import { allowedSample, deniedSample } from '../plan/options.ts';
import { mountPoints } from '../host/mountinfo.ts';
import { rootOnly, withParent } from '../host/safe-fs.ts';
import { sha256At } from '../host/hash.ts';
import { octal } from '../model/mode.ts';
import { lastUpdate, sharersOf } from '../host/state.ts';
import { sshdEffective } from '../host/sshd-config.ts';
import type { JailRecord } from '../host/state.ts';
import { readPasswd } from '../host/accounts.ts';

export interface CheckFinding {
  id: string;
  title: string;
  evidence: string[];
  /** What to run about it. */
  hint?: string;
}

export interface CheckReport {
  user: string;
  jail: string;
  ok: boolean;
  checkedAt: string;
  findings: CheckFinding[];
}

/**
 * sha256 of a copied file, read only in a dir root alone can change; undefined when it is
 * missing; 'not read' in a dir a user can change (that dir is a finding of its own).
 */
function sha256Of(p: string): string | undefined {
  try {
    return withParent(p, (d, name) => (d.rootOnly ? sha256At(d, name) : 'not read'));
  } catch {
    return undefined;
  }
}

/** So that check's output stays readable whatever a user did to a jail. */
export const MAX_FINDINGS = 50;

export async function checkJail(rec: JailRecord, now: string, stateDir?: string): Promise<CheckReport> {
  const f: CheckFinding[] = [];
  const account = readPasswd().find((p) => p.name === rec.user);
  const home = path.join(rec.jail, account?.home ?? `/home/${rec.user}`);
  const tmp = path.join(rec.jail, 'tmp');
  const a = rec.answers;
  // Users' own dirs (this user's, and the other users' of a shared jail) and bind-mounted host data are not audited as jail files.
  const passwd = readPasswd();
  const skip = new Set([
    home,
    ...(a.writable ? [path.join(rec.jail, a.writable)] : []),
    ...(a.binds ?? []).map((b) => path.join(rec.jail, b.target)),
    ...(a.shared && stateDir ? sharersOf(stateDir, rec).flatMap((r) => [path.join(rec.jail, passwd.find((p) => p.name === r.user)?.home ?? `/home/${r.user}`), ...(r.answers.writable ? [path.join(rec.jail, r.answers.writable)] : [])]) : []),
  ]);
  const groupDir = a.groupDir ? path.join(rec.jail, a.groupDir) : undefined;
  const allowedFrom = new Set(a.allowSetuid ? (a.extraBinaries ?? []).map((x) => resolveExtra(x).real) : []);
  const setidAllowed = new Set(rec.manifest.filter((m) => allowedFrom.has(m.from)).map((m) => m.path));

  // Owners by name, as doctor shows them: `owner alice 0755`, not a bare uid.
  for (const l of chrootChain(rec.jail, new Map(passwd.map((p) => [p.uid, p.name])))) {
    if (!l.ok) f.push({ id: `chain:${l.path}`, title: `sshd refuses the jail: ${l.path} is ${l.reason ?? 'missing'}`, evidence: [`${l.path}: owner ${l.owner}`], hint: `jailwizard doctor ${rec.user} --fix` });
  }

  // Walk the jail: writable dirs, setuid/setgid files, device nodes, ELF files.
  const elfs: string[] = [];
  const allowedDevs = new Map(DEVICE_NODES.map((d) => [path.join(rec.jail, 'dev', d.name), d]));
  const walk = (p: string): void => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      if (skip.has(p)) return; // the user's own files are theirs; host data is the host's
      if (p === groupDir) {
        if (mode !== 0o2770 || st.uid !== 0) f.push({ id: `groupdir:${p}`, title: `group dir ${p} is mode ${octal(mode)} owner uid ${st.uid}, expected 2770 root`, evidence: [], hint: `chown root ${p} && chmod 2770 ${p}` });
        return; // its files belong to the group's members
      }
      if (mode & 0o022 && p !== tmp) f.push({ id: `writable:${p}`, title: `${p} is ${mode & 0o002 ? 'world' : 'group'}-writable`, evidence: [`mode ${octal(mode)}, owner uid ${st.uid}`], hint: `chmod go-w ${p}` });
      if (st.uid !== 0) f.push({ id: `owner:${p}`, title: `${p} is owned by uid ${st.uid}, not root`, evidence: [`mode ${octal(mode)}`], hint: `chown root ${p}` });
      // What a user can write (a /tmp, a dir chmod'ed open) is theirs: its own mode is
      // checked above, and nothing in it is listed, read or judged.
      if (rootOnly(st)) for (const n of readdirSync(p)) walk(path.join(p, n));
      return;
    }
    if (st.isFile()) {
      if (mode & 0o6000 && !setidAllowed.has(p)) f.push({ id: `setid:${p}`, title: `${p} is ${mode & 0o4000 ? 'setuid' : 'setgid'}`, evidence: [`mode ${octal(mode)}`], hint: `chmod ug-s ${p}, or remove it` });
      if (mode & 0o022) f.push({ id: `writable:${p}`, title: `${p} is group/world-writable`, evidence: [`mode ${octal(mode)}`], hint: `chmod go-w ${p}` });
      if (st.size > 64 && mode & 0o111) {
        try {
          if (readElf(p)) elfs.push(`/${path.relative(rec.jail, p)}`);
        } catch {
          // truncated: the manifest comparison below reports it
        }
      }
      return;
    }
    if (st.isCharacterDevice() || st.isBlockDevice()) {
      const want = allowedDevs.get(p);
      const have = devNumbers(st.rdev);
      if (!want || st.isBlockDevice()) f.push({ id: `device:${p}`, title: `unexpected device node ${p} (${st.isBlockDevice() ? 'block' : 'char'} ${have.major}:${have.minor})`, evidence: ['a jail needs only null, zero, tty, random and urandom'], hint: `rm ${p}` });
      else if (want.major !== have.major || want.minor !== have.minor || mode !== 0o666) {
        f.push({ id: `device:${p}`, title: `${p} is ${have.major}:${have.minor} mode ${octal(mode)}, expected ${want.major}:${want.minor} 0666`, evidence: [], hint: `rm ${p} && jailwizard apply` });
      }
    }
  };
  walk(rec.jail);

  // Every copied file, by full sha256, against what was copied and against the host now.
  for (const m of rec.manifest) {
    const inJail = sha256Of(m.path);
    if (inJail === undefined) f.push({ id: `missing:${m.path}`, title: `${m.path} is missing from the jail`, evidence: [`copied from ${m.from}`], hint: `jailwizard apply --config … (or update ${rec.user})` });
    else if (inJail === 'not read') continue;
    else if (inJail !== m.sha256) f.push({ id: `changed:${m.path}`, title: `${m.path} was changed inside the jail`, evidence: [`sha256 ${inJail.slice(0, 12)}…, copied as ${m.sha256.slice(0, 12)}…`], hint: `jailwizard update ${rec.user}` });
    else if (existsSync(m.from) && sha256Of(m.from) !== m.sha256) f.push({ id: `stale:${m.path}`, title: `${m.from} changed on the host since it was copied`, evidence: ['a package upgrade, most likely'], hint: `jailwizard update ${rec.user}` });
  }

  const missing = resolveClosure(elfs, { root: rec.jail }).missing;
  for (const m of missing) f.push({ id: `lib:${m.name}:${m.neededBy}`, title: `${m.neededBy} needs ${m.name}, which is not in the jail`, evidence: [], hint: `jailwizard update ${rec.user}` });

  // The keys: root-owned, outside the jail, not writable by others.
  const keys = path.join(AUTHORIZED_KEYS_DIR, rec.user);
  const ks = fileState(keys, false);
  if (!ks) f.push({ id: 'keys', title: `${keys} is missing: nobody can log in as ${rec.user}`, evidence: [], hint: `add the user's public key to ${keys}` });
  else if (ks.uid !== 0 || ks.mode & 0o022) f.push({ id: 'keys', title: `${keys} is owned by uid ${ks.uid} with mode ${octal(ks.mode)}`, evidence: ['it must be root-owned and not group/world-writable'], hint: `chown root:root ${keys} && chmod 0644 ${keys}` });

  // sshd still applies the jail's Match settings to this user.
  if (account) {
    try {
      const eff = await sshdEffective(rec.sshdConfig, { user: rec.user, addr: a.allowFrom ? allowedSample(a.allowFrom) : '127.0.0.1' });
      const want = matchSettings({ ...rec.answers, tools: rec.tools, jail: rec.jail }, rec.gate);
      for (const [k, v] of Object.entries(want)) {
        const got = eff.get(k.toLowerCase())?.[0];
        if (got !== v) f.push({ id: `sshd:${k}`, title: `sshd's effective ${k} for ${rec.user} is ${got ?? 'unset'}, not ${v}`, evidence: [`sshd -T -C user=${rec.user}`, `drop-in ${rec.dropIn}${existsSync(rec.dropIn) ? '' : ' is missing'}`], hint: `jailwizard doctor ${rec.user}` });
      }
    } catch (e) {
      f.push({ id: 'sshd', title: `sshd -T failed: ${(e as Error).message}`, evidence: [] });
    }
  } else f.push({ id: 'user', title: `user ${rec.user} no longer exists`, evidence: [], hint: `jailwizard remove ${rec.user}` });
  if (account && a.allowFrom) {
    const denied = deniedSample(a.allowFrom);
    try {
      const eff = denied ? await sshdEffective(rec.sshdConfig, { user: rec.user, addr: denied }) : undefined;
      if (eff && !(eff.get('denyusers') ?? []).some((v) => v.split(/\s+/).includes(rec.user))) {
        f.push({ id: 'sshd:allowFrom', title: `sshd lets ${rec.user} in from ${denied}, outside allowFrom`, evidence: [`drop-in ${rec.dropIn}`], hint: `jailwizard apply --config … to write the drop-in again` });
      }
    } catch {
      // reported above
    }
  }

  // Bind mounts are mounted, and logging still has its socket.
  const mounted = mountPoints();
  for (const b of a.binds ?? []) {
    const where = path.join(rec.jail, b.target);
    if (!mounted.has(where)) f.push({ id: `bind:${where}`, title: `${b.source} is not mounted at ${where}`, evidence: ['the jail shows an empty dir instead of the host data'], hint: `mount ${where} (it is in /etc/fstab or a mount unit), or jailwizard apply again` });
  }
  if (a.log) {
    const sock = fileState(path.join(rec.jail, 'dev/log'), false);
    if (sock?.kind !== 'other') f.push({ id: 'log', title: `${rec.jail}/dev/log is missing: internal-sftp's log lines are lost`, evidence: [], hint: 'restart the syslog daemon (it makes the socket), or jailwizard apply again' });
  }

  // The last update failed (the apt hook's, most often): the jail may still run old binaries.
  const upd = stateDir ? lastUpdate(stateDir, rec.user) : undefined;
  if (upd?.result === 'failed') {
    f.push({
      id: 'update',
      title: `the last update${upd.via === 'apt-hook' ? ' (run by the apt hook)' : ''} failed at ${upd.at.slice(0, 16).replace('T', ' ')}: ${upd.reason ?? 'no reason recorded'}`,
      evidence: upd.via === 'apt-hook' ? ['journalctl -t jailwizard (or the syslog) has the run'] : [],
      hint: `jailwizard update ${rec.user}`,
    });
  }

  const shown = f.length > MAX_FINDINGS ? [...f.slice(0, MAX_FINDINGS - 1), { id: 'more', title: `… and ${f.length - MAX_FINDINGS + 1} more findings`, evidence: ['fix the ones above and check again'] }] : f;
  return { user: rec.user, jail: rec.jail, ok: f.length === 0, checkedAt: now, findings: shown };
}
