// `jailwizard test USER`: log in with the real clients and prove that the granted tools
// work and that the usual escapes fail. Every probe is a real ssh/sftp/scp/rsync call.
//
// A negative probe passes only when we got in and the server refused the action: a login
// that fails outright proves nothing about the jail, so it fails the probe too.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, lstat, mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { run, type RunResult } from './run.ts';
import type { Answers, Tool } from './types.ts';

/**
 * The jail's options (#5) the probes prove, as in the record's answers; each absent key
 * means the default and adds no probe. logFile is the record's: where the jail's
 * internal-sftp lines land on the host.
 */
export type ProbeOptions = Pick<
  Answers,
  'readOnly' | 'umask' | 'startDir' | 'writable' | 'group' | 'groupDir' | 'binds' | 'log' | 'allowFrom' | 'extraBinaries' | 'extras'
> & { logFile?: string };

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
  const report = (name: string, ok: boolean, detail: string) => {
    const r = { name, ok, detail };
    results.push(r);
    onResult?.(r);
  };
  const work = await mkdtemp(join(tmpdir(), 'jw-probe-'));
  const p = new Prober(t, work);
  try {
    await p.init();
    const has = (tool: Tool) => t.tools.includes(tool);
    const shell = has('bash');
    const sftp = has('sftp');
    const sftpOnly = t.tools.length === 1 && sftp;
    const anyShell = t.tools.some((x) => x !== 'sftp');

    // allowFrom: the refusal is proved from a loopback source sshd's Match block denies.
    const allow = t.allowFrom && t.allowFrom.length > 0 ? t.allowFrom : undefined;
    const deniedSource = allow && isIPv4(t.host) ? refusalSource(allow) : undefined;
    const refusal = async (note = '') => {
      if (!deniedSource) return;
      const [ok, detail] = await p.sourceRefused(deniedSource);
      report(`source: login from ${deniedSource} refused`, ok, note ? `${detail}; ${note}` : detail);
    };
    if (allow && !addressAllowed(t.host, allow)) {
      // The other probes would log in from t.host, which the jail does not allow.
      const why = `allowFrom (${allow.join(', ')}) does not include ${t.host}, the address the other probes log in from`;
      if (deniedSource) await refusal(`the only probe run: ${why}`);
      else report('source: login refused', false, `nothing can be tested from this host: ${why}, and no loopback source outside allowFrom is usable`);
      return results;
    }

    if (shell) report('ssh: shell sees the jail as /', ...(await p.shellListing('/')));
    if (sftp && t.readOnly) report('sftp: read-only: upload refused', ...(await p.readOnlyRefused()));
    else if (sftp) report('sftp: put/get round trip', ...(await p.sftpRoundTrip()));
    if (has('scp')) {
      report('scp: round trip (SFTP protocol)', ...(await p.scpRoundTrip(false)));
      report('scp -O: round trip (legacy protocol)', ...(await p.scpRoundTrip(true)));
    }
    if (has('rsync')) report('rsync: upload/download round trip', ...(await p.rsyncRoundTrip()));

    // ---- the options ----
    if (sftpOnly && t.startDir) report(`sftp: session starts in ${t.startDir}`, ...(await p.startDir(t.startDir)));
    if (sftpOnly && t.umask && !t.readOnly) report(`sftp: umask ${t.umask} applied`, ...(await p.umaskApplied(t.umask)));
    if (t.writable && !t.readOnly) report(`writable ${t.writable}: upload works`, ...(await p.writableDir(t.writable)));
    if (t.groupDir && t.group && !t.readOnly) report(`group dir ${t.groupDir}: new file gets group ${t.group}`, ...(await p.groupDirGid(t.groupDir, t.group)));
    for (const b of t.binds ?? []) {
      report(`bind ${b.target}: readable`, ...(await p.bindReadable(b.target, b.source)));
      if (b.readOnly || t.readOnly) report(`bind ${b.target}: write refused`, ...(await p.bindWriteRefused(b.target)));
      else report(`bind ${b.target}: writable`, ...(await p.bindWritable(b.target, b.source)));
    }
    if (sftp && t.log) report(`log: upload appears in ${t.logFile ?? 'the syslog'}`, ...(await p.logged()));
    if (anyShell) for (const bin of t.extraBinaries ?? []) report(`extra: ${basename(bin)} runs`, ...(await p.extraRuns(bin)));
    if (shell && t.extras?.includes('locale')) report('locale: no setlocale warning with LANG=C.UTF-8', ...(await p.noSetlocaleWarning()));
    if (t.extras?.includes('tmp') && (anyShell || !t.readOnly)) report('/tmp is writable', ...(await p.tmpWritable()));

    if (shell) report('escape: /etc/shadow unreadable (ssh)', ...(await p.shellShadow()));
    if (sftp) report('escape: /etc/shadow unreadable (sftp)', ...(await p.sftpShadow()));
    if (shell) report('escape: cd /.. stays in the jail (ssh)', ...(await p.shellListing('/..')));
    if (sftp) report('escape: cd /.. stays in the jail (sftp)', ...(await p.sftpCdUp()));
    if (sftpOnly) report('escape: no shell for an sftp-only user', ...(await p.noShell()));
    report('escape: port forwarding refused', ...(await p.forwarding()));
    for (const w of forbiddenWrites(t.user, p.tag)) {
      if (shell) report(`escape: cannot write ${w.label} (ssh)`, ...(await p.shellWrite(w.path)));
      if (sftp) report(`escape: cannot write ${w.label} (sftp)`, ...(await p.sftpWrite(w.path)));
    }
    await refusal();
  } finally {
    await p.cleanup();
    await rm(work, { recursive: true, force: true });
  }
  return results;
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

/** True when addr (an IP address) is one of allowFrom's addresses or inside one of its networks. */
export function addressAllowed(addr: string, allowFrom: readonly string[]): boolean {
  const a = ipBits(addr);
  if (!a) return false;
  return allowFrom.some((entry) => {
    const [net = '', prefix] = entry.split('/');
    const n = ipBits(net);
    if (!n || n.width !== a.width) return false;
    const len = prefix === undefined ? a.width : Number(prefix);
    if (!Number.isInteger(len) || len < 0 || len > a.width) return false;
    const shift = BigInt(a.width - len);
    return a.value >> shift === n.value >> shift;
  });
}

/** An IPv4 or IPv6 address as an integer and its width in bits; undefined for anything else. */
function ipBits(s: string): { value: bigint; width: 32 | 128 } | undefined {
  if (isIPv4(s)) return { value: s.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n), width: 32 };
  if (!isIPv6(s)) return undefined;
  let text = s.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = rest ? rest.split(':') : [];
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  if (groups.length !== 8) return undefined;
  return { value: groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g || '0', 16)), 0n), width: 128 };
}

/** A plain-text pass/fail table, one probe a line, with a summary. */
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
  readonly tag = `jwprobe-${randomBytes(4).toString('hex')}`;
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

  constructor(
    private readonly t: ProbeTarget,
    private readonly work: string,
  ) {}

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
    const pw = (await run(['getent', 'passwd', this.t.user], { timeoutMs: 10_000 })).stdout.trim().split(':');
    if (pw[5] && isAbsolute(pw[5])) this.home = pw[5];
    if (pw[2] && /^\d+$/.test(pw[2])) this.uid = Number(pw[2]);
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

  private sshOptions(): string[] {
    const known = this.t.knownHostsFile
      ? ['-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${this.t.knownHostsFile}`]
      : ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null'];
    return [
      '-o', 'BatchMode=yes',
      '-o', 'IdentitiesOnly=yes',
      ...known,
      '-o', 'ConnectTimeout=5',
      '-o', 'LogLevel=ERROR',
      '-i', this.key,
    ];
  }

  /** `user@host`, with IPv6 literals bracketed for scp/sftp/rsync remote specs. */
  private remote(path?: string): string {
    const host = this.t.host.includes(':') ? `[${this.t.host}]` : this.t.host;
    return path === undefined ? `${this.t.user}@${host}` : `${this.t.user}@${host}:${path}`;
  }

  private ssh(args: string[], command?: string, env?: Record<string, string | undefined>): Promise<RunResult> {
    const cmd = command === undefined ? [] : [command];
    return run(['ssh', ...args, ...this.sshOptions(), '-p', String(this.t.port), `${this.t.user}@${this.t.host}`, ...cmd], {
      timeoutMs: TIMEOUT_MS,
      env,
    });
  }

  /** One sftp batch; a failing command aborts the batch with exit 1, a failed login exits 255. */
  private async sftp(commands: string[]): Promise<RunResult> {
    const batch = join(this.work, `batch-${++this.count}`);
    await writeFile(batch, commands.map((c) => c + '\n').join(''));
    return run(['sftp', ...this.sshOptions(), '-P', String(this.t.port), '-b', batch, this.remote()], { timeoutMs: TIMEOUT_MS });
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

  // ---- the tools work ----

  async sftpRoundTrip(): Promise<Outcome> {
    const name = this.remoteName('sftp');
    const back = this.local('sftp');
    const r = await this.sftp([`put ${join(this.work, 'payload')} ${name}`, `get ${name} ${back}`, `rm ${name}`]);
    if (r.exitCode !== 0) return [false, failure(r)];
    return this.sameAsPayload(back);
  }

  async scpRoundTrip(legacy: boolean): Promise<Outcome> {
    const name = this.remoteName(legacy ? 'scpO' : 'scp');
    const back = this.local('scp');
    const scp = ['scp', ...(legacy ? ['-O'] : []), ...this.sshOptions(), '-P', String(this.t.port)];
    const up = await run([...scp, join(this.work, 'payload'), this.remote(name)], { timeoutMs: TIMEOUT_MS });
    if (up.exitCode !== 0) return [false, `upload: ${failure(up)}`];
    const down = await run([...scp, this.remote(name), back], { timeoutMs: TIMEOUT_MS });
    if (down.exitCode !== 0) return [false, `download: ${failure(down)}`];
    return this.sameAsPayload(back);
  }

  async rsyncRoundTrip(): Promise<Outcome> {
    const name = this.remoteName('rsync');
    const back = this.local('rsync');
    // rsync parses -e itself (no shell): fixed options and paths without spaces only.
    const e = ['ssh', ...this.sshOptions(), '-p', String(this.t.port)].join(' ');
    const up = await run(['rsync', '-e', e, join(this.work, 'payload'), this.remote(name)], { timeoutMs: TIMEOUT_MS });
    if (up.exitCode !== 0) return [false, `upload: ${failure(up)}`];
    const down = await run(['rsync', '-e', e, this.remote(name), back], { timeoutMs: TIMEOUT_MS });
    if (down.exitCode !== 0) return [false, `download: ${failure(down)}`];
    return this.sameAsPayload(back);
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

  async shellShadow(): Promise<Outcome> {
    // A bash loop, not cat: if cat were missing, "command not found" would look like a pass.
    const r = await this.shellAttempt(`while IFS= read -r l; do printf '%s\\n' "$l"; done < /etc/shadow`);
    if (typeof r === 'string') return [false, r];
    if (r.exitCode === 0 || r.stdout !== IN) return [false, `read /etc/shadow (${r.stdout.length - IN.length} bytes)`];
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

  async sftpShadow(): Promise<Outcome> {
    const dest = this.local('shadow');
    const r = await this.sftp([`get /etc/shadow ${dest}`]);
    return this.sftpRefused(r, await exists(dest) ? 'downloaded /etc/shadow' : undefined);
  }

  async sftpCdUp(): Promise<Outcome> {
    const r = await this.sftp(['cd /..', 'pwd', 'ls -1a']);
    if (r.exitCode !== 0) return [false, failure(r)];
    const lines = r.stdout.split('\n');
    const pwd = lines.find((l) => l.startsWith('Remote working directory: '));
    if (pwd !== 'Remote working directory: /') return [false, `pwd after cd /.. printed ${JSON.stringify(pwd ?? '')}`];
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

  async sftpWrite(path: string): Promise<Outcome> {
    return this.checkWrite(path, async () => this.sftpRefused(await this.sftp([`put ${join(this.work, 'payload')} ${path}`])));
  }

  /** Runs a write attempt, then checks on the host that the file was not created or changed. */
  private async checkWrite(path: string, attempt: () => Promise<Outcome>): Promise<Outcome> {
    const hostPath = join(this.t.jail, path);
    const before = await fingerprint(hostPath);
    const [ok, detail] = await attempt();
    const after = await fingerprint(hostPath);
    if (after !== before) {
      // Undo what the probe itself created; never delete a file that was there before.
      if (before === undefined) await rm(hostPath, { force: true });
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
    for (const p of this.created) if ((await lstat(p).catch(() => undefined))?.isFile()) await rm(p, { force: true });
    if (this.uploaded.length === 0) return;
    // "-rm": a leading "-" lets the batch go on when a file is already gone.
    if (this.t.tools.includes('sftp') && !this.t.readOnly) await this.sftp(this.uploaded.map((n) => `-rm ${n}`));
    const dirs = [this.t.jail];
    if (this.home) dirs.unshift(join(this.t.jail, this.home));
    if (this.t.startDir) dirs.unshift(join(this.t.jail, this.t.startDir));
    for (const name of this.uploaded) {
      for (const p of isAbsolute(name) ? [join(this.t.jail, name)] : dirs.map((d) => join(d, name))) {
        if ((await lstat(p).catch(() => undefined))?.isFile()) await rm(p, { force: true });
      }
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

/** Content and mode of a host file, or undefined when absent. */
async function fingerprint(path: string): Promise<string | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined;
  const body = st.isFile() ? (await readFile(path)).toString('base64') : '';
  return `${st.mode}:${st.uid}:${st.size}:${body}`;
}

function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

function failure(r: RunResult): string {
  if (r.timedOut) return `timed out after ${TIMEOUT_MS / 1000} s`;
  return `exit ${r.exitCode}: ${tail(r.stderr || r.stdout) || 'no output'}`;
}
