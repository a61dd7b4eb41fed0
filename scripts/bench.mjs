#!/usr/bin/env zx
// Benchmark: jailwizard against jailkit and ldd, measured in the same run on this host.
//
//   npm run bench                 (builds dist/ first)
//   npx zx scripts/bench.mjs [--rounds 5] [--ldd-rounds 3] [--version-rounds 10] [--trace] [--no-ldd]
//                            [--tui-rounds 10] [--tui-keys 2] [--only-tui] [--no-tui]
//
// Needs root (it creates users and jails), jailkit (jk_init), openssh-server and
// /usr/bin/time (Debian package `time`) for peak memory. It never touches
// /etc/ssh/sshd_config or port 22: apply runs against a private sshd on 127.0.0.1 at a
// free port (as test/helpers/sshd.ts does), and every user, key, jail and temp dir it
// makes carries this run's id and is removed in the end, also after a failure or Ctrl+C.
//
// Figures (medians, rounds interleaved so that a noisy neighbour hits both sides):
// - a whole `apply --no-test` of the four-tool jail vs `jk_init -j DIR sftp scp rsync basicshell`
// - the connection test of that jail (`jailwizard test USER`, the whole process) vs one plain
//   login (`ssh USER@127.0.0.1 true` with the same kind of key), measured in the same round
// - the bytes of both jails (regular files' st_size, hard links once, symlinks not followed)
// - ELF dependency resolution (src/host/ld-resolve.ts, one resolveClosure call per binary) of
//   every executable in /usr/bin vs a bash loop of `ldd` over the same paths, plus a
//   cross-check that both find the same files
// - apply's peak RSS (/usr/bin/time -f %M) vs jk_init's
// - `jailwizard --version` vs `node -e 0`
// - the wizard in a real pseudo-terminal (80x24, TERM=xterm-256color, LANG=C.UTF-8, no CI),
//   driven by scripts/pty-timing.py (python3: os.openpty, select, time.monotonic): the
//   first frame (spawn to the first output carrying the "jailwizard · 1/10" title) against
//   `node -e 0` and `--version`, and keys answered (Enter on Preflight, then ↓/↑ on the
//   User screen: from writing the key to the first byte of the redraw), and a burst of
//   20 Space/Down keys on Tools in one write (to the first frame that shows all 20). Its rounds are
//   interleaved with the --version ones; the wizard reads the private sshd's config and
//   a temp --state-dir, and is quit with Ctrl+C on an idle screen (killed if it lingers).
// --only-tui measures just --version, node -e 0 and the wizard (no jails, no ldd): ~20 s.
// --no-tui leaves the wizard in a PTY out (--version and node -e 0 stay).
// --trace adds two diagnostic applies: one under strace (its child processes) and one
// under --cpu-prof (an unminified bundle; the profile is kept in /tmp).
import { argv, fs, os, path } from 'zx';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(REPO);

const ROUNDS = intArg('rounds', 5);
const LDD_ROUNDS = intArg('ldd-rounds', 3);
const VERSION_ROUNDS = intArg('version-rounds', 10);
const TRACE = Boolean(argv.trace);
const DO_LDD = argv.ldd !== false; // --no-ldd
const ONLY_TUI = Boolean(argv['only-tui']);
const NO_TUI = argv.tui === false; // --no-tui
const TUI_ROUNDS = intArg('tui-rounds', 10);
const TUI_KEYS = intArg('tui-keys', 2); // key presses per wizard round

const BIN = path.join(REPO, 'dist/jailwizard.mjs');
const NODE = process.execPath;
const SSHD = '/usr/sbin/sshd';
const GNU_TIME = '/usr/bin/time';
const JK_INIT_SECTIONS = ['sftp', 'scp', 'rsync', 'basicshell'];
const TOOLS = ['bash', 'rsync', 'scp', 'sftp'];
const KEYS_DIR = '/etc/ssh/authorized_keys';
const INCLUDE_LINE = /^Include\s+\/etc\/ssh\/sshd_config\.d\/\*\.conf\s*$/m;
const GOALS = { updateMs: 150, applyTime: 0.5, testMs: 2000, jailBytes: 0.75, lddSpeedup: 5, rssMB: 120, versionRatio: 1.5, firstFrameMs: 300, keyMs: 50, burstMs: 50 };
const PTY_HELPER = path.join(REPO, 'scripts/pty-timing.py');
const PYTHON = 'python3';

// An id no user or jail root on this host carries yet: cleanup removes by this id.
const RUN_ID = freshId();
const PREFIX = `jwbench${RUN_ID}`; // every user of this run; valid, lowercase, short
const JAIL_ROOT = `/srv/jwbench-${RUN_ID}`; // never under /tmp: sshd refuses 1777 parents

function freshId() {
  const users = fs.readFileSync('/etc/passwd', 'utf8');
  for (;;) {
    const id = randomBytes(2).toString('hex');
    if (!users.includes(`\njwbench${id}`) && !fs.existsSync(`/srv/jwbench-${id}`)) return id;
  }
}

function intArg(name, dflt) {
  const v = argv[name];
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) die(`--${name} wants a positive integer, got ${v}`);
  return n;
}

function die(msg) {
  console.error(`bench: ${msg}`);
  process.exit(2);
}

// ------------------------------------------------------------------ processes

/**
 * Runs argv (no shell) and measures wall time from spawn to exit. With rss, it runs under
 * GNU time and also returns max RSS (KiB) and user/sys CPU seconds. onLine gets each
 * stdout line with its ms offset (stdout to a pipe is synchronous in Node on Linux, so the
 * offsets are when apply printed them).
 */
function timed(cmd, { rss = false, env, onLine, stdoutFile } = {}) {
  if (stopping) return Promise.reject(new Interrupted());
  return new Promise((resolve, reject) => {
    const timeFile = rss ? path.join(work, `time-${randomBytes(4).toString('hex')}`) : undefined;
    const full = rss ? [GNU_TIME, '-f', '%M %U %S', '-o', timeFile, '--', ...cmd] : cmd;
    const out = [];
    const err = [];
    let partial = '';
    const fd = stdoutFile ? fs.openSync(stdoutFile, 'w') : undefined;
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full.slice(1), {
      stdio: ['ignore', fd ?? 'pipe', 'pipe'],
      env: env ? { ...process.env, ...env } : process.env,
    });
    if (fd !== undefined) fs.closeSync(fd);
    const exited = new Promise((r) => child.once('close', r));
    running.set(child, exited);
    exited.then(() => running.delete(child));
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    child.stdout?.on('data', (b) => {
      out.push(b);
      if (!onLine) return;
      const at = ms();
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop();
      for (const l of parts) onLine(l, at);
    });
    child.stderr.on('data', (b) => err.push(b));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const wall = ms();
      const r = { ms: wall, code: code ?? 128, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (timeFile) {
        const text = fs.existsSync(timeFile) ? fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop() : '';
        const [kb, user, sys] = text.split(/\s+/).map(Number);
        r.maxRssKB = kb;
        r.cpuS = user + sys;
        fs.rmSync(timeFile, { force: true });
      }
      resolve(r);
    });
  });
}

/** Runs argv synchronously; throws with its output unless it exits 0. */
function must(cmd, opts = {}) {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status ?? r.signal}\n${(r.stderr || '') + (r.stdout || '')}`.trim());
  return r.stdout;
}

function failure(what, r) {
  const tail = (r.stderr + '\n' + r.stdout).trim().split('\n').slice(-15).join('\n');
  return new Error(`${what} exited ${r.signal ?? r.code}:\n${tail}`);
}

// ------------------------------------------------------------------ statistics and formatting

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs, f) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
const sec = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const msf = (ms) => `${ms.toFixed(ms < 100 ? 1 : 0)} ms`;
const mb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
const mib = (kb) => `${(kb / 1024).toFixed(0)} MiB`;
const x = (r) => `${r.toFixed(2)}×`;
const verdict = (ok) => (ok ? '✓' : '✗ missed');

// ------------------------------------------------------------------ host facts

function machine() {
  const cpu = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown cpu';
  const version = (pkg) => {
    const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : '?';
  };
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    nproc: os.availableParallelism?.() ?? os.cpus().length,
    cpu,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    jailkit: version('jailkit'),
    openssh: version('openssh-server'),
  };
}

function preflight() {
  if (process.getuid?.() !== 0) die('run as root: apply creates a user and a jail, jk_init writes one');
  for (const [p, hint] of [
    [SSHD, 'apt-get install -y openssh-server'],
    ...(ONLY_TUI ? [] : [['/usr/sbin/jk_init', 'apt-get install -y jailkit']]),
  ]) {
    if (!fs.existsSync(p)) die(`${p} is missing (${hint})`);
  }
  if (!fs.existsSync(BIN)) {
    console.log('dist/jailwizard.mjs is missing: building it (node scripts/build.mjs)');
    must([NODE, 'scripts/build.mjs'], { stdio: 'inherit' });
  }
  const stale = newestMtime('src') > fs.statSync(BIN).mtimeMs;
  if (stale) console.warn('bench: warning: src/ is newer than dist/jailwizard.mjs; `npm run bench` rebuilds first');
  if (!fs.existsSync(GNU_TIME)) console.warn(`bench: ${GNU_TIME} is missing, so peak memory is not measured (apt-get install -y time)`);
  const leftovers = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]).filter((n) => /^jwbench[0-9a-f]{4}/.test(n));
  if (leftovers.length) console.warn(`bench: note: users from another (running or crashed) bench exist: ${leftovers.join(' ')}; left alone`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

// ------------------------------------------------------------------ private sshd

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
  });
}

async function startSshd() {
  const dir = path.join(work, 'sshd');
  const dropIn = path.join(dir, 'sshd_config.d');
  fs.mkdirSync(dropIn, { recursive: true });
  fs.chmodSync(dropIn, 0o755);
  const s = { dir, port: await freePort(), config: path.join(dir, 'sshd_config'), pidFile: path.join(dir, 'sshd.pid'), log: path.join(dir, 'sshd.log') };
  const hostKey = path.join(dir, 'host_ed25519');
  must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'jailwizard-bench', '-f', hostKey]);
  const stock = fs.readFileSync('/etc/ssh/sshd_config', 'utf8');
  if (!INCLUDE_LINE.test(stock)) throw new Error('/etc/ssh/sshd_config has no "Include /etc/ssh/sshd_config.d/*.conf" line');
  // Ours first: sshd keeps the first value it reads for a keyword.
  const head = [`Port ${s.port}`, 'ListenAddress 127.0.0.1', `PidFile ${s.pidFile}`, `HostKey ${hostKey}`, ''].join('\n');
  fs.writeFileSync(s.config, head + stock.replace(INCLUDE_LINE, `Include ${dropIn}/*.conf`), { mode: 0o644 });
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  must([SSHD, '-t', '-f', s.config]);
  must([SSHD, '-f', s.config, '-E', s.log]); // daemonizes once the pidfile is written
  sshd = s;
  for (const deadline = Date.now() + 10_000; !(await accepts(s.port)); ) {
    if (Date.now() > deadline) throw new Error(`private sshd does not listen on 127.0.0.1:${s.port}\n${readOr(s.log)}`);
    await sleepMs(50);
  }
  return s;
}

async function stopSshd() {
  if (!sshd) return;
  const pid = Number(readOr(sshd.pidFile).trim());
  sshd = undefined;
  if (!(pid > 1)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (const deadline = Date.now() + 10_000; isRunning(pid) && Date.now() < deadline; ) await sleepMs(50);
}

function isRunning(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const readOr = (p, d = '') => {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return d;
  }
};
const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ jails

/** Bytes of regular files (each inode once), without following symlinks; and counts. */
function jailStats(root) {
  const inodes = new Map();
  const st = { bytes: 0, files: 0, inodes: 0, symlinks: 0, dirs: 0, other: 0, list: [] };
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir)) {
      const p = path.join(dir, name);
      const s = fs.lstatSync(p);
      if (s.isSymbolicLink()) st.symlinks++;
      else if (s.isDirectory()) {
        st.dirs++;
        walk(p);
      } else if (s.isFile()) {
        st.files++;
        const key = `${s.dev}:${s.ino}`;
        if (!inodes.has(key)) {
          inodes.set(key, p);
          st.bytes += s.size;
          st.inodes++;
          st.list.push({ path: path.relative(root, p), size: s.size });
        }
      } else st.other++;
    }
  };
  walk(root);
  st.list.sort((a, b) => b.size - a.size);
  return st;
}

const describeJail = (s) => `${mb(s.bytes)} in ${s.files} files${s.inodes !== s.files ? ` (${s.inodes} inodes)` : ''}, ${s.symlinks} symlinks`;

function writeAnswers(user) {
  const file = path.join(work, `${user}.json`);
  const answers = { user, tools: TOOLS, jail: path.join(JAIL_ROOT, user), authorizedKeys: [clientKey] };
  fs.writeFileSync(file, JSON.stringify(answers, null, 2));
  return file;
}

const common = () => ['--sshd-config', sshd.config, '--state-dir', stateDir];

/** One whole apply (no connection test) for a fresh user; the jail is measured, then removed. */
async function applyRound(user, { measure = true } = {}) {
  const answers = writeAnswers(user);
  const steps = [];
  const r = await timed([NODE, BIN, 'apply', '--config', answers, '--yes', '--no-test', ...common()], {
    rss: hasTime,
    onLine: (l, at) => {
      const m = /^\[(\d+)\/(\d+)\] (.*)$/.exec(l);
      if (m) steps.push({ n: Number(m[1]), title: m[3], at });
      else if (l.startsWith('Done: ')) steps.push({ n: 'done', title: 'summary', at });
    },
  });
  if (r.code !== 0) throw failure(`jailwizard apply for ${user}`, r);
  const jail = path.join(JAIL_ROOT, user);
  if (!fs.existsSync(path.join(jail, 'usr/bin/bash'))) throw new Error(`apply exited 0 but ${jail}/usr/bin/bash is missing`);
  const stats = measure ? jailStats(jail) : undefined;
  // The connection test as a user waits for it, and one plain login beside it (the order alternates).
  let testMs;
  let loginMs;
  if (measure) {
    const sides = [
      async () => {
        const t = await timed([NODE, BIN, 'test', user, ...common()]);
        if (t.code !== 0 || !/All \d+ probes passed/.test(t.stdout)) throw failure(`jailwizard test ${user}`, t);
        testMs = t.ms;
      },
      async () => {
        const l = await timed(['ssh', ...SSH_CLIENT_OPTIONS, '-i', clientKeyFile, '-p', String(sshd.port), `${user}@127.0.0.1`, 'true']);
        if (l.code !== 0) throw failure(`ssh ${user}@127.0.0.1 true`, l);
        loginMs = l.ms;
      },
    ];
    if (testRounds++ % 2) sides.reverse();
    for (const side of sides) await side();
  }
  // update with nothing to do: the first run may refresh the manifest's mtimes; time the second.
  let updateMs;
  if (measure) {
    for (let k = 0; k < 2; k++) {
      const u = await timed([NODE, BIN, 'update', user, '--yes', ...common()]);
      if (u.code !== 0 || !/nothing to do/.test(u.stdout)) throw failure(`jailwizard update ${user}`, u);
      updateMs = u.ms;
    }
  }
  await removeUser(user);
  return { ...r, steps, stats, updateMs, testMs, loginMs };
}

let testRounds = 0;
const SSH_CLIENT_OPTIONS = ['-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];

async function removeUser(user) {
  const r = await timed([NODE, BIN, 'remove', user, '--yes', ...common()]);
  if (r.code !== 0) throw failure(`jailwizard remove ${user}`, r);
  const jail = path.join(JAIL_ROOT, user);
  if (fs.existsSync(jail)) notes.push(`jailwizard remove ${user} exited 0 but left ${jail} behind`);
  return r;
}

async function jkRound(name) {
  const jail = path.join(JAIL_ROOT, name);
  const r = await timed(['/usr/sbin/jk_init', '-j', jail, ...JK_INIT_SECTIONS], { rss: hasTime });
  if (r.code !== 0) throw failure(`jk_init -j ${jail}`, r);
  if (!fs.existsSync(path.join(jail, 'usr/bin/bash')) && !fs.existsSync(path.join(jail, 'bin/bash'))) {
    throw new Error(`jk_init exited 0 but made no jail with bash in ${jail}:\n${r.stdout}${r.stderr}`);
  }
  // jk_init lstat()s the jail before creating it: that "ERROR" is expected.
  const complaints = (r.stdout + r.stderr).split('\n').filter((l) => /error|warn|not found|cannot/i.test(l) && l.trim() !== `ERROR: cannot lstat() ${jail}`);
  const stats = jailStats(jail);
  fs.rmSync(jail, { recursive: true, force: true });
  return { ...r, stats, complaints };
}

// ------------------------------------------------------------------ ELF resolution vs ldd

/** Every path in /usr/bin that resolves to an executable regular file, sorted. */
function usrBinExecutables() {
  const out = [];
  for (const name of fs.readdirSync('/usr/bin').sort()) {
    const p = `/usr/bin/${name}`;
    try {
      const s = fs.statSync(p);
      if (s.isFile() && (s.mode & 0o111) !== 0) out.push(p);
    } catch {
      // dangling symlink
    }
  }
  return out;
}

const RUNNER = `
import { readFileSync, writeFileSync } from 'node:fs';
import { resolveClosure } from './ld-resolve.mjs';
const [files, mode, resultsFile] = [JSON.parse(readFileSync(process.argv[2], 'utf8')), process.argv[3], process.argv[4]];
const results = [];
let errors = 0;
const t0 = process.hrtime.bigint();
if (mode === 'each') {
  for (const f of files) {
    try { results.push(resolveClosure([f])); } catch (e) { errors++; results.push({ error: String(e) }); }
  }
} else results.push(resolveClosure(files));
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
if (resultsFile) writeFileSync(resultsFile, JSON.stringify(results.map((c) => c.error ? c : { real: c.realObjects, missing: c.missing })));
process.stdout.write(JSON.stringify({ ms, errors, rss: process.memoryUsage().rss }));
`;

async function bundleResolver() {
  const { build } = await import('esbuild');
  const dir = path.join(work, 'resolver');
  fs.mkdirSync(dir);
  await build({ entryPoints: ['src/host/ld-resolve.ts'], outfile: path.join(dir, 'ld-resolve.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node18', logLevel: 'warning' });
  const runner = path.join(dir, 'run.mjs');
  fs.writeFileSync(runner, RUNNER);
  return runner;
}

/** ldd's answer per file: the real paths of what it loads, and the names it could not find. */
function parseLdd(text) {
  const per = new Map();
  let cur;
  for (const line of text.split('\n')) {
    if (line.startsWith('@@ ')) {
      cur = { real: new Set(), missing: new Set(), dynamic: true };
      per.set(line.slice(3), cur);
      continue;
    }
    if (!cur) continue;
    const t = line.trim();
    let m;
    if (/not a dynamic executable|statically linked/.test(t)) cur.dynamic = false;
    else if ((m = /^(\S+) => not found$/.exec(t))) cur.missing.add(m[1]);
    else if ((m = /=> (\/\S+) \(0x/.exec(t)) || (m = /^(\/\S+) \(0x/.exec(t))) cur.real.add(realOr(m[1]));
  }
  return per;
}

function realOr(p) {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/** Files where the two disagree (the binary itself is not counted on either side). */
function crossCheck(files, lddPer, results) {
  const diffs = [];
  files.forEach((f, i) => {
    const l = lddPer.get(f);
    const r = results[i];
    if (!l || r.error) {
      diffs.push({ f, why: r.error ?? 'no ldd output' });
      return;
    }
    const self = realOr(f);
    const ours = new Set(r.real.filter((p) => p !== self));
    const theirs = new Set([...l.real].filter((p) => p !== self));
    const onlyOurs = [...ours].filter((p) => !theirs.has(p));
    const onlyLdd = [...theirs].filter((p) => !ours.has(p));
    const ourMissing = new Set(r.missing.map((m) => m.name));
    const missDiff = [...l.missing].filter((n) => !ourMissing.has(n)).concat([...ourMissing].filter((n) => !l.missing.has(n)));
    if (onlyOurs.length || onlyLdd.length || missDiff.length) {
      diffs.push({ f, symlink: fs.lstatSync(f).isSymbolicLink(), why: [onlyOurs.length && `only resolveClosure: ${onlyOurs.join(' ')}`, onlyLdd.length && `only ldd: ${onlyLdd.join(' ')}`, missDiff.length && `missing differs: ${missDiff.join(' ')}`].filter(Boolean).join('; ') });
    }
  });
  return diffs;
}

async function lddBench() {
  const files = usrBinExecutables();
  const list = path.join(work, 'usr-bin.json');
  fs.writeFileSync(list, JSON.stringify(files));
  const runner = await bundleResolver();
  const lddOut = path.join(work, 'ldd.out');
  const ours = path.join(work, 'resolve.json');
  const each = [];
  const eachWall = [];
  const ldd = [];
  const all = [];
  let errors = 0;
  const loop = 'for f in "$@"; do printf "@@ %s\\n" "$f"; ldd "$f" 2>&1; done';
  for (let i = 0; i < LDD_ROUNDS; i++) {
    const sides = [
      async () => {
        const r = await timed([NODE, runner, list, 'each', i === 0 ? ours : '']);
        if (r.code !== 0) throw failure('the resolveClosure runner', r);
        const j = JSON.parse(r.stdout);
        each.push(j.ms);
        eachWall.push(r.ms);
        errors = j.errors;
      },
      async () => {
        const r = await timed(['bash', '-c', loop, 'bash', ...files], { stdoutFile: lddOut });
        ldd.push(r.ms); // ldd exits 1 for non-ELF files; the loop's status is the last one's
      },
    ];
    if (i % 2) sides.reverse();
    for (const s of sides) await s();
    const r = await timed([NODE, runner, list, 'all', '']);
    if (r.code !== 0) throw failure('the resolveClosure runner', r);
    all.push(JSON.parse(r.stdout).ms);
  }
  const lddPer = parseLdd(fs.readFileSync(lddOut, 'utf8'));
  const results = JSON.parse(fs.readFileSync(ours, 'utf8'));
  const dynamic = [...lddPer.values()].filter((v) => v.dynamic).length;
  return { files, each, eachWall, ldd, all, errors, dynamic, diffs: crossCheck(files, lddPer, results) };
}

// ------------------------------------------------------------------ startup

/**
 * `jailwizard --version` vs `node -e 0`, and (with python3) the wizard in a real PTY, rounds
 * interleaved in a rotating order so that a noisy neighbour hits every side alike. Round -1
 * is a warm-up of each side, not counted.
 */
async function startupBench() {
  const jw = [];
  const plain = [];
  const tui = []; // one pty-timing.py result per wizard round
  const floor = []; // node printing the title in the same PTY harness
  const want = JSON.parse(fs.readFileSync('package.json', 'utf8')).version;
  const rounds = Math.max(VERSION_ROUNDS, hasPty ? TUI_ROUNDS : 0);
  for (let i = -1; i < rounds; i++) {
    const sides = [];
    if (i < VERSION_ROUNDS) {
      sides.push(async () => {
        const r = await timed([NODE, BIN, '--version']);
        if (r.code !== 0 || !r.stdout.includes(want)) throw failure(`jailwizard --version (want ${want})`, r);
        if (i >= 0) jw.push(r.ms);
      });
      sides.push(async () => {
        const r = await timed([NODE, '-e', '0']);
        if (r.code !== 0) throw failure('node -e 0', r);
        if (i >= 0) plain.push(r.ms);
      });
    }
    if (hasPty && i < TUI_ROUNDS) {
      sides.push(async () => {
        const r = await ptyRun(wizardSpec(i >= 0 ? TUI_KEYS : 0));
        if (i >= 0) tui.push(r);
      });
      sides.push(async () => {
        const r = await ptyRun(floorSpec());
        if (i >= 0) floor.push(r.title_ms);
      });
    }
    const k = ((i % sides.length) + sides.length) % sides.length;
    for (const side of [...sides.slice(k), ...sides.slice(0, k)]) await side();
    if (i >= 0 && hasPty && i < TUI_ROUNDS) {
      const t = tui.at(-1);
      progress(`round ${i + 1}/${rounds}: first frame ${msf(t.title_ms)}, ready ${msf(t.ready_ms)}, keys ${t.presses.map((p) => msf(p.first_ms)).join(' ')}${t.burst_ms === undefined ? '' : `, 20-key burst ${msf(t.burst_ms)}`}`);
    }
  }
  return { jw, plain, tui, floor };
}

// ------------------------------------------------------------------ the wizard in a PTY

/** The environment of a person at a terminal: no CI (Ink would print only the last frame). */
function ttyEnv() {
  const env = { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8' };
  for (const k of Object.keys(env)) {
    if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_')) delete env[k];
  }
  // LANG decides (LC_ALL/LC_CTYPE would override it); colour follows the terminal.
  for (const k of ['LC_ALL', 'LC_CTYPE', 'NO_COLOR', 'FORCE_COLOR']) delete env[k];
  return env;
}

const TITLE_RX = 'jailwizard [·-] 1/\\d+';
const PTY_BASE = () => ({ env: ttyEnv(), cwd: REPO, cols: 80, rows: 24, title: TITLE_RX, timeout_s: 30 });

/** Spawn → first frame → Preflight ready → (Enter, then ↓/↑ on the User screen) → Ctrl+C. */
function wizardSpec(presses) {
  return {
    ...PTY_BASE(),
    cmd: [NODE, BIN, '--sshd-config', sshd.config, '--state-dir', tuiStateDir],
    ready: 'Press Enter to start',
    quit: '\u0003',
    keys: presses
      ? {
          enter: '\r',
          // A list of existing users answers arrows; with none the screen is a text field.
          screens: { 'Which user should be jailed\\?': ['\u001b[B', '\u001b[A'], 'Name of the new user to jail:': ['a', '\u007f'] },
          presses,
          quiet_ms: 150,
          timeout_s: 3,
        }
      : undefined,
    burst: presses ? TOOLS_BURST : undefined,
  };
}

/**
 * 20 keys on the Tools screen in ONE write, as a slow SSH link delivers them: Space and
 * Down, 10 each, in an order whose end state (rsync and scp on, the cursor on scp) no
 * shorter prefix reaches, so the frame that shows it shows all 20 keys. The way there:
 * "New user…" (End on a user list), a name, Enter.
 */
const BURST_KEYS = 'SDSSSDDSSDDSSDDDSDDS';
const TOOLS_BURST = {
  steps: {
    'Which user should be jailed\\?': [
      { write: '\u001b[F\r', wait: 'Name of the new user to jail:' },
      { write: 'jwbenchburst\r', wait: 'What may the user do' },
    ],
    'Name of the new user to jail:': [{ write: 'jwbenchburst\r', wait: 'What may the user do' }],
  },
  bytes: [...BURST_KEYS].map((k) => (k === 'S' ? ' ' : '\u001b[B')).join(''),
  frame: 'jailwizard [·-] 3/\\d+ Tools',
  done: ['(?m)^  ○ bash', '(?m)^  ◉ rsync', '(?m)^› ◉ scp', '(?m)^  ○ sftp'],
  timeout_s: 5,
};

/** The harness's floor: a bare node that prints the title line and exits. */
function floorSpec() {
  return { ...PTY_BASE(), cmd: [NODE, '-e', "process.stdout.write('jailwizard · 1/10 floor\\n')"] };
}

async function ptyRun(spec) {
  const r = await timed([PYTHON, PTY_HELPER, JSON.stringify(spec)]);
  let out;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    throw failure(`${PTY_HELPER} (${path.basename(spec.cmd[1])})`, r);
  }
  if (!out.ok) throw new Error(`in a PTY, ${spec.cmd.slice(1).join(' ')}: ${out.error}\n--- screen (tail) ---\n${out.tail}`);
  if (out.end === 'killed') notes.push(`the wizard did not quit on Ctrl+C within 2 s in a PTY round; it was killed`);
  return out;
}

function checkPty() {
  const r = spawnSync(PYTHON, ['-c', 'import pty, select, fcntl, termios'], { encoding: 'utf8' });
  if (r.status === 0) return true;
  notes.push(`the wizard was not measured in a PTY: ${PYTHON} with pty/select/fcntl/termios is missing (${(r.error?.message ?? r.stderr).trim()})`);
  return false;
}

// ------------------------------------------------------------------ --trace

/** An apply under strace: every child process with its start offset and duration. */
async function straceApply(user) {
  const out = path.join(work, 'strace.out');
  const r = await timed(['strace', '-f', '-tt', '-q', '-s', '80', '-e', 'trace=execve', '-e', 'signal=none', '-o', out, NODE, BIN, 'apply', '--config', writeAnswers(user), '--yes', '--no-test', ...common()]);
  if (r.code !== 0) throw failure(`strace jailwizard apply ${user}`, r);
  await removeUser(user);
  const t = (s) => {
    const [h, m, rest] = s.split(':');
    return (Number(h) * 3600 + Number(m) * 60 + Number(rest)) * 1000;
  };
  const procs = new Map();
  let t0;
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    const m = /^(\d+)\s+(\d+:\d+:\d+\.\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, pid, ts, what] = m;
    t0 ??= t(ts);
    const e = /^execve\("([^"]*)", \[(.*?)\](?:, 0x[0-9a-f]+ \/\* \d+ vars \*\/)?\) = 0/.exec(what);
    if (e) {
      const args = [...e[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1]);
      procs.set(pid, { cmd: args.join(' ').slice(0, 90), start: t(ts) - t0 });
    } else if (/^\+\+\+ (exited|killed)/.test(what) && procs.has(pid)) procs.get(pid).end = t(ts) - t0;
  }
  return { wall: r.ms, procs: [...procs.values()].filter((p) => p.start > 0) };
}

/** A CPU profile of an unminified bundle: where apply's own process spends its time. */
async function profileApply(user) {
  const { build } = await import('esbuild');
  const dir = path.join(work, 'prof');
  fs.mkdirSync(dir);
  const stub = path.join(dir, 'stub.mjs');
  fs.writeFileSync(stub, 'export default {};\n');
  const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
  const bundle = path.join(dir, 'jw.mjs');
  // Same options as scripts/build.mjs, but readable names.
  await build({
    entryPoints: ['src/main.ts'], outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node18', minify: false, keepNames: true,
    define: { JAILWIZARD_VERSION: JSON.stringify(pkg.version), 'process.env.DEV': '"false"' }, alias: { 'react-devtools-core': stub },
    banner: { js: "import { createRequire as __jwCreateRequire } from 'node:module';\nconst require = __jwCreateRequire(import.meta.url);" }, logLevel: 'warning',
  });
  const r = await timed([NODE, '--cpu-prof', '--cpu-prof-dir', dir, bundle, 'apply', '--config', writeAnswers(user), '--yes', '--no-test', ...common()]);
  if (r.code !== 0) throw failure(`profiled jailwizard apply ${user}`, r);
  await removeUser(user);
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  prof.samples.forEach((id, i) => {
    const dt = (prof.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const cf = byId.get(id).callFrame;
    const where = cf.url.includes('jw.mjs') ? 'jailwizard' : cf.url.startsWith('node:') ? 'node:' + cf.url.slice(5).split('/')[0] : cf.url ? 'other' : '';
    const key = `${cf.functionName || '(anonymous)'}${where ? ` [${where}${where === 'jailwizard' ? `:${cf.lineNumber + 1}` : ''}]` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const saved = path.join(os.tmpdir(), `jailwizard-apply-${RUN_ID}.cpuprofile`);
  fs.copyFileSync(path.join(dir, file), saved);
  return { wall: r.ms, total, top: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12), saved };
}

// ------------------------------------------------------------------ cleanup

let work;
let sshd;
let stateDir;
let clientKey;
let clientKeyFile;
let hasTime = false;
let keysDirExisted = false;
let cleaned = false;
let madeJailRoot = false;
let tuiStateDir;
let hasPty = false;
const notes = [];

async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  const problems = [];
  const users = fs.readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')[0]).filter((n) => n.startsWith(PREFIX));
  for (const u of users) {
    // Prefer jailwizard's own undo (drop-in, key, jail); fall back to userdel.
    if (sshd && stateDir && fs.existsSync(path.join(stateDir, 'jails', `${u}.json`))) {
      const r = spawnSync(NODE, [BIN, 'remove', u, '--yes', ...common()], { encoding: 'utf8' });
      if (r.status !== 0) problems.push(`jailwizard remove ${u}: ${r.stderr.trim().split('\n').pop()}`);
    }
    if (fs.readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${u}:`))) {
      const r = spawnSync('userdel', ['-f', u], { encoding: 'utf8' });
      if (r.status !== 0) problems.push(`userdel -f ${u}: ${r.stderr.trim()}`);
    }
  }
  if (fs.existsSync(KEYS_DIR)) {
    for (const n of fs.readdirSync(KEYS_DIR)) if (n.startsWith(PREFIX)) fs.rmSync(path.join(KEYS_DIR, n), { force: true });
    if (!keysDirExisted && fs.readdirSync(KEYS_DIR).length === 0) fs.rmdirSync(KEYS_DIR);
  }
  await stopSshd().catch((e) => problems.push(`stopping the private sshd: ${e.message}`));
  if (madeJailRoot) fs.rmSync(JAIL_ROOT, { recursive: true, force: true });
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (problems.length) console.error(`bench: cleanup problems:\n  ${problems.join('\n  ')}`);
}

// On a signal, let the running child finish first (an apply rolls itself back on SIGINT;
// a terminal's Ctrl+C reaches it anyway), then clean up.
const running = new Map();
let stopping = false;
class Interrupted extends Error {}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, async () => {
    stopping = true;
    console.error(`\nbench: ${sig}: waiting for the running command, then cleaning up`);
    for (const child of running.keys()) {
      try {
        child.kill(sig);
      } catch {
        // gone
      }
    }
    await Promise.race([Promise.all(running.values()), sleepMs(60_000)]);
    await cleanup().catch((e) => console.error(e));
    process.exit(128 + os.constants.signals[sig]);
  });
}

// ------------------------------------------------------------------ main

preflight();
hasTime = fs.existsSync(GNU_TIME);
const host = machine();
const load0 = os.loadavg();
const progress = (s) => process.stderr.write(`bench: ${s}\n`);
let exitCode = 0;
try {
  keysDirExisted = fs.existsSync(KEYS_DIR);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'jwbench-'));
  stateDir = path.join(work, 'state');
  tuiStateDir = path.join(work, 'tui-state'); // the wizard's own: the applies' records stay out of it
  hasPty = !NO_TUI && checkPty();
  if (!ONLY_TUI) {
    fs.mkdirSync('/srv', { recursive: true, mode: 0o755 });
    fs.mkdirSync(JAIL_ROOT, { mode: 0o755 }); // throws if it exists: never ours to delete then
    madeJailRoot = true;
    fs.chmodSync(JAIL_ROOT, 0o755);
    clientKeyFile = path.join(work, 'id_ed25519');
    must(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'jailwizard-bench', '-f', clientKeyFile]);
    clientKey = fs.readFileSync(`${clientKeyFile}.pub`, 'utf8').trim();
  }
  await startSshd();
  progress(`run ${RUN_ID}: private sshd on 127.0.0.1:${sshd.port}${ONLY_TUI ? ' (--only-tui)' : `, jails under ${JAIL_ROOT}`}`);

  const applies = [];
  const jks = [];
  let warm;
  if (!ONLY_TUI) {
    // Warm-up (not counted): the first copy of each file pays for the page cache.
    progress('warm-up: one apply and one jk_init');
    warm = { apply: (await applyRound(`${PREFIX}w`, { measure: false })).ms, jk: (await jkRound('jkw')).ms };
    for (let i = 0; i < ROUNDS; i++) {
      const sides = [async () => applies.push(await applyRound(`${PREFIX}a${i}`)), async () => jks.push(await jkRound(`jk${i}`))];
      if (i % 2) sides.reverse();
      for (const s of sides) await s();
      progress(`round ${i + 1}/${ROUNDS}: apply ${sec(applies.at(-1).ms)}, jk_init ${sec(jks.at(-1).ms)}`);
    }
  }

  let elf;
  if (DO_LDD && !ONLY_TUI) {
    progress(`ELF resolution vs ldd over /usr/bin, ${LDD_ROUNDS} rounds`);
    elf = await lddBench();
  }
  progress(`--version vs node -e 0, ${VERSION_ROUNDS} rounds${hasPty ? `, interleaved with the wizard in a PTY, ${TUI_ROUNDS} rounds × ${TUI_KEYS} keys` : ''}`);
  const startup = await startupBench();
  let strace;
  let prof;
  if (TRACE && !ONLY_TUI) {
    progress('--trace: apply under strace, then under --cpu-prof');
    if (fs.existsSync('/usr/bin/strace')) strace = await straceApply(`${PREFIX}s`);
    else notes.push('--trace: strace is not installed (apt-get install -y strace)');
    prof = await profileApply(`${PREFIX}p`);
  }

  // ---------------------------------------------------------------- report
  const rows = [];
  let applyMs, jkMs, aStats, jStats, bytesRatio;
  if (applies.length) {
    applyMs = median(applies.map((r) => r.ms));
    jkMs = median(jks.map((r) => r.ms));
    aStats = applies[0].stats;
    jStats = jks[0].stats;
    for (const [name, rs] of [['apply', applies], ['jk_init', jks]]) {
      if (new Set(rs.map((r) => r.stats.bytes)).size > 1) notes.push(`${name}'s jail size varied between rounds: ${rs.map((r) => r.stats.bytes).join(', ')} bytes`);
    }
    const timeRatio = applyMs / jkMs;
    rows.push([
      `apply --no-test, four tools (median of ${ROUNDS}; ${spread(applies.map((r) => r.ms), sec)})`,
      sec(applyMs),
      `jk_init ${JK_INIT_SECTIONS.join(' ')}: ${sec(jkMs)} (${spread(jks.map((r) => r.ms), sec)})`,
      x(timeRatio),
      `≤ ${GOALS.applyTime}× ${verdict(timeRatio <= GOALS.applyTime)}`,
    ]);
    const tests = applies.map((r) => r.testMs).filter((v) => v !== undefined);
    if (tests.length) {
      const testMs = median(tests);
      const loginMs = median(applies.map((r) => r.loginMs));
      rows.push([
        `connection test, four tools: \`jailwizard test\`, whole process (median of ${tests.length}; ${spread(tests, sec)})`,
        sec(testMs),
        `one login, \`ssh USER@127.0.0.1 true\`: ${sec(loginMs)} (${spread(applies.map((r) => r.loginMs), sec)})`,
        x(testMs / loginMs),
        `< ${sec(GOALS.testMs)} ${verdict(testMs < GOALS.testMs)}`,
      ]);
    }
    const upd = applies.map((r) => r.updateMs).filter((v) => v !== undefined);
    if (upd.length) {
      rows.push([`update with nothing to do (median of ${upd.length}; ${spread(upd, sec)})`, sec(median(upd)), '—', '', `< ${GOALS.updateMs} ms ${verdict(median(upd) < GOALS.updateMs)}`]);
    }
    bytesRatio = aStats.bytes / jStats.bytes;
    rows.push(['jail bytes', describeJail(aStats), `jailkit: ${describeJail(jStats)}`, x(bytesRatio), `≤ ${GOALS.jailBytes}× ${verdict(bytesRatio <= GOALS.jailBytes)}`]);
  }
  if (elf) {
    const each = median(elf.each);
    const lddMs = median(elf.ldd);
    const speed = lddMs / each;
    rows.push([
      `ELF deps of ${elf.files.length} executables in /usr/bin, resolveClosure once per binary (median of ${LDD_ROUNDS}, in-process)`,
      sec(each),
      `bash loop of ldd over the same paths: ${sec(lddMs)}`,
      `${speed.toFixed(1)}× faster`,
      `≥ ${GOALS.lddSpeedup}× ${verdict(speed >= GOALS.lddSpeedup)}`,
    ]);
    const wall = median(elf.eachWall);
    rows.push(['… the same, whole node process (startup, import, resolve)', sec(wall), `ldd loop: ${sec(lddMs)}`, `${(lddMs / wall).toFixed(1)}× faster`, '(info)']);
    rows.push(['… one resolveClosure call for all of them (shared caches)', sec(median(elf.all)), `ldd loop: ${sec(lddMs)}`, `${(lddMs / median(elf.all)).toFixed(0)}× faster`, '(info)']);
  }
  if (!applies.length) {
    // --only-tui
  } else if (hasTime) {
    const rss = applies.map((r) => r.maxRssKB);
    const jkRss = median(jks.map((r) => r.maxRssKB));
    const peak = Math.max(...rss);
    rows.push([
      `peak RSS of apply (/usr/bin/time %M; max of ${ROUNDS}, median ${mib(median(rss))})`,
      mib(peak),
      `jk_init: ${mib(jkRss)}`,
      x(peak / jkRss),
      `< ${GOALS.rssMB} MB ${verdict((peak * 1024) / 1e6 < GOALS.rssMB)}`,
    ]);
  } else rows.push(['peak RSS of apply', 'not measured', `${GNU_TIME} missing (apt-get install -y time)`, '', `< ${GOALS.rssMB} MB`]);
  const jwMs = median(startup.jw);
  const nodeMs = median(startup.plain);
  rows.push([
    `jailwizard --version (median of ${VERSION_ROUNDS}; ${spread(startup.jw, msf)})`,
    msf(jwMs),
    `node -e 0: ${msf(nodeMs)} (${spread(startup.plain, msf)})`,
    x(jwMs / nodeMs),
    `< ${GOALS.versionRatio}× ${verdict(jwMs / nodeMs < GOALS.versionRatio)}`,
  ]);
  if (startup.tui.length) {
    const t = startup.tui;
    const first = t.map((r) => r.title_ms);
    const ready = t.map((r) => r.ready_ms);
    const frameMs = median(first);
    rows.push([
      `wizard first frame (PTY 80x24, spawn → first bytes with the title; median of ${t.length}; ${spread(first, msf)})`,
      msf(frameMs),
      `node -e 0: ${msf(nodeMs)}; jailwizard --version: ${msf(jwMs)}`,
      `${x(frameMs / nodeMs)} node -e 0, ${x(frameMs / jwMs)} --version`,
      `< ${GOALS.firstFrameMs} ms ${verdict(frameMs < GOALS.firstFrameMs)}`,
    ]);
    const floorMs = median(startup.floor);
    rows.push([
      `… node printing the title line in the same PTY harness (floor; median of ${startup.floor.length}; ${spread(startup.floor, msf)})`,
      msf(floorMs),
      `node -e 0: ${msf(nodeMs)}`,
      x(floorMs / nodeMs),
      '(info)',
    ]);
    rows.push([
      `… wizard ready: Preflight's findings and "Press Enter to start" (median of ${t.length}; ${spread(ready, msf)})`,
      msf(median(ready)),
      `first frame: ${msf(frameMs)}`,
      `+${msf(median(ready.map((r, i) => r - first[i])))}`,
      '(info)',
    ]);
    const presses = t.flatMap((r) => r.presses);
    if (presses.length) {
      const keyMs = presses.map((p) => p.first_ms);
      const settled = presses.map((p) => p.settled_ms);
      const screens = [...new Set(t.map((r) => r.screen))];
      const what = screens.every((sc) => sc.startsWith('Which user')) ? '↓/↑ on the User screen (list)' : `on the User screen: ${screens.join('; ')}`;
      const sorted = [...keyMs].sort((a, b) => a - b);
      const p90 = sorted[Math.min(sorted.length - 1, Math.ceil(0.9 * sorted.length) - 1)];
      const keyMed = median(keyMs);
      rows.push([
        `key answered (PTY, key written → first byte of the redraw; median of ${presses.length} presses in ${t.length} fresh wizards; ${spread(keyMs, msf)}, p90 ${msf(p90)})`,
        msf(keyMed),
        `${what}; redraw complete after ${msf(median(settled))} (median)`,
        '',
        `< ${GOALS.keyMs} ms ${verdict(keyMed < GOALS.keyMs)}`,
      ]);
      const bursts = t.flatMap((r) => (r.burst_ms === undefined ? [] : [r.burst_ms]));
      if (bursts.length) {
        const burstMed = median(bursts);
        rows.push([
          `burst of 20 keys on Tools (Space/Down written at once → the frame showing all 20; median of ${bursts.length} wizards; ${spread(bursts, msf)}; Ink draws at most every 32 ms)`,
          msf(burstMed),
          `one key: ${msf(keyMed)}`,
          x(burstMed / keyMed),
          `< ${GOALS.burstMs} ms ${verdict(burstMed < GOALS.burstMs)}`,
        ]);
      }
    }
  } else if (!hasPty && !NO_TUI) rows.push(['wizard first frame / key answered (PTY)', 'not measured', `${PYTHON} with pty is missing`, '', `< ${GOALS.firstFrameMs} ms / < ${GOALS.keyMs} ms`]);

  const load1 = os.loadavg();
  console.log(`\n## jailwizard benchmark\n`);
  console.log(`${host.date} · ${host.nproc} CPUs, ${host.cpu} · ${host.kernel} · node ${host.node} · jailkit ${host.jailkit} · openssh-server ${host.openssh}`);
  console.log(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} at start, ${load1.map((l) => l.toFixed(2)).join(' ')} at the end; rounds interleaved, after one uncounted warm-up each${warm ? ` (apply ${sec(warm.apply)}, jk_init ${sec(warm.jk)})` : ''}\n`);
  console.log('| figure | value | anchor (measured in the same run) | ratio | goal |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`);

  if (applies.length) {
    // Where apply's time goes: medians of the gaps between the step lines it prints.
    console.log(`\n### Where apply's wall time goes (median over ${ROUNDS} rounds, from its output lines)\n`);
    const first = applies[0].steps;
    const sameShape = applies.every((r) => r.steps.length === first.length);
    if (sameShape && first.length) {
      // Per round: the gap from each step line to the next one (or to the exit); then medians.
      const gap = (i) => median(applies.map((r) => (i + 1 < r.steps.length ? r.steps[i + 1].at : r.ms) - r.steps[i].at));
      const rowsT = [['start → step 1 (node startup, read answers, validate, facts, plan, print the plan)', median(applies.map((r) => r.steps[0].at))]];
      for (let i = 0; i < first.length; i++) rowsT.push([first[i].n === 'done' ? 'summary → exit' : `[${first[i].n}] ${first[i].title}`, gap(i)]);
      console.log('| phase | ms |\n|---|---|');
      for (const [p, ms] of rowsT) console.log(`| ${p.replace(/\|/g, '\\|')} | ${ms.toFixed(0)} |`);
      if (hasTime) console.log(`\nCPU (user+sys of apply and its children, median): ${sec(median(applies.map((r) => r.cpuS * 1000)))} of ${sec(applyMs)} wall; jk_init: ${sec(median(jks.map((r) => r.cpuS * 1000)))} of ${sec(jkMs)}.`);
    } else console.log('(apply printed a different number of steps between rounds; no breakdown)');

    if (bytesRatio > GOALS.jailBytes) {
      console.log(`\n### Largest files (jail-bytes goal missed)\n`);
      console.log('| # | jailwizard jail | bytes | jailkit jail | bytes |\n|---|---|---|---|---|');
      for (let i = 0; i < 10; i++) {
        const a = aStats.list[i];
        const j = jStats.list[i];
        console.log(`| ${i + 1} | ${a?.path ?? ''} | ${a?.size ?? ''} | ${j?.path ?? ''} | ${j?.size ?? ''} |`);
      }
    }
  }

  if (startup.tui.length) {
    console.log(`\n### The wizard in a PTY, per round (ms from spawn; keys: from the write to the first byte back)\n`);
    console.log('| round | first byte | first frame | ready | floor (node printing the title) | keys | 20-key burst |\n|---|---|---|---|---|---|---|');
    startup.tui.forEach((r, i) => {
      const keys = r.presses.map((p) => `${p.key === '\u001b[B' ? '↓' : p.key === '\u001b[A' ? '↑' : JSON.stringify(p.key)} ${p.first_ms.toFixed(1)}`).join(', ');
      console.log(`| ${i + 1} | ${r.first_byte_ms.toFixed(0)} | ${r.title_ms.toFixed(0)} | ${r.ready_ms.toFixed(0)} | ${startup.floor[i]?.toFixed(0) ?? ''} | ${keys} | ${r.burst_ms?.toFixed(1) ?? ''} |`);
    });
  }

  if (elf) {
    const agree = elf.files.length - elf.diffs.length;
    console.log(`\n### ELF cross-check\n\nresolveClosure and ldd agree on ${agree} of ${elf.files.length} executables (${elf.dynamic} dynamic per ldd; the rest are scripts or static).`);
    if (elf.errors) console.log(`resolveClosure threw for ${elf.errors} binaries.`);
    const groups = new Map();
    for (const d of elf.diffs) groups.set(d.why, [...(groups.get(d.why) ?? []), d]);
    for (const [why, ds] of [...groups].slice(0, 12)) {
      const names = ds.map((d) => d.f.replace('/usr/bin/', ''));
      const viaLink = ds.every((d) => d.symlink);
      console.log(`- ${ds.length} × ${names.slice(0, 6).join(' ')}${names.length > 6 ? ' …' : ''}: ${why}${viaLink && /only ldd|missing/.test(why) ? ' (all reached through a symlink: ldd takes $ORIGIN from the path it was given, the kernel-started program from its real path)' : ''}`);
    }
    if (groups.size > 12) console.log(`- … and ${groups.size - 12} more kinds`);
  }

  const jkComplaints = [...new Set(jks.flatMap((r) => r.complaints))];
  if (jkComplaints.length) notes.push(`jk_init exited 0 but printed: ${jkComplaints.slice(0, 5).map((c) => JSON.stringify(c.trim())).join('; ')}`);

  if (strace) {
    console.log(`\n### --trace: child processes of one apply (strace -f; wall ${sec(strace.wall)} under strace)\n`);
    console.log('| start ms | duration ms | command |\n|---|---|---|');
    for (const p of strace.procs) console.log(`| ${p.start.toFixed(0)} | ${p.end === undefined ? '?' : (p.end - p.start).toFixed(0)} | \`${p.cmd.replace(/\|/g, '\\|')}\` |`);
  }
  if (prof) {
    console.log(`\n### --trace: CPU profile of one apply (unminified bundle; wall ${sec(prof.wall)}, profile ${sec(prof.total)}; saved to ${prof.saved})\n`);
    console.log('| self ms | function |\n|---|---|');
    for (const [k, ms] of prof.top) console.log(`| ${ms.toFixed(0)} | ${k.replace(/\|/g, '\\|')} |`);
  }

  if (notes.length) console.log(`\n### Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}`);
} catch (e) {
  if (stopping) await new Promise(() => {}); // the signal handler cleans up and exits
  console.error(`bench: ${e.stack ?? e}`);
  if (sshd) console.error(`private sshd log (tail):\n${readOr(sshd.log).trim().split('\n').slice(-10).join('\n')}`);
  exitCode = 1;
} finally {
  await cleanup();
}
process.exitCode = exitCode;
