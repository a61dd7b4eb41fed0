// Hosts that are not fresh: an existing account to adopt, a config without Include, and an
// admin who answers the confirmation prompt in a real terminal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { rootOrSkipReason } from './helpers/root.ts';
import { TEST_PREFIX, uniqueUser } from './helpers/names.ts';
import { diffSnapshots } from './helpers/host-snapshot.ts';
import { BIN, answersFile, jw, out, setupEnv, snapshot, teardownEnv, type TestEnv } from './helpers/jw.ts';
import { run, runOk } from '../src/host/run.ts';

const skip = rootOrSkipReason();

function shadowField(user: string): string | undefined {
  return readFileSync('/etc/shadow', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`))?.split(':')[1];
}

describe.skipIf(skip)('existing accounts and configs', () => {
  let env: TestEnv;
  const group = `${TEST_PREFIX}up`;
  beforeAll(async () => {
    env = await setupEnv();
    await runOk(['groupadd', '--gid', '4242', group]);
  });
  afterAll(async () => {
    await teardownEnv(env);
    await run(['groupdel', group]);
  });

  it('adopts an existing user locked with "!", adds an extra group, and gives it all back on remove', async () => {
    const user = uniqueUser('adopt');
    await runOk(['useradd', '--no-create-home', '--shell', '/bin/bash', user]);
    expect(shadowField(user)).toBe('!');
    const before = await snapshot(env);

    const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'], group }), '--yes']);
    expect(r.exitCode, out(r)).toBe(0);
    expect(r.stdout).toContain(`Adopt the existing user ${user}`);
    // Key logins need "*": with UsePAM no, sshd refuses "!" even for keys.
    expect(shadowField(user)).toBe('*');
    expect(readFileSync('/etc/passwd', 'utf8')).toMatch(new RegExp(`^${user}:.*:/usr/sbin/nologin$`, 'm'));
    expect(readFileSync('/etc/group', 'utf8')).toMatch(new RegExp(`^${group}:x:4242:${user}$`, 'm'));

    const rm = await jw(env, ['remove', user, '--yes']);
    expect(rm.exitCode, out(rm)).toBe(0);
    expect((await run(['getent', 'passwd', user])).exitCode).toBe(0); // adopted, so kept
    expect(diffSnapshots(before, await snapshot(env))).toEqual([]); // shell, "!", last change, group: all back
  });

  it('adds an Include naming only its own drop-ins to a config that has none, and removes it byte-identically', async () => {
    const original = readFileSync(env.sshd.configPath, 'utf8');
    const withoutInclude = original.replace(/^Include .*\n/m, '');
    writeFileSync(env.sshd.configPath, withoutInclude);
    try {
      const user = uniqueUser('noinc');
      const before = await snapshot(env);
      const dry = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--dry-run']);
      expect(dry.stdout).toContain('has no Include for drop-ins');
      const r = await jw(env, ['apply', '--config', answersFile(env, { user, tools: ['sftp'] }), '--yes']);
      expect(r.exitCode, out(r)).toBe(0);
      const first = readFileSync(env.sshd.configPath, 'utf8').split('\n')[0];
      expect(first).toMatch(/^Include .*\/sshd_config\.d\/jailwizard-\*\.conf$/);
      const rm = await jw(env, ['remove', user, '--yes']);
      expect(rm.exitCode, out(rm)).toBe(0);
      expect(readFileSync(env.sshd.configPath, 'utf8')).toBe(withoutInclude);
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);
    } finally {
      writeFileSync(env.sshd.configPath, original);
    }
  });

  it('shows the plan and asks on a terminal: "n" changes nothing, "y" applies', async () => {
    const user = uniqueUser('tty');
    const cfg = answersFile(env, { user, tools: ['sftp'] });
    const session = `jwtest-${user}`;
    const cmd = [process.execPath, BIN, 'apply', '--config', cfg, '--no-test', ...env.common].join(' ');
    const before = await snapshot(env);
    const screen = async (): Promise<string> => (await runOk(['tmux', 'capture-pane', '-p', '-J', '-S', '-200', '-t', session])).stdout;
    const waitFor = async (text: string): Promise<string> => {
      for (let i = 0; i < 200; i++) {
        const s = await screen();
        if (s.includes(text)) return s;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${JSON.stringify(text)} in:\n${await screen()}`);
    };
    try {
      await runOk(['tmux', 'new-session', '-d', '-s', session, '-x', '120', '-y', '40', 'bash', '--norc', '--noprofile']);
      await runOk(['tmux', 'send-keys', '-t', session, `${cmd}; echo EXIT=$?`, 'Enter']);
      const asked = await waitFor('[y/N]');
      expect(asked).toContain(`Create user ${user}`);
      await runOk(['tmux', 'send-keys', '-t', session, 'n', 'Enter']);
      expect(await waitFor('EXIT=')).toContain('Nothing changed.');
      expect(diffSnapshots(before, await snapshot(env))).toEqual([]);

      await runOk(['tmux', 'send-keys', '-t', session, 'clear', 'Enter']);
      await runOk(['tmux', 'send-keys', '-t', session, `${cmd}; echo EXIT=$?`, 'Enter']);
      await waitFor('[y/N]');
      await runOk(['tmux', 'send-keys', '-t', session, 'y', 'Enter']);
      expect(await waitFor('EXIT=0')).toContain(`Done: ${user} is jailed`);
    } finally {
      await run(['tmux', 'kill-session', '-t', session]);
    }
    expect((await jw(env, ['remove', user, '--yes'])).exitCode).toBe(0);
  });
});
