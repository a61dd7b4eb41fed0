// Stage "keys": the authorized keys, outside the jail and root-owned so the user cannot change them.
import path from 'node:path';
import { AUTHORIZED_KEYS_DIR } from '../../model/action-role.ts';
import { keyLine } from '../options.ts';
import { ensureDir, ensureFile, sharedDir } from './actions.ts';
import { ROOT, type ApplyContext } from './context.ts';

export { AUTHORIZED_KEYS_DIR } from '../../model/action-role.ts';

export function keysStage({ a, facts, opts, user, steps }: Pick<ApplyContext, 'a' | 'facts' | 'opts' | 'user' | 'steps'>): void {
  const keysPath = path.join(AUTHORIZED_KEYS_DIR, user.name);
  const keysText = a.authorizedKeys.map((k, i) => `${keyLine(k, a.allowFrom, i)}\n`).join('');
  const keyActions = [
    ...sharedDir(ensureDir(AUTHORIZED_KEYS_DIR, facts.keysDir, 0o755, 0, 0)),
    ...ensureFile(keysPath, facts.keysFile, { kind: 'write', path: keysPath, content: keysText, mode: 0o644, ...ROOT }, opts.sha256(keysText)),
  ];
  if (keyActions.length === 0) return;
  steps.push({
    id: 'keys',
    title: `Authorize ${a.authorizedKeys.length} key${a.authorizedKeys.length === 1 ? '' : 's'} in ${keysPath}`,
    why: [
      'sshd reads AuthorizedKeysFile before the chroot, as a host path; root-owned, the user cannot add keys or loosen them.',
      ...(a.authorizedKeys.length === 0 ? ['No keys yet: nobody can log in until you add one to this file.'] : []),
      ...(a.allowFrom ? [`Each key carries from="${a.allowFrom.join(',')}": even a stolen key works only from there.`] : []),
    ],
    actions: keyActions,
  });
}
