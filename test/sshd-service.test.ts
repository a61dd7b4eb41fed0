// How sshd runs (a service, socket-activated, per connection, by hand) from what systemd
// says, and what that means for the plan: pure, from fixtures. Debian 13's are measured on the
// test bed; Ubuntu 24.04's is a layout fixture (test/fixtures/sshd-units.ts says from where).
import { describe, expect, it } from 'vitest';
import { describeApply, describeMode, parseShow, reloadFor, reloadProblem, socketListen, sshdModeFrom, type SshdMode } from '../src/host/sshd-service.ts';
import { SSHD, findIncludeDir, missingPrivsepDir, privsepArgv, PRIVSEP_SCRIPT, dropInName } from '../src/host/sshd-config.ts';
import { serviceFromCgroup } from '../src/host/proc.ts';
import { SSHD_IDENTIFIERS, findFailure } from '../src/workflows/doctor.ts';
import {
  DEBIAN13_SERVICE_MODE,
  DEBIAN13_SOCKET_IDLE,
  DEBIAN13_SOCKET_RUNNING,
  UBUNTU2404_GENERATED_ADDRESSES,
  UBUNTU2404_SOCKET_IDLE_PORT_2222,
  UBUNTU2404_SSHD_CONFIG,
} from './fixtures/sshd-units.ts';

const modeOf = (f: { services: string; sockets: string }, pidFilePid?: number): SshdMode => sshdModeFrom([...parseShow(f.services), ...parseShow(f.sockets)], pidFilePid);

describe('sshd modes on Debian 13 (measured)', () => {
  it('ssh.service enabled: a service, reloaded with systemctl reload', () => {
    const mode = modeOf(DEBIAN13_SERVICE_MODE, 69);
    expect(mode).toEqual({ kind: 'service', unit: 'ssh.service', pid: 69 });
    expect(reloadFor(mode)).toEqual({ argv: ['systemctl', 'reload', 'ssh.service'], pid: 69 });
    expect(describeMode(mode)).toBe('ssh.service running (pid 69); reload with: systemctl reload ssh.service');
    expect(describeApply(mode)).toBeUndefined();
  });

  it('ssh.socket before the first connection: socket mode, nothing running, still a stop in the plan (a no-op now, right if a connection starts it meanwhile)', () => {
    const mode = modeOf(DEBIAN13_SOCKET_IDLE);
    expect(mode).toEqual({ kind: 'socket', unit: 'ssh.service', socket: 'ssh.socket', killMode: 'process', listen: [{ host: '127.0.0.1', port: 22 }, { host: '::1', port: 22 }] });
    expect(reloadFor(mode)).toEqual({ argv: ['systemctl', 'stop', 'ssh.service'], socket: 'ssh.socket', socketListen: [{ host: '127.0.0.1', port: 22 }, { host: '::1', port: 22 }] });
    expect(describeMode(mode)).toBe('socket-activated by ssh.socket, ssh.service idle');
    expect(reloadProblem(mode)).toBeUndefined();
  });

  it('ssh.socket after a connection: the running sshd is stopped, never sent SIGHUP (it exits with "Cannot bind any address")', () => {
    const mode = modeOf(DEBIAN13_SOCKET_RUNNING, 172);
    expect(mode).toMatchObject({ kind: 'socket', pid: 172 });
    expect(reloadFor(mode)?.argv).toEqual(['systemctl', 'stop', 'ssh.service']);
    expect(describeMode(mode)).toBe('socket-activated by ssh.socket, ssh.service running (pid 172)');
    expect(describeApply(mode)).toBe('systemctl stop ssh.service (socket restarts it; sessions stay)');
  });

  it('KillMode other than process: stopping would end the sessions, so it is refused with the fix', () => {
    const mode = modeOf({ ...DEBIAN13_SOCKET_RUNNING, services: DEBIAN13_SOCKET_RUNNING.services.replace('KillMode=process', 'KillMode=mixed') });
    expect(reloadProblem(mode)?.message).toMatch(/KillMode=mixed: stopping it .* would end every open SSH session/);
    expect(reloadProblem(mode)?.hint).toMatch(/KillMode=process/);
  });

  it('Accept=yes: a new sshd -i per connection, nothing to reload', () => {
    const mode = modeOf({ ...DEBIAN13_SOCKET_IDLE, sockets: DEBIAN13_SOCKET_IDLE.sockets.replace('Accept=no', 'Accept=yes') });
    expect(mode).toEqual({ kind: 'per-connection', socket: 'ssh.socket' });
    expect(reloadFor(mode)).toBeUndefined();
  });

  it('no unit runs sshd but a PidFile names it: SIGHUP to that pid; nothing at all: stopped', () => {
    const noUnits = modeOf({ services: DEBIAN13_SOCKET_IDLE.services, sockets: DEBIAN13_SERVICE_MODE.sockets }, 4321);
    expect(reloadFor(noUnits)).toEqual({ argv: ['kill', '-HUP', '4321'], pid: 4321 });
    expect(modeOf({ services: DEBIAN13_SOCKET_IDLE.services, sockets: DEBIAN13_SERVICE_MODE.sockets })).toEqual({ kind: 'stopped', unit: 'ssh.service' });
  });
});

describe('Ubuntu 24.04 (layout fixture)', () => {
  it('socket activation by default, the port from sshd-socket-generator\'s addresses.conf: stop ssh.service, prove port 2222 answers', () => {
    expect(UBUNTU2404_GENERATED_ADDRESSES).toMatch(/^ListenStream=\nListenStream=2222$/m);
    const mode = modeOf(UBUNTU2404_SOCKET_IDLE_PORT_2222);
    expect(mode).toEqual({ kind: 'socket', unit: 'ssh.service', socket: 'ssh.socket', killMode: 'process', listen: [{ host: '127.0.0.1', port: 2222 }, { host: '::1', port: 2222 }] });
    expect(reloadFor(mode)).toMatchObject({ argv: ['systemctl', 'stop', 'ssh.service'], socketListen: [{ host: '127.0.0.1', port: 2222 }, { host: '::1', port: 2222 }] });
  });

  it('its sshd_config includes sshd_config.d/*.conf like Debian\'s: the drop-in goes there', () => {
    expect(findIncludeDir(UBUNTU2404_SSHD_CONFIG)).toEqual({ dropInDir: '/etc/ssh/sshd_config.d', pattern: '*.conf' });
    expect(dropInName('alice')).toBe('jailwizard-alice.conf');
  });

  it('reads the addresses a socket listens on, as systemd prints them', () => {
    expect(socketListen('[::]:22 (Stream)')).toEqual([{ host: '127.0.0.1', port: 22 }, { host: '::1', port: 22 }]);
    expect(socketListen('0.0.0.0:22 (Stream) [::]:22 (Stream)')).toEqual([{ host: '127.0.0.1', port: 22 }, { host: '::1', port: 22 }]);
    expect(socketListen('192.0.2.10:2200 (Stream) vsock:4294967295:22 (Stream)')).toEqual([{ host: '192.0.2.10', port: 2200 }]);
    expect(socketListen('2222 (Stream)')).toEqual([{ host: '127.0.0.1', port: 2222 }, { host: '::1', port: 2222 }]);
  });
});

describe('sshd -t without /run/sshd', () => {
  it('knows sshd\'s message (Debian 13, measured) and checks in a private mount namespace with an empty privsep dir', () => {
    expect(missingPrivsepDir('Missing privilege separation directory: /run/sshd\n')).toBe('/run/sshd');
    expect(missingPrivsepDir('Missing privilege separation directory: /var/empty\n')).toBeUndefined();
    expect(missingPrivsepDir('/etc/ssh/sshd_config line 3: Bad configuration option: Foo\n')).toBeUndefined();
    expect(privsepArgv('/run/sshd', ['-t', '-f', '/etc/ssh/sshd_config'])).toEqual([
      'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', PRIVSEP_SCRIPT, 'sh', '/run', '/run/sshd', SSHD, '-t', '-f', '/etc/ssh/sshd_config',
    ]);
    // The script is a constant: paths reach it only as arguments.
    expect(PRIVSEP_SCRIPT).not.toMatch(/\/run|sshd_config/);
  });
});

describe('systemd facts for logging and the journal', () => {
  it('finds the service a process runs in from its cgroup (v1 name=systemd and v2)', () => {
    expect(serviceFromCgroup('9:name=systemd:/system.slice/rsyslog.service\n8:pids:/\n')).toBe('rsyslog.service');
    expect(serviceFromCgroup('0::/system.slice/rsyslog.service\n')).toBe('rsyslog.service');
    expect(serviceFromCgroup('9:name=systemd:/init.scope\n')).toBeUndefined();
    expect(serviceFromCgroup('0::/user.slice/user-0.slice/session-3.scope\n')).toBeUndefined();
  });

  it('reads sshd\'s journal by syslog identifier (sshd-session\'s chroot failure often has no unit), and finds the failure', () => {
    expect(SSHD_IDENTIFIERS).toEqual(['sshd', 'sshd-session', 'sshd-auth']);
    // As `journalctl -t sshd -t sshd-session` printed it on the bed (Debian 13).
    const lines = [
      '2026-11-30T02:18:48+00:00 jw-debian13-amd64 sshd-session[249]: Accepted publickey for ann from 127.0.0.1 port 46790 ssh2: ED25519 SHA256:dKMd',
      '2026-11-30T02:18:48+00:00 jw-debian13-amd64 sshd-session[249]: pam_unix(sshd:session): session opened for user ann(uid=1000) by ann(uid=0)',
      '2026-11-30T02:18:48+00:00 jw-debian13-amd64 sshd-session[249]: pam_env(sshd:session): Unable to open env file: /etc/default/locale',
      '2026-11-30T02:18:48+00:00 jw-debian13-amd64 sshd-session[256]: fatal: bad ownership or modes for chroot directory component "/srv/jails/"',
      '2026-11-30T02:18:48+00:00 jw-debian13-amd64 sshd-session[249]: pam_unix(sshd:session): session closed for user ann',
    ];
    expect(findFailure(lines, 'ann')).toMatch(/fatal: bad ownership or modes for chroot directory component "\/srv\/jails\/"/);
  });
});
