// The whole story on a booted Debian 12 and a booted Debian 13 (systemd as PID 1, sshd as
// ssh.service, journald), as an admin lives it: log refused where only journald runs, rsyslog
// installed from .debs; the wizard in a real terminal to a passed connection test; apply of a
// four-tool jail with a read-only bind mount (a real mount unit), an sftp-only jail that logs
// through rsyslog, a shared jail of two; doctor quoting the journal's chroot failure and fixing
// it; the apt hook run by a real `apt-get install --reinstall`, its outcome in the system log,
// in `list` and in `check`; a reboot after which everyone still logs in and `check` is clean;
// and remove, after which every byte jailwizard touched is as it was.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bedSkipReason, removePackedTarball, type BedRootName } from '../helpers/nspawn.ts';
import type { HostSnapshot } from '../helpers/host-snapshot.ts';
import { answersIn, expectSameAs, jwIn, out, sftpIn, snapshotIn, sshIn, startBed, step, stopBed, timed, type Bed } from './bed.ts';
import { runWizard } from './wizard.ts';

const skip = bedSkipReason();
afterAll(removePackedTarball);
const ROOTS: BedRootName[] = ['debian12-amd64', 'debian13-amd64'];
/** Everyone jailed here, in the order made; removed last-made-first. */
const USERS = ['wiz', 'ann', 'bob', 'carl', 'dora'] as const;
const FOUR = ['bash', 'rsync', 'scp', 'sftp'];

describe.skipIf(skip).each(ROOTS)('the whole story on a booted %s', (rootName) => {
  let bed: Bed;
  let clean: HostSnapshot;
  let withRsyslog: HostSnapshot;
  beforeAll(async () => {
    bed = await startBed(rootName, `story-${rootName.slice(0, 8)}`);
    // Host data for a bind mount, there before jailwizard.
    await bed.c.execOk(['sh', '-c', 'mkdir -p /srv/data/web && echo "<h1>bed</h1>" > /srv/data/web/index.html']);
    clean = await snapshotIn(bed);
  }, 40 * 60_000);
  afterAll(async () => {
    await stopBed(bed, `The whole story on ${rootName}`);
  }, 180_000);

  it('the distro\'s own Node runs the packed tarball: jailwizard --version', { timeout: 120_000 }, async () => {
    const node = await step(bed, ['node', '--version']);
    expect(node.stdout).toMatch(rootName === 'debian12-amd64' ? /^v18\./ : /^v20\./);
    const version = await jwIn(bed, ['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
  });

  it('log: where only journald runs, refused with the hint to install rsyslog, nothing changed', { timeout: 300_000 }, async () => {
    const r = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'eve', tools: ['sftp'], jail: '/srv/jails/eve', log: true }), '--yes']);
    expect(r.exitCode, out(r)).toBe(2);
    expect(r.stderr).toMatch(/only systemd-journald runs here/);
    expect(r.stderr).toMatch(/install rsyslog/);
    await expectSameAs(bed, clean);
  });

  it('rsyslog installed from .deb files (the container has no network) runs under systemd', { timeout: 300_000 }, async () => {
    const r = await step(bed, ['sh', '-c', 'cd /opt/jailwizard-bed/debs && apt-get install -y --no-install-recommends $(ls *.deb | grep -v "^rsync_" | sed "s|^|./|")'], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      what: 'apt-get install ./rsyslog_*.deb ./lib*.deb (from /opt/jailwizard-bed/debs)',
      timeoutMs: 300_000,
    });
    expect(r.exitCode, out(r)).toBe(0);
    expect((await step(bed, ['systemctl', 'is-active', 'rsyslog.service'])).stdout.trim()).toBe('active');
    withRsyslog = await snapshotIn(bed);
  });

  it('the wizard in a real terminal, from the first screen to a passed connection test', { timeout: 600_000 }, async () => {
    const summary = await timed(bed, 'jailwizard (the wizard in tmux 80x24: wiz, bash rsync scp sftp, /srv/jails/wiz)', () => runWizard(bed, 'wiz', ['bash', 'rsync', 'scp', 'sftp'], '/srv/jails/wiz'));
    expect(summary.replace(/\s+/g, ' ')).toMatch(/\d+ probes passed/);
    const ls = await sshIn(bed, 'wiz', 'ls /');
    expect(ls.exitCode, out(ls)).toBe(0);
    expect(ls.stdout).not.toMatch(/\bboot\b|\bproc\b/);
  });

  it('apply: four tools with a read-only bind mount (a mount unit), sftp-only logging through rsyslog, a shared jail of two', { timeout: 900_000 }, async () => {
    const ann = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'ann', tools: FOUR, jail: '/srv/jails/ann', binds: [{ source: '/srv/data/web', target: '/web', readOnly: true }] }), '--yes']);
    expect(ann.exitCode, out(ann)).toBe(0);
    const unit = 'srv-jails-ann-web.mount';
    expect((await step(bed, ['systemctl', 'is-enabled', unit])).stdout.trim()).toBe('enabled');
    const mnt = await step(bed, ['findmnt', '-n', '-o', 'OPTIONS', '/srv/jails/ann/web']);
    expect(mnt.stdout).toMatch(/\bro\b/);
    expect(mnt.stdout).toMatch(/nosuid/);
    expect(mnt.stdout).toMatch(/noexec/);

    const rsyslogBefore = (await bed.c.execOk(['systemctl', 'show', '-p', 'MainPID', '--value', 'rsyslog.service'])).stdout.trim();
    const bob = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'bob', tools: ['sftp'], jail: '/srv/jails/bob', log: true }), '--yes']);
    expect(bob.exitCode, out(bob)).toBe(0);
    expect(bob.stdout).toMatch(/systemctl restart rsyslog\.service/);
    expect((await bed.c.execOk(['systemctl', 'show', '-p', 'MainPID', '--value', 'rsyslog.service'])).stdout.trim(), 'rsyslog was restarted through systemd').not.toBe(rsyslogBefore);
    expect((await step(bed, ['test', '-S', '/srv/jails/bob/dev/log'])).exitCode).toBe(0);

    const carl = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'carl', tools: ['bash', 'rsync'], jail: '/srv/jails/team', shared: true }), '--yes']);
    expect(carl.exitCode, out(carl)).toBe(0);
    const dora = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'dora', tools: ['sftp'], jail: '/srv/jails/team', shared: true }), '--yes']);
    expect(dora.exitCode, out(dora)).toBe(0);
    expect((await bed.c.execOk(['cat', '/srv/jails/team/etc/passwd'])).stdout).toMatch(/^carl:.*\n(.*\n)*dora:/m);
  });

  it('doctor quotes the journal\'s chroot failure and fixes it', { timeout: 600_000 }, async () => {
    await step(bed, ['chmod', '0775', '/srv/jails']);
    const refused = await sshIn(bed, 'ann', 'true');
    expect(refused.exitCode).not.toBe(0);
    const doc = await jwIn(bed, ['doctor', 'ann']);
    expect(doc.exitCode, out(doc)).toBe(1);
    expect(doc.stdout).toMatch(/bad ownership or modes for chroot directory component "\/srv\/jails\/"/);
    expect(doc.stdout).toMatch(/journal/i);
    const fixed = await jwIn(bed, ['doctor', 'ann', '--fix', '--yes']);
    expect(fixed.exitCode, out(fixed)).toBe(0);
    expect((await sshIn(bed, 'ann', 'echo in')).stdout).toBe('in\n');
  });

  it('the apt hook: a real apt-get install --reinstall runs it; ok and failed runs reach the system log, list and check', { timeout: 900_000 }, async () => {
    const hook = await jwIn(bed, ['update', '--install-hook', '--yes']);
    expect(hook.exitCode, out(hook)).toBe(0);
    const inDebs = async (): Promise<void> => {
      const r = await step(bed, ['sh', '-c', 'cd /opt/jailwizard-bed/debs && apt-get install -y --reinstall ./rsync_*.deb'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, what: 'apt-get install --reinstall ./rsync_*.deb (runs the DPkg::Post-Invoke hook)', timeoutMs: 600_000 });
      expect(r.exitCode, out(r)).toBe(0);
    };
    await inDebs();
    const okLog = await step(bed, ['journalctl', '-t', 'jailwizard', '--no-pager', '-o', 'cat']);
    expect(okLog.stdout).toMatch(/apt hook: update --all ok: .*ann unchanged/);

    // A jail in a state update cannot fix by itself: a dir where rsync's binary goes.
    await step(bed, ['sh', '-c', 'rm /srv/jails/ann/usr/bin/rsync && mkdir /srv/jails/ann/usr/bin/rsync']);
    await inDebs(); // apt itself never fails because of the hook
    const failLog = await step(bed, ['journalctl', '-t', 'jailwizard', '-p', 'err', '--no-pager', '-o', 'cat']);
    expect(failLog.stdout).toMatch(/apt hook: update --all FAILED for ann: .*ann failed: \/srv\/jails\/ann\/usr\/bin\/rsync exists and is not a regular file/);
    const list = await jwIn(bed, ['list']);
    expect(list.stdout, out(list)).toMatch(/^ann\t.*\tFAILED \(apt hook\)/m);
    expect(list.stdout).toMatch(/ann: the last update \(run by the apt hook\) failed at .*: \/srv\/jails\/ann\/usr\/bin\/rsync exists and is not a regular file; run: jailwizard update ann/);
    const check = await jwIn(bed, ['check', 'ann']);
    expect(check.exitCode).toBe(1);
    expect(check.stdout).toMatch(/the last update \(run by the apt hook\) failed at/);

    await step(bed, ['rmdir', '/srv/jails/ann/usr/bin/rsync']);
    const upd = await jwIn(bed, ['update', 'ann', '--yes']);
    expect(upd.exitCode, out(upd)).toBe(0);
    expect((await jwIn(bed, ['list'])).stdout).toMatch(/^ann\t.*\tupdated /m);
    const clean2 = await jwIn(bed, ['check', '--all']);
    expect(clean2.exitCode, out(clean2)).toBe(0);
  });

  it('after a reboot of the container everyone still logs in, the bind mount is back, and check is clean', { timeout: 600_000 }, async () => {
    await timed(bed, 'systemctl reboot (container), boot again to running', () => bed.c.reboot());
    expect((await sshIn(bed, 'wiz', 'echo wiz')).stdout).toBe('wiz\n');
    const web = await sshIn(bed, 'ann', 'cat /web/index.html');
    expect(web.stdout, out(web)).toBe('<h1>bed</h1>\n');
    expect((await step(bed, ['systemctl', 'is-active', 'srv-jails-ann-web.mount'])).stdout.trim()).toBe('active');
    const sftp = await sftpIn(bed, 'bob', ['put /etc/hostname up.txt', 'ls']);
    expect(sftp.exitCode, out(sftp)).toBe(0);
    expect(sftp.stdout).toMatch(/up\.txt/);
    expect((await sshIn(bed, 'carl', 'echo carl')).stdout).toBe('carl\n');
    expect((await sftpIn(bed, 'dora', ['ls /'])).exitCode).toBe(0);
    const check = await jwIn(bed, ['check', '--all']);
    expect(check.exitCode, out(check)).toBe(0);
    for (const u of USERS) {
      const t = await jwIn(bed, ['test', u]);
      expect(t.exitCode, out(t)).toBe(0);
    }
  });

  it("ann's bind taken out of the answers: apply again unmounts it, disables and removes its mount unit; put back, it mounts again", { timeout: 600_000 }, async () => {
    const unit = '/etc/systemd/system/srv-jails-ann-web.mount';
    const without = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'ann', tools: FOUR, jail: '/srv/jails/ann' }), '--yes']);
    expect(without.exitCode, out(without)).toBe(0);
    expect(without.stdout).toContain('Unmount /web, which the answers no longer ask for');
    expect(without.stdout).toContain('systemctl disable srv-jails-ann-web.mount');
    expect((await step(bed, ['findmnt', '/srv/jails/ann/web'])).exitCode).not.toBe(0);
    expect((await step(bed, ['test', '-e', unit])).exitCode).not.toBe(0);
    expect((await step(bed, ['systemctl', 'is-enabled', 'srv-jails-ann-web.mount'])).stdout.trim()).not.toBe('enabled');
    const web = await sshIn(bed, 'ann', 'cat /web/index.html');
    expect(web.stdout).not.toContain('<h1>bed</h1>');
    const back = await jwIn(bed, ['apply', '--config', answersIn(bed, { user: 'ann', tools: FOUR, jail: '/srv/jails/ann', binds: [{ source: '/srv/data/web', target: '/web', readOnly: true }] }), '--yes']);
    expect(back.exitCode, out(back)).toBe(0);
    expect((await sshIn(bed, 'ann', 'cat /web/index.html')).stdout).toBe('<h1>bed</h1>\n');
    expect((await step(bed, ['systemctl', 'is-enabled', 'srv-jails-ann-web.mount'])).stdout.trim()).toBe('enabled');
  });

  it('remove, last-made-first: every byte jailwizard touched is as it was (accounts, sshd, keys, units, rsyslog, apt, /srv)', { timeout: 600_000 }, async () => {
    for (const u of [...USERS].reverse()) {
      const r = await jwIn(bed, ['remove', u, '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
    }
    expect((await step(bed, ['findmnt', '/srv/jails/ann/web'])).exitCode).not.toBe(0);
    expect((await step(bed, ['systemctl', 'is-active', 'rsyslog.service'])).stdout.trim()).toBe('active');
    await expectSameAs(bed, withRsyslog);
    expect(clean.dirs.get('/srv')).toEqual(withRsyslog.dirs.get('/srv'));
  });
});
