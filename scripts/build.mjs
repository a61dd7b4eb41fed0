// Bundles jailwizard into one executable file for npx: dist/jailwizard.mjs.
//
// The file has two parts. A tiny start-up guard, written for any Node, checks the version
// and answers --version and --help at once. The program itself (CLI, engine, Ink + React
// wizard) follows as base64 text and is imported from a data: URL only when a command
// runs: an old Node never parses it, and --version never compiles a megabyte of code.
// Target node18: the distro Node of Debian 12 and Ubuntu 24.04 must run it.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Paths are relative to the repo, wherever this is run from.
process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const outfile = process.env.JAILWIZARD_OUTFILE ?? 'dist/jailwizard.mjs';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
mkdirSync('dist', { recursive: true });
const stub = `${process.cwd()}/dist/react-devtools-core-stub.mjs`;
writeFileSync(stub, 'export default {};\n');

/** One program part as ESM text; React's CommonJS gets a require() anchored at the guard. */
async function bundle(entry, plugins = []) {
  const result = await build({
    absWorkingDir: process.cwd(),
    entryPoints: [entry],
    write: false,
    outfile: 'dist/part.mjs',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    minify: true,
    legalComments: 'none',
    // NODE_ENV: React's production build (its development build checks every element and is
    // several times slower per key on a busy server).
    define: { JAILWIZARD_VERSION: JSON.stringify(pkg.version), 'process.env.DEV': '"false"', 'process.env.NODE_ENV': '"production"' },
    alias: { 'react-devtools-core': stub },
    // A data: URL cannot anchor createRequire, so the guard passes its own file URL.
    banner: {
      js: "import { createRequire as __jwCreateRequire } from 'node:module';\nconst require = __jwCreateRequire(globalThis.__jailwizardUrl);",
    },
    jsx: 'automatic',
    plugins,
    logLevel: 'warning',
  });
  return result.outputFiles[0].contents;
}

// The core (CLI and engine) leaves the screens out: the guard hands them over on demand.
const screensApart = {
  name: 'screens-apart',
  setup(b) {
    b.onResolve({ filter: /\/tui\.ts$/ }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /^execa$/ }, (args) => ({ path: args.path, external: true }));
  },
};
const program = await bundle('src/main.ts', [screensApart]);
const tui = await bundle('src/tui.ts');
// execa, too: only commands that spawn a process compile it.
writeFileSync('dist/.execa-entry.mjs', "export * from 'execa';\n");
const execaPart = await bundle('dist/.execa-entry.mjs');
rmSync('dist/.execa-entry.mjs');

// --help is the CLI's own text, taken from the program so the two cannot differ.
const tmp = `${process.cwd()}/dist/.program-for-help.mjs`;
writeFileSync(tmp, program);
const help = execFileSync(process.execPath, ['--input-type=module', '-e', `globalThis.__jailwizardUrl = ${JSON.stringify(`file://${tmp}`)}; process.argv = [process.argv[0], 'x', '--help']; await import(${JSON.stringify(`file://${tmp}`)});`], { encoding: 'utf8' });
rmSync(tmp);

const guard = `#!/usr/bin/env node
// jailwizard ${pkg.version}. This part runs on any Node: it checks the version and answers
// --version and --help; the program, below, is loaded only for a real command.
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
  globalThis.__jailwizardUrl = import.meta.url;
  globalThis.__jailwizardTui = function () { return import('data:text/javascript;base64,' + TUI); };
  var execaLoaded;
  globalThis.__jailwizardExeca = function () { return execaLoaded || (execaLoaded = import('data:text/javascript;base64,' + EXECA)); };
  splash(args);
  import('data:text/javascript;base64,' + PROGRAM).catch(function (e) {
    process.stderr.write('jailwizard: internal error (a bug; please report it):\\n' + (e && e.stack || e) + '\\n');
    process.exit(1);
  });
}
}
`;
// The wizard's first frame, drawn before the program is even compiled; the wizard erases
// it just before Ink draws the same frame (src/commands/wizard.tsx).
const splash = `
function splash(args) {
  var valued = ['--config', '--sshd-config', '--state-dir', '--sshd-log'];
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
`;
const b64 = (bytes) => JSON.stringify(Buffer.from(bytes).toString('base64'));
writeFileSync(outfile, `${guard}${splash}var PROGRAM = ${b64(program)};\nvar TUI = ${b64(tui)};\nvar EXECA = ${b64(execaPart)};\nmain();\n`);
chmodSync(outfile, 0o755);
