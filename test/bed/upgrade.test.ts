// A major upgrade as an admin does it: a booted Debian 12 with jails and the apt hook, sources
// switched to trixie, `apt-get dist-upgrade` (the packages were fetched when the root was built:
// the container has no network). The loader's layout changed between the releases
// (/usr/lib64/ld-linux-x86-64.so.2 is an absolute link on 12, a relative one on 13), so the
// hook's `update --all` must adapt the jail, journaled; its outcome must reach the system log,
// `list` and `check`; afterwards the users log in, `check` is clean and the probes pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedSkipReason, removePackedTarball } from '../helpers/nspawn.ts';
import { answersIn, jwIn, out, sftpIn, sshIn, startBed, step, stopBed, type Bed } from './bed.ts';

const skip = bedSkipReason();
afterAll(removePackedTarball);
const LOADER = '/usr/lib64/ld-linux-x86-64.so.2';

describe.skipIf(skip)('Debian 12 → 13 with jails and the apt hook', () => {
  let bed: Bed;
  beforeAll(async () => {
    bed = await startBed('debian12-amd64', 'upgrade');
  }, 40 * 60_000);
  afterAll(async () => {
    await stopBed(bed, 'Debian 12 → 13 dist-upgrade with jails and the apt hook');
  }, 180_000);

  it('jails on Debian 12, and the apt hook', { timeout: 600_000 }, async () => {
    for (const a of [
      { user: 'four', tools: ['bash', 'rsync', 'scp', 'sftp'], jail: '/srv/jails/four' },
      { user: 'files', tools: ['sftp'], jail: '/srv/jails/files' },
    ]) {
      const r = await jwIn(bed, ['apply', '--config', answersIn(bed, a), '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
    }
    expect((await bed.c.execOk(['readlink', `/srv/jails/four${LOADER}`])).stdout.trim()).toBe('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    const hook = await jwIn(bed, ['update', '--install-hook', '--yes']);
    expect(hook.exitCode, out(hook)).toBe(0);
  });

  it('apt-get dist-upgrade to trixie runs the hook, which adapts the jail to the new layout and says so in the system log', { timeout: 1_800_000 }, async () => {
    const switched = await step(bed, ['sh', '-c', [
      'set -e',
      'cp /opt/jailwizard-bed/trixie/sources.list /etc/apt/sources.list',
      'rm -rf /var/lib/apt/lists/* && cp -a /opt/jailwizard-bed/trixie/lists/. /var/lib/apt/lists/',
      'cp /opt/jailwizard-bed/trixie/archives/*.deb /var/cache/apt/archives/',
    ].join('\n')], { what: 'sources.list → trixie; the lists and .debs fetched at build time put in place' });
    expect(switched.exitCode, out(switched)).toBe(0);
    const upgrade = await step(bed, ['apt-get', '-y', '--no-download', '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold', 'dist-upgrade'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      timeoutMs: 1_500_000,
      what: 'apt-get -y --no-download dist-upgrade (bookworm → trixie)',
    });
    expect(upgrade.exitCode, out(upgrade)).toBe(0);
    expect((await bed.c.execOk(['cat', '/etc/debian_version'])).stdout).toMatch(/^13\./);

    // The hook ran after every dpkg run; the last one found the jails on the new layout.
    const log = await step(bed, ['journalctl', '-t', 'jailwizard', '--no-pager', '-o', 'cat']);
    const runs = log.stdout.trim().split('\n').filter((l) => l.startsWith('apt hook:'));
    const times = (await bed.c.execOk(['journalctl', '-t', 'jailwizard', '--no-pager', '-o', 'short-iso'])).stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    bed.transcript.push({ what: `(the hook ran ${runs.length} times during the upgrade, ${times[0]} … ${times.at(-1)})`, exit: 0, seconds: 0 });
    expect(runs.length, log.stdout).toBeGreaterThan(0);
    expect(runs.at(-1)).toMatch(/^apt hook: update --all ok: /);
    expect(log.stdout).toMatch(/four updated \(\d+ changed/);
    expect((await bed.c.execOk(['readlink', `/srv/jails/four${LOADER}`])).stdout.trim()).toBe((await bed.c.execOk(['readlink', LOADER])).stdout.trim());
    // Journaled like every change: the old link's removal and the new link are in the history.
    const history = await step(bed, ['sh', '-c', `grep -l '"unlink","path":"/srv/jails/four${LOADER}"' /var/lib/jailwizard/journal/history/*.jsonl`]);
    expect(history.exitCode, 'the relink is journaled').toBe(0);
    const list = await jwIn(bed, ['list']);
    expect(list.stdout, out(list)).toMatch(/^four\t.*\t(updated|unchanged) \(apt hook\)/m);
  });

  it('after the upgrade the users log in, run Debian 13\'s binaries, check is clean and the probes pass', { timeout: 600_000 }, async () => {
    const bash = await sshIn(bed, 'four', 'echo "$BASH_VERSION"');
    expect(bash.stdout, out(bash)).toBe(`${(await bed.c.execOk(['bash', '-c', 'echo "$BASH_VERSION"'])).stdout}`);
    expect(bash.stdout).toMatch(/^5\.2\.37/); // trixie's bash, not bookworm's 5.2.15
    const sftp = await sftpIn(bed, 'files', ['put /etc/os-release', 'ls']);
    expect(sftp.exitCode, out(sftp)).toBe(0);
    const check = await jwIn(bed, ['check', '--all']);
    expect(check.exitCode, out(check)).toBe(0);
    for (const u of ['four', 'files']) {
      const t = await jwIn(bed, ['test', u]);
      expect(t.exitCode, out(t)).toBe(0);
    }
  });

  it('remove after the upgrade leaves no user, drop-in, key, jail or hook', { timeout: 600_000 }, async () => {
    for (const u of ['files', 'four']) {
      const r = await jwIn(bed, ['remove', u, '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
    }
    const left = await step(bed, ['sh', '-c', 'getent passwd four files; ls /etc/ssh/sshd_config.d /etc/ssh/authorized_keys /srv/jails /etc/apt/apt.conf.d/99jailwizard-update 2>&1 | grep -v "No such file"; true']);
    expect(left.stdout.trim()).toBe('/etc/ssh/sshd_config.d:');
  });
});
