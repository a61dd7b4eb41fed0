// jailwizard's entry point: parse the command line, run one command, map errors to exit
// codes. A user error is one line and a hint (exit 2); only a bug shows a stack.
import { parseArgs } from 'node:util';
import { EXIT, UserError, errorKind, exitCodeFor, formatUserError, oneLine } from '../model/errors.ts';
import { DEFAULT_SSHD_CONFIG } from '../host/sshd-config.ts';
import { DEFAULT_STATE_DIR } from '../host/state.ts';
import { OPTIONS } from './flags.ts';

declare const JAILWIZARD_VERSION: string;
const VERSION = typeof JAILWIZARD_VERSION === 'string' ? JAILWIZARD_VERSION : '0.0.0-dev';

export const HELP = `jailwizard ${VERSION}: lock a user into an sshd chroot jail with only bash, rsync, scp and/or sftp.

Usage:
  jailwizard                   the interactive wizard (needs a terminal)
  jailwizard apply --config FILE [--yes] [--dry-run] [--no-test] [--json]
                               make the jail the answers file describes, then test it
                               (--json: one JSON object on stdout, for Ansible and CI)
  jailwizard plan --config FILE [--json]
                               what apply would change on this host; changes nothing
  jailwizard export --config FILE --format ansible|sh [--out DIR]
                               an Ansible playbook that applies the answers on many hosts,
                               or this host's plan as a commented sh script
  jailwizard test USER         prove the jail with the real ssh, sftp, scp and rsync clients
  jailwizard remove USER [--yes] [--keep-user] [--keep-home]
                               undo everything jailwizard made for USER
  jailwizard doctor USER [--fix] [--yes] [--sshd-log FILE]
                               why USER cannot log in, and the fix (previewed, undoable)
  jailwizard check [USER|--all] [--json]
                               audit jails: ownership, writable dirs, setuid, devices,
                               files against the manifest, libraries, keys, sshd
  jailwizard update [USER|--all] [--yes] [--install-hook]
                               refresh jails after package upgrades (or install an apt hook;
                               it runs update --all --from-apt-hook, which logs to syslog)
  jailwizard list [--json]     the jails jailwizard manages
  jailwizard rollback [--yes]  finish undoing a run that was killed
  jailwizard --help | --version

Options for every command:
  --sshd-config PATH   sshd's main config (default ${DEFAULT_SSHD_CONFIG})
  --state-dir DIR      journal and records (default ${DEFAULT_STATE_DIR})
  --syslog-config PATH the rsyslog (or syslog-ng) config for jails with log: true (found when not given)

Exit codes: 0 ok, 1 failed and rolled back, 2 bad input (nothing changed),
4 rollback incomplete (manual commands printed), 128+N killed by signal N after rollback.
`;

function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new UserError('jailwizard changes users, sshd and /srv, so it must run as root', 'run it with sudo');
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    // Node's message goes on about positionals starting with '-': keep its first sentence.
    const first = (e as Error).message.split('\n')[0]!.replace(/^TypeError \[\w+\]: /, '').split('. ')[0]!;
    const err = new UserError(first, 'see `jailwizard --help`');
    // A caller that asked for JSON gets JSON, even for a bad option.
    const cmd = argv.find((a) => !a.startsWith('-'));
    if (argv.includes('--json') && (cmd === 'apply' || cmd === 'plan')) {
      const { jsonError } = await import('./apply.ts');
      const j = jsonError(cmd, err);
      process.stdout.write(`${JSON.stringify(j.body, null, 2)}\n`);
      return j.code;
    }
    throw err;
  }
  const { values: v, positionals } = parsed;
  if (v.version) {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (v.help || command === 'help') {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  const common = { sshdConfig: v['sshd-config'] ?? DEFAULT_SSHD_CONFIG, stateDir: v['state-dir'] ?? DEFAULT_STATE_DIR, syslogConfig: v['syslog-config'] };
  if (common.syslogConfig !== undefined && !common.syslogConfig.startsWith('/')) {
    throw new UserError(`--syslog-config ${common.syslogConfig} is not absolute`, 'give the full path, e.g. /etc/rsyslog.conf');
  }
  if (!common.stateDir.startsWith('/')) throw new UserError(`--state-dir ${common.stateDir} is not absolute`, 'give a full path');
  const one = (what: string): string => {
    if (rest.length !== 1 || !rest[0]) throw new UserError(`${command} needs exactly one ${what}`, `jailwizard ${command} ${what.toUpperCase()}`);
    return rest[0];
  };
  switch (command) {
    case 'apply':
    case 'plan': {
      const cmd = command;
      const go = async (): Promise<number> => {
        if (!v.config) throw new UserError(`${cmd} needs --config FILE`, 'write an answers file (see README.md) and pass it with --config');
        if (rest.length > 0) throw new UserError(`unexpected argument ${rest[0]}`, 'see `jailwizard --help`');
        requireRoot();
        if (cmd === 'plan') {
          const { planCommand } = await import('./plan.ts');
          return planCommand({ ...common, config: v.config, json: !!v.json });
        }
        const { applyCommand } = await import('./apply.ts');
        return applyCommand({ ...common, config: v.config, yes: !!v.yes, dryRun: !!v['dry-run'], noTest: !!v['no-test'], json: !!v.json });
      };
      if (!v.json) return go();
      // With --json even bad input ends as one JSON object on stdout (exit 2).
      const { withJsonErrors } = await import('./apply.ts');
      return withJsonErrors(cmd, go);
    }
    case 'export': {
      if (!v.config) throw new UserError('export needs --config FILE', 'jailwizard export --config FILE --format ansible --out DIR');
      if (rest.length > 0) throw new UserError(`unexpected argument ${rest[0]}`, 'see `jailwizard --help`');
      const { checkFormat, exportCommand } = await import('./export.ts');
      const format = checkFormat(v.format);
      // The sh script is this host's plan (reads /etc/shadow, runs sshd -T); a playbook is just text.
      if (format === 'sh') requireRoot();
      return exportCommand({ ...common, config: v.config, format, out: v.out });
    }
    case 'test': {
      const user = one('user');
      requireRoot();
      const { testCommand } = await import('./test.ts');
      return testCommand(user, common);
    }
    case 'remove': {
      const user = one('user');
      requireRoot();
      const { removeCommand } = await import('./remove.ts');
      return removeCommand(user, { ...common, yes: !!v.yes, keepUser: !!v['keep-user'], keepHome: !!v['keep-home'] });
    }
    case 'doctor': {
      const user = one('user');
      requireRoot();
      const { doctorCommand } = await import('./doctor.ts');
      return doctorCommand(user, { ...common, fix: !!v.fix, yes: !!v.yes, sshdLog: v['sshd-log'] });
    }
    case 'check': {
      if (rest.length > 1) throw new UserError('check takes one user, or --all', 'jailwizard check alice');
      requireRoot();
      const { checkCommand } = await import('./check.ts');
      return checkCommand(rest[0], { ...common, all: !!v.all, json: !!v.json });
    }
    case 'update': {
      if (rest.length > 1) throw new UserError('update takes one user, or --all', 'jailwizard update alice');
      requireRoot();
      const { updateCommand } = await import('./update.ts');
      return updateCommand(rest[0], { ...common, all: !!v.all, yes: !!v.yes, installHook: !!v['install-hook'], fromAptHook: !!v['from-apt-hook'] });
    }
    case 'list': {
      const { listCommand } = await import('./list.ts');
      return listCommand({ ...common, json: !!v.json });
    }
    case 'rollback': {
      requireRoot();
      const { rollbackCommand } = await import('./rollback.ts');
      return rollbackCommand({ ...common, yes: !!v.yes });
    }
    case undefined:
    case 'wizard': {
      if (rest.length > 0) throw new UserError(`unexpected argument ${rest[0]}`, 'see `jailwizard --help`');
      const { wizardCommand } = await import('./wizard.ts');
      return wizardCommand({ ...common, sshdLog: v['sshd-log'] });
    }
    default:
      throw new UserError(`unknown command ${command}`, 'see `jailwizard --help`');
  }
}

/** A bug's few lines. The reporter (and its source maps) loads only when there is a bug. */
async function bugLines(e: unknown): Promise<string> {
  const { internalErrorReport } = await import('../host/crash.ts');
  return `${internalErrorReport(e)}\n`;
}

export async function runCli(): Promise<void> {
  // A bug outside the command's own flow (a callback, a stray promise) is reported the same short way.
  const crash = (e: unknown): void => {
    void bugLines(e).then((lines) => {
      process.stderr.write(lines);
      process.exit(EXIT.failed);
    });
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  let code: number;
  try {
    code = await main(process.argv.slice(2));
  } catch (e) {
    const kind = errorKind(e);
    // An interruption comes here before or after any change (a run that changed something rolls back and returns).
    if (kind === 'user') process.stderr.write(`${formatUserError(e as UserError)}\n`);
    else if (kind === 'bug') process.stderr.write(await bugLines(e));
    else process.stderr.write(`jailwizard: ${oneLine((e as Error).message)}\n`);
    code = exitCodeFor(e);
  }
  process.exitCode = code;
  // Child processes and timers must not keep a finished command alive.
  setImmediate(() => process.exit(code));
}
