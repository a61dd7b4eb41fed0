// doctor's keys check as sshd's StrictModes makes it (#12 critical 2): pure, on facts.
import { describe, expect, it } from 'vitest';
import { diagnose, type DoctorFacts } from '../src/workflows/doctor.ts';
import type { FileState } from '../src/host/facts.ts';
import { parseEffective } from '../src/host/sshd-config.ts';

const HOME = '/srv/h/alice';
const KEYS = `${HOME}/.ssh/authorized_keys`;
const dir = (mode: number, uid = 0): FileState => ({ kind: 'dir', mode, uid, gid: uid, size: 4096 });
const file = (mode: number, uid = 1001): FileState => ({ kind: 'file', mode, uid, gid: uid, size: 100 });

function facts(state: FileState, ssh: FileState = dir(0o700, 1001)): DoctorFacts {
  return {
    user: { name: 'alice', uid: 1001, gid: 1001, gecos: '', home: HOME, shell: '/usr/sbin/nologin' },
    sshdConfig: '/etc/ssh/sshd_config',
    sshdConfigText: '',
    effective: parseEffective('chrootdirectory %h\nforcecommand internal-sftp\ndisableforwarding yes\n'),
    chroot: HOME,
    chain: [],
    chainStates: {},
    forceCommand: 'internal-sftp',
    usePam: true,
    shells: ['/usr/sbin/nologin'],
    shellsText: '/usr/sbin/nologin\n',
    pamShells: false,
    jailFiles: { shellPresent: true, elfs: [], missingLibs: [], hostFixes: [] },
    subsystemInJail: true,
    keys: [{ path: KEYS, state, parents: [{ path: HOME, state: dir(0o755) }, { path: `${HOME}/.ssh`, state: ssh }] }],
    acl: [],
    pidFile: '/run/sshd.pid',
    listen: [],
    logsSearched: [],
  };
}

const sha = (s: string): string => s;
const fixOf = (f: DoctorFacts) => diagnose(f, sha).find((x) => x.id === `keys:${KEYS}`);

describe('doctor: the keys as StrictModes sees them', () => {
  it('fixes a group/world-writable keys file only to 0644 or 0600, through chmod of that file', () => {
    const w = fixOf(facts(file(0o666)));
    expect(w?.fix?.actions.map((a) => a.effect)).toEqual([{ kind: 'run', argv: ['chmod', '0644', KEYS] }]);
    expect(w?.fix?.actions[0]!.undo).toEqual([{ kind: 'run', argv: ['chmod', '0666', KEYS] }]);
    const g = fixOf(facts(file(0o664)));
    expect(g?.fix?.actions.map((a) => a.effect)).toEqual([{ kind: 'run', argv: ['chmod', '0644', KEYS] }]);
    // Nobody else could read it: it stays that way.
    const only = fixOf(facts(file(0o620)));
    expect(only?.fix?.actions.map((a) => a.effect)).toEqual([{ kind: 'run', argv: ['chmod', '0600', KEYS] }]);
    expect(fixOf(facts(file(0o640)))).toBeUndefined();
  });

  it('refuses a symlinked authorized_keys: a finding, never a fix', () => {
    const found = diagnose(facts({ kind: 'symlink', mode: 0o777, uid: 1001, gid: 1001, size: 11, target: '/etc/shadow' }), sha);
    const link = found.find((x) => x.id === `keys-link:${KEYS}`);
    expect(link?.title).toContain('is a symlink (to /etc/shadow)');
    expect(link?.fix).toBeUndefined();
    expect(found.flatMap((x) => x.fix?.actions ?? [])).toEqual([]);
  });

  it('names a FIFO and still fixes the dirs above it', () => {
    const found = diagnose(facts({ kind: 'other', mode: 0o644, uid: 1001, gid: 1001, size: 0 }, dir(0o775, 1001)), sha);
    expect(found.find((x) => x.id === `keys-type:${KEYS}`)?.title).toContain('is not a regular file');
    expect(found.find((x) => x.id === `keys:${KEYS}`)?.fix?.actions.map((a) => a.effect)).toEqual([{ kind: 'run', argv: ['chmod', '0755', `${HOME}/.ssh`] }]);
  });

  it('leaves a sticky dir and a dir of a third user to the admin', () => {
    const sticky = fixOf(facts(file(0o600), dir(0o1777)));
    expect(sticky?.fix).toBeUndefined();
    expect(sticky?.manual).toContain('every user can write');
    const other = fixOf(facts(file(0o600), dir(0o700, 2002)));
    expect(other?.manual).toContain('must belong to root or alice');
  });
});
