// The connection test's clients (src/host/ssh-client.ts) without a server: which sessions
// get a connection of their own, what every client is told about the master, and when there
// is no master at all. That the clients do share one connection is shown end to end in
// engine-e2e (one login for the whole test), and that a rollback stops the master in kill9.
import { describe, expect, it } from 'vitest';
import { SshClients, ownConnection } from '../src/host/ssh-client.ts';
import { noteInterrupt, onInterrupt } from '../src/host/interrupts.ts';

const target = { user: 'alice', host: '127.0.0.1', port: 2222, identityFile: '/var/lib/jailwizard/journal/scratch/1-ab/id_ed25519' };

/** The value of each `-o Key=…` option, first one wins as in ssh. */
function opts(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  argv.forEach((a, i) => {
    if (argv[i - 1] !== '-o') return;
    const [k, ...v] = a.split('=');
    if (!m.has(k!)) m.set(k!, v.join('='));
  });
  return m;
}

describe('which sessions need a connection of their own', () => {
  it('a login from another source address, a login without a command and a forward do; commands do not', () => {
    expect(ownConnection(['-b', '127.0.0.2'], 'true')).toBe(true);
    expect(ownConnection([], undefined)).toBe(true);
    expect(ownConnection(['-o', 'LogLevel=INFO', '-W', '127.0.0.1:22'], undefined)).toBe(true);
    expect(ownConnection([], 'echo hi')).toBe(false);
    expect(ownConnection(['-o', 'SendEnv=LANG'], 'printf x')).toBe(false);
  });

  it('never lets a client become a master, nor take a ControlPath from root\'s ssh config, before the master runs', () => {
    const c = new SshClients(target, '/var/lib/jailwizard/journal/scratch/1-ab/jw-probe-x');
    for (const argv of [c.sshArgv([], 'true'), c.sshArgv(['-b', '127.0.0.2'], 'true'), c.sftpArgv('/b'), c.rsyncArgv()[2]!.split(' ')]) {
      const o = opts(argv);
      expect(o.get('ControlMaster')).toBe('no');
      expect(o.get('ControlPath')).toBe('none');
      expect(o.get('BatchMode')).toBe('yes');
    }
    expect(c.multiplexed).toBe(false);
  });

  it('puts the socket in the probes\' dir, and has none when the path is too long for a socket or holds a space', async () => {
    expect(new SshClients(target, '/var/lib/jailwizard/journal/scratch/1-ab/jw-probe-x').socket).toBe('/var/lib/jailwizard/journal/scratch/1-ab/jw-probe-x/mux');
    const long = new SshClients(target, `/var/lib/${'d'.repeat(90)}`);
    expect(long.socket).toBeUndefined();
    // No master to start: open() spawns nothing and the clients connect on their own.
    expect(await long.open()).toBe(false);
    expect(opts(long.sshArgv([], 'true')).get('ControlPath')).toBe('none');
    expect(new SshClients(target, '/tmp/with space').socket).toBeUndefined();
  });

  it('refuses to hand rsync an ssh option it would split (a key path with a space)', () => {
    const c = new SshClients({ ...target, identityFile: '/tmp/a key' }, '/tmp/x');
    expect(() => c.rsyncArgv()).toThrow(/rsync cannot pass/);
  });

  it('brackets IPv6 literals in remote specs', () => {
    const c = new SshClients({ ...target, host: '::1' }, '/tmp/x');
    expect(c.remote('f')).toBe('alice@[::1]:f');
    expect(c.sshArgv([], 'true').at(-2)).toBe('alice@::1');
  });
});

describe('interrupts reach what the signal cannot', () => {
  it('calls a listener at each interrupt until it unsubscribes (the master is stopped from there)', () => {
    const seen: string[] = [];
    const off = onInterrupt((sig) => seen.push(sig));
    noteInterrupt('SIGTERM');
    off();
    noteInterrupt('SIGINT');
    expect(seen).toEqual(['SIGTERM']);
  });
});
