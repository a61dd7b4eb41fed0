// Which syslog daemon runs, and how jailwizard adds a /dev/log socket inside a jail for it.
// Read-only: the planner decides what to change.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Effect } from '../model/effects.ts';
import { isRunning, serviceOf } from './proc.ts';

export const DEFAULT_RSYSLOG_CONFIG = '/etc/rsyslog.conf';
export const DEFAULT_SYSLOG_NG_CONFIG = '/etc/syslog-ng/syslog-ng.conf';

export interface SyslogFacts {
  kind: 'rsyslog' | 'syslog-ng';
  config: string;
  /** Where jailwizard's drop-in goes (the config's include dir). */
  dropInDir: string;
  /** The file the auth facility is written to, where the connection test looks for its upload. */
  authLog?: string;
  validate: string[];
  /** Makes the daemon read the new drop-in: rsyslog needs a restart, syslog-ng a reload. */
  apply: Effect;
}

/** Why logging cannot be set up here, in words for the admin; undefined when it can. */
export type SyslogProblem = { message: string; hint: string };

interface Proc {
  pid: number;
  comm: string;
  argv: string[];
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      if (!isRunning(Number(n))) continue;
      const comm = readFileSync(`/proc/${n}/comm`, 'utf8').trim();
      const argv = readFileSync(`/proc/${n}/cmdline`, 'utf8').split('\0').filter(Boolean);
      out.push({ pid: Number(n), comm, argv });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function optionValue(argv: string[], flag: string): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === flag) return argv[i + 1];
    if (a.startsWith(flag)) return a.slice(flag.length);
  }
  return undefined;
}

/** rsyslog's include dir: `$IncludeConfig DIR/*.conf` or `include(file="DIR/*.conf")`. */
export function rsyslogIncludeDir(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*\$IncludeConfig\s+(\S+)/i.exec(line) ?? /^\s*include\s*\(\s*file\s*=\s*"([^"]+)"/i.exec(line);
    if (m && m[1]!.includes('*')) return path.dirname(m[1]!);
  }
  return undefined;
}

/** The file rsyslog writes `auth` to, from a classic selector line such as `auth,authpriv.*  /var/log/auth.log`. */
export function rsyslogAuthLog(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /^\s*([^#$\s][^\s]*)\s+-?(\/\S+)\s*$/.exec(line);
    if (!m) continue;
    const selectors = m[1]!.split(';');
    const auth = selectors.some((s) => {
      const [facs = '', prio = ''] = s.split('.');
      return prio !== 'none' && facs.split(',').some((f) => f === 'auth' || f === 'authpriv' || f === '*');
    });
    const excluded = selectors.some((s) => /(^|,)auth(,|\.)/.test(s) && s.endsWith('.none'));
    if (auth && !excluded) return m[2];
  }
  return undefined;
}

export function syslogNgIncludeDir(text: string): string | undefined {
  const m = /^\s*@include\s+"([^"]+)"/m.exec(text);
  return m && m[1]!.includes('*') ? path.dirname(m[1]!) : undefined;
}

export function syslogNgAuthLog(text: string): string | undefined {
  return /destination\s+d_auth\s*\{\s*file\(\s*"([^"]+)"/.exec(text)?.[1];
}

/**
 * The syslog daemon jailwizard can add a socket to: the rsyslogd (or syslog-ng) that runs
 * with `config` (or the stock config when none is given).
 */
export function gatherSyslogFacts(config: string | undefined, systemd: boolean): SyslogFacts | SyslogProblem {
  const procs = processes();
  const wantNg = config !== undefined && path.basename(config).includes('syslog-ng');
  if (!wantNg) {
    const cfg = config ?? DEFAULT_RSYSLOG_CONFIG;
    const rs = procs.find((p) => p.comm === 'rsyslogd' && (optionValue(p.argv, '-f') ?? DEFAULT_RSYSLOG_CONFIG) === cfg);
    if (rs && existsSync(cfg)) {
      const text = readFileSync(cfg, 'utf8');
      const dropInDir = rsyslogIncludeDir(text);
      if (!dropInDir) return { message: `${cfg} has no $IncludeConfig for drop-ins`, hint: 'add `$IncludeConfig /etc/rsyslog.d/*.conf` to it, or drop log' };
      // Debian's rsyslog.service runs `rsyslogd -n -iNONE` (foreground, no pid file): systemd
      // is its supervisor, and restarts it. Another supervisor (runit, a container) cannot be asked.
      const unit = systemd ? serviceOf(rs.pid) : undefined;
      if (!unit && rs.argv.includes('-n')) {
        return { message: `rsyslogd (pid ${rs.pid}) runs in the foreground under a supervisor (-n), so jailwizard cannot restart it`, hint: 'drop log, or restart rsyslog through its supervisor yourself after adding the socket' };
      }
      const pidFile = optionValue(rs.argv, '-i') ?? '/run/rsyslogd.pid';
      const apply: Effect = unit ? { kind: 'run', argv: ['systemctl', 'restart', unit] } : { kind: 'daemon-restart', name: 'rsyslogd', pidFile, argv: rs.argv };
      return { kind: 'rsyslog', config: cfg, dropInDir, authLog: rsyslogAuthLog(text), validate: [rs.argv[0]!.includes('/') ? rs.argv[0]! : 'rsyslogd', '-N1', '-f', cfg], apply };
    }
    if (config !== undefined) return { message: `no rsyslogd runs with ${cfg}`, hint: `start it (rsyslogd -f ${cfg}), or drop log` };
  }
  const ngCfg = config ?? DEFAULT_SYSLOG_NG_CONFIG;
  const ng = procs.find((p) => p.comm === 'syslog-ng');
  if (ng && existsSync(ngCfg)) {
    const text = readFileSync(ngCfg, 'utf8');
    const dropInDir = syslogNgIncludeDir(text);
    if (!dropInDir) return { message: `${ngCfg} has no @include for drop-ins`, hint: 'add `@include "/etc/syslog-ng/conf.d/*.conf"` to it, or drop log' };
    if (!/destination\s+d_auth\b/.test(text) || !/filter\s+f_auth\b/.test(text)) {
      return { message: `${ngCfg} has no d_auth destination or f_auth filter to send the jail's lines to`, hint: "use Debian's stock syslog-ng.conf, or drop log" };
    }
    return {
      kind: 'syslog-ng',
      config: ngCfg,
      dropInDir,
      authLog: syslogNgAuthLog(text),
      validate: ['syslog-ng', '--syntax-only', `--cfgfile=${ngCfg}`],
      // syslog-ng re-reads its config on reload, without dropping messages.
      apply: systemd ? { kind: 'run', argv: ['systemctl', 'reload', 'syslog-ng.service'] } : { kind: 'run', argv: ['syslog-ng-ctl', 'reload'] },
    };
  }
  if (procs.some((p) => p.comm === 'systemd-journal')) {
    return {
      message: 'only systemd-journald runs here, and journald cannot listen on a socket inside a jail',
      hint: 'install rsyslog (apt-get install rsyslog; it forwards to the journal too) and run jailwizard again, or drop log',
    };
  }
  return { message: 'no syslog daemon runs here, so internal-sftp inside the jail has nowhere to log', hint: 'install and start rsyslog (apt-get install rsyslog), or drop log' };
}

export function isSyslogProblem(x: SyslogFacts | SyslogProblem): x is SyslogProblem {
  return 'message' in x;
}
