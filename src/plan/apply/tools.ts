// What each chosen tool needs: its binaries in the jail, the login shell, the Match block's
// settings and, for a user without bash, what the gate lets them run.
import path from 'node:path';
import { RECIPES, MATCH_SHELL_WITHOUT_BASH, MINIMAL_SHELL, baseMatch, chosenRecipes } from '../../../recipes/index.ts';
import type { HostFacts } from '../../host/facts.ts';
import { internalSftpCommand } from '../options.ts';
import { usesGate, wantsNoexec, type Answers, type Tool } from '../../model/types.ts';
import { gateCommand, type GateGrant } from '../gate.ts';
import { needsShell, toolBinaries, type BinaryGroup } from '../../../recipes/needs.ts';

export { needsShell, toolBinaries, type BinaryGroup };



/** The login shell in the host's passwd; sshd runs that same path inside the jail. */
export function loginShell(tools: readonly Tool[]): string {
  if (tools.includes('bash')) return '/bin/bash';
  if (needsShell(tools)) return MINIMAL_SHELL;
  return '/usr/sbin/nologin'; // sftp only: ForceCommand internal-sftp never runs a shell
}


/** The settings of the user's Match block; `gate` is the grant of a user without bash (gateGrant). */
export function matchSettings(a: Pick<Answers, 'tools' | 'jail' | 'readOnly' | 'umask' | 'startDir' | 'log'>, gate?: GateGrant): Record<string, string> {
  const m = { ...baseMatch(a.jail) };
  for (const r of chosenRecipes(a.tools)) Object.assign(m, r.match);
  if (!needsShell(a.tools)) Object.assign(m, RECIPES.sftp.matchWithoutShell, { ForceCommand: internalSftpCommand(a) });
  else if (!a.tools.includes('bash')) Object.assign(m, MATCH_SHELL_WITHOUT_BASH, gate ? { ForceCommand: gateCommand(gate) } : {});
  return m;
}

/**
 * What the gate lets a user without bash run, as jail paths: their tools, the sftp-server for
 * sftp and scp, git's server commands when git is one of their extra commands (never git
 * itself: `git -c alias.x=!sh x` runs anything), and their other extra commands.
 */
export function gateGrant(a: Pick<Answers, 'tools' | 'extraBinaries'>, facts: { sshd: Pick<HostFacts['sshd'], 'sftpSubsystem' | 'sftpServer'>; extraBinaries: HostFacts['extraBinaries'] }): GateGrant | undefined {
  if (!usesGate(a)) return undefined;
  const asked = new Set(a.extraBinaries ?? []);
  const extras = facts.extraBinaries.filter((x) => asked.has(x.asked) && x.path && x.elf);
  const git = extras.find((x) => path.basename(x.path!) === 'git');
  const sftp = a.tools.includes('sftp') || a.tools.includes('scp') ? (facts.sshd.sftpSubsystem ?? facts.sshd.sftpServer) : undefined;
  return {
    ...(a.tools.includes('rsync') ? { rsync: RECIPES.rsync.binaries[0]! } : {}),
    ...(a.tools.includes('scp') ? { scp: RECIPES.scp.binaries[0]! } : {}),
    ...(sftp ? { sftp, sftpSubsystem: facts.sshd.sftpSubsystem ?? 'internal-sftp' } : {}),
    ...(git ? { git: path.dirname(git.path!) } : {}),
    commands: extras.filter((x) => x !== git).map((x) => x.path!),
  };
}

/**
 * The dirs inside the jail the user can write, which are bind-mounted onto themselves
 * noexec,nosuid,nodev when the user (or, for the shared /tmp, any user of the jail) wants it.
 */
export function noexecDirs(a: Answers, home: string, everyone: readonly Answers[], extras: readonly string[]): string[] {
  const dirs = wantsNoexec(a) ? [a.writable ?? home, ...(a.groupDir ? [a.groupDir] : [])] : [];
  if (extras.includes('tmp') && everyone.some(wantsNoexec)) dirs.push('/tmp');
  return [...new Set(dirs)];
}
