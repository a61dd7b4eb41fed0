// The roles of actions recorded before apply tagged each action with one (ACTION_ROLES in
// effects.ts): remove decides what to undo, and when, from the role instead of from the
// command's words, so an old record gets its roles worked out once, when it is read.
import path from 'node:path';
import type { Action, ActionRole, Effect } from './effects.ts';

/** Where jailwizard keeps every user's authorized keys, outside any jail. */
export const AUTHORIZED_KEYS_DIR = '/etc/ssh/authorized_keys';

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

function isMountUnitRun(e: Effect & { kind: 'run' }): boolean {
  return e.argv[0] === 'systemctl' && (e.argv[1] === 'daemon-reload' || (e.argv[2] ?? '').endsWith('.mount'));
}

/**
 * The role of an action recorded by a jailwizard that did not write roles, worked out once
 * when its record is read: the same reading of commands and paths its remove made.
 */
export function derivedRole(a: Action, rec: { jail: string; dropIn: string; sshdConfig: string }): ActionRole {
  const e = a.effect;
  switch (e.kind) {
    case 'sshd-validate':
    case 'sshd-expect':
    case 'sshd-reload':
      return 'sshd';
    case 'daemon-restart':
      return 'logging';
    case 'mount':
    case 'umount':
    case 'line-add':
    case 'line-remove':
      return 'mount';
    case 'run': {
      const cmd = e.argv[0] ?? '';
      if (cmd === 'chown' || cmd === 'chmod') return 'jail';
      if (isMountUnitRun(e)) return 'mount';
      if (cmd === 'useradd') return 'account';
      if (cmd === 'usermod' || cmd === 'gpasswd' || cmd === 'chage') return 'user';
      // A run with an undo is a package install; one without is the syslog daemon's check or restart.
      return a.undo.length > 0 ? 'package' : 'logging';
    }
  }
  const p = 'path' in e ? e.path : '';
  if (p === rec.sshdConfig || p === rec.dropIn || (e.kind === 'mkdir' && p === path.dirname(rec.dropIn))) return 'sshd';
  if (under(p, AUTHORIZED_KEYS_DIR)) return 'keys';
  if (a.undo.some((u) => u.kind === 'unlink' && u.path === path.join(rec.jail, 'dev/log'))) return 'logging';
  if (under(p, '/etc/systemd/system')) return 'mount';
  return e.kind === 'copy' || e.kind === 'symlink' ? 'copy' : 'jail';
}

/** A record as read, each action with its role (derived for a record written without them). */
export function withRoles<R extends { jail: string; dropIn: string; sshdConfig: string; actions: Action[] }>(rec: R): R {
  if (rec.actions.every((a) => a.role !== undefined)) return rec;
  return { ...rec, actions: rec.actions.map((a) => (a.role !== undefined ? a : { ...a, role: derivedRole(a, rec) })) };
}
