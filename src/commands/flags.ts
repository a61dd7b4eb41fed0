// The command line's flags, in one table: the CLI parses with it (src/commands/cli.ts), and the start-up
// file's splash skips the values of its string flags when it looks for a command
// (scripts/build.mjs reads VALUED_FLAGS at build time). No imports: the build bundles it alone.
export const OPTIONS = {
  config: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  'no-test': { type: 'boolean' },
  'keep-user': { type: 'boolean' },
  'keep-home': { type: 'boolean' },
  json: { type: 'boolean' },
  fix: { type: 'boolean' },
  'sshd-log': { type: 'string' },
  all: { type: 'boolean' },
  'install-hook': { type: 'boolean' },
  'from-apt-hook': { type: 'boolean' },
  'sshd-config': { type: 'string' },
  'state-dir': { type: 'string' },
  'syslog-config': { type: 'string' },
  format: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

/** The flags that take a value (`--config FILE`), as typed. */
export const VALUED_FLAGS: readonly string[] = Object.entries(OPTIONS)
  .filter(([, o]) => o.type === 'string')
  .map(([name]) => `--${name}`);
