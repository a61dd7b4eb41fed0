// What users type to connect: the admin's own session's server address (also under sudo,
// which drops SSH_CONNECTION), the address sshd's connections share, the FQDN, and the
// port; IPv6 in brackets where the client wants them. The /proc readers are checked on
// real processes and a real sshd session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { adminSession, connectTarget, decodeAddress, serverEndOf, sessionSocketOf, tcpSockets } from '../src/host/connect-target.ts';
import { connectCommands } from '../src/plan/connect-commands.ts';
import type { EffectiveConfig } from '../src/host/sshd-config.ts';
import { rootOrSkipReason } from './helpers/root.ts';
import { uniqueUser } from './helpers/names.ts';
import { setupEnv, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { sshClientOptions } from './helpers/sshd.ts';
import { runOk } from '../src/host/run.ts';
import { childOf, sleep } from './helpers/tmux.ts';

const eff = (listen: string[], port = ['22']): EffectiveConfig => new Map([['listenaddress', listen], ['port', port]]);
const noFqdn = async (): Promise<string> => 'jail.example.org';
const SESSION_V4 = '198.51.100.9 50022 192.0.2.10 2222';

describe('the commands a user types', () => {
  it('carry the port when it is not 22: -P for sftp and scp, -p for ssh, ssh -p for rsync', () => {
    expect(connectCommands('alice', ['bash', 'rsync', 'scp', 'sftp'], { host: 'jail.example.org', port: 2222 })).toEqual([
      'sftp -P 2222 alice@jail.example.org',
      'scp -P 2222 FILE alice@jail.example.org:',
      'ssh -p 2222 alice@jail.example.org',
      "rsync -av -e 'ssh -p 2222' FILES alice@jail.example.org:",
    ]);
    expect(connectCommands('alice', ['sftp'], { host: 'jail.example.org', port: 22 })).toEqual(['sftp alice@jail.example.org']);
  });

  it('put an IPv6 address in brackets for sftp, scp and rsync, and leave it bare for ssh', () => {
    expect(connectCommands('alice', ['bash', 'rsync', 'scp'], { host: '2001:db8::10', port: 22 })).toEqual([
      'sftp alice@[2001:db8::10]',
      'scp FILE alice@[2001:db8::10]:',
      'ssh alice@2001:db8::10',
      'rsync -av FILES alice@[2001:db8::10]:',
    ]);
  });
});

describe('connectTarget', () => {
  it("takes the admin's own session: its server address and port", async () => {
    const t = await connectTarget(eff(['127.0.0.1:22', '0.0.0.0:2222']), { env: { SSH_CONNECTION: SESSION_V4 }, sockets: [], fqdn: noFqdn });
    expect(t).toEqual({ host: '192.0.2.10', port: 2222, from: 'session' });
    expect(serverEndOf('2001:db8::9 50022 2001:db8::10 22')).toEqual({ host: '2001:db8::10', port: 22 });
    expect(serverEndOf('::ffff:198.51.100.9 50022 ::ffff:192.0.2.10 22')).toEqual({ host: '192.0.2.10', port: 22 });
  });

  it('never answers 127.0.0.1 from a ListenAddress when sshd also listens elsewhere', async () => {
    const pid = 1; // no ancestors: nothing but the config and the sockets to go by
    expect(await connectTarget(eff(['127.0.0.1:22', '192.0.2.10:22']), { env: {}, pid, sockets: [], fqdn: noFqdn })).toEqual({ host: '192.0.2.10', port: 22, from: 'listen' });
    expect(await connectTarget(eff(['127.0.0.1:2222', '0.0.0.0:2222'], ['2222']), { env: {}, pid, sockets: [], fqdn: noFqdn })).toEqual({ host: 'jail.example.org', port: 2222, from: 'fqdn' });
    expect(await connectTarget(eff(['[::]:22', '0.0.0.0:22']), { env: {}, pid, sockets: [], fqdn: noFqdn })).toEqual({ host: 'jail.example.org', port: 22, from: 'fqdn' });
    // Only loopback: that is the truth, and the summary says only this host can connect.
    expect(await connectTarget(eff(['127.0.0.1:2222'], ['2222']), { env: {}, pid, sockets: [], fqdn: noFqdn })).toEqual({ host: '127.0.0.1', port: 2222, from: 'listen' });
  });

  it("without a session, takes the one address sshd's open connections were made to", async () => {
    const conn = (local: string, port: number) => ({ local: { host: local, port }, remote: { host: '198.51.100.9', port: 50000 }, state: '01', inode: '1' });
    const sockets = [conn('192.0.2.10', 22), conn('192.0.2.10', 22), conn('127.0.0.1', 22), conn('192.0.2.99', 8080)];
    expect(await connectTarget(eff(['0.0.0.0:22']), { env: {}, pid: 1, sockets, fqdn: noFqdn })).toEqual({ host: '192.0.2.10', port: 22, from: 'connections' });
    // Two different addresses: no telling which one users know; the FQDN then.
    expect(await connectTarget(eff(['0.0.0.0:22']), { env: {}, pid: 1, sockets: [...sockets, conn('203.0.113.5', 22)], fqdn: noFqdn })).toMatchObject({ from: 'fqdn' });
  });

  it("decodes /proc/net/tcp and tcp6 addresses", () => {
    expect(decodeAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeAddress('0A02000A')).toBe('10.0.2.10');
    expect(decodeAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeAddress('00000000000000000000000000000000')).toBe('::');
    expect(decodeAddress('B80D0120000000000000000010000000')).toBe('2001:db8::10');
    expect(decodeAddress('0000000000000000FFFF00000A02000A')).toBe('10.0.2.10');
  });
});

describe('adminSession on real processes', () => {
  const started: ChildProcess[] = [];
  afterAll(() => {
    for (const c of started) c.kill('SIGKILL');
  });

  it('under sudo (SSH_CONNECTION dropped) finds the session in the environment of a process above', async () => {
    // The login shell has SSH_CONNECTION; what it starts (sudo, then the program) has not.
    const shell = spawn('env', [`SSH_CONNECTION=${SESSION_V4}`, 'sh', '-c', 'env -u SSH_CONNECTION sleep 30; :'], { stdio: 'ignore' });
    started.push(shell);
    const program = await childOf(shell.pid!);
    expect(readFileSync(`/proc/${program}/environ`, 'utf8')).not.toContain('SSH_CONNECTION');
    expect(adminSession({}, program)).toEqual({ host: '192.0.2.10', port: 2222 });
    // No session anywhere above: nothing.
    expect(adminSession({}, process.pid)?.host === '192.0.2.10').toBe(false);
  });
});

const skip = rootOrSkipReason();

describe.skipIf(skip)('an sshd session on a private sshd', () => {
  let env: TestEnv;
  let ssh: ChildProcess | undefined;
  beforeAll(async () => {
    env = await setupEnv();
  });
  afterAll(async () => {
    ssh?.kill('SIGKILL');
    await teardownEnv(env);
  });

  it("the sshd process serving a session holds the socket whose local end is the address the client used", async () => {
    const user = uniqueUser('sess');
    await runOk(['useradd', '-m', '-s', '/bin/sh', user]);
    const home = `/home/${user}`;
    mkdirSync(`${home}/.ssh`, { mode: 0o700 });
    writeFileSync(`${home}/.ssh/authorized_keys`, `${env.key.publicKey}\n`, { mode: 0o600 });
    const uid = Number((await runOk(['id', '-u', user])).stdout.trim());
    const gid = Number((await runOk(['id', '-g', user])).stdout.trim());
    chownSync(`${home}/.ssh`, uid, gid);
    chownSync(`${home}/.ssh/authorized_keys`, uid, gid);

    ssh = spawn('ssh', [...sshClientOptions(env.key.privateKey), '-p', String(env.sshd.port), `${user}@127.0.0.1`, 'echo up; sleep 30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    ssh.stdout!.on('data', (b: Buffer) => (said += b.toString()));
    ssh.stderr!.on('data', (b: Buffer) => (said += b.toString()));
    for (let i = 0; i < 250 && !said.includes('up'); i++) await sleep(20);
    expect(said).toContain('up');

    // The session's processes: sshd children of the private sshd (privileged and user side).
    const daemon = Number(readFileSync(env.sshd.pidFile, 'utf8').trim());
    const sessions = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === daemon && /^sshd/.test(readFileSync(`/proc/${p}/comm`, 'utf8'));
      } catch {
        return false;
      }
    });
    expect(sessions.length).toBeGreaterThan(0);
    const sockets = tcpSockets();
    expect(sessions.map((p) => sessionSocketOf(p, sockets))).toContainEqual({ host: '127.0.0.1', port: env.sshd.port });
  });
});
