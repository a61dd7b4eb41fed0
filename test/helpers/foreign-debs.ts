// Builds small sysroots of other arches' Debian packages (bash, libc, libtinfo, rsync and
// its libraries), so that the ELF resolver can be tested on binaries this host cannot run.
//
// apt runs with a private configuration under test/.cache/foreign/apt: its own
// sources.list, package lists, archive cache and an empty dpkg status, with the
// architectures given by -o APT::Architectures. So there is no `dpkg --add-architecture`
// and nothing of the host's apt or dpkg state is read or changed. Sysroots are kept
// between runs; delete test/.cache/foreign to fetch again.
//
// This needs the Debian mirror (deb.debian.org). A failed download is an error, never a
// skip: without these packages the foreign-arch tests would prove nothing.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/host/run.ts';

export const DEB_ARCHES = ['amd64', 'arm64', 'armhf', 'i386'] as const;
export type DebArch = (typeof DEB_ARCHES)[number];

/** bash + libc + libtinfo is what the tests need; rsync and its libraries make a bigger closure. */
export const PACKAGES = ['bash', 'libc6', 'libtinfo6', 'rsync', 'libacl1', 'liblz4-1', 'libpopt0', 'libssl3', 'libxxhash0', 'libzstd1', 'zlib1g'];

export const FOREIGN_CACHE = resolve(dirname(fileURLToPath(import.meta.url)), '../.cache/foreign');
const APT_DIR = join(FOREIGN_CACHE, 'apt');
const MARKER = '.jailwizard-sysroot';

let updated: Promise<void> | undefined;

/** The sysroot for `arch`, downloading and extracting the packages unless already done. */
export async function foreignSysroot(arch: DebArch): Promise<string> {
  const root = join(FOREIGN_CACHE, arch);
  const marker = join(root, MARKER);
  if (existsSync(marker) && readFileSync(marker, 'utf8') === PACKAGES.join('\n')) return root;

  const debs = join(APT_DIR, 'debs', arch);
  rmSync(debs, { recursive: true, force: true });
  mkdirSync(debs, { recursive: true });
  const argv = ['apt-get', 'download', ...aptOptions(), ...PACKAGES.map((p) => `${p}:${arch}`)];
  let r = await run(argv, { cwd: debs, timeoutMs: 300_000 });
  if (r.exitCode !== 0 || !hasLists()) {
    // Lists missing or stale (the mirror moved on to a new point release): refresh, retry.
    await aptUpdate(true);
    r = await run(argv, { cwd: debs, timeoutMs: 300_000 });
  }
  if (r.exitCode !== 0) throw new Error(`could not download ${arch} packages from the Debian mirror: \`${argv.join(' ')}\` exited ${r.exitCode}:\n${r.stderr.trim()}`);

  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
    const x = await run(['dpkg-deb', '-x', join(debs, deb), root]);
    if (x.exitCode !== 0) throw new Error(`dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`);
  }
  // libc-bin (not fetched: it would bring a dozen tools) owns /etc/ld.so.conf; write
  // Debian's one-liner so the resolver follows its include glob as on a real system.
  writeFileSync(join(root, 'etc', 'ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n\n');
  rmSync(debs, { recursive: true, force: true });
  writeFileSync(marker, PACKAGES.join('\n'));
  return root;
}

function hasLists(): boolean {
  const lists = join(APT_DIR, 'lists');
  return existsSync(lists) && readdirSync(lists).some((f) => f.includes('_Packages'));
}

/** apt-get update into the private lists directory (once per test run). */
async function aptUpdate(force: boolean): Promise<void> {
  if (!force && hasLists()) return;
  updated ??= (async () => {
    const argv = ['apt-get', 'update', ...aptOptions()];
    const r = await run(argv, { timeoutMs: 300_000 });
    // apt-get update exits 0 even when some index failed ("W: ..."), and 100 when one is
    // corrupt; what matters is that the lists we need are there, which download checks.
    if (r.exitCode !== 0 && !hasLists()) throw new Error(`\`${argv.join(' ')}\` failed (exit ${r.exitCode}):\n${r.stderr.trim()}`);
  })();
  return updated;
}

/** Options that give apt a private world: sources, lists, cache, no dpkg status, our arches. */
function aptOptions(): string[] {
  const sources = join(APT_DIR, 'sources.list');
  const parts = join(APT_DIR, 'empty.d');
  for (const d of [parts, join(APT_DIR, 'lists', 'partial'), join(APT_DIR, 'cache', 'archives', 'partial')]) mkdirSync(d, { recursive: true });
  // Only the main suite and its updates: the packages exist there for every arch, and we
  // need neither the newest security fix nor the host's other repositories.
  const codename = hostCodename();
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  writeFileSync(
    sources,
    [`deb [signed-by=${keyring}] http://deb.debian.org/debian ${codename} main`, `deb [signed-by=${keyring}] http://deb.debian.org/debian ${codename}-updates main`, ''].join('\n'),
  );
  const o = (kv: string) => ['-o', kv];
  return [
    ...o(`Dir::Etc::SourceList=${sources}`),
    ...o(`Dir::Etc::SourceParts=${parts}`),
    ...o(`Dir::Etc::Preferences=/dev/null`),
    ...o(`Dir::Etc::PreferencesParts=${parts}`),
    ...o(`Dir::State::Lists=${join(APT_DIR, 'lists')}`),
    ...o(`Dir::State::status=/dev/null`),
    ...o(`Dir::Cache=${join(APT_DIR, 'cache')}`),
    // Adds our arches to apt's list for this run only (dpkg's own list is untouched).
    ...DEB_ARCHES.flatMap((a) => o(`APT::Architectures::=${a}`)),
    // As root apt would drop to the _apt user, who cannot write into the checkout.
    ...(process.getuid?.() === 0 ? o('APT::Sandbox::User=root') : []),
    '-q',
  ];
}

function hostCodename(): string {
  const m = /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'));
  return m?.[1]?.replace(/"/g, '') || 'bookworm';
}
