// authorized_keys options by sshd's rules (#12 item 11). Pure: no host changes.
import { describe, expect, it } from 'vitest';
import { checkKeyLineOptions, parseKeyOptions, splitKeyLine, unparsableKeyLines, KeyOptionError } from '../src/model/key-options.ts';
import { keyLine } from '../src/plan/options.ts';
import { UserError } from '../src/model/errors.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop';

const sshdError = (opts: string): string => {
  try {
    parseKeyOptions(opts);
  } catch (e) {
    if (e instanceof KeyOptionError) return e.reason;
    throw e;
  }
  return 'accepted';
};

const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e.message;
    throw e;
  }
  return 'accepted';
};

describe('splitKeyLine: where sshd ends the options', () => {
  it('a line that starts with a key type has no options', () => {
    expect(splitKeyLine(KEY)).toEqual({ options: '', rest: KEY });
  });
  it('options end at the first blank outside quotes; \\" is a quote inside a value, any other backslash is itself', () => {
    expect(splitKeyLine(`command="a b",no-pty ${KEY}`)).toEqual({ options: 'command="a b",no-pty', rest: KEY });
    expect(splitKeyLine(`command="say \\"hi there\\"" ${KEY}`).options).toBe('command="say \\"hi there\\""');
    // `\\"`: the first backslash is itself, the second escapes the quote, so the value goes on.
    expect(splitKeyLine(`command="a\\\\" b" ${KEY}`).options).toBe('command="a\\\\" b"');
    expect(() => splitKeyLine('command="never closed ssh-ed25519 AAAA')).toThrow(/missing end quote/);
  });
});

describe('parseKeyOptions: sshd_auth_parse_options', () => {
  it('reads flags (case-insensitive, no- for the negatable ones) and quoted values', () => {
    expect(parseKeyOptions('restrict,No-Pty,port-forwarding,from="10.0.0.0/8,!10.0.0.1",expiry-time="20300101"')).toEqual([
      { name: 'restrict', negated: false, text: 'restrict' },
      { name: 'pty', negated: true, text: 'No-Pty' },
      { name: 'port-forwarding', negated: false, text: 'port-forwarding' },
      { name: 'from', negated: false, value: '10.0.0.0/8,!10.0.0.1', text: 'from="10.0.0.0/8,!10.0.0.1"' },
      { name: 'expiry-time', negated: false, value: '20300101', text: 'expiry-time="20300101"' },
    ]);
    expect(parseKeyOptions('command="echo \\"x\\""')[0]!.value).toBe('echo "x"');
  });

  it("refuses what sshd refuses, with sshd's reason", () => {
    expect(sshdError('from="a",from="b"')).toBe('multiple "from" clauses');
    expect(sshdError('command="a b",command="c"')).toBe('multiple "command" clauses');
    expect(sshdError('principals="a",principals="b"')).toBe('multiple "principals" clauses');
    expect(sshdError('no-such-option')).toBe('unknown key option');
    expect(sshdError('ptyx')).toBe('unknown key option'); // a flag followed by more letters
    expect(sshdError('no-restrict')).toBe('unknown key option'); // restrict has no negation
    expect(sshdError('no-pty,')).toBe('unexpected end-of-options');
    expect(sshdError('from=10.0.0.1')).toBe('missing start quote');
    expect(sshdError('from="10.0.0.1')).toBe('missing end quote');
    expect(sshdError('no-pty;no-user-rc')).toBe('unknown key option');
  });

  it('takes what sshd takes: two expiry-times, two environments (jailwizard refuses those later)', () => {
    expect(sshdError('expiry-time="20300101",expiry-time="20310101"')).toBe('accepted');
    expect(sshdError('environment="A=1",environment="B=2"')).toBe('accepted');
  });
});

describe('checkKeyLineOptions and keyLine: what jailwizard writes', () => {
  it('the line of the issue, command="a b",from="*" with allowFrom, is refused instead of written with two from=', () => {
    const line = `command="a b",from="*" ${KEY}`;
    expect(refusal(() => keyLine(line, ['127.0.0.1'], 0))).toMatch(/^authorized key 1 has a command= option/);
    expect(refusal(() => keyLine(`from="*" ${KEY}`, ['127.0.0.1'], 1))).toMatch(/^authorized key 2 has a from= option, and allowFrom adds one/);
  });

  it('refuses options that fight the jail, and any option given twice', () => {
    for (const o of ['command="ls"', 'permitopen="localhost:80"', 'permitlisten="8080"', 'tunnel="1"', 'environment="A=b"']) {
      expect(refusal(() => checkKeyLineOptions(`${o} ${KEY}`, undefined)), o).toMatch(new RegExp(`has a ${o.split('=')[0]}= option`));
    }
    expect(refusal(() => checkKeyLineOptions(`no-pty,pty ${KEY}`, undefined))).toMatch(/has the option pty twice/);
    expect(refusal(() => checkKeyLineOptions(`expiry-time="20300101",expiry-time="20310101" ${KEY}`, undefined))).toMatch(/expiry-time twice/);
    expect(refusal(() => checkKeyLineOptions(`from="a",from="b" ${KEY}`, undefined))).toMatch(/options sshd refuses: multiple "from" clauses/);
  });

  it('keeps harmless options and puts from= first, once', () => {
    expect(keyLine(`no-pty,expiry-time="20300101" ${KEY}`, ['10.0.0.0/8'], 0)).toBe(`from="10.0.0.0/8",no-pty,expiry-time="20300101" ${KEY}`);
    expect(keyLine(KEY, ['127.0.0.1', '::1'], 0)).toBe(`from="127.0.0.1,::1" ${KEY}`);
    expect(keyLine(`from="10.1.2.3" ${KEY}`, undefined, 0)).toBe(`from="10.1.2.3" ${KEY}`);
    const written = keyLine(`no-pty ${KEY}`, ['10.0.0.0/8'], 0);
    expect(unparsableKeyLines(written)).toEqual([]);
  });

  it('messages stay on one line whatever the key holds', () => {
    const m = refusal(() => checkKeyLineOptions(`command="a\nb" ${KEY}`, undefined));
    expect(m.split('\n')).toHaveLength(1);
  });
});

describe('unparsableKeyLines: what the connection test checks in the written keys file', () => {
  it('names each line sshd would skip', () => {
    const text = ['# comment', KEY, `from="a",from="b" ${KEY}`, '', `bogus ${KEY}`, ''].join('\n');
    expect(unparsableKeyLines(text)).toEqual([
      { line: 3, reason: 'multiple "from" clauses' },
      { line: 5, reason: 'unknown key option' },
    ]);
  });
});
