// Repair offers only what is broken now: the wizard's preflight and its Repair list name a
// user only when that user's latest sshd session failed on the chroot and the user still
// exists; the log source gets ✓ only when a log was found; doctor says where it looked.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SSHD_LOG_PLACES, chrootFailureUsers, findSshdLog, type DoctorFacts } from '../src/workflows/doctor.ts';
import { formatReport } from '../src/workflows/doctor-fix.ts';
import { runPreflight } from '../src/wizard/preflight.ts';

const accepted = (user: string): string => `Accepted publickey for ${user} from 127.0.0.1 port 50000 ssh2: ED25519 SHA256:abc`;
const BAD_PARENT = 'fatal: bad ownership or modes for chroot directory component "/srv/"';

describe('chrootFailureUsers', () => {
  it("names a user whose latest session failed on the chroot, not one who logged in fine since", () => {
    const lines = [accepted('alice'), BAD_PARENT, accepted('bob'), 'pam_unix(sshd:session): session opened for user bob', BAD_PARENT, accepted('alice'), 'Received disconnect from 127.0.0.1 port 50000:11: disconnected by user'];
    expect(chrootFailureUsers(lines)).toEqual(['bob']);
  });

  it("does not pin one session's failure on the session logged just before it", () => {
    // carol's session has no failure; dave's, which starts right after, has one.
    expect(chrootFailureUsers([accepted('carol'), accepted('dave'), BAD_PARENT])).toEqual(['dave']);
  });

  it('leaves out users that no longer exist', () => {
    expect(chrootFailureUsers([accepted('gone'), BAD_PARENT, accepted('here'), 'safely_chroot: stat("/srv/x"): No such file or directory'], (u) => u === 'here')).toEqual(['here']);
  });
});

describe('the preflight', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jw-repair-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const o = (sshdLog: string) => ({ sshdConfig: '/etc/ssh/sshd_config', stateDir: path.join(dir, 'state'), sshdLog });

  it('offers repair only for existing users whose latest login failed on the chroot, and ticks the log it read', async () => {
    const log = path.join(dir, 'auth.log');
    // root: failed last. daemon: failed, then logged in fine. jwnosuchuser: failed, but is gone.
    writeFileSync(log, [accepted('root'), BAD_PARENT, accepted('daemon'), BAD_PARENT, accepted('daemon'), accepted('jwnosuchuser'), BAD_PARENT, ''].join('\n'));
    const p = await runPreflight(o(log));
    expect(p.repairUsers).toEqual(['root']);
    expect(p.findings.find((f) => f.label === 'sshd logs')).toEqual({ label: 'sshd logs', value: log, status: 'ok' });
    expect(p.findings.find((f) => f.label === 'sshd log')?.value).toBe(`chroot failures for root (${log})`);
  });

  it('without a log: no ✓, what was searched, and how to give one', async () => {
    const missing = path.join(dir, 'no-such.log');
    const p = await runPreflight(o(missing));
    const f = p.findings.find((x) => x.label === 'sshd logs')!;
    expect(f.status).toBe('warn');
    expect(f.value).toBe(`none found (searched ${missing})`);
    expect(f.fix).toContain('--sshd-log FILE');
    expect(p.repairUsers).toEqual([]);
  });
});

describe("doctor's report", () => {
  const facts = (o: Partial<DoctorFacts>): DoctorFacts => ({ user: { name: 'alice', uid: 1001, gid: 1001, home: '/home/alice', shell: '/bin/bash' }, chain: [], logsSearched: [], ...o }) as unknown as DoctorFacts;

  it('says which log it read when it found no failure there', () => {
    const text = formatReport(facts({ logSource: '/var/log/auth.log', logsSearched: ['/var/log/auth.log'] }), []);
    expect(text).toContain('No sshd failure for alice in /var/log/auth.log.');
  });

  it('says where it looked when it found no log at all', () => {
    const text = formatReport(facts({ logsSearched: SSHD_LOG_PLACES }), []);
    expect(text).toContain(`No sshd log found; searched: ${SSHD_LOG_PLACES.join(', ')}. Pass --sshd-log FILE`);
  });

  it("findSshdLog reports the places it looked in, and the one it read", async () => {
    const r = await findSshdLog();
    expect(r.searched.length).toBeGreaterThan(0);
    for (const s of r.searched) expect(SSHD_LOG_PLACES).toContain(s);
    if (r.log) expect(r.searched.at(-1)).toBe(r.log.source);
    else expect(r.searched).toContain('/var/log/secure');
  });
});
