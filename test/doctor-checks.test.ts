// doctor's checks as a table over facts: every fact is a fixture, nothing is read from this
// host (the paths below do not exist here, and /etc/shells and sshd_config come from the facts).
import { describe, expect, it } from 'vitest';
import { DOCTOR_CHECKS, diagnose, type DoctorFacts } from '../src/plan/doctor-checks.ts';
import type { FileState } from '../src/host/facts.ts';
import { parseEffective } from '../src/host/sshd-config.ts';

const JAIL = '/srv/nonexistent-jw-doctor-checks/alice';
const CONFIG = '/nonexistent-jw-doctor-checks/sshd_config';
const KEYS = '/etc/ssh/authorized_keys/alice';
const dir = (mode = 0o755, uid = 0): FileState => ({ kind: 'dir', mode, uid, gid: uid, size: 4096 });
const sha = (s: string): string => `sha(${s})`;
const link = (p: string, over: Partial<DoctorFacts['chain'][number]> = {}) => ({ path: p, exists: true, owner: 'root 0755', mode: 0o755, ok: true, ...over });

/** A healthy jailwizard-style jail for alice with bash. */
function healthy(over: Partial<DoctorFacts> = {}): DoctorFacts {
  return {
    user: { name: 'alice', uid: 1001, gid: 1001, gecos: '', home: '/home/alice', shell: '/bin/bash' },
    sshdConfig: CONFIG,
    sshdConfigText: 'UsePAM yes\n',
    effective: parseEffective(`chrootdirectory ${JAIL}\ndisableforwarding yes\nusepam yes\n`),
    chroot: JAIL,
    chain: ['/', '/srv', '/srv/nonexistent-jw-doctor-checks', JAIL].map((p) => link(p)),
    chainStates: Object.fromEntries(['/', '/srv', '/srv/nonexistent-jw-doctor-checks', JAIL].map((p) => [p, dir()])),
    usePam: true,
    shells: ['/bin/sh', '/bin/bash'],
    shellsText: '# /etc/shells\n/bin/sh\n/bin/bash\n',
    pamShells: true,
    logsSearched: [],
    jailFiles: { shellPresent: true, elfs: [], missingLibs: [], hostFixes: [] },
    subsystemInJail: true,
    keys: [{ path: KEYS, state: { kind: 'file', mode: 0o644, uid: 0, gid: 0, size: 100 }, parents: [{ path: '/etc/ssh/authorized_keys', state: dir() }] }],
    acl: [],
    pidFile: '/run/sshd.pid',
    listen: [],
    ...over,
  };
}

const applying = (f: DoctorFacts): string[] => DOCTOR_CHECKS.filter((c) => c.appliesWhen(f)).map((c) => c.name);

describe('doctor checks: a table of pure checks over facts', () => {
  it('names each check once, and finds nothing in a healthy jail', () => {
    const names = DOCTOR_CHECKS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    expect(applying(healthy())).toEqual(['keys']); // the keys file is looked at, and is fine
    expect(diagnose(healthy(), sha)).toEqual([]);
  });

  // Each fixture breaks one thing: exactly that check applies (besides keys) and finds it.
  const cases: [string, Partial<DoctorFacts>, string][] = [
    ['no-chroot', { chroot: undefined, chain: [], chainStates: {}, effective: parseEffective('usepam yes\n') }, 'no-chroot'],
    ['chain', { chain: [link('/'), link('/srv', { owner: 'alice 0775', mode: 0o775, ok: false, reason: 'owned by alice and group-writable' })], chainStates: { '/': dir(), '/srv': dir(0o775, 1001) } }, 'chain:/srv'],
    ['home-as-chroot', { homeAsChroot: { entries: ['notes.txt'], keepInPlace: [] }, chainStates: { [JAIL]: dir(0o755, 1001) } }, 'home-as-chroot'],
    ['shell-missing', { jailFiles: { shellPresent: false, elfs: [], missingLibs: [], hostFixes: [] } }, 'shell-missing'],
    ['libs-missing', { jailFiles: { shellPresent: true, elfs: [`${JAIL}/usr/bin/bash`], missingLibs: [{ name: 'libc.so.6', neededBy: '/usr/bin/bash' }], hostFixes: [] } }, 'libs-missing'],
    ['sftp-server-missing', { sftpSubsystem: '/usr/lib/openssh/sftp-server', subsystemInJail: false }, 'sftp-server-missing'],
    ['locked', { shadowField: '!', usePam: false }, 'locked'],
    ['shell-not-listed', { shells: ['/bin/sh'], shellsText: '/bin/sh' }, 'shell-not-listed'],
    ['no-keys', { keys: [{ path: KEYS, parents: [] }] }, 'no-keys'],
    ['forwarding', { effective: parseEffective(`chrootdirectory ${JAIL}\nallowtcpforwarding yes\n`) }, 'forwarding'],
    ['mount', { mount: { target: '/srv', options: ['rw', 'nodev'] } }, 'mount'],
  ];
  for (const [check, over, id] of cases) {
    it(`${check}: applies to its own fixture only, and finds ${id}`, () => {
      const f = healthy(over);
      expect(applying(f).filter((n) => n !== 'keys')).toEqual([check]);
      expect(diagnose(f, sha).map((x) => x.id)).toEqual([id]);
    });
  }

  it('builds fixes from the gathered texts, not from the files on this host', () => {
    const listed = diagnose(healthy({ shells: ['/bin/sh'], shellsText: '/bin/sh' }), sha)[0]!;
    expect(listed.fix?.actions).toEqual([
      { effect: { kind: 'write', path: '/etc/shells', content: '/bin/sh\n/bin/bash\n', mode: 0o644, uid: 0, gid: 0 }, undo: [{ kind: 'restore', path: '/etc/shells' }], pre: { kind: 'sha256', path: '/etc/shells', sha256: 'sha(/bin/sh)' } },
    ]);
    const dropIn = '/nonexistent-jw-doctor-checks/sshd_config.d/jailwizard-alice.conf';
    const include = diagnose(healthy({ chroot: undefined, chain: [], dropIn, sshdConfigText: 'Port 2222\n' }), sha)[0]!;
    expect(include.fix?.actions.map((a) => [a.effect, a.pre])).toEqual([
      [
        { kind: 'write', path: CONFIG, content: 'Include /nonexistent-jw-doctor-checks/sshd_config.d/jailwizard-*.conf\nPort 2222\n', mode: 0o644, uid: 0, gid: 0, summary: 'adds one line at the top: Include /nonexistent-jw-doctor-checks/sshd_config.d/jailwizard-*.conf' },
        { kind: 'sha256', path: CONFIG, sha256: 'sha(Port 2222\n)' },
      ],
    ]);
    // A config that includes the drop-in dir already: the Match block is shadowed, which only the admin can sort out.
    const shadowed = diagnose(healthy({ chroot: undefined, chain: [], dropIn, sshdConfigText: 'Include /nonexistent-jw-doctor-checks/sshd_config.d/*.conf\n' }), sha)[0]!;
    expect(shadowed.fix).toBeUndefined();
    expect(shadowed.manual).toContain('no earlier Match block matches alice');
  });

  it('fixes a bad chain component from its gathered state: one chown, one chmod', () => {
    const f = healthy({ chain: [link('/srv', { owner: 'alice 0775', mode: 0o775, ok: false, reason: 'owned by alice and group-writable' })], chainStates: { '/srv': dir(0o775, 1001) } });
    expect(diagnose(f, sha)[0]!.fix?.actions.map((a) => a.effect)).toEqual([
      { kind: 'run', argv: ['chown', '0:1001', '/srv'] },
      { kind: 'run', argv: ['chmod', '0755', '/srv'] },
    ]);
  });

  it('copies what is missing from the host entries gathered with their sha256, each dir once across fixes', () => {
    const bin = { path: '/usr/bin', kind: 'dir' as const, mode: 0o755, uid: 0, gid: 0, size: 4096 };
    const bash = { path: '/usr/bin/bash', kind: 'file' as const, mode: 0o755, uid: 0, gid: 0, size: 1000, sha256: 'aa' };
    const libc = { path: '/usr/lib/libc.so.6', kind: 'file' as const, mode: 0o755, uid: 0, gid: 0, size: 2000, sha256: 'bb' };
    const f = healthy({
      jailFiles: {
        shellPresent: false,
        elfs: [],
        missingLibs: [{ name: 'libc.so.6', neededBy: '/usr/bin/bash' }],
        hostFixes: [
          { reason: 'shell', entries: [bin, bash, libc], have: {} },
          // /usr/bin is in the jail already: nothing to make there.
          { reason: 'libs', entries: [bin, libc], have: { [`${JAIL}/usr/bin`]: dir() } },
        ],
      },
    });
    const found = diagnose(f, sha);
    expect(found.map((x) => x.id)).toEqual(['shell-missing', 'libs-missing']);
    const effects = (i: number) => found[i]!.fix!.actions.map((a) => a.effect.kind === 'copy' ? `copy ${a.effect.path} ${a.effect.sha256}` : `${a.effect.kind} ${'path' in a.effect ? a.effect.path : ''}`);
    expect(effects(0)).toEqual([`mkdir ${JAIL}/usr/bin`, `copy ${JAIL}/usr/bin/bash aa`, `copy ${JAIL}/usr/lib/libc.so.6 bb`]);
    // libc is planned by the shell's fix already.
    expect(effects(1)).toEqual([]);
  });
});
