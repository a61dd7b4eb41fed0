// Commands shown to the admin (the Undo line of apply and of the wizard's summary) repeat the
// options that point at this sshd and state dir, or they would act on the defaults.
import { describe, expect, it } from 'vitest';
import { repeatFlags } from '../src/commands/common.ts';

describe('repeatFlags', () => {
  it('says nothing for the defaults', () => {
    expect(repeatFlags({ sshdConfig: '/etc/ssh/sshd_config', stateDir: '/var/lib/jailwizard' })).toBe('');
  });
  it('repeats a non-default --sshd-config and --state-dir, in that order', () => {
    expect(repeatFlags({ sshdConfig: '/opt/ssh/sshd_config', stateDir: '/var/lib/jailwizard' })).toBe(' --sshd-config /opt/ssh/sshd_config');
    expect(repeatFlags({ sshdConfig: '/opt/ssh/sshd_config', stateDir: '/srv/jw-state' })).toBe(' --sshd-config /opt/ssh/sshd_config --state-dir /srv/jw-state');
  });
  it('quotes a path for the shell', () => {
    expect(repeatFlags({ sshdConfig: '/etc/ssh/sshd_config', stateDir: "/srv/jw state/o'k" })).toBe(` --state-dir '/srv/jw state/o'\\''k'`);
  });
});
