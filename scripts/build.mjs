// Builds jailwizard for npx into dist/: a small start-up file, dist/jailwizard.mjs (the bin),
// and the program as ES module chunks beside it, each with an external source map.
//
// The start-up file is written for any Node: it checks the version, answers --version and
// --help, and draws the wizard's first frame before it imports the program. The program's
// commands, execa, and the screens (Ink + React) are split into chunks that are imported
// only when a command needs them (`import()` in src/commands/cli.ts, src/host/run.ts, src/commands/wizard.ts).
// Node maps a bug's stack frames back to src/…:line through the .map files (the start-up
// file turns source maps on). Target node18: the distro Node of Debian 12 and Ubuntu 24.04.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Paths are relative to the repo, wherever this is run from.
process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
// Chunk names carry a hash: old ones must not pile up in the package.
rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
const stub = `${process.cwd()}/dist/.react-devtools-core-stub.mjs`;
writeFileSync(stub, 'export default {};\n');

await build({
  absWorkingDir: process.cwd(),
  entryPoints: { program: 'src/main.ts' },
  outdir: 'dist',
  // Chunks sit beside the bin, so a chunk's own URL finds the package root (src/host/crash.ts).
  chunkNames: '[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  // Whitespace and syntax only: names stay readable in a trace, and the maps stay small
  // (no sources inside: a frame needs only the file and line). Only the crash reporter reads
  // them (src/host/crash.ts): Node's own source maps would parse them at every start.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  // NODE_ENV: React's production build (its development build checks every element and is
  // several times slower per key on a busy server).
  define: { JAILWIZARD_VERSION: JSON.stringify(pkg.version), 'process.env.DEV': '"false"', 'process.env.NODE_ENV': '"production"' },
  alias: { 'react-devtools-core': stub },
  // React and some of Ink's dependencies are CommonJS and call require().
  banner: { js: "import { createRequire as __jwCreateRequire } from 'node:module';\nconst require = __jwCreateRequire(import.meta.url);" },
  jsx: 'automatic',
  logLevel: 'warning',
});
rmSync(stub);

// --help is the CLI's own text, taken from the program so the two cannot differ.
const help = execFileSync(process.execPath, ['--input-type=module', '-e', `process.argv = [process.argv[0], 'x', '--help']; await import(${JSON.stringify(new URL('../dist/program.mjs', import.meta.url).href)});`], { encoding: 'utf8' });
// The splash skips the values of the CLI's string flags when it looks for a command: the
// list comes from the CLI's own table (src/commands/flags.ts), so the two cannot differ.
const flags = await build({ entryPoints: ['src/commands/flags.ts'], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'warning' });
const { VALUED_FLAGS: valued } = await import(`data:text/javascript,${encodeURIComponent(flags.outputFiles[0].text)}`);

const bin = `#!/usr/bin/env node
// jailwizard ${pkg.version}. This file runs on any Node: it checks the version and answers
// --version and --help; the program (./program.mjs and its chunks) is imported only for a
// real command.
function main() {
var v = process.versions.node.split('.').map(Number);
if (v[0] < 18 || (v[0] === 18 && v[1] < 19)) {
  process.stderr.write('jailwizard: Node.js ' + process.version + ' is too old; 18.19 or later is needed. Debian 12 / Ubuntu 24.04: apt-get install nodejs; older Debian/Ubuntu: the NodeSource packages; RHEL 8/9: dnf module install nodejs:20\\n');
  process.exit(2);
}
var args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(${JSON.stringify(`${pkg.version}\n`)});
} else if (args.length === 1 && (args[0] === '--help' || args[0] === '-h' || args[0] === 'help')) {
  process.stdout.write(${JSON.stringify(help)});
} else {
  splash(args);
  import('./program.mjs').catch(function (e) {
    process.stderr.write('jailwizard: internal error (a bug; please report it):\\n' + (e && e.stack || e) + '\\n');
    process.exit(1);
  });
}
}

// The wizard's first frame, drawn before the program is even compiled; the wizard erases
// it just before Ink draws the same frame (src/commands/wizard.ts).
function splash(args) {
  var valued = ${JSON.stringify(valued)};
  for (var i = 0; i < args.length; i++) {
    if (valued.indexOf(args[i]) >= 0) i++;
    else if (args[i].charAt(0) !== '-' && args[i] !== 'wizard') return;
  }
  var env = process.env;
  if (!process.stdin.isTTY || !process.stdout.isTTY || env.TERM === 'dumb') return;
  var unicode = /utf-?8/i.test(env.LC_ALL || env.LC_CTYPE || env.LANG || '');
  var title = 'jailwizard ' + (unicode ? '\\u00b7' : '-') + ' 1/11 Preflight';
  if (env.NO_COLOR === undefined) title = '\\u001b[1m\\u001b[36m' + title + '\\u001b[39m\\u001b[22m';
  process.stdout.write(title + '\\n\\n' + (unicode ? '\\u280b' : '|') + ' Checking this host' + (unicode ? '\\u2026' : '...') + '\\n');
  globalThis.__jailwizardSplash = 3;
}

main();
`;
writeFileSync('dist/jailwizard.mjs', bin);
chmodSync('dist/jailwizard.mjs', 0o755);
