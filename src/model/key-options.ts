// authorized_keys options, parsed by sshd's own rules (OpenSSH's auth-options.c and misc.c:
// opt_flag, opt_match, opt_dequote; sshkey_advance_past_options for where options end).
// ssh-keygen -l ignores options entirely, so it cannot tell a line sshd will refuse.
import { UserError } from './errors.ts';

/** Flags, in the order sshd tries them; `negatable` ones also take a `no-` prefix. */
const FLAGS: { name: string; negatable: boolean }[] = [
  { name: 'restrict', negatable: false },
  { name: 'cert-authority', negatable: false },
  { name: 'port-forwarding', negatable: true },
  { name: 'agent-forwarding', negatable: true },
  { name: 'x11-forwarding', negatable: true },
  { name: 'touch-required', negatable: true },
  { name: 'verify-required', negatable: true },
  { name: 'pty', negatable: true },
  { name: 'user-rc', negatable: true },
];

/** Options that take a "quoted value", in the order sshd tries them. */
const VALUED = ['command', 'principals', 'from', 'expiry-time', 'environment', 'permitopen', 'permitlisten', 'tunnel'];

export interface KeyOption {
  /** Lower case, without `no-`: `pty` for both `pty` and `no-pty`. */
  name: string;
  negated: boolean;
  /** The dequoted value of a valued option. */
  value?: string;
  /** The option as written. */
  text: string;
}

/** Why sshd refuses an options string (its own error text), with where it stopped. */
export class KeyOptionError extends Error {
  constructor(readonly reason: string, readonly at: string) {
    super(`${reason} at ${JSON.stringify(at.slice(0, 30))}`);
  }
}

/** Key types sshd reads without options first (sshkey_read succeeds on the line). */
const KEY_TYPE = /^(ssh-|ecdsa-sha2-|sk-ssh-|sk-ecdsa-sha2-)\S*\s/;

/**
 * Splits a line into its options and the key: sshd reads a key first, and only when that
 * fails skips options up to the first blank outside double quotes, where `\"` is a quote
 * inside a value and any other backslash is itself.
 */
export function splitKeyLine(line: string): { options: string; rest: string } {
  const l = line.replace(/^[ \t]+/, '');
  if (KEY_TYPE.test(l)) return { options: '', rest: l };
  let quoted = false;
  let i = 0;
  for (; i < l.length && (quoted || (l[i] !== ' ' && l[i] !== '\t')); i++) {
    if (l[i] === '\\' && l[i + 1] === '"') i++;
    else if (l[i] === '"') quoted = !quoted;
  }
  if (i >= l.length && quoted) throw new KeyOptionError('invalid key option string (missing end quote)', l);
  return { options: l.slice(0, i), rest: l.slice(i).replace(/^[ \t]+/, '') };
}

/** sshd's opt_dequote: a leading `"`, `\"` for a quote, up to the closing `"`. */
function dequote(s: string, at: number): { value: string; end: number } {
  if (s[at] !== '"') throw new KeyOptionError('missing start quote', s.slice(at));
  let v = '';
  let i = at + 1;
  for (; i < s.length && s[i] !== '"'; i++) {
    if (s[i] === '\\' && s[i + 1] === '"') i++;
    v += s[i];
  }
  if (i >= s.length) throw new KeyOptionError('missing end quote', s.slice(at));
  return { value: v, end: i + 1 };
}

const startsWithCI = (s: string, at: number, word: string): boolean => s.slice(at, at + word.length).toLowerCase() === word;

/** Parses an options string as sshd_auth_parse_options does; throws KeyOptionError where sshd would refuse the line. */
export function parseKeyOptions(opts: string): KeyOption[] {
  const out: KeyOption[] = [];
  let i = 0;
  while (i < opts.length && opts[i] !== ' ' && opts[i] !== '\t') {
    const start = i;
    let parsed: Omit<KeyOption, 'text'> | undefined;
    for (const f of FLAGS) {
      const neg = f.negatable && startsWithCI(opts, i, 'no-');
      const at = neg ? i + 3 : i;
      if (startsWithCI(opts, at, f.name)) {
        parsed = { name: f.name, negated: neg };
        i = at + f.name.length;
        break;
      }
    }
    if (!parsed) {
      const name = VALUED.find((n) => startsWithCI(opts, i, n) && opts[i + n.length] === '=');
      if (name) {
        // sshd's own refusal; other repeats it takes (first or last wins), jailwizard refuses them later.
        if ((name === 'command' || name === 'principals' || name === 'from') && out.some((o) => o.name === name)) throw new KeyOptionError(`multiple "${name}" clauses`, opts.slice(i));
        const { value, end } = dequote(opts, i + name.length + 1);
        parsed = { name, negated: false, value };
        i = end;
      }
    }
    // Anything else (or a flag followed by more letters) is what sshd calls an unknown option.
    if (parsed) out.push({ ...parsed, text: opts.slice(start, i) });
    if (i >= opts.length || opts[i] === ' ' || opts[i] === '\t') break;
    if (!parsed || opts[i] !== ',') throw new KeyOptionError('unknown key option', opts.slice(start));
    i++;
    if (i >= opts.length) throw new KeyOptionError('unexpected end-of-options', opts.slice(start));
  }
  return out;
}

/** Options that fight what jailwizard sets for every jailed user, with why. */
const CONFLICTING: Record<string, string> = {
  command: 'jailwizard decides what the user runs (the tools, and ForceCommand where it applies)',
  permitopen: 'jailwizard turns forwarding off (DisableForwarding yes)',
  permitlisten: 'jailwizard turns forwarding off (DisableForwarding yes)',
  tunnel: 'jailwizard turns forwarding off (DisableForwarding yes)',
  environment: 'a jailed user gets no environment from the key',
};

/** Short, single-line form of a key for messages. */
export function shortKey(line: string): string {
  const one = JSON.stringify(line.replace(/\s+/g, ' ')).slice(1, -1);
  return one.length > 40 ? `${one.slice(0, 40)}…` : one;
}

/**
 * Checks the options of one authorized_keys line as sshd and jailwizard see them: sshd's
 * own errors, any option given twice, options that conflict with what jailwizard sets, and
 * `from=` when allowFrom puts one there. Returns the parsed options.
 */
export function checkKeyLineOptions(line: string, allowFrom: readonly string[] | undefined, label = `"${shortKey(line)}"`): KeyOption[] {
  const hint = 'write the key line without that option; jailwizard sets the restrictions a jail needs';
  let opts: KeyOption[];
  try {
    opts = parseKeyOptions(splitKeyLine(line).options);
  } catch (e) {
    if (!(e instanceof KeyOptionError)) throw e;
    if (e.reason === 'unknown key option') {
      const name = /^[^,="\s]*/.exec(e.at)![0].toLowerCase();
      throw new UserError(`${label} has an unknown option ${JSON.stringify(name)}`, `sshd skips a key line with an unknown option; known: ${[...FLAGS.map((f) => f.name), ...VALUED].sort().join(', ')}`);
    }
    throw new UserError(`${label} has options sshd refuses: ${e.reason} at ${JSON.stringify(e.at.slice(0, 30))}`, 'sshd skips a key line whose options it cannot parse, so the key would silently not work');
  }
  const seen = new Set<string>();
  for (const o of opts) {
    if (seen.has(o.name)) throw new UserError(`${label} has the option ${o.name} twice`, o.name === 'from' || o.name === 'command' || o.name === 'principals' ? `sshd refuses the whole line ("multiple \\"${o.name}\\" clauses"); keep one` : 'keep one of them');
    seen.add(o.name);
    if (CONFLICTING[o.name]) throw new UserError(`${label} has a ${o.name}= option: ${CONFLICTING[o.name]}`, hint);
    if (o.name === 'from' && allowFrom && allowFrom.length > 0) {
      throw new UserError(`${label} has a from= option, and allowFrom adds one to every key`, 'drop from= from the key and list its sources in allowFrom, or drop allowFrom: sshd refuses a line with two from=');
    }
  }
  return opts;
}

/** The lines of an authorized_keys text that sshd would skip for their options: line number and sshd's reason. */
export function unparsableKeyLines(text: string): { line: number; reason: string }[] {
  const bad: { line: number; reason: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    try {
      parseKeyOptions(splitKeyLine(l).options);
    } catch (e) {
      if (!(e instanceof KeyOptionError)) throw e;
      bad.push({ line: i + 1, reason: e.reason });
    }
  });
  return bad;
}
