import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ANSWER_KEYS, MAX_LIST_ENTRIES } from '../src/host/answers.ts';
import { MAX_ANSWERS_BYTES, answersToYaml, jsonSyntaxError, loadAnswers, parseAnswers } from '../src/host/answers-file.ts';
import { UserError } from '../src/model/errors.ts';
import type { Answers } from '../src/model/types.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPYCdnkcCst4lkE3LB89pgBNXZBfxjvuS3G3SRkHEzFW alice@laptop';

/** Asserts parseAnswers throws a UserError whose message mentions every `parts`, with a hint. */
function refuses(text: string, source: string, ...parts: (string | RegExp)[]): UserError {
  let err: unknown;
  try {
    parseAnswers(text, source);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const u = err as UserError;
  expect(u.message).not.toContain('\n');
  expect(u.message).toContain(source);
  for (const p of parts) expect(u.message).toMatch(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  expect(u.hint).toBeTruthy();
  return u;
}

describe('parseAnswers: good input', () => {
  test('a trailing slash on the jail is dropped, so one jail has one spelling', () => {
    expect(parseAnswers('user: alice\ntools: [sftp]\njail: /srv/jails/alice//\n', 'a.yaml').jail).toBe('/srv/jails/alice');
  });

  test('minimal YAML gets the defaults', () => {
    const a = parseAnswers('user: alice\ntools: [bash]\njail: /srv/jails/alice\n', 'a.yaml');
    expect(a).toEqual<Answers>({
      user: 'alice',
      tools: ['bash'],
      jail: '/srv/jails/alice',
      arch: 'auto',
      authorizedKeys: [],
      createUser: true,
      installMissing: false,
    });
    expect('group' in a).toBe(false);
  });

  test('full JSON, tools put in canonical order', () => {
    const a = parseAnswers(
      JSON.stringify({
        user: 'bob',
        tools: ['sftp', 'scp', 'bash', 'rsync'],
        jail: '/srv/jails/bob',
        arch: 'aarch64',
        authorizedKeys: [`  ${KEY}  `],
        createUser: false,
        group: 'sftpusers',
        installMissing: true,
      }),
      'b.json',
    );
    expect(a.tools).toEqual(['bash', 'rsync', 'scp', 'sftp']);
    expect(a.arch).toBe('aarch64');
    expect(a.authorizedKeys).toEqual([KEY]);
    expect(a.createUser).toBe(false);
    expect(a.group).toBe('sftpusers');
    expect(a.installMissing).toBe(true);
  });

  test('unknown extension: JSON first, then YAML', () => {
    expect(parseAnswers('{"user":"a","tools":["scp"],"jail":"/srv/j/a"}', 'answers').tools).toEqual(['scp']);
    expect(parseAnswers('user: a\ntools:\n  - rsync\njail: /srv/j/a\n', 'answers.txt').tools).toEqual(['rsync']);
  });

  test('YAML block list and null optional keys', () => {
    const a = parseAnswers('user: a\ntools:\n  - sftp\njail: /srv/j/a\ngroup:\narch:\n', 'x.yml');
    expect(a.arch).toBe('auto');
    expect(a.group).toBeUndefined();
  });

  test('loadAnswers reads a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jw-answers-'));
    try {
      const f = join(dir, 'alice.yaml');
      writeFileSync(f, 'user: alice\ntools: [bash, rsync]\njail: /srv/jails/alice\n');
      expect((await loadAnswers(f)).tools).toEqual(['bash', 'rsync']);
      await expect(loadAnswers(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read answers file .*missing\.yaml: no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parseAnswers: syntax errors name the file and line', () => {
  test('JSON: missing value', () => {
    refuses('{\n  "user": "a",\n  "tools": ["bash",]\n}', 'a.json', 'line 3, column 20', 'JSON syntax error');
  });
  test('JSON: missing comma', () => {
    refuses('{\n  "user": "a"\n  "tools": []\n}', 'a.json', 'line 3, column 3', "expected ',' or '}'");
  });
  test('JSON: single quotes', () => {
    refuses("{\n  'user': 'a'\n}", 'a.json', 'line 2, column 3', 'double-quoted');
  });
  test('JSON: truncated file', () => {
    refuses('{"user": "a",\n', 'a.json', 'line 2, column 1');
  });
  test('YAML: bad indentation', () => {
    refuses('user: a\n tools: [bash\n', 'a.yaml', /a\.yaml line 1, column \d+: YAML syntax error/);
  });
  test('YAML: tab indentation', () => {
    refuses('tools:\n\t- bash\n', 'a.yml', 'line 2', 'YAML syntax error');
  });
  test('YAML: duplicate key', () => {
    refuses('user: a\nuser: b\n', 'a.yaml', 'line 2', 'unique');
  });
  test('unknown extension that is neither', () => {
    refuses('user: [a\n', 'answers', 'YAML syntax error');
  });
  test('not a mapping', () => {
    refuses('- user\n- alice\n', 'a.yaml', 'expected a mapping', 'got a list');
    refuses('', 'a.yaml', 'got nothing');
  });
});

describe('jsonSyntaxError', () => {
  test('valid JSON has none', () => {
    expect(jsonSyntaxError('{"a": [1, -2.5e3, true, false, null, "x\\"\\u00e9"], "b": {}}')).toBeUndefined();
  });
  test('finds the offset', () => {
    expect(jsonSyntaxError('[1, 2')).toEqual({ offset: 5, expected: "',' or ']'" });
    expect(jsonSyntaxError('{"a": tru}')?.offset).toBe(6);
  });
});

describe('parseAnswers: keys and types', () => {
  const base = { user: 'alice', tools: ['bash'], jail: '/srv/jails/alice' };
  const json = (o: object) => JSON.stringify({ ...base, ...o });

  test('unknown key with a suggestion', () => {
    const e = refuses('user: a\ntool: [bash]\njail: /srv/j/a\n', 'a.yaml', '"tool"', 'did you mean "tools"');
    expect(e.hint).toContain('authorizedKeys');
  });
  test('snake_case and case mistakes suggest the real key', () => {
    refuses(json({ authorized_keys: [] }), 'a.json', '"authorized_keys"', '"authorizedKeys"');
    refuses(json({ CreateUser: true }), 'a.json', '"CreateUser"', '"createUser"');
  });
  test('unknown key with nothing close', () => {
    const e = refuses(json({ shell: '/bin/sh' }), 'a.json', 'unknown key "shell"');
    expect(e.message).not.toContain('did you mean');
  });
  test('required keys', () => {
    refuses(JSON.stringify({ tools: ['bash'], jail: '/j' }), 'a.json', '"user" is required');
    refuses(JSON.stringify({ user: 'a', jail: '/j' }), 'a.json', '"tools" is required');
    refuses(JSON.stringify({ user: 'a', tools: ['bash'] }), 'a.json', '"jail" is required');
  });
  test('user must be a non-empty string', () => {
    refuses(json({ user: 42 }), 'a.json', '"user" must be a user name', 'a number (42)');
    refuses(json({ user: ' ' }), 'a.json', '"user"');
  });
  test('tools: type, unknown, empty, duplicate', () => {
    refuses(json({ tools: 'bash' }), 'a.json', '"tools" must be a list', 'a string ("bash")');
    refuses(json({ tools: [1] }), 'a.json', '"tools" must be a list');
    const e = refuses(json({ tools: ['bash', 'vim'] }), 'a.json', 'unknown tool "vim"');
    expect(e.hint).toContain('bash, rsync, scp, sftp');
    refuses(json({ tools: [] }), 'a.json', 'no tools');
    refuses(json({ tools: ['scp', 'scp'] }), 'a.json', '"scp" is listed twice');
  });
  test('jail: type and absolute', () => {
    refuses(json({ jail: ['/srv'] }), 'a.json', '"jail" must be an absolute path', 'a list');
    refuses(json({ jail: 'srv/jails/a' }), 'a.json', '"jail" must be an absolute path', 'srv/jails/a');
  });
  test('arch', () => {
    refuses(json({ arch: 'amd64' }), 'a.json', '"arch" must be one of auto, x86_64', '"amd64"');
  });
  test('authorizedKeys must be a list of strings', () => {
    refuses(json({ authorizedKeys: KEY }), 'a.json', '"authorizedKeys" must be a list of strings');
    refuses(json({ authorizedKeys: [{ key: KEY }] }), 'a.json', '"authorizedKeys"', 'a list');
  });
  test('booleans, including YAML 1.1 yes/no', () => {
    refuses(json({ createUser: 'true' }), 'a.json', '"createUser" must be true or false', '"true"');
    const e = refuses('user: a\ntools: [bash]\njail: /srv/j/a\ninstallMissing: yes\n', 'a.yaml', '"installMissing"', '"yes"');
    expect(e.hint).toContain('YAML 1.2');
  });
  test('group must be a string', () => {
    refuses(json({ group: 100 }), 'a.json', '"group" must be a group name');
  });
});

describe('answersToYaml', () => {
  const full: Answers = {
    user: 'alice',
    tools: ['bash', 'rsync', 'scp', 'sftp'],
    jail: '/srv/jails/alice',
    arch: 'x86_64',
    authorizedKeys: [`from="127.0.0.1,10.0.0.0/8",no-pty ${KEY} with: colon # and hash`, 'ssh-rsa AAAAB3Nza "quoted" \'single\''],
    createUser: false,
    group: 'jailed',
    installMissing: true,
    shared: true,
    writable: '/home/alice/upload',
    groupDir: '/shared',
    binds: [{ source: '/srv/web/example.com', target: '/web', readOnly: true }, { source: '/srv/drop', target: '/drop', readOnly: false }],
    allowFrom: ['203.0.113.7', '10.0.0.0/8', '2001:db8::/32'],
    extraBinaries: ['git', '/usr/bin/nano'],
    extras: ['locale', 'terminfo', 'profile', 'tmp', 'nss'],
    allowSetuid: true,
    allowPrivilegedGroups: ['adm'],
    noexec: true,
  };
  // The sftp-only options cannot go with a shell, so they get their own file.
  const sftpFull: Answers = {
    user: 'bob',
    tools: ['sftp'],
    jail: '/srv/jails/bob',
    arch: 'auto',
    authorizedKeys: [],
    createUser: true,
    installMissing: false,
    readOnly: true,
    umask: '0027',
    startDir: '/web',
    log: true,
  };

  test('round-trips through parseAnswers', () => {
    const y = answersToYaml(full);
    expect(parseAnswers(y, 'saved.yaml')).toEqual(full);
    expect(parseAnswers(answersToYaml(sftpFull), 'saved.yaml')).toEqual(sftpFull);
    const minimal = parseAnswers('user: a\ntools: [sftp]\njail: /srv/j/a\n', 'm.yaml');
    expect(parseAnswers(answersToYaml(minimal), 'm.yaml')).toEqual(minimal);
  });

  test('long keys stay on one line, and every key is documented in a comment', () => {
    const y = answersToYaml(full) + answersToYaml(sftpFull);
    expect(y.split('\n').some((l) => l.includes(KEY))).toBe(true);
    for (const k of Object.keys(ANSWER_KEYS) as (keyof Answers)[]) expect(y).toContain(`# ${ANSWER_KEYS[k].doc}`);
  });
});

test('ANSWER_KEYS documents every key', () => {
  for (const doc of Object.values(ANSWER_KEYS)) {
    expect(doc.doc.length).toBeGreaterThan(10);
    // Required, or with a default, or an optional string or path whose absence is the default.
    expect(doc.required || doc.default !== undefined || /string|path/.test(doc.type)).toBe(true);
  }
});

describe('inputs that used to get through and fail later (#11 item 8)', () => {
  const base = { user: 'alice', tools: ['bash'], jail: '/srv/jails/alice' };

  test('a key twice in one JSON object is refused, as YAML refuses it, with where it is', () => {
    refuses('{"user": "alice", "tools": ["bash"], "jail": "/srv/jails/alice",\n "jail": "/srv/other"}', 'a.json', 'line 2, column 2', 'the key "jail" appears twice');
    // In a nested object too, and in a file whose name says neither JSON nor YAML.
    refuses(JSON.stringify(base).replace('}', ', "binds": [{"source": "/srv/a", "target": "/a", "target": "/b"}]}'), 'a.json', '"target" appears twice');
    refuses('{"user": "a", "user": "b", "tools": ["bash"], "jail": "/srv/j"}', 'answers.conf', /unique|twice/);
    refuses('user: a\nuser: b\ntools: [bash]\njail: /srv/j\n', 'a.yaml', /unique/);
    // The same key in two different objects is fine.
    expect(parseAnswers(JSON.stringify({ ...base, binds: [{ source: '/srv/a', target: '/a' }, { source: '/srv/b', target: '/b' }] }), 'a.json').binds).toHaveLength(2);
  });

  test('a file over 1 MiB is refused before it is parsed, one read, however big', async () => {
    const big = JSON.stringify({ ...base, authorizedKeys: Array.from({ length: 12_000 }, () => KEY) });
    expect(big.length).toBeGreaterThan(MAX_ANSWERS_BYTES);
    refuses(big, 'a.json', 'larger than 1 MiB');
    // /dev/zero never ends: only a bounded read can refuse it.
    await expect(loadAnswers('/dev/zero')).rejects.toThrow(/\/dev\/zero is larger than 1 MiB/);
  });

  test('lists are bounded: 1001 keys are refused with the count, not checked one by one', () => {
    const e = refuses(JSON.stringify({ ...base, authorizedKeys: Array.from({ length: MAX_LIST_ENTRIES + 1 }, () => KEY) }), 'a.json', `"authorizedKeys" has ${MAX_LIST_ENTRIES + 1} entries`, `at most ${MAX_LIST_ENTRIES}`);
    expect(e.hint).toContain('authorized_keys');
    refuses(JSON.stringify({ ...base, allowFrom: Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => `10.0.${i >> 8}.${i & 255}`) }), 'a.json', '"allowFrom" has 1001 entries');
  });

  test('nesting deeper than any answers file is refused, never a stack overflow', () => {
    refuses(`{"user": ${'['.repeat(100_000)}`, 'a.json', 'nested more than');
    refuses(`${'['.repeat(100_000)}`, 'a.json', 'nested more than');
  });

  test('writable: /home is refused up front (it holds every home and stays root\'s)', () => {
    const e = refuses(JSON.stringify({ ...base, writable: '/home' }), 'a.json', '"writable" cannot be /home');
    expect(e.hint).toContain('/home/alice/upload');
    refuses(JSON.stringify({ ...base, writable: '/home/' }), 'a.json', '"writable" cannot be /home');
  });

  test('values with a newline are refused in one line, the value quoted', () => {
    for (const [text, says] of [
      [JSON.stringify({ ...base, group: 'uploads\nroot' }), '"uploads\\nroot"'],
      ['user: alice\ntools: [bash]\njail: /srv/j\ngroup: "up\\nloads"\n', '"up\\nloads"'],
      [JSON.stringify({ ...base, extraBinaries: ['/usr/bin/git\n/usr/bin/id'] }), '"/usr/bin/git\\n/usr/bin/id"'],
      [JSON.stringify({ ...base, allowPrivilegedGroups: ['adm\nsudo'] }), '"adm\\nsudo"'],
    ] as const) {
      const e = refuses(text, text.startsWith('{') ? 'a.json' : 'a.yaml', says);
      expect(e.hint).not.toContain('\n');
    }
    // The file's own name, too.
    expect(() => parseAnswers('{', 'odd\nname.json')).toThrow(/^"odd\\nname\.json" line 1, column 2: JSON syntax error/);
  });

  test('group names that would break etc/group or usermod are refused', () => {
    for (const g of ['a:b', 'a,b', 'a b', '-rf', 'x'.repeat(33)]) refuses(JSON.stringify({ ...base, group: g }), 'a.json', '"group" must be a group name');
  });

  test('allowPrivilegedGroups: a list of group names, kept sorted and once each', () => {
    expect(parseAnswers(JSON.stringify({ ...base, allowPrivilegedGroups: ['shadow', 'adm', 'adm'] }), 'a.json').allowPrivilegedGroups).toEqual(['adm', 'shadow']);
    refuses(JSON.stringify({ ...base, allowPrivilegedGroups: 'adm' }), 'a.json', '"allowPrivilegedGroups" must be a list of strings');
  });
});
