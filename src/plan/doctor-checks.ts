// doctor's diagnosis: a table of pure checks over facts gathered up front (src/workflows/doctor.ts
// gathers them). Each check says when it applies and what it finds, with the fix as actions
// (preview, journal, undo) or what to do by hand. Nothing here reads the host.
import path from 'node:path';
import type { Action } from '../model/effects.ts';
import type { FileState } from '../host/facts.ts';
import type { HostEntry } from '../host/ld-resolve.ts';
import type { ChainLink } from '../host/ownership.ts';
import { findIncludeDir, includeLineFor, type EffectiveConfig } from '../host/sshd-config.ts';
import type { SshdReload } from '../host/sshd-service.ts';
import type { JailRecord } from '../host/state.ts';
import { LOCKED_WITHOUT_PASSWORD, type PasswdEntry } from '../host/accounts.ts';
import { octal as oct } from '../model/mode.ts';
import { copyIntoJail } from './apply/actions.ts';

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
  /** The text of sshdConfig, as read. */
  sshdConfigText: string;
  effective: EffectiveConfig;
  /** ChrootDirectory with %h, %u, ~ expanded (or jailkit's /./ home); undefined when none applies. */
  chroot?: string;
  /** jailkit's jk_chrootsh layout, and the shell its JAIL/etc/passwd names. */
  jailkit?: { shell: string };
  chain: ChainLink[];
  /** lstat (without hashing) of the chroot and of every existing component of its chain. */
  chainStates: Record<string, FileState>;
  forceCommand?: string;
  usePam: boolean;
  shadowField?: string;
  shadowLastChange?: string;
  shells: string[];
  /** /etc/shells as read ('' when absent). */
  shellsText: string;
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

/**
 * Host entries to copy into the jail for one reason (shell, libraries, sftp-server): each
 * file with its sha256, and what is at their paths inside the jail now.
 */
export interface HostFix {
  reason: 'shell' | 'libs' | 'sftp-server';
  entries: (HostEntry & { sha256?: string })[];
  have: Record<string, FileState>;
}

/** What the checks of one diagnosis share. */
export interface CheckContext {
  sha256: (s: string) => string;
  /** Shared by the copy fixes of one diagnosis: a dir or link two of them need is made once. */
  planned: Set<string>;
}

export interface DoctorCheck {
  name: string;
  appliesWhen: (f: DoctorFacts) => boolean;
  check: (f: DoctorFacts, x: CheckContext) => Finding[];
}

function chownAction(p: string, uid: number, gid: number, oldUid: number, oldGid: number): Action {
  return { effect: { kind: 'run', argv: ['chown', `${uid}:${gid}`, p] }, undo: [{ kind: 'run', argv: ['chown', `${oldUid}:${oldGid}`, p] }], pre: { kind: 'dir', path: p } };
}

function chmodAction(p: string, mode: number, old: number): Action {
  return { effect: { kind: 'run', argv: ['chmod', oct(mode), p] }, undo: [{ kind: 'run', argv: ['chmod', oct(old), p] }], pre: { kind: 'none' } };
}

const sftpOnly = (f: DoctorFacts): boolean => f.forceCommand?.startsWith('internal-sftp') ?? false;

/** The checks, in the order their findings are shown. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  {
    name: 'no-chroot',
    appliesWhen: (f) => !f.chroot,
    check: (f, x) => [
      {
        id: 'no-chroot',
        title: `sshd puts ${f.user.name} in no chroot at all`,
        evidence: [`sshd -T -C user=${f.user.name} shows: chrootdirectory ${f.effective.get('chrootdirectory')?.[0] ?? 'none'}`, ...(f.dropIn ? [`${f.dropIn} exists, but its Match block does not apply`] : [])],
        ...(f.dropIn && !findIncludeDir(f.sshdConfigText).dropInDir
          ? {
              fix: {
                title: `Include jailwizard's drop-ins from ${f.sshdConfig}`,
                actions: [includeAction(f, x.sha256)],
              },
            }
          : { manual: f.dropIn ? `check that ${path.dirname(f.dropIn)} is included by ${f.sshdConfig} and that no earlier Match block matches ${f.user.name}` : `jailwizard apply (or add a Match User ${f.user.name} block with ChrootDirectory)` }),
      },
    ],
  },
  {
    // The chain, with exactly one change per bad component.
    name: 'chain',
    appliesWhen: (f) => f.chain.some((l) => !l.ok),
    check: (f) => {
      const out: Finding[] = [];
      for (const l of f.chain) {
        if (l.ok) continue;
        const isRoot = l.path === f.chroot;
        if (isRoot && f.homeAsChroot) continue; // handled below, keeping every file
        const acl = f.acl.find((a) => a.path === l.path);
        const actions: Action[] = [];
        const st = l.exists ? f.chainStates[l.path] : undefined;
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
      return out;
    },
  },
  {
    name: 'home-as-chroot',
    appliesWhen: (f) => !!f.homeAsChroot && !!f.chroot && !!f.chainStates[f.chroot],
    check: (f) => {
      const u = f.user;
      const chroot = f.chroot!;
      const home = f.homeAsChroot!;
      const st = f.chainStates[chroot]!;
      const inner = freeHomeName(f);
      const dest = path.join(chroot, inner);
      const moving = home.entries.filter((e) => !home.keepInPlace.includes(e));
      // The chroot becomes root's first: from then on only root can add, remove or rename its
      // entries, so nothing made below can be swapped for a link (a renameat2 loop, issue #12).
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
      return [
        {
          id: 'home-as-chroot',
          title: `the chroot ${chroot} is ${u.name}'s own writable home, with ${home.entries.length} entries in it`,
          evidence: [`${chroot}: owner ${u.name} ${oct(st.mode)}; sshd needs it root-owned`, `entries: ${home.entries.slice(0, 8).join(', ')}${home.entries.length > 8 ? ', …' : ''}`],
          fix: {
            title: `Make ${chroot} root-owned and move ${u.name}'s ${moving.length} entries into ${dest} (where sshd starts the session)${home.keepInPlace.length ? `; ${home.keepInPlace.join(', ')} stays, sshd reads the keys there` : ''}`,
            actions,
          },
        },
      ];
    },
  },
  {
    name: 'shell-missing',
    appliesWhen: (f) => !!f.chroot && !sftpOnly(f) && !f.jailFiles.shellPresent,
    check: (f, x) => {
      const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'shell');
      const shell = f.jailkit?.shell ?? f.user.shell;
      return [
        {
          id: 'shell-missing',
          title: `${f.user.name}'s shell ${shell} is missing inside the jail`,
          evidence: [
            f.jailkit
              ? `${f.chroot}/etc/passwd: ${f.user.name} has shell ${shell}; jk_chrootsh runs it inside ${f.chroot}, where it does not exist`
              : `/etc/passwd: ${f.user.name} has shell ${shell}; sshd runs it inside ${f.chroot}, where it does not exist`,
          ],
          ...(hf ? { fix: { title: `Copy ${shell} and its libraries into the jail`, actions: copyActions(hf, f, x.planned) } } : { manual: `${shell} is not on this host either; change the shell (usermod -s)` }),
        },
      ];
    },
  },
  {
    name: 'libs-missing',
    appliesWhen: (f) => f.jailFiles.missingLibs.length > 0,
    check: (f, x) => {
      const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'libs');
      const n = f.jailFiles.missingLibs.length;
      return [
        {
          id: 'libs-missing',
          title: `${n} librar${n === 1 ? 'y is' : 'ies are'} missing inside the jail`,
          evidence: f.jailFiles.missingLibs.slice(0, 6).map((m) => `${m.name}, needed by ${m.neededBy}`),
          ...(hf ? { fix: { title: 'Copy the missing libraries from the host', actions: copyActions(hf, f, x.planned) } } : {}),
        },
      ];
    },
  },
  {
    name: 'sftp-server-missing',
    appliesWhen: (f) => !!f.chroot && !f.subsystemInJail && !!f.sftpSubsystem,
    check: (f, x) => {
      const hf = f.jailFiles.hostFixes.find((h) => h.reason === 'sftp-server');
      return [
        {
          id: 'sftp-server-missing',
          title: `sftp for ${f.user.name} runs ${f.sftpSubsystem}, which is missing inside the jail`,
          evidence: [`Subsystem sftp ${f.sftpSubsystem} is an external binary; a user with a shell runs it inside the chroot`],
          ...(hf ? { fix: { title: `Copy ${f.sftpSubsystem} into the jail`, actions: copyActions(hf, f, x.planned) } } : {}),
        },
      ];
    },
  },
  {
    name: 'locked',
    appliesWhen: (f) => !!f.shadowField?.startsWith('!') && !f.usePam,
    check: (f) => {
      const u = f.user;
      const field = f.shadowField!;
      return [
        {
          id: 'locked',
          title: `${u.name}'s account is locked with "${field.slice(0, 2)}" and sshd runs with UsePAM no, so even key logins are refused`,
          evidence: ['/etc/shadow password field starts with "!"', 'sshd -T: usepam no'],
          ...(LOCKED_WITHOUT_PASSWORD.has(field)
            ? {
                fix: {
                  title: `Set the password field to "*" (no password, keys work)`,
                  actions: [{ effect: { kind: 'run', argv: ['usermod', '--password', '*', u.name] }, undo: [{ kind: 'run', argv: ['usermod', '--password', field, u.name] }, ...(f.shadowLastChange ? [{ kind: 'run' as const, argv: ['chage', '--lastday', f.shadowLastChange, u.name] }] : [])], pre: { kind: 'none' } }],
                },
              }
            : { manual: `the account has a locked password; unlock it (usermod -U ${u.name}) if key logins should work` }),
        },
      ];
    },
  },
  {
    name: 'shell-not-listed',
    appliesWhen: (f) => !f.shells.includes(f.user.shell) && f.usePam && f.pamShells,
    check: (f, x) => {
      const u = f.user;
      const content = `${f.shellsText.replace(/\n?$/, '\n')}${u.shell}\n`;
      return [
        {
          id: 'shell-not-listed',
          title: `${u.shell} is not in /etc/shells`,
          evidence: [`/etc/passwd: ${u.name} has shell ${u.shell}`, "sshd's PAM stack has pam_shells, which refuses such users (an \"invalid password\" error)"],
          fix: {
            title: `Add ${u.shell} to /etc/shells`,
            actions: [{ effect: { kind: 'write', path: '/etc/shells', content, mode: 0o644, uid: 0, gid: 0 }, undo: [{ kind: 'restore', path: '/etc/shells' }], pre: { kind: 'sha256', path: '/etc/shells', sha256: x.sha256(f.shellsText) } }],
          },
        },
      ];
    },
  },
  {
    name: 'keys',
    appliesWhen: (f) => f.keys.some((k) => k.state),
    check: (f) => f.keys.flatMap((k) => keysFindings(f, k)),
  },
  {
    name: 'no-keys',
    appliesWhen: (f) => f.keys.every((k) => !k.state),
    check: (f) => [{ id: 'no-keys', title: `${f.user.name} has no authorized_keys file, so no key can log in`, evidence: f.keys.map((k) => `${k.path}: missing`), manual: `add the user's public key to ${f.keys[0]?.path ?? '/etc/ssh/authorized_keys/' + f.user.name}` }],
  },
  {
    name: 'forwarding',
    appliesWhen: (f) => !!f.chroot && f.effective.get('disableforwarding')?.[0] !== 'yes' && forwardingAllowed(f).length > 0,
    check: (f) => [
      {
        id: 'forwarding',
        title: `port forwarding is allowed for ${f.user.name}: a jailed user can still reach this host's network through sshd`,
        evidence: forwardingAllowed(f).map((k) => `sshd -T -C user=${f.user.name}: ${k} ${f.effective.get(k)?.[0]}`),
        manual: `add "DisableForwarding yes" to the Match block for ${f.user.name} (jailwizard apply does)`,
      },
    ],
  },
  {
    name: 'mount',
    appliesWhen: (f) => mountProblems(f).length > 0,
    check: (f) => {
      const m = f.mount!;
      const opts = mountProblems(f);
      return [
        {
          id: 'mount',
          title: `the jail's filesystem ${m.target} is mounted ${opts.join(',')}`,
          evidence: [`/proc/self/mountinfo: ${m.target} ${m.options.join(',')}`, opts.includes('noexec') ? 'noexec: the shell and tools cannot run' : 'nodev: /dev/null and friends do not work'],
          manual: `remount ${m.target} without ${opts.join(',')} (and change /etc/fstab), or put the jail on another filesystem`,
        },
      ];
    },
  },
];

/** What is wrong, with what jailwizard can fix: every check that applies, in table order. */
export function diagnose(f: DoctorFacts, sha256: (s: string) => string): Finding[] {
  const x: CheckContext = { sha256, planned: new Set() };
  return DOCTOR_CHECKS.filter((c) => c.appliesWhen(f)).flatMap((c) => c.check(f, x));
}

function forwardingAllowed(f: DoctorFacts): string[] {
  return ['allowtcpforwarding', 'allowstreamlocalforwarding'].filter((k) => (f.effective.get(k)?.[0] ?? 'no') !== 'no');
}

/** nodev breaks /dev/null; noexec breaks the shell and tools (internal-sftp runs nothing). */
function mountProblems(f: DoctorFacts): string[] {
  return f.mount ? f.mount.options.filter((o) => o === 'nodev' || (o === 'noexec' && !sftpOnly(f))) : [];
}

/** One keys file as sshd's StrictModes sees it. */
function keysFindings(f: DoctorFacts, k: DoctorFacts['keys'][number]): Finding[] {
  const u = f.user;
  const out: Finding[] = [];
  if (!k.state) return out;
  // sshd follows a link here; jailwizard changes nothing through one a user can plant.
  if (k.state.kind === 'symlink') {
    out.push({
      id: `keys-link:${k.path}`,
      title: `${k.path} is a symlink (to ${k.state.target}) in a dir ${u.name} can change`,
      evidence: ['sshd follows it and reads whatever it points to with the user\'s rights', 'jailwizard never follows a link a user can plant'],
      manual: `replace it with a regular file: rm ${k.path}, then put the keys there (owned by ${u.name} or root, mode 0600 or 0644)`,
    });
    return out;
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
    bad.push(`mode ${oct(k.state.mode)}`);
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
      bad.push(`${p.path} mode ${oct(p.state.mode)}`);
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
  return out;
}

function copyActions(hf: HostFix, f: DoctorFacts, planned: Set<string>): Action[] {
  planned.add(f.chroot!);
  return copyIntoJail(hf.entries, f.chroot!, hf.have, planned).actions;
}

function freeHomeName(f: DoctorFacts): string {
  const inner = f.user.home.replace(/^\/+/, '');
  const top = inner.split('/')[0]!;
  // sshd starts the session in the passwd home, as a path inside the jail.
  return f.homeAsChroot!.entries.includes(top) ? 'files' : inner;
}

function includeAction(f: DoctorFacts, sha256: (s: string) => string): Action {
  const line = includeLineFor(f.sshdConfig).line;
  return {
    effect: { kind: 'write', path: f.sshdConfig, content: `${line}\n${f.sshdConfigText}`, mode: 0o644, uid: 0, gid: 0, summary: `adds one line at the top: ${line}` },
    undo: [{ kind: 'restore', path: f.sshdConfig }],
    pre: { kind: 'sha256', path: f.sshdConfig, sha256: sha256(f.sshdConfigText) },
  };
}
