// doctor quotes the user's own sshd failure: a log line is theirs only when it names them
// exactly (not a user whose name starts the same), and never a line that names another user,
// even when another session's lines fall between "Accepted" and the fatal line.
import { describe, expect, it } from 'vitest';
import { findFailure, userNamedIn } from '../src/workflows/doctor.ts';

// As sshd 9.2 writes them to auth.log (the journal and -E files carry the same messages).
const at = (pid: number, msg: string): string => `2026-11-30T01:02:03.000000+00:00 host sshd[${pid}]: ${msg}`;

describe('the user an sshd log line names', () => {
  it.each([
    ['Accepted publickey for alice from 127.0.0.1 port 50312 ssh2: ED25519 SHA256:abc', 'alice'],
    ['Failed publickey for invalid user bob from 127.0.0.1 port 50312 ssh2', 'bob'],
    ["Could not open user 'bob' authorized keys '/etc/ssh/authorized_keys/bob': Permission denied", 'bob'],
    ['User alice-web from 127.0.0.1 not allowed because account is locked', 'alice-web'],
    ['Connection closed by authenticating user alice 127.0.0.1 port 50312 [preauth]', 'alice'],
    ['pam_unix(sshd:session): session opened for user alice(uid=1001) by (uid=0)', 'alice'],
    ['subsystem request for sftp by user alice', 'alice'],
    ['fatal: bad ownership or modes for chroot directory component "/srv/"', undefined],
    ['Received disconnect from 127.0.0.1 port 50312:11: disconnected by user', undefined],
  ])('%s', (line, user) => {
    expect(userNamedIn(at(1, line))).toBe(user);
  });
});

describe('findFailure matches the log line to the user exactly', () => {
  it("does not quote another user's failure that falls after this user's Accepted line", () => {
    const lines = [
      at(100, 'Accepted publickey for alice from 127.0.0.1 port 50312 ssh2: ED25519 SHA256:abc'),
      at(200, "error: Could not open user 'bob' authorized keys '/etc/ssh/authorized_keys/bob': Permission denied"),
      at(101, 'fatal: bad ownership or modes for chroot directory component "/srv/"'),
    ];
    expect(findFailure(lines, 'alice')).toBe(lines[2]);
    expect(findFailure(lines, 'bob')).toBe(lines[1]);
  });

  it("finds nothing for alice when only bob failed after alice's login", () => {
    const lines = [
      at(100, 'Accepted publickey for alice from 127.0.0.1 port 50312 ssh2: ED25519 SHA256:abc'),
      at(200, "error: Could not open user 'bob' authorized keys '/etc/ssh/authorized_keys/bob': Permission denied"),
      at(200, 'Connection closed by authenticating user bob 127.0.0.1 port 50400 [preauth]'),
    ];
    expect(findFailure(lines, 'alice')).toBeUndefined();
  });

  it('a user whose name begins like another user\'s is not that user', () => {
    const lines = [
      at(300, 'User alice-web from 127.0.0.1 not allowed because account is locked'),
      at(300, 'Connection closed by invalid user alice-web 127.0.0.1 port 50500 [preauth]'),
    ];
    expect(findFailure(lines, 'alice')).toBeUndefined();
    expect(findFailure(lines, 'alice-web')).toBe(lines[0]);
  });

  it('still quotes the chroot failure after the user\'s own Accepted line', () => {
    const lines = [
      at(100, 'Accepted publickey for alice from 127.0.0.1 port 50312 ssh2: ED25519 SHA256:abc'),
      at(101, 'fatal: bad ownership or modes for chroot directory "/srv/jails/alice"'),
    ];
    expect(findFailure(lines, 'alice')).toBe(lines[1]);
  });
});
