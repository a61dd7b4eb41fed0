// Bundles jailwizard into one executable ESM file for npx: dist/jailwizard.mjs.
// Target node18: the distro Node of Debian 12 and Ubuntu 24.04 must run it.
import { build } from 'esbuild';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Paths are relative to the repo, wherever this is run from.
process.chdir(fileURLToPath(new URL('..', import.meta.url)));

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
mkdirSync(new URL('../dist/', import.meta.url), { recursive: true });
const stub = new URL('../dist/react-devtools-core-stub.mjs', import.meta.url);
writeFileSync(stub, 'export default {};\n');

await build({
  absWorkingDir: process.cwd(),
  entryPoints: ['src/main.ts'],
  outfile: process.env.JAILWIZARD_OUTFILE ?? 'dist/jailwizard.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18',
  minify: true,
  legalComments: 'none',
  define: { JAILWIZARD_VERSION: JSON.stringify(pkg.version), 'process.env.DEV': '"false"' },
  alias: { 'react-devtools-core': stub.pathname },
  // Bundled CommonJS (React) calls require(); give the ESM bundle one.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __jwCreateRequire } from 'node:module';\nconst require = __jwCreateRequire(import.meta.url);",
  },
  jsx: 'automatic',
  logLevel: 'warning',
});
chmodSync(process.env.JAILWIZARD_OUTFILE ?? 'dist/jailwizard.mjs', 0o755);
