// What the wizard checks before asking anything: each finding with its fix.
import { existsSync, readFileSync } from 'node:fs';
import { readUnfinished } from '../engine/journal.ts';
import { listRecords } from '../host/state.ts';
import { findIncludeDir, sshdEffective, sshdVersion } from '../host/sshd-config.ts';
import { describeApply, describeMode, detectSshdMode, reloadProblem } from '../host/sshd-service.ts';
import { UserError } from '../model/errors.ts';
import { chrootFailureUsers, findSshdLog } from '../workflows/doctor.ts';
import { readPasswd } from '../host/accounts.ts';
import { gatherPlatformFacts, platformFindings } from '../host/platform.ts';
import { systemdRunning } from '../host/systemd.ts';
import { sshdPidFile } from '../host/pidfile.ts';

export interface Finding {
  label: string;
  value: string;
  status: 'ok' | 'warn' | 'bad';
  fix?: string;
}

export interface Preflight {
  findings: Finding[];
  /** A problem that stops the wizard (not root, no sshd, broken config). */
  blocked: boolean;
  unfinished?: { pid: number; steps: string[] };
  /** Users whose last login failed on the chroot, per sshd's log: offer the repair. */
  repairUsers: string[];
}

function distro(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** OpenSSH got ChrootDirectory and Match in 4.9. */
function supportsChroot(version: string): boolean {
  const m = /OpenSSH_(\d+)\.(\d+)/.exec(version);
  return !!m && (Number(m[1]) > 4 || (Number(m[1]) === 4 && Number(m[2]) >= 9));
}

export async function runPreflight(o: { sshdConfig: string; stateDir: string; sshdLog?: string }, env = process.env): Promise<Preflight> {
  const f: Finding[] = [];
  let blocked = false;
  const root = process.getuid?.() === 0;
  f.push(root ? { label: 'root', value: 'yes', status: 'ok' } : { label: 'root', value: 'no', status: 'bad', fix: 'run jailwizard with sudo' });
  blocked ||= !root;
  f.push({ label: 'distro', value: distro(), status: 'ok' });
  f.push(...platformFindings(gatherPlatformFacts()));

  const version = await sshdVersion();
  const chroot = supportsChroot(version);
  f.push({
    label: 'OpenSSH',
    value: `${version}${chroot ? ', ChrootDirectory and Match supported' : ''}`,
    status: chroot ? 'ok' : 'bad',
    fix: chroot ? undefined : version === 'unknown' ? 'install openssh-server (apt-get install openssh-server)' : 'upgrade OpenSSH to 4.9 or later',
  });
  blocked ||= !chroot;

  if (!existsSync(o.sshdConfig)) {
    f.push({ label: 'sshd config', value: `${o.sshdConfig} missing`, status: 'bad', fix: 'install openssh-server, or pass --sshd-config PATH' });
    blocked = true;
  } else {
    const inc = findIncludeDir(readFileSync(o.sshdConfig, 'utf8'));
    f.push(
      inc.dropInDir
        ? { label: 'sshd config', value: `${o.sshdConfig}, includes ${inc.dropInDir}/${inc.pattern}`, status: 'ok' }
        : { label: 'sshd config', value: `${o.sshdConfig}, no Include`, status: 'warn', fix: 'jailwizard adds one Include line for its own drop-ins (backed up, undone by remove)' },
    );
    try {
      const eff = await sshdEffective(o.sshdConfig);
      const mode = await detectSshdMode(o.sshdConfig, sshdPidFile(eff));
      const systemd = systemdRunning() ? '' : ' (no systemd)';
      const problem = reloadProblem(mode);
      f.push(
        problem
          ? { label: 'sshd', value: `${describeMode(mode)}${systemd}`, status: 'bad', fix: problem.hint }
          : mode.kind === 'stopped'
            ? { label: 'sshd', value: `${describeMode(mode)}${systemd}`, status: 'warn', fix: 'start sshd first, or the connection test at the end will fail' }
            : { label: 'sshd', value: `${describeMode(mode)}${systemd}`, status: 'ok' },
      );
      const apply = describeApply(mode);
      if (apply && !problem) f.push({ label: 'sshd changes', value: apply, status: 'ok' });
      blocked ||= problem !== undefined;
    } catch (e) {
      f.push({ label: 'sshd config', value: e instanceof UserError ? e.message : String(e), status: 'bad', fix: `fix it first: sshd -t -f ${o.sshdConfig}` });
      blocked = true;
    }
  }
  // Where sshd logs: ✓ only when a log was found (doctor reads it to say why a login fails).
  const { log, searched } = await findSshdLog(o.sshdLog).catch(() => ({ log: undefined, searched: [] as string[] }));
  f.push(
    log
      ? { label: 'sshd logs', value: log.source, status: 'ok' }
      : { label: 'sshd logs', value: `none found (searched ${searched.join(', ')})`, status: 'warn', fix: 'doctor needs sshd\'s log to say why a login fails: install rsyslog, or pass --sshd-log FILE' },
  );

  // A journal or record jailwizard cannot use stops the wizard with the same line the commands print.
  const unusable = (e: unknown): void => {
    if (!(e instanceof UserError)) throw e;
    f.push({ label: 'state', value: e.message, status: 'bad', fix: e.hint });
    blocked = true;
  };
  let u: ReturnType<typeof readUnfinished>;
  try {
    u = readUnfinished(o.stateDir);
  } catch (e) {
    unusable(e);
  }
  try {
    listRecords(o.stateDir);
  } catch (e) {
    unusable(e);
  }
  let unfinished: Preflight['unfinished'];
  if (u) {
    const undone = new Set(u.entries.flatMap((e) => (e.t === 'undone' ? [e.n] : [])));
    const steps = u.entries.flatMap((e) => (e.t === 'intent' && !undone.has(e.n) ? [e.title] : []));
    unfinished = { pid: u.pid, steps };
    f.push({
      label: 'journal',
      value: u.alive ? `another jailwizard (pid ${u.pid}) is running` : `an earlier run did not finish (${steps.length} step(s) to undo)`,
      status: 'bad',
      fix: u.alive ? 'wait for it to finish' : 'press r to roll it back now',
    });
    blocked = true;
  }
  if (env.SSH_CONNECTION && !env.TMUX && !env.STY) {
    f.push({ label: 'session', value: 'over SSH, outside tmux/screen', status: 'warn', fix: 'if the connection drops, jailwizard rolls back; run it inside tmux or screen to keep going' });
  }
  // Only what is broken now: users whose latest session failed on the chroot, and who still exist.
  const users = new Set(readPasswd().map((p) => p.name));
  const repairUsers = log ? chrootFailureUsers(log.lines, (u) => users.has(u)) : [];
  if (repairUsers.length > 0) {
    f.push({ label: 'sshd log', value: `chroot failures for ${repairUsers.join(', ')} (${log!.source})`, status: 'warn', fix: 'choose "Repair a jail" below' });
  }
  return { findings: f, blocked, unfinished, repairUsers };
}
