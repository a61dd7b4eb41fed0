// `jailwizard test USER`: log in with the real clients and prove that the granted tools
// work and that the usual escapes fail. Every probe is a real ssh/sftp/scp/rsync call.
//
// A negative probe passes only when we got in and the server refused the action: a login
// that fails outright proves nothing about the jail, so it fails the probe too.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, lstat, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { addressAllowed } from '../host/address.ts';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, posix } from 'node:path';
import { run, type RunResult } from '../host/run.ts';
import { SshClients } from '../host/ssh-client.ts';
import { lstatAt, readFileAt, unlinkAt, withParent } from '../host/safe-fs.ts';
import type { Answers, Tool } from '../model/types.ts';
import { readElf } from '../host/elf.ts';
import { readMountInfo } from '../host/mountinfo.ts';
import { chosenRecipes, type ProbeSpec } from '../../recipes/index.ts';
import { octal } from '../model/mode.ts';
import { parseGroups, parsePasswd } from '../host/accounts.ts';

/**
 * The jail's options the probes prove, as in the record's answers; each absent key
 * means the default and adds no probe. logFile is the record's: where the jail's
 * internal-sftp lines land on the host.
 */
export type ProbeOptions = Pick<
  Answers,
  'readOnly' | 'umask' | 'startDir' | 'writable' | 'group' | 'groupDir' | 'binds' | 'log' | 'allowFrom' | 'extraBinaries' | 'extras'
> & {
  logFile?: string;
  /** The dirs (inside the jail) jailwizard bound onto themselves noexec,nosuid,nodev. */
  noexecDirs?: string[];
  /** sshd runs jailwizard's gate for this user (ForceCommand): the record has its grant. */
  gated?: boolean;
};

export interface ProbeTarget extends ProbeOptions {
  user: string;
  tools: Tool[];
  /** host path of the chroot */
  jail: string;
  host: string;
  port: number;
  /** private key that is authorized for the user */
  identityFile: string;
  knownHostsFile?: string;
  /** The name every file the probes create starts with (journaled before they start); random by default. */
  tag?: string;
  /** A dir for the probes' local files (payload, batches, downloads); the system temp dir by default. */
  scratch?: string;
  /** sshd's MaxSessions for this user: how many probes may share the master at once. */
  maxSessions?: number;
  /** Called once the n-th client has started (it still runs), before it is awaited. */
  onClient?: (n: number) => Promise<void>;
}

export interface ProbeResult {
  name: string;
  ok: boolean;
  detail: string;
}

const TIMEOUT_MS = 30_000;
/** What shellAttempt prints first, proving the shell ran. */
const IN = 'jw-shell-ok\n';
const PAYLOAD_BYTES = 64 * 1024;
/** How long the log probe waits for syslog to write the line. */
const LOG_WAIT_MS = 5_000;
/** Where sshd sessions look for commands (sshd's default PATH, then the sbin dirs). */
const COMMAND_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'];

/** The write attempts: jail paths the user must not be able to create files in or at. */
function forbiddenWrites(user: string, tag: string): { label: string; path: string }[] {
  return [
    { label: 'the jail root', path: `/${tag}` },
    { label: '/etc/', path: `/etc/${tag}` },
    { label: '/bin/', path: `/bin/${tag}` },
    { label: `/etc/ssh/authorized_keys/${user}`, path: `/etc/ssh/authorized_keys/${user}` },
  ];
}

export async function runProbes(t: ProbeTarget, onResult?: (r: ProbeResult) => void): Promise<ProbeResult[]> {
  const results: ProbeResult[] = [];
  const report: Report = (name, ok, detail) => {
    const r = { name, ok, detail };
    results.push(r);
    onResult?.(r);
  };
  // rsync splits -e on whitespace: the local paths must have none.
  const work = await mkdtemp(join(t.scratch && !/\s/.test(t.scratch) ? t.scratch : tmpdir(), 'jw-probe-'));
  const p = new Prober(t, work);
  try {
    await p.init();
    // allowFrom: the refusal is proved from a loopback source sshd's Match block denies.
    const allow = t.allowFrom && t.allowFrom.length > 0 ? t.allowFrom : undefined;
    const deniedSource = allow && isIPv4(t.host) ? refusalSource(allow) : undefined;
    if (allow && !addressAllowed(t.host, allow)) {
      // The other probes would log in from t.host, which the jail does not allow.
      const why = `allowFrom (${allow.join(', ')}) does not include ${t.host}, the address the other probes log in from`;
      if (deniedSource) await sourceRefusal(p, deniedSource, report, `the only probe run: ${why}`);
      else report('source: login refused', false, `nothing can be tested from this host: ${why}, and no loopback source outside allowFrom is usable`);
      return results;
    }
    const runOne = async (probe: PlannedProbe, say: Report): Promise<void> => {
      if (probe.spec) say(probe.name!, ...(await p.runSpec(probe.spec, probe.path)));
      else await probe.row!.run(p, t, say);
    };
    const lanes = Math.max(1, Math.min(MAX_LANES, t.maxSessions ?? MAX_LANES));
    for (const section of probeSections(probeTable(t, p.tag))) {
      if (section.overlap && lanes > 1) await runOverlapped(section.probes, lanes, runOne, report);
      else for (const probe of section.probes) await runOne(probe, report);
    }
  } finally {
    await p.cleanup();
    await rm(work, { recursive: true, force: true });
  }
  return results;
}

type Report = (name: string, ok: boolean, detail: string) => void;

/**
 * How many probes run at once where they may overlap: each is a session on the master
 * (sshd's MaxSessions bounds them per connection) or a login of its own. Four keeps a
 * 2-core box responsive and took a four-tool test from about 2.2 s to about 1.8 s.
 */
const MAX_LANES = 4;

/**
 * The table cut where overlap is safe. The tools' round trips, the escapes (the gate's
 * refusals, forwarding, uploaded programs) and the write attempts each touch only their own
 * names; the option rows (200–299) stay one at a time, because some read what the server
 * logged or how a dir looks after their own upload.
 */
export function probeSections(table: PlannedProbe[]): { overlap: boolean; probes: PlannedProbe[] }[] {
  const overlaps = (o: number) => (o >= PROBE_ORDER.tools && o < PROBE_ORDER.options) || (o >= PROBE_ORDER.escapes && o < PROBE_ORDER.source);
  const out: { overlap: boolean; probes: PlannedProbe[] }[] = [];
  for (const probe of table) {
    const overlap = overlaps(probe.order);
    const last = out.at(-1);
    if (last && last.overlap === overlap) last.probes.push(probe);
    else out.push({ overlap, probes: [probe] });
  }
  return out;
}

/**
 * Runs probes several at a time but reports them in table order, each as soon as those
 * before it are reported. Probes on the same jail path run one after the other, so a
 * write attempt's before/after check on the host sees only its own client.
 */
export async function runOverlapped(probes: PlannedProbe[], lanes: number, runOne: (p: PlannedProbe, say: Report) => Promise<void>, report: Report): Promise<void> {
  const said: Parameters<Report>[][] = probes.map(() => []);
  const ended = probes.map(() => settleable());
  const byPath = new Map<string, number[]>();
  probes.forEach((p, i) => {
    const key = p.path ?? `#${i}`;
    byPath.set(key, [...(byPath.get(key) ?? []), i]);
  });
  // Option rows first: they log in on their own (forwarding, the gate) and take longest, so
  // they start while the short sessions on the master fill the other lanes.
  const queue = [...byPath.values()].sort((a, b) => Number(probes[b[0]!]!.row !== undefined) - Number(probes[a[0]!]!.row !== undefined));
  const lane = async (): Promise<void> => {
    for (let unit = queue.shift(); unit; unit = queue.shift()) {
      for (const i of unit) {
        try {
          await runOne(probes[i]!, (...r) => void said[i]!.push(r));
          ended[i]!.settle();
        } catch (e) {
          ended[i]!.fail(e);
        }
      }
    }
  };
  const running = Promise.allSettled(Array.from({ length: Math.min(lanes, queue.length) }, lane));
  try {
    for (let i = 0; i < probes.length; i++) {
      await ended[i]!.promise;
      for (const r of said[i]!) report(...r);
    }
  } finally {
    // Never leave a client running behind a failure: the caller closes the master next.
    await running;
  }
}

/** A promise settled from outside (Node 18 has no Promise.withResolvers); a rejection nobody awaits is not unhandled. */
function settleable(): { promise: Promise<void>; settle(): void; fail(e: unknown): void } {
  let settle!: () => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    settle = res;
    fail = rej;
  });
  promise.catch(() => undefined);
  return { promise, settle, fail };
}

/** Where each kind of probe goes in a run (ProbeSpec.order): equal orders keep the tools' order. */
export const PROBE_ORDER = { tools: 100, options: 200, escapes: 300, writes: 400, source: 500 } as const;

/** What the option rows ask of the tools, worked out once. */
function toolsOf(t: Pick<ProbeTarget, 'tools' | 'gated'>) {
  const has = (tool: Tool) => t.tools.includes(tool);
  return {
    /** bash: a shell the probes can use as the user */
    shell: has('bash'),
    sftp: has('sftp'),
    sftpOnly: t.tools.length === 1 && has('sftp'),
    /** some tool runs through a login shell (anything but sftp) */
    anyShell: t.tools.some((x) => x !== 'sftp'),
    gated: t.gated === true,
  };
}

/**
 * A row of the option probes: when it applies to a jail, and how it runs. A row may report
 * several probes (one per bind, per extra command…) or none; its order places it among the
 * tools' probes (ProbeSpec.order).
 */
interface OptionProbe {
  /** The option (or jail property) the row proves. */
  option: string;
  order: number;
  when(t: ProbeTarget, tools: ReturnType<typeof toolsOf>): boolean;
  run(p: Prober, t: ProbeTarget, report: Report): Promise<void>;
}

const OPTION_PROBES: OptionProbe[] = [
  {
    option: 'readOnly',
    order: 110, // in place of the sftp round trip, which a read-only jail refuses
    when: (t, x) => x.sftp && !!t.readOnly,
    run: async (p, _t, report) => report('sftp: read-only: upload refused', ...(await p.readOnlyRefused())),
  },
  {
    option: 'startDir',
    order: PROBE_ORDER.options,
    when: (t, x) => x.sftpOnly && !!t.startDir,
    run: async (p, t, report) => report(`sftp: session starts in ${t.startDir}`, ...(await p.startDir(t.startDir!))),
  },
  {
    option: 'umask',
    order: PROBE_ORDER.options + 1,
    when: (t, x) => x.sftpOnly && !!t.umask && !t.readOnly,
    run: async (p, t, report) => report(`sftp: umask ${t.umask} applied`, ...(await p.umaskApplied(t.umask!))),
  },
  {
    option: 'writable',
    order: PROBE_ORDER.options + 2,
    when: (t) => !!t.writable && !t.readOnly,
    run: async (p, t, report) => report(`writable ${t.writable}: upload works`, ...(await p.writableDir(t.writable!))),
  },
  {
    option: 'groupDir',
    order: PROBE_ORDER.options + 3,
    when: (t) => !!t.groupDir && !!t.group && !t.readOnly,
    run: async (p, t, report) => report(`group dir ${t.groupDir}: new file gets group ${t.group}`, ...(await p.groupDirGid(t.groupDir!, t.group!))),
  },
  {
    option: 'binds',
    order: PROBE_ORDER.options + 4,
    when: (t) => (t.binds ?? []).length > 0,
    run: async (p, t, report) => {
      for (const b of t.binds ?? []) {
        report(`bind ${b.target}: readable`, ...(await p.bindReadable(b.target, b.source)));
        if (b.readOnly || t.readOnly) report(`bind ${b.target}: write refused`, ...(await p.bindWriteRefused(b.target)));
        else report(`bind ${b.target}: writable`, ...(await p.bindWritable(b.target, b.source)));
      }
    },
  },
  {
    option: 'log',
    order: PROBE_ORDER.options + 5,
    when: (t, x) => x.sftp && !!t.log,
    run: async (p, t, report) => report(`log: upload appears in ${t.logFile ?? 'the syslog'}`, ...(await p.logged())),
  },
  {
    option: 'extraBinaries',
    order: PROBE_ORDER.options + 6,
    when: (t, x) => x.anyShell && (t.extraBinaries ?? []).length > 0,
    run: async (p, t, report) => {
      for (const bin of t.extraBinaries ?? []) {
        // Behind the gate git itself never runs (git -c alias.x='!sh' x would run anything); a clone and a push do.
        if (!(t.gated && basename(bin) === 'git')) report(`extra: ${basename(bin)} runs`, ...(await p.extraRuns(bin)));
        if (basename(bin) === 'git') report('extra: git clone and git push over ssh', ...(await p.gitRoundTrip()));
      }
    },
  },
  {
    option: 'extras: locale',
    order: PROBE_ORDER.options + 7,
    when: (t, x) => x.shell && !!t.extras?.includes('locale'),
    run: async (p, _t, report) => report('locale: no setlocale warning with LANG=C.UTF-8', ...(await p.noSetlocaleWarning())),
  },
  {
    option: 'extras: tmp',
    order: PROBE_ORDER.options + 8,
    when: (t, x) => !!t.extras?.includes('tmp') && (x.anyShell || !t.readOnly),
    run: async (p, _t, report) => report('/tmp is writable', ...(await p.tmpWritable())),
  },
  {
    option: 'the gate (a user without bash)',
    order: PROBE_ORDER.escapes + 30,
    when: (_t, x) => x.gated,
    run: async (p, _t, report) => {
      report('gate: a login without a command gets no shell', ...(await p.gateRefuses(undefined)));
      for (const prog of await p.otherPrograms()) report(`gate: ${prog} refused`, ...(await p.gateRefuses(`${prog} -c 'echo ${p.ranMarker}'`)));
    },
  },
  {
    option: 'noexec',
    order: PROBE_ORDER.escapes + 40,
    when: (t) => (t.noexecDirs ?? []).length > 0,
    run: async (p, t, report) => report(`noexec: ${t.noexecDirs!.join(', ')} mounted noexec,nosuid,nodev`, ...(await p.noexecMounted(t.noexecDirs!))),
  },
  {
    option: 'the gate or noexec: uploaded programs',
    order: PROBE_ORDER.escapes + 50,
    // Only where something could run a program: the gate, or bash on a noexec dir. An
    // sftp-only user runs nothing at all; a noexec mount left from when they had rsync
    // must not send this probe looking for a shell that is gone.
    when: (t, x) => (x.gated || (t.tools.includes('bash') && (t.noexecDirs ?? []).length > 0)) && !t.readOnly,
    run: async (p, _t, report) => {
      const [uploaded, detail] = await p.uploadElf();
      if (!uploaded) return report('escape: an uploaded program is refused', false, detail);
      report('escape: an uploaded program is refused', ...(await p.uploadedRefused(false)));
      report("escape: the same program through the jail's ld.so is refused", ...(await p.uploadedRefused(true)));
    },
  },
  {
    option: 'every jail (DisableForwarding)',
    order: PROBE_ORDER.escapes + 60,
    when: () => true,
    run: async (p, _t, report) => report('escape: port forwarding refused', ...(await p.forwarding())),
  },
  {
    option: 'allowFrom',
    order: PROBE_ORDER.source,
    when: (t) => !!t.allowFrom && t.allowFrom.length > 0 && isIPv4(t.host) && refusalSource(t.allowFrom) !== undefined,
    run: async (p, t, report) => sourceRefusal(p, refusalSource(t.allowFrom!)!, report),
  },
];

/** allowFrom's refusal, from a loopback source outside it. */
async function sourceRefusal(p: Prober, from: string, report: Report, note = ''): Promise<void> {
  const [ok, detail] = await p.sourceRefused(from);
  report(`source: login from ${from} refused`, ok, note ? `${detail}; ${note}` : detail);
}

/** One entry of the probe table: a tool's probe (a recipe's spec, named) or an option row. */
export interface PlannedProbe {
  order: number;
  /** The label of a tool's probe; an option row names its probes as it runs. */
  name?: string;
  spec?: ProbeSpec;
  /** The jail path a write-refused spec tries. */
  path?: string;
  row?: OptionProbe;
}

function specApplies(spec: ProbeSpec, t: Pick<ProbeTarget, 'tools' | 'readOnly'>): boolean {
  const c = spec.when ?? {};
  if (c.readOnly !== undefined && c.readOnly !== (t.readOnly === true)) return false;
  if (c.onlyTool !== undefined && c.onlyTool !== (t.tools.length === 1)) return false;
  return true;
}

/**
 * What the connection test runs for a jail, in order: the chosen tools' probes from their
 * recipes (a write-refused spec once per forbidden path) and the option rows that apply.
 */
export function probeTable(t: ProbeTarget, tag: string): PlannedProbe[] {
  const x = toolsOf(t);
  const out: PlannedProbe[] = [];
  const writes = forbiddenWrites(t.user, tag);
  for (const r of chosenRecipes(t.tools)) {
    for (const spec of (r.probes ?? []).filter((s) => specApplies(s, t))) {
      if (spec.expect !== 'write-refused') {
        out.push({ order: spec.order, name: spec.name, spec, path: spec.path });
        continue;
      }
      // Path by path, each through every tool that can try it.
      writes.forEach((w, i) => out.push({ order: spec.order + i / 1000, name: spec.name.replaceAll('{path}', w.label), spec, path: w.path }));
    }
  }
  for (const row of OPTION_PROBES) if (row.when(t, x)) out.push({ order: row.order, row });
  return out.sort((a, b) => a.order - b.order);
}

// ---- allowFrom: which source addresses a list of addresses and networks admits ----

/** The first of 127.0.0.2 … 127.0.0.9 that allowFrom does not admit: the source of the refusal probe. */
export function refusalSource(allowFrom: readonly string[]): string | undefined {
  for (let i = 2; i <= 9; i++) {
    const a = `127.0.0.${i}`;
    if (!addressAllowed(a, allowFrom)) return a;
  }
  return undefined;
}


/**
 * The host dirs (in the jail) where the probes may create files: uploads and the write
 * attempts, each named after the tag. They are journaled before the first client starts.
 */
export function probeDirs(t: Pick<ProbeTarget, 'jail' | 'startDir' | 'writable' | 'groupDir' | 'binds' | 'extras'>, home: string | undefined): string[] {
  const inJail = ['/', '/etc', '/bin', home, t.startDir, t.writable, t.groupDir, ...(t.binds ?? []).map((b) => b.target), t.extras?.includes('tmp') ? '/tmp' : undefined];
  return [...new Set(inJail.filter((d): d is string => !!d).map((d) => (d === '/' ? t.jail : join(t.jail, d))))];
}

/** A plain-text pass/fail table, one probe a line, with a summary. */
/** A probe's result as the one line `test` and `apply` print as it ends: ✓ name, or ✗ name: why. */
export function probeLine(r: ProbeResult): string {
  return `  ${r.ok ? '✓' : '✗'} ${r.name}${r.ok ? '' : `: ${r.detail.split('\n').filter(Boolean).join(' | ')}`}`;
}

export function formatProbeTable(results: ProbeResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.name.length));
  const lines = results.map((r) => {
    const detail = r.detail.split('\n').filter(Boolean).join(' | ');
    return `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(width)}  ${detail}`.trimEnd();
  });
  const failed = results.filter((r) => !r.ok).length;
  lines.push(`${results.length - failed} passed, ${failed} failed`);
  return lines.join('\n');
}

type Outcome = [ok: boolean, detail: string];

class Prober {
  /** Random name for every file this run creates, so nothing collides or lingers unnoticed. */
  readonly tag: string;
  private key = '';
  private payload = Buffer.alloc(0);
  private count = 0;
  /** Remote names (relative to the start dir, or absolute in the jail) we uploaded; cleanup() removes them. */
  private uploaded: string[] = [];
  /** Host paths (in the jail) that probes created through a shell; cleanup() removes them. */
  private created: string[] = [];
  /** The user's home and ids from the host's passwd (the home is a path inside the jail). */
  private home: string | undefined;
  private uid: number | undefined;

  /** How many clients have started. */
  private clients = 0;
  /** The clients' one multiplexed connection (made in init, once the key is known). */
  private conn!: SshClients;

  constructor(
    private readonly t: ProbeTarget,
    private readonly work: string,
  ) {
    this.tag = t.tag ?? probeTag();
  }

  /** Every ssh/sftp/scp/rsync goes through here, so a test can stop the run while one is under way. */
  private async client(argv: string[], opts: Parameters<typeof run>[1]): Promise<RunResult> {
    const r = run(argv, opts);
    if (!this.t.onClient) return r;
    r.catch(() => {}); // awaited below; no unhandled rejection while the hook waits
    await this.t.onClient(++this.clients);
    return r;
  }

  async init(): Promise<void> {
    if (/\s/.test(this.work)) throw new Error(`temp dir ${this.work} contains whitespace`);
    // rsync splits -e on spaces: use a copy of the key at a path without any.
    this.key = this.t.identityFile;
    if (/\s/.test(this.key)) {
      this.key = join(this.work, 'id');
      await copyFile(this.t.identityFile, this.key);
      await chmod(this.key, 0o600);
    }
    this.payload = randomBytes(PAYLOAD_BYTES);
    await writeFile(join(this.work, 'payload'), this.payload);
    // Its socket in this run's own dir: a rollback after a kill -9 stops it (its argv names the scratch dir).
    // The master logs in while getent answers.
    this.conn = new SshClients({ ...this.t, identityFile: this.key }, this.work);
    const [passwd] = await Promise.all([run(['getent', 'passwd', this.t.user], { timeoutMs: 10_000 }), this.conn.open()]);
    const pw = parsePasswd(passwd.stdout)[0];
    if (pw && isAbsolute(pw.home)) this.home = pw.home;
    if (pw && Number.isInteger(pw.uid)) this.uid = pw.uid;
  }

  /**
   * Where uploads go: the writable dir when the user owns only that, the home when the
   * session starts elsewhere (startDir), else the start dir itself (relative names).
   */
  private uploadDir(): string | undefined {
    if (this.t.writable) return this.t.writable;
    if (this.t.startDir) return this.home;
    return undefined;
  }

  /** The host path of a remote name: absolute names are in the jail, relative ones in the start dir. */
  private hostPath(remote: string): string {
    if (isAbsolute(remote)) return join(this.t.jail, remote);
    return join(this.t.jail, this.t.startDir ?? this.home ?? '/', remote);
  }

  // ---- client plumbing ----

  /** The clients' options: over the connection test's one multiplexed connection (host/ssh-client.ts). */
  private sshOptions(): string[] {
    return this.conn.options();
  }

  /** `user@host`, with IPv6 literals bracketed for scp/sftp/rsync remote specs. */
  private remote(path?: string): string {
    return this.conn.remote(path);
  }

  /** A login without a command, `-b` and `-W` get a connection of their own (ownConnection says why). */
  private ssh(args: string[], command?: string, env?: Record<string, string | undefined>): Promise<RunResult> {
    return this.client(this.conn.sshArgv(args, command), { timeoutMs: TIMEOUT_MS, env });
  }

  /** One sftp batch; a failing command aborts the batch with exit 1, a failed login exits 255. */
  private async sftp(commands: string[]): Promise<RunResult> {
    const batch = join(this.work, `batch-${++this.count}`);
    await writeFile(batch, commands.map((c) => c + '\n').join(''));
    return this.client(this.conn.sftpArgv(batch), { timeoutMs: TIMEOUT_MS });
  }

  private local(name: string): string {
    return join(this.work, `${name}-${++this.count}`);
  }

  private remoteName(kind: string): string {
    const dir = this.uploadDir();
    const name = dir ? `${dir}/${this.tag}-${kind}` : `${this.tag}-${kind}`;
    this.uploaded.push(name);
    return name;
  }

  private async sameAsPayload(file: string): Promise<Outcome> {
    const got = await readFile(file).catch(() => undefined);
    if (!got) return [false, 'download produced no file'];
    return got.equals(this.payload) ? [true, `${PAYLOAD_BYTES} bytes, equal`] : [false, `downloaded ${got.length} bytes that differ`];
  }

  // ---- a recipe's probe, by what it expects and which client it runs ----

  /** Runs one ProbeSpec: the check its `expect` names, with its client (and a path, for writes). */
  async runSpec(spec: ProbeSpec, path = spec.path): Promise<Outcome> {
    const args = spec.args ?? [];
    const how = `${spec.expect} with ${spec.client}${args.length > 0 ? ` ${args.join(' ')}` : ''}`;
    const unsupported: Outcome = [false, `the connection test cannot do ${how}${path ? ` (${path})` : ''}`];
    // Extra arguments go to scp and rsync, or to the command a `runs` probe starts; anywhere else they would be ignored, so the probe fails.
    if (args.length > 0 && spec.client !== 'scp' && spec.client !== 'rsync' && spec.expect !== 'runs') return unsupported;
    switch (spec.expect) {
      case 'round-trip':
        if (spec.client === 'sftp') return this.sftpRoundTrip();
        if (spec.client === 'scp') return this.scpRoundTrip(args);
        if (spec.client === 'rsync') return this.rsyncRoundTrip(args);
        return unsupported;
      case 'jail-listing':
        if (!path) return unsupported;
        if (spec.client === 'ssh') return this.shellListing(path);
        if (spec.client === 'sftp') return this.sftpListing(path);
        return unsupported;
      case 'read-refused':
        if (!path) return unsupported;
        if (spec.client === 'ssh') return this.shellRead(path);
        if (spec.client === 'sftp') return this.sftpRead(path);
        return unsupported;
      case 'write-refused':
        if (!path) return unsupported;
        if (spec.client === 'ssh') return this.shellWrite(path);
        if (spec.client === 'sftp') return this.sftpWrite(path);
        if (spec.client === 'rsync') return this.rsyncWrite(path);
        return unsupported;
      case 'runs':
        return spec.client === 'ssh' && path ? this.commandRuns(path, args) : unsupported;
      case 'no-shell':
        return spec.client === 'ssh' ? this.noShell() : unsupported;
    }
    return unsupported;
  }

  // ---- the tools work ----

  async sftpRoundTrip(): Promise<Outcome> {
    const name = this.remoteName('sftp');
    const back = this.local('sftp');
    const r = await this.sftp([`put ${join(this.work, 'payload')} ${name}`, `get ${name} ${back}`, `rm ${name}`]);
    if (r.exitCode !== 0) return [false, failure(r)];
    return this.sameAsPayload(back);
  }

  /** scp up and down; `args` as the recipe gives them (-O: the legacy protocol). */
  async scpRoundTrip(args: readonly string[]): Promise<Outcome> {
    const name = this.remoteName(`scp${args.map((a) => a.replace(/^-+/, '')).join('')}`);
    const back = this.local('scp');
    const scp = ['scp', ...args, ...this.sshOptions(), '-P', String(this.t.port)];
    const up = await this.client([...scp, join(this.work, 'payload'), this.remote(name)], { timeoutMs: TIMEOUT_MS });
    if (up.exitCode !== 0) return [false, `upload: ${failure(up)}`];
    const down = await this.client([...scp, this.remote(name), back], { timeoutMs: TIMEOUT_MS });
    if (down.exitCode !== 0) return [false, `download: ${failure(down)}`];
    return this.sameAsPayload(back);
  }

  async rsyncRoundTrip(args: readonly string[]): Promise<Outcome> {
    const name = this.remoteName('rsync');
    const back = this.local('rsync');
    const up = await this.client([...this.rsyncArgv(), ...args, join(this.work, 'payload'), this.remote(name)], { timeoutMs: TIMEOUT_MS });
    if (up.exitCode !== 0) return [false, `upload: ${failure(up)}`];
    const down = await this.client([...this.rsyncArgv(), ...args, this.remote(name), back], { timeoutMs: TIMEOUT_MS });
    if (down.exitCode !== 0) return [false, `download: ${failure(down)}`];
    return this.sameAsPayload(back);
  }

  // ---- the options ----

  /** sftp -R: listing works, an upload is refused with "Permission denied" and leaves nothing. */
  async readOnlyRefused(): Promise<Outcome> {
    const ls = await this.sftp(['ls -1a']);
    if (ls.exitCode !== 0) return [false, `ls: ${failure(ls)}`];
    const name = this.remoteName('ro');
    return this.checkWrite(name, async () => {
      const r = await this.sftp([`put ${join(this.work, 'payload')} ${name}`]);
      const [ok, detail] = this.sftpRefused(r);
      if (!ok) return [false, detail];
      if (!/permission denied/i.test(r.stdout + r.stderr)) return [false, `refused, but not as read-only: ${detail}`];
      return [true, `ls works; put: ${tail(r.stderr, 1) || detail}`];
    });
  }

  /** internal-sftp -d: `pwd` at the start of a session. */
  async startDir(dir: string): Promise<Outcome> {
    const r = await this.sftp(['pwd']);
    if (r.exitCode !== 0) return [false, failure(r)];
    const pwd = r.stdout.split('\n').find((l) => l.startsWith('Remote working directory: '));
    const want = `Remote working directory: ${dir}`;
    return pwd === want ? [true, pwd] : [false, `pwd printed ${JSON.stringify(pwd ?? '')}`];
  }

  /** internal-sftp -u: a local 0666 file arrives with mode 0666 & ~umask (checked on the host). */
  async umaskApplied(umask: string): Promise<Outcome> {
    const src = join(this.work, 'mode0666');
    await writeFile(src, 'umask probe\n');
    await chmod(src, 0o666);
    const name = this.remoteName('umask');
    const r = await this.sftp([`put ${src} ${name}`]);
    if (r.exitCode !== 0) return [false, failure(r)];
    const host = this.hostPath(name);
    const st = await lstat(host).catch(() => undefined);
    if (!st) return [false, `put succeeded, but ${host} is not there`];
    const want = 0o666 & ~parseInt(umask, 8);
    const got = st.mode & 0o7777;
    if (got !== want) return [false, `a 0666 file arrived as ${octal(got)}, expected ${octal(want)}`];
    return [true, `a 0666 file arrived as ${octal(got)}`];
  }

  /** The user's one writable dir takes a new file, owned by the user. */
  async writableDir(dir: string): Promise<Outcome> {
    const path = `${dir}/${this.tag}-writable`;
    const [ok, detail] = await this.userCreate(path);
    if (!ok) return [false, detail];
    const st = await lstat(this.hostPath(path));
    if (this.uid !== undefined && st.uid !== this.uid) return [false, `${path} was created owned by uid ${st.uid}, not ${this.uid}`];
    return [true, `created ${path}`];
  }

  /** The setgid group dir: a new file gets the dir's group, whatever the user's primary group. */
  async groupDirGid(dir: string, group: string): Promise<Outcome> {
    const g = parseGroups((await run(['getent', 'group', group], { timeoutMs: 10_000 })).stdout)[0]?.gid;
    if (g === undefined || !Number.isInteger(g)) return [false, `group ${group} does not exist on the host`];
    const path = `${dir}/${this.tag}-group`;
    const [ok, detail] = await this.userCreate(path);
    if (!ok) return [false, detail];
    const st = await lstat(this.hostPath(path));
    if (st.gid !== Number(g)) return [false, `${path} got gid ${st.gid}, not ${group} (${g})`];
    return [true, `created ${path} with gid ${g}`];
  }

  /** A bind mount shows the host dir: the user's listing equals the source's. */
  async bindReadable(target: string, source: string): Promise<Outcome> {
    const seen = await this.userList(target);
    if (typeof seen === 'string') return [false, seen];
    const want = (await readdir(source).catch(() => undefined))?.sort();
    if (!want) return [false, `the host dir ${source} is unreadable`];
    const got = seen.filter((l) => l !== '' && l !== '.' && l !== '..').sort();
    if (got.join('\n') === want.join('\n')) return [true, `sees ${want.length} entries, as in ${source}`];
    return [false, `sees [${got.slice(0, 12).join(' ')}], ${source} has [${want.slice(0, 12).join(' ')}]`];
  }

  async bindWriteRefused(target: string): Promise<Outcome> {
    const path = `${target}/${this.tag}-bind`;
    const via = this.via();
    return via === 'shell' ? this.shellWrite(path) : via === 'sftp' ? this.sftpWrite(path) : this.rsyncWrite(path);
  }

  /** A read-write bind: a file the user creates at the target appears in the host dir. */
  async bindWritable(target: string, source: string): Promise<Outcome> {
    const name = `${this.tag}-bind`;
    const [ok, detail] = await this.userCreate(`${target}/${name}`);
    if (!ok) return [false, detail];
    if (!(await exists(join(source, name)))) return [false, `${target}/${name} was created, but not in ${source}: not the bind mount`];
    return [true, `created ${target}/${name}, seen in ${source}`];
  }

  /**
   * internal-sftp -l INFO logs every open through the jail's /dev/log: an upload named
   * with this run's tag (refused, but still logged, for a read-only user) must show up
   * in the log file within a few seconds.
   */
  async logged(): Promise<Outcome> {
    const file = this.t.logFile;
    if (!file) return [false, "the jail's record names no log file (the syslog's auth log)"];
    const start = (await lstat(file).catch(() => undefined))?.size ?? 0;
    const name = this.remoteName('log');
    const r = await this.sftp([`${this.t.readOnly ? '-' : ''}put ${join(this.work, 'payload')} ${name}`]);
    if (r.exitCode !== 0) return [false, failure(r)];
    const needle = basename(name);
    const deadline = Date.now() + LOG_WAIT_MS;
    for (;;) {
      const line = await findLine(file, start, needle);
      if (line !== undefined) return [true, line.trim()];
      if (Date.now() > deadline) return [false, `no line with ${needle} in ${file} after ${LOG_WAIT_MS / 1000} s`];
      await sleep(100);
    }
  }

  /** An extra binary starts in the jail: the loader finds its libraries and the file is there. */
  async extraRuns(bin: string): Promise<Outcome> {
    return this.commandRuns(await this.commandPath(bin), ['--version']);
  }

  /** A command (a jail path and its arguments, from a recipe or the record) runs in the jail as the user. */
  async commandRuns(path: string, args: readonly string[]): Promise<Outcome> {
    const command = [path, ...args].join(' ');
    if (this.via() !== 'shell') {
      // Behind the gate: the command itself, no shell around it.
      const g = await this.ssh([], command);
      if (/error while loading shared libraries/.test(g.stderr)) return [false, tail(g.stderr, 1)];
      if (g.exitCode !== 0) return [false, `${command}: ${failure(g)}`];
      return [true, `${path}: ${g.stdout.trim().split('\n')[0] || 'exit 0'}`];
    }
    const r = await this.shellAttempt(command);
    if (typeof r === 'string') return [false, r];
    if (/error while loading shared libraries/.test(r.stderr)) return [false, tail(r.stderr, 1)];
    if (r.exitCode === 126 || r.exitCode === 127) return [false, `${path}: exit ${r.exitCode}: ${tail(r.stderr, 1) || 'not found or not executable'}`];
    const first = r.stdout.slice(IN.length).trim().split('\n')[0];
    return [true, `${path}: ${first || `exit ${r.exitCode}`}`];
  }

  /**
   * bash warns `setlocale: LC_ALL: cannot change locale` at every login when the forwarded
   * locale is missing from the jail. glibc 2.36's bash only warns for LC_ALL, so both LANG
   * and LC_ALL are sent (Debian's sshd accepts LANG LC_*), and the probe checks they arrived.
   */
  async noSetlocaleWarning(): Promise<Outcome> {
    const env: Record<string, string | undefined> = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', LANGUAGE: undefined };
    for (const k of Object.keys(process.env)) if (k.startsWith('LC_') && k !== 'LC_ALL') env[k] = undefined;
    const r = await this.ssh(['-o', 'SendEnv=LANG', '-o', 'SendEnv=LC_ALL'], `printf '%s %s\\n' "$LANG" "$LC_ALL"`, env);
    if (r.exitCode !== 0) return [false, failure(r)];
    const warning = r.stderr.split('\n').find((l) => /setlocale/.test(l));
    if (warning) return [false, warning.trim()];
    const got = r.stdout.trim();
    if (got === 'C.UTF-8 C.UTF-8') return [true, 'LANG and LC_ALL=C.UTF-8 reached bash without a warning'];
    return [true, `no warning, but sshd passed on only ${JSON.stringify(got)} of LANG/LC_ALL (AcceptEnv)`];
  }

  /** /tmp (1777) takes a new file from the user. */
  async tmpWritable(): Promise<Outcome> {
    return this.userCreate(`/tmp/${this.tag}-tmp`);
  }

  /**
   * allowFrom: from a source outside it (which the test key's from= does allow), sshd must
   * refuse the login (its Match … Address block denies the user). Logging in fails the
   * probe, and so does a connection that never reached authentication.
   */
  async sourceRefused(from: string): Promise<Outcome> {
    const r = await this.ssh(['-b', from], 'true');
    if (r.exitCode !== 255) return [false, `logged in from ${from} (exit ${r.exitCode}${r.stderr.trim() ? `: ${tail(r.stderr, 1)}` : ''})`];
    if (/Permission denied/.test(r.stderr)) return [true, `from ${from}: ${tail(r.stderr, 1)}`];
    return [false, `no refusal by sshd from ${from}: ${failure(r)}`];
  }

  // ---- only the chosen tools: the gate, noexec, uploaded programs ----

  /** What a program that ran prints; the refusal probes look for it. */
  get ranMarker(): string {
    return `${this.tag}-ran`;
  }

  /** Behind the gate: `command` (or a login without one) is refused by the gate, and nothing of it ran. */
  async gateRefuses(command: string | undefined): Promise<Outcome> {
    const r = await this.ssh([], command);
    if (r.exitCode === 255) return [false, `could not log in: ${failure(r)}`];
    if (r.stdout.includes(this.ranMarker)) return [false, `it ran: ${tail(r.stdout, 1)}`];
    const line = r.stderr.split('\n').find((l) => l.startsWith('jailwizard: refused: '));
    if (r.exitCode === 0 || !line) return [false, `not refused by the gate: ${failure(r)}`];
    return [true, line];
  }

  /** Programs in the jail that are not this user's: the shell sshd needs for the gate, and another user's bash. */
  async otherPrograms(): Promise<string[]> {
    const found: string[] = [];
    for (const p of ['/bin/sh', '/bin/bash']) if (await exists(join(this.t.jail, p))) found.push(p);
    return found;
  }

  /** The noexec binds are in place, as the kernel reports them (/proc/self/mountinfo of this host). */
  async noexecMounted(dirs: string[]): Promise<Outcome> {
    const table = readMountInfo();
    const bad = dirs.filter((d) => {
      const m = table.filter((x) => x.target === join(this.t.jail, d)).at(-1);
      return !m || !['noexec', 'nosuid', 'nodev'].every((o) => m.options.includes(o));
    });
    return bad.length === 0 ? [true, `${dirs.length} mount${dirs.length === 1 ? '' : 's'} with noexec,nosuid,nodev`] : [false, `not mounted noexec,nosuid,nodev: ${bad.join(', ')}`];
  }

  /** Where the user's uploads go and their programs would be: the one dir the user owns. */
  private ownedDir(): string | undefined {
    return this.t.writable ?? this.home;
  }

  private elf = '';

  /**
   * Uploads an ELF program that would run in this jail (the host's copy of the jail's
   * shell, executable) into the user's own dir, by the user's own means.
   */
  async uploadElf(): Promise<Outcome> {
    const dir = this.ownedDir();
    if (!dir) return [false, "the user's home is unknown"];
    const shell = (await exists(join(this.t.jail, '/bin/bash'))) && this.t.tools.includes('bash') ? '/bin/bash' : '/bin/sh';
    const local = join(this.work, 'elf');
    await copyFile(shell, local);
    await chmod(local, 0o755);
    const remote = `${dir}/${this.tag}-elf`;
    this.uploaded.push(remote);
    this.elf = remote;
    const via = this.via();
    const r =
      via === 'rsync' ? await run([...this.rsyncArgv(), local, this.remote(remote)], { timeoutMs: TIMEOUT_MS })
      : via === 'sftp' ? await this.sftp([`put -p ${local} ${remote}`])
      : await run(['ssh', ...this.sshOptions(), '-p', String(this.t.port), `${this.t.user}@${this.t.host}`, `cat > ${remote} && chmod 755 ${remote}`], { timeoutMs: TIMEOUT_MS, input: await readFile(local) });
    if (r.exitCode !== 0) return [false, `upload of ${remote}: ${failure(r)}`];
    const st = await lstat(this.hostPath(remote)).catch(() => undefined);
    if (!st?.isFile() || (st.mode & 0o111) === 0) return [false, `${remote} did not arrive as an executable file`];
    return [true, remote];
  }

  /** The uploaded program does not run: behind the gate the gate refuses it, with bash the kernel does (noexec). */
  async uploadedRefused(throughLoader: boolean): Promise<Outcome> {
    const loader = throughLoader ? readElf(join(this.t.jail, this.t.tools.includes('bash') ? '/bin/bash' : '/bin/sh'))?.interp : undefined;
    if (throughLoader && !loader) return [false, "the jail's shell names no ELF interpreter"];
    const command = `${loader ? `${loader} ` : ''}${this.elf} -c 'echo ${this.ranMarker}'`;
    if (this.t.gated) return this.gateRefuses(command);
    const r = await this.shellAttempt(command);
    if (typeof r === 'string') return [false, r];
    if (r.stdout.includes(this.ranMarker)) return [false, `it ran: ${command}`];
    const why = throughLoader ? /failed to map segment|Permission denied|Operation not permitted/ : /Permission denied/;
    if (!why.test(r.stderr)) return [false, `not refused by the kernel: ${failure(r)}`];
    return [true, tail(r.stderr, 1)];
  }

  // ---- git: what its users do, a push and a clone over ssh ----

  /** Trees the probes made in the user's dirs (a git repository); cleanup() removes them as the user. */
  private trees: string[] = [];

  /**
   * An empty repository on the server (made with git for a bash user, uploaded otherwise),
   * a push of a new commit into it (git-receive-pack), and a clone back (git-upload-pack)
   * that holds that commit. The real git client over ssh, as the user would.
   */
  async gitRoundTrip(): Promise<Outcome> {
    const dir = this.ownedDir();
    if (!dir) return [false, "the user's home is unknown"];
    const repo = `${dir}/${this.tag}.git`;
    this.trees.push(repo);
    const env = {
      GIT_SSH_COMMAND: ['ssh', ...this.sshOptions()].join(' '),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
    };
    const git = (args: string[], cwd = this.work) =>
      run(['git', '-c', 'user.name=jailwizard', '-c', 'user.email=jailwizard@localhost', '-c', 'init.defaultBranch=main', ...args], { cwd, env, timeoutMs: TIMEOUT_MS });
    const host = this.t.host.includes(':') ? `[${this.t.host}]` : this.t.host;
    const url = `ssh://${this.t.user}@${host}:${this.t.port}${repo}`;

    if (this.via() === 'shell') {
      const r = await this.ssh([], `git init -q --bare ${repo}`);
      if (r.exitCode !== 0) return [false, `git init --bare on the server: ${failure(r)}`];
    } else {
      const empty = join(this.work, 'empty.git');
      const init = await git(['init', '-q', '--bare', empty]);
      if (init.exitCode !== 0) return [false, `git init: ${failure(init)}`];
      const up =
        this.via() === 'rsync' ? await run([...this.rsyncArgv(), '-r', `${empty}/`, this.remote(`${repo}/`)], { timeoutMs: TIMEOUT_MS })
        : await this.sftp([`put -r ${empty} ${repo}`]);
      if (up.exitCode !== 0) return [false, `upload of an empty repository: ${failure(up)}`];
    }
    const src = join(this.work, 'src');
    for (const step of [['init', '-q', src], ['-C', src, 'commit', '-q', '--allow-empty', '-m', `jailwizard probe ${this.tag}`]]) {
      const r = await git(step);
      if (r.exitCode !== 0) return [false, `git ${step.join(' ')}: ${failure(r)}`];
    }
    const head = (await git(['-C', src, 'rev-parse', 'HEAD'])).stdout.trim();
    const push = await git(['-C', src, 'push', '-q', url, 'main']);
    if (push.exitCode !== 0) return [false, `git push: ${failure(push)}`];
    // A bare clone: nothing of the server's repository is checked out on this host.
    const back = join(this.work, 'back.git');
    const clone = await git(['clone', '-q', '--bare', url, back]);
    if (clone.exitCode !== 0) return [false, `git clone: ${failure(clone)}`];
    const got = (await git(['--git-dir', back, 'rev-parse', 'main'])).stdout.trim();
    if (got !== head) return [false, `pushed ${head}, cloned ${got || 'nothing'}`];
    return [true, `pushed and cloned ${head.slice(0, 12)}`];
  }

  /** Removes a tree the probes made in the user's dirs, as the user (root never walks the user's tree). */
  private async removeTree(tree: string): Promise<void> {
    const via = this.via();
    if (via === 'shell') {
      await this.ssh([], `rm -rf ${tree}`);
    } else if (via === 'rsync') {
      // --delete of exactly that name: sync an empty dir onto its parent with everything else excluded.
      const empty = join(this.work, 'empty-dir');
      await mkdir(empty, { recursive: true });
      const name = basename(tree);
      await run([...this.rsyncArgv(), '-r', '--delete', `--include=/${name}`, `--include=/${name}/**`, '--exclude=*', `${empty}/`, this.remote(`${dirname(tree)}/`)], { timeoutMs: TIMEOUT_MS });
    } else {
      // sftp has no rm -r: list each dir, remove files, then the dirs deepest first.
      const dirs = [tree];
      const files: string[] = [];
      for (let i = 0; i < dirs.length && i < 1000; i++) {
        const r = await this.sftp([`ls -la ${dirs[i]}`]);
        for (const l of r.stdout.split('\n')) {
          const f = l.split(/\s+/);
          const name = f.slice(8).join(' ');
          if (f.length < 9 || name === '.' || name === '..' || l.startsWith('sftp>')) continue;
          (f[0]!.startsWith('d') ? dirs : files).push(`${dirs[i]}/${basename(name)}`);
        }
      }
      await this.sftp([...files.map((f) => `-rm ${f}`), ...dirs.reverse().map((d) => `-rmdir ${d}`)]);
    }
  }

  // ---- acting as the user, by whichever means the user has ----

  /**
   * How the probes act as the user: their shell (bash, or the /bin/sh rsync and scp bring to
   * a jail without jailwizard's gate); behind the gate the sftp-server (sftp, or scp's), else rsync.
   */
  private via(): 'shell' | 'sftp' | 'rsync' {
    const anyShell = this.t.tools.some((x) => x !== 'sftp');
    if (this.t.tools.includes('bash') || (anyShell && !this.t.gated)) return 'shell';
    if (this.t.tools.includes('sftp') || this.t.tools.includes('scp')) return 'sftp';
    return 'rsync';
  }

  /** `rsync -e 'ssh …'`: rsync parses -e itself (no shell), so fixed options and paths without spaces only. */
  private rsyncArgv(): string[] {
    return this.conn.rsyncArgv();
  }

  /** Creates a file at a jail path as the user and checks on the host that it exists; cleanup() removes it. */
  private async userCreate(path: string): Promise<Outcome> {
    const host = this.hostPath(path);
    this.created.push(host);
    if (this.via() === 'shell') {
      const r = await this.shellAttempt(`printf x > ${path}`);
      if (typeof r === 'string') return [false, r];
      if (r.exitCode !== 0) return [false, `cannot create ${path}: ${failure(r)}`];
    } else if (this.via() === 'rsync') {
      const r = await run([...this.rsyncArgv(), join(this.work, 'payload'), this.remote(path)], { timeoutMs: TIMEOUT_MS });
      if (r.exitCode !== 0) return [false, `cannot upload ${path}: ${failure(r)}`];
    } else {
      const r = await this.sftp([`put ${join(this.work, 'payload')} ${path}`]);
      if (r.exitCode !== 0) return [false, `cannot upload ${path}: ${failure(r)}`];
    }
    if (!(await exists(host))) return [false, `the client succeeded, but ${host} is not there`];
    return [true, `created ${path}`];
  }

  /** The names in a jail dir as the user sees them (shell builtins only, or sftp), or why not. */
  private async userList(dir: string): Promise<string[] | string> {
    if (this.via() === 'shell') {
      const r = await this.shellAttempt(`cd ${dir} && for f in .* *; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\\n' "$f"; fi; done`);
      if (typeof r === 'string') return r;
      if (r.exitCode !== 0) return `cannot list ${dir}: ${failure(r)}`;
      return r.stdout.slice(IN.length).split('\n');
    }
    if (this.via() === 'rsync') {
      // One line per entry: mode, size, date, time, name.
      const r = await run([...this.rsyncArgv(), '--list-only', this.remote(`${dir}/`)], { timeoutMs: TIMEOUT_MS });
      if (r.exitCode !== 0) return `cannot list ${dir}: ${failure(r)}`;
      return r.stdout.split('\n').map((l) => l.split(/\s+/).slice(4).join(' '));
    }
    const r = await this.sftp([`cd ${dir}`, 'ls -1a']);
    if (r.exitCode !== 0) return `cannot list ${dir}: ${failure(r)}`;
    return r.stdout.split('\n').filter((l) => !l.startsWith('sftp> '));
  }

  /** The path a command name has in the jail (the first of sshd's PATH dirs that holds it). */
  private async commandPath(bin: string): Promise<string> {
    if (bin.startsWith('/')) return bin;
    for (const dir of COMMAND_DIRS) if (await exists(join(this.t.jail, dir, bin))) return `${dir}/${bin}`;
    return bin;
  }

  /**
   * `cd DIR` then list it with bash builtins only (a jail may have no ls), and compare
   * with the jail's top level read on the host.
   */
  async shellListing(dir: string): Promise<Outcome> {
    const r = await this.ssh([], `cd ${dir} && shopt -s dotglob nullglob && printf '%s\\n' *`);
    if (r.exitCode !== 0) return [false, failure(r)];
    return this.compareWithJail(r.stdout.split('\n'));
  }

  private async compareWithJail(seen: string[]): Promise<Outcome> {
    const want = (await readdir(this.t.jail)).sort();
    const got = seen.filter((l) => l !== '' && l !== '.' && l !== '..').sort();
    if (got.join('\n') === want.join('\n')) return [true, `sees ${want.length} entries, as in ${this.t.jail}`];
    return [false, `sees [${got.slice(0, 12).join(' ')}], jail has [${want.slice(0, 12).join(' ')}]`];
  }

  // ---- escapes that must fail ----

  async shellRead(path: string): Promise<Outcome> {
    // A bash loop, not cat: if cat were missing, "command not found" would look like a pass.
    const r = await this.shellAttempt(`while IFS= read -r l; do printf '%s\\n' "$l"; done < ${path}`);
    if (typeof r === 'string') return [false, r];
    if (r.exitCode === 0 || r.stdout !== IN) return [false, `read ${path} (${r.stdout.length - IN.length} bytes)`];
    return [true, tail(r.stderr) || `exit ${r.exitCode}`];
  }

  /**
   * Runs a command in the user's shell after printing a marker with a builtin, so that
   * "the command failed" can be told from "we never got a shell".
   */
  private async shellAttempt(command: string): Promise<RunResult | string> {
    const r = await this.ssh([], `printf '%s\\n' ${IN.trim()}; ${command}`);
    if (!r.stdout.startsWith(IN)) return `could not get a shell: ${failure(r)}`;
    return r;
  }

  async sftpRead(path: string): Promise<Outcome> {
    const dest = this.local(basename(path));
    const r = await this.sftp([`get ${path} ${dest}`]);
    return this.sftpRefused(r, await exists(dest) ? `downloaded ${path}` : undefined);
  }

  /** `cd DIR` in sftp: pwd must be where DIR leads inside the jail (`/..` stays at /), and the listing the jail's. */
  async sftpListing(dir: string): Promise<Outcome> {
    const r = await this.sftp([`cd ${dir}`, 'pwd', 'ls -1a']);
    if (r.exitCode !== 0) return [false, failure(r)];
    const lines = r.stdout.split('\n');
    const pwd = lines.find((l) => l.startsWith('Remote working directory: '));
    if (pwd !== `Remote working directory: ${posix.resolve('/', dir)}`) return [false, `pwd after cd ${dir} printed ${JSON.stringify(pwd ?? '')}`];
    // Every chrooted and non-chrooted sftp says "/" here; the listing tells them apart.
    return this.compareWithJail(lines.filter((l) => !l.startsWith('sftp> ') && !l.startsWith('Remote working directory: ')));
  }

  async noShell(): Promise<Outcome> {
    const r = await this.ssh([], 'echo hi');
    if (r.exitCode === 255) return [false, `could not log in: ${failure(r)}`];
    if (/^hi$/m.test(r.stdout)) return [false, 'got a shell: "echo hi" printed hi'];
    if (r.exitCode === 0) return [false, `"echo hi" exited 0: ${tail(r.stdout + r.stderr)}`];
    return [true, tail(r.stdout + r.stderr) || `exit ${r.exitCode}`];
  }

  async forwarding(): Promise<Outcome> {
    // Forward to 127.0.0.1:PORT on the server, where sshd listens: if forwarding works,
    // its "SSH-2.0-…" banner comes back. LogLevel=INFO (ssh keeps the first -o value) so
    // that a refusal ("administratively prohibited") can be told from a failed connect.
    const r = await this.ssh(['-o', 'LogLevel=INFO', '-W', `127.0.0.1:${this.t.port}`]);
    if (r.stdout.includes('SSH-')) return [false, `forwarding works: got "${r.stdout.split('\n')[0]}"`];
    if (/administratively prohibited/.test(r.stderr)) return [true, 'administratively prohibited'];
    if (/open failed/.test(r.stderr)) return [false, `forwarding allowed, only the target failed: ${failure(r)}`];
    return [false, `could not log in: ${failure(r)}`];
  }

  async shellWrite(path: string): Promise<Outcome> {
    return this.checkWrite(path, async () => {
      const r = await this.shellAttempt(`printf x > ${path}`);
      if (typeof r === 'string') return [false, r];
      if (r.exitCode === 0) return [false, `wrote ${path}`];
      return [true, tail(r.stderr) || `exit ${r.exitCode}`];
    });
  }

  async rsyncWrite(path: string): Promise<Outcome> {
    return this.checkWrite(path, async () => {
      const r = await run([...this.rsyncArgv(), join(this.work, 'payload'), this.remote(path)], { timeoutMs: TIMEOUT_MS });
      if (r.exitCode === 0) return [false, `rsync wrote ${path}`];
      if (/connection unexpectedly closed|Permission denied \(publickey/.test(r.stderr) && !/rsync:/.test(r.stderr)) return [false, `could not log in: ${failure(r)}`];
      return [true, tail(r.stderr, 1) || `exit ${r.exitCode}`];
    });
  }

  async sftpWrite(path: string): Promise<Outcome> {
    return this.checkWrite(path, async () => this.sftpRefused(await this.sftp([`put ${join(this.work, 'payload')} ${path}`])));
  }

  /** Runs a write attempt, then checks on the host that the file was not created or changed. */
  private async checkWrite(path: string, attempt: () => Promise<Outcome>): Promise<Outcome> {
    const hostPath = this.hostPath(path);
    const before = await fingerprint(hostPath);
    const [ok, detail] = await attempt();
    const after = await fingerprint(hostPath);
    if (after !== before) {
      // Undo what the probe itself created; never delete a file that was there before.
      if (before === undefined) removeProbeFile(hostPath);
      return [false, `${hostPath} was ${before === undefined ? 'created' : 'changed'}`];
    }
    return [ok, detail];
  }

  private sftpRefused(r: RunResult, leaked?: string): Outcome {
    if (leaked) return [false, leaked];
    if (r.exitCode === 255) return [false, `could not log in: ${failure(r)}`];
    if (r.exitCode === 0) return [false, 'the command succeeded'];
    return [true, tail(r.stderr) || `exit ${r.exitCode}`];
  }

  /** Removes the files our probes uploaded or created: over sftp when we can, then on the host. */
  async cleanup(): Promise<void> {
    try {
      await this.removeFiles();
    } finally {
      await this.conn?.close();
    }
  }

  private async removeFiles(): Promise<void> {
    for (const t of this.trees) await this.removeTree(t).catch(() => undefined);
    for (const p of this.created) removeProbeFile(p);
    if (this.uploaded.length === 0) return;
    // "-rm": a leading "-" lets the batch go on when a file is already gone.
    if (this.t.tools.includes('sftp') && !this.t.readOnly) await this.sftp(this.uploaded.map((n) => `-rm ${n}`));
    const dirs = [this.t.jail];
    if (this.home) dirs.unshift(join(this.t.jail, this.home));
    if (this.t.startDir) dirs.unshift(join(this.t.jail, this.t.startDir));
    for (const name of this.uploaded) {
      for (const p of isAbsolute(name) ? [join(this.t.jail, name)] : dirs.map((d) => join(d, name))) removeProbeFile(p);
    }
  }
}

/** The name every file of one connection test starts with. */
export function probeTag(): string {
  return `jwprobe-${randomBytes(4).toString('hex')}`;
}

/**
 * Removes a file a probe made, in a dir the user can write: the name is unlinked through its
 * parent's fd, never through a link the user planted on the way; anything else is left.
 */
function removeProbeFile(p: string): void {
  try {
    withParent(p, (d, name) => {
      if (lstatAt(d, name)?.isFile()) unlinkAt(d, name);
    });
  } catch {
    // gone, or behind a link: left for the user, whose dir it is
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** Content and mode of a host file, or undefined when absent (read only where root alone writes). */
async function fingerprint(path: string): Promise<string | undefined> {
  try {
    return withParent(path, (d, name) => {
      const st = lstatAt(d, name);
      if (!st) return undefined;
      const body = st.isFile() && d.rootOnly ? readFileAt(d, name, 1 << 24).toString('base64') : '';
      return `${st.mode}:${st.uid}:${st.size}:${st.ino}:${body}`;
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : `unreadable: ${code}`;
  }
}

/** The first line holding needle in file from byte offset `from` on (from 0 when the file shrank: rotated). */
async function findLine(file: string, from: number, needle: string): Promise<string | undefined> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const size = (await fh.stat()).size;
    const start = size < from ? 0 : from;
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    return buf.toString('utf8').split('\n').find((l) => l.includes(needle));
  } finally {
    await fh.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function failure(r: RunResult): string {
  if (r.timedOut) return `timed out after ${TIMEOUT_MS / 1000} s`;
  return `exit ${r.exitCode}: ${tail(r.stderr || r.stdout) || 'no output'}`;
}
