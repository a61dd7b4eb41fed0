// What the booted-root tests share: a container with jailwizard installed from the packed
// tarball, an admin key, commands run inside with their exit codes and timings kept for the
// transcript, answers files, logins with the real clients, and snapshots for the
// byte-identical checks. Everything runs inside the container: its own /etc, its own sshd
// on its own loopback (--private-network), so nothing here touches this host.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { RunResult } from '../../src/host/run.ts';
import { diffSnapshots, snapshotHost, type HostSnapshot } from '../helpers/host-snapshot.ts';
import { startTmux } from '../helpers/tmux.ts';
import { bootContainer, installJailwizard, packTarball, type BedRootName, type Container, type ExecOptions } from '../helpers/nspawn.ts';

export interface TranscriptLine {
  what: string;
  exit: number;
  seconds: number;
}

export interface Bed {
  c: Container;
  work: string;
  transcript: TranscriptLine[];
  /** The admin's key inside: /root/.ssh/id_ed25519 (root may log in with it; jailed users get its .pub). */
  pub: string;
}

const TRANSCRIPTS = path.resolve(import.meta.dirname, '../.cache/bed');

/** Boots the root, installs jailwizard from `npm pack` with npm, and makes the admin key. */
export async function startBed(rootName: BedRootName, label: string): Promise<Bed> {
  const work = mkdtempSync(path.join(tmpdir(), `jw-bed-${label}-`));
  const transcript: TranscriptLine[] = [];
  const t = Date.now();
  let c: Container | undefined;
  try {
    c = await bootContainer(rootName, label);
    transcript.push({ what: `boot ${rootName} (systemd-nspawn -b, overlay on the cached root) to running`, exit: 0, seconds: (Date.now() - t) / 1000 });
    const tgz = await packTarball();
    const npmSeconds = await installJailwizard(c, tgz);
    transcript.push({ what: `npm install -g --offline ${path.basename(tgz)}`, exit: 0, seconds: npmSeconds });
    await c.execOk(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'admin@bed', '-f', '/root/.ssh/id_ed25519']);
    await c.execOk(['sh', '-c', 'cat /root/.ssh/id_ed25519.pub >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys']);
    const pub = (await c.execOk(['cat', '/root/.ssh/id_ed25519.pub'])).stdout.trim();
    return { c, work, transcript, pub };
  } catch (e) {
    // afterAll gets no bed to stop: take down what was made here.
    await c?.stop();
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

export async function stopBed(bed: Bed | undefined, title: string): Promise<void> {
  if (!bed) return;
  try {
    printTranscript(bed, title);
  } finally {
    await bed.c.stop();
    rmSync(bed.work, { recursive: true, force: true });
  }
}

/** Runs argv inside and records it (with its exit code and time) in the transcript. */
export async function step(bed: Bed, argv: string[], o: ExecOptions & { what?: string } = {}): Promise<RunResult> {
  const t = Date.now();
  const r = await bed.c.exec(argv, o);
  bed.transcript.push({ what: o.what ?? argv.join(' '), exit: r.exitCode, seconds: (Date.now() - t) / 1000 });
  return r;
}

/** `jailwizard ARGS` inside, as root, recorded. */
export function jwIn(bed: Bed, args: string[], o: ExecOptions & { what?: string } = {}): Promise<RunResult> {
  return step(bed, ['jailwizard', ...args], { ...o, what: o.what ?? `jailwizard ${args.join(' ')}` });
}

/** Records a step that ran some other way (tmux, a reboot). */
export async function timed<T>(bed: Bed, what: string, f: () => Promise<T>): Promise<T> {
  const t = Date.now();
  try {
    const v = await f();
    bed.transcript.push({ what, exit: 0, seconds: (Date.now() - t) / 1000 });
    return v;
  } catch (e) {
    bed.transcript.push({ what: `${what} (FAILED)`, exit: 1, seconds: (Date.now() - t) / 1000 });
    throw e;
  }
}

export function out(r: RunResult): string {
  return `exit ${r.exitCode}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`;
}

/** Writes a file inside the container (root-owned, 0600: answers files hold keys). */
export function writeIn(bed: Bed, p: string, content: string): string {
  mkdirSync(path.dirname(bed.c.hostPath(p)), { recursive: true });
  writeFileSync(bed.c.hostPath(p), content, { mode: 0o600 });
  return p;
}

/** An answers file inside, with the admin's key for the user. */
export function answersIn(bed: Bed, a: Record<string, unknown> & { user: string }): string {
  return writeIn(bed, `/root/answers/${a.user}.json`, `${JSON.stringify({ createUser: true, authorizedKeys: [bed.pub], ...a }, null, 2)}\n`);
}

const CLIENT = ['-i', '/root/.ssh/id_ed25519', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'ConnectTimeout=20', '-o', 'LogLevel=ERROR'];

/** `ssh user@127.0.0.1 CMD` inside the container with the admin's key (the real client). */
export function sshIn(bed: Bed, user: string, command: string, o: ExecOptions = {}): Promise<RunResult> {
  return bed.c.exec(['ssh', ...CLIENT, `${user}@127.0.0.1`, command], { timeoutMs: 60_000, ...o });
}

/** `sftp -b` inside the container (the batch is written to /root/sftp-batch). */
export function sftpIn(bed: Bed, user: string, commands: string[]): Promise<RunResult> {
  writeIn(bed, '/root/sftp-batch', commands.map((x) => `${x}\n`).join(''));
  return bed.c.exec(['sftp', ...CLIENT, '-b', '/root/sftp-batch', `${user}@127.0.0.1`], { timeoutMs: 60_000 });
}

/** Everything jailwizard may touch inside: accounts, sshd config and drop-ins, keys, units, fstab, rsyslog, apt, /srv. */
export function snapshotIn(bed: Bed): Promise<HostSnapshot> {
  return snapshotHost({
    root: bed.c.root,
    files: ['/etc/ssh/sshd_config', '/etc/fstab', '/etc/rsyslog.conf'],
    dirs: ['/etc/ssh/sshd_config.d', '/etc/systemd/system', '/etc/rsyslog.d', '/etc/apt/apt.conf.d', '/srv'],
  });
}

export async function expectSameAs(bed: Bed, before: HostSnapshot): Promise<void> {
  expect(diffSnapshots(before, await snapshotIn(bed))).toEqual([]);
}

/** The unit's state words, e.g. { ActiveState: 'active', SubState: 'running', Result: 'success' }. */
export async function unitState(bed: Bed, unit: string): Promise<Record<string, string>> {
  const r = await bed.c.execOk(['systemctl', 'show', '-p', 'ActiveState', '-p', 'SubState', '-p', 'Result', '-p', 'MainPID', unit]);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** The transcript as a table: what ran inside, its exit code, its time. Also kept in test/.cache/bed/. */
export function printTranscript(bed: Bed, title: string): void {
  const lines = [`## ${title} (${bed.c.rootName})`, '', '| exit | seconds | command |', '|---:|---:|---|'];
  for (const l of bed.transcript) lines.push(`| ${l.exit} | ${l.seconds.toFixed(1)} | \`${l.what.replace(/\|/g, '\\|').replace(/`/g, "'")}\` |`);
  const text = `${lines.join('\n')}\n`;
  console.log(text);
  mkdirSync(TRANSCRIPTS, { recursive: true });
  writeFileSync(path.join(TRANSCRIPTS, `${title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.md`), `${text}\n`);
}

/** The wizard's Preflight screen in a real terminal (tmux, 100x30), then Ctrl+C (exit 130). */
export async function preflightScreen(bed: Bed): Promise<string> {
  const s = await startTmux({ label: 'bed-preflight', cols: 100, rows: 30, cmd: bed.c.execArgv(['jailwizard'], { TERM: 'xterm-256color' }) });
  try {
    const screen = await s.waitFor('Press Enter to start', 60_000, { join: true });
    await s.send('C-c');
    expect(await s.waitForExit(30_000)).toBe(130);
    return screen;
  } finally {
    await s.kill();
  }
}
