// How sshd runs on this host, and how a changed config reaches it without dropping anyone.
//
//   service        ssh.service binds the port itself: `systemctl reload` (its ExecReload runs
//                  `sshd -t`, then SIGHUP; sshd re-executes itself under the same pid and keeps
//                  every session).
//   socket         ssh.socket (Accept=no) holds the port; the first connection starts
//                  ssh.service with the socket handed over. Measured on Debian 13 (OpenSSH
//                  10.0p1-7): a SIGHUP makes that sshd exit with "Cannot bind any address" and
//                  ssh.service fails (the re-executed sshd no longer has the socket). So the
//                  change is applied by `systemctl stop ssh.service`: with KillMode=process only
//                  the listener exits, every session stays, the socket keeps accepting, and the
//                  next connection starts sshd with the new config. Ubuntu 22.10+ ships this mode
//                  by default.
//   per-connection ssh.socket with Accept=yes: every connection runs its own `sshd -i`, which reads
//                  the config afresh; nothing to reload.
//   openrc         OpenRC started sshd (Alpine): `rc-service sshd reload`.
//   pidfile        no service manager runs this sshd: SIGHUP to the pid in PidFile.
//   stopped        nothing runs sshd: the change applies when it starts.
import type { Effect } from '../model/effects.ts';
import { run } from './run.ts';
import { DEFAULT_SSHD_CONFIG, readPid } from './sshd-config.ts';
import { openrcReload } from './platform.ts';
import { systemdRunning } from './systemd.ts';

export type SshdMode =
  | { kind: 'service'; unit: string; pid: number }
  | { kind: 'socket'; unit: string; socket: string; pid?: number; killMode: string; listen: { host: string; port: number }[] }
  | { kind: 'per-connection'; socket: string }
  | { kind: 'openrc'; pid: number }
  | { kind: 'pidfile'; pid: number }
  | { kind: 'stopped'; unit?: string };

/** What `systemctl show` printed for one unit: property → value. */
export type UnitProps = Record<string, string>;

/** The properties read for sshd's service and socket units. */
export const SERVICE_PROPS = ['Id', 'LoadState', 'ActiveState', 'MainPID', 'KillMode', 'TriggeredBy'];
export const SOCKET_PROPS = ['Id', 'LoadState', 'ActiveState', 'Accept', 'Listen', 'Triggers'];
const SERVICES = ['ssh.service', 'sshd.service'];
const SOCKETS = ['ssh.socket', 'sshd.socket'];

/** Parses `systemctl show` output of several units (blank-line separated blocks). */
export function parseShow(text: string): UnitProps[] {
  return text
    .split(/\n\s*\n/)
    .map((block) => {
      const props: UnitProps = {};
      for (const line of block.split('\n')) {
        const i = line.indexOf('=');
        if (i > 0) props[line.slice(0, i)] = line.slice(i + 1);
      }
      return props;
    })
    .filter((p) => Object.keys(p).length > 0);
}

/**
 * The addresses a socket unit listens on, from its `Listen=` property, e.g.
 * `[::]:22 (Stream) 0.0.0.0:2222 (Stream)`, as addresses a local client can reach.
 */
export function socketListen(listen: string): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  const add = (host: string, port: number): void => {
    if (!out.some((o) => o.host === host && o.port === port)) out.push({ host, port });
  };
  for (const m of listen.matchAll(/(\S+) \(Stream\)/g)) {
    const addr = m[1]!;
    if (/^(vsock:|\/|@)/.test(addr)) continue; // AF_VSOCK and AF_UNIX sockets (systemd-ssh-generator's): no TCP client reaches them
    const hp = /^\[?(.*?)\]?:(\d+)$/.exec(addr);
    if (/^\d+$/.test(addr)) {
      add('127.0.0.1', Number(addr));
      add('::1', Number(addr));
    } else if (hp) {
      const port = Number(hp[2]);
      const host = hp[1]!;
      if (host === '0.0.0.0') add('127.0.0.1', port);
      else if (host === '::') {
        // Dual-stack unless the unit says BindIPv6Only=ipv6-only (Ubuntu's does): try both.
        add('127.0.0.1', port);
        add('::1', port);
      } else add(host, port);
    }
  }
  return out;
}

/**
 * The mode, from the units' properties (pure). `units` holds whatever `systemctl show` said
 * about ssh/sshd .service and .socket; `pidFilePid` is the live sshd PidFile names, if any.
 */
export function sshdModeFrom(units: UnitProps[], pidFilePid: number | undefined): SshdMode {
  const loaded = (id: string): UnitProps | undefined => units.find((u) => u.Id === id && u.LoadState === 'loaded');
  const service = SERVICES.map(loaded).find((u) => u !== undefined);
  const socket = SOCKETS.map(loaded).find((u) => u !== undefined && (u.ActiveState === 'active' || u.ActiveState === 'listening'));
  if (socket) {
    if (socket.Accept === 'yes') return { kind: 'per-connection', socket: socket.Id! };
    const unit = (socket.Triggers ?? '').split(/\s+/).find((t) => SERVICES.includes(t)) ?? service?.Id ?? 'ssh.service';
    const svc = units.find((u) => u.Id === unit) ?? service;
    const main = Number(svc?.MainPID ?? 0);
    return {
      kind: 'socket',
      unit,
      socket: socket.Id!,
      ...(main > 0 && svc?.ActiveState === 'active' ? { pid: main } : {}),
      killMode: svc?.KillMode ?? 'control-group',
      listen: socketListen(socket.Listen ?? ''),
    };
  }
  if (service) {
    const main = Number(service.MainPID ?? 0);
    // The unit runs the sshd whose PidFile we read (or sshd writes none): that is the one to reload.
    if (service.ActiveState === 'active' && main > 0 && (pidFilePid === undefined || pidFilePid === main)) return { kind: 'service', unit: service.Id!, pid: main };
  }
  if (pidFilePid !== undefined) return { kind: 'pidfile', pid: pidFilePid };
  return { kind: 'stopped', ...(service ? { unit: service.Id } : {}) };
}

export interface SshdReload {
  argv: string[];
  pid?: number;
  /** Socket activation: the socket unit that keeps listening while the service is stopped. */
  socket?: string;
  /** Where the socket listens (for the reachability check after the stop). */
  socketListen?: { host: string; port: number }[];
}

/** How a changed config reaches sshd in this mode; undefined when nothing needs to run. */
export function reloadFor(mode: SshdMode): SshdReload | undefined {
  switch (mode.kind) {
    case 'service':
      return { argv: ['systemctl', 'reload', mode.unit], pid: mode.pid };
    case 'socket':
      // Also when sshd is not running now: stopping an inactive unit is a no-op, and a
      // connection between the plan and the run may have started it.
      return { argv: ['systemctl', 'stop', mode.unit], ...(mode.pid ? { pid: mode.pid } : {}), socket: mode.socket, socketListen: mode.listen };
    case 'openrc':
      return { argv: ['rc-service', 'sshd', 'reload'], pid: mode.pid };
    case 'pidfile':
      return { argv: ['kill', '-HUP', String(mode.pid)], pid: mode.pid };
    default:
      return undefined;
  }
}

/** Why applying a change in this mode would drop sessions, or undefined when it is safe. */
export function reloadProblem(mode: SshdMode): { message: string; hint: string } | undefined {
  if (mode.kind !== 'socket' || mode.killMode === 'process') return undefined;
  return {
    message: `sshd is socket-activated by ${mode.socket}, and ${mode.unit} has KillMode=${mode.killMode}: stopping it (the only way a new config reaches a socket-activated sshd; a SIGHUP makes it exit) would end every open SSH session`,
    hint: `set KillMode=process for ${mode.unit} (systemctl edit ${mode.unit}), as Debian and Ubuntu ship it, then run jailwizard again`,
  };
}

/** How sshd runs, for the preflight (short enough for an 80-column line). */
export function describeMode(mode: SshdMode): string {
  switch (mode.kind) {
    case 'service':
      return `${mode.unit} running (pid ${mode.pid}); reload with: systemctl reload ${mode.unit}`;
    case 'socket':
      return `socket-activated by ${mode.socket}, ${mode.pid ? `${mode.unit} running (pid ${mode.pid})` : `${mode.unit} idle`}`;
    case 'per-connection':
      return `socket-activated by ${mode.socket} (Accept=yes): a new sshd -i per connection`;
    case 'openrc':
      return `started by OpenRC (pid ${mode.pid}); reload with: rc-service sshd reload`;
    case 'pidfile':
      return `running (pid ${mode.pid}); reload with: kill -HUP ${mode.pid}`;
    case 'stopped':
      return `not running${mode.unit ? ` (${mode.unit} is inactive)` : ''}`;
  }
}

/** How a change reaches sshd when that is not a plain reload (a second preflight line). */
export function describeApply(mode: SshdMode): string | undefined {
  if (mode.kind === 'socket') return `systemctl stop ${mode.unit} (socket restarts it; sessions stay)`;
  if (mode.kind === 'per-connection') return 'none needed: the next connection reads the new config';
  return undefined;
}

/** A note for the plan when the mode changes how a change reaches sshd. */
export function modeNote(mode: SshdMode): string | undefined {
  switch (mode.kind) {
    case 'socket':
      return `sshd is socket-activated by ${mode.socket}: a SIGHUP would make it exit, so ${mode.unit} is stopped instead; open sessions stay (KillMode=process), the socket keeps listening, and the next connection starts sshd with the new config.`;
    case 'per-connection':
      return `sshd is socket-activated by ${mode.socket} with Accept=yes: the next connection runs a new sshd -i with the new config; nothing is reloaded.`;
    case 'stopped':
      return 'sshd is not running, so nothing is reloaded: the jail applies when sshd starts.';
    default:
      return undefined;
  }
}

/** Reads the mode from systemd (for the stock config; a private sshd is always `pidfile`). */
export async function detectSshdMode(config: string, pidFile: string): Promise<SshdMode> {
  const pid = readPid(pidFile);
  if (!systemdRunning() || config !== DEFAULT_SSHD_CONFIG) {
    if (pid === undefined) return { kind: 'stopped' };
    return openrcReload(config, DEFAULT_SSHD_CONFIG) ? { kind: 'openrc', pid } : { kind: 'pidfile', pid };
  }
  const show = async (props: string[], units: string[]): Promise<UnitProps[]> => {
    const r = await run(['systemctl', 'show', ...props.flatMap((p) => ['-p', p]), ...units], { timeoutMs: 10_000 });
    return r.exitCode === 0 ? parseShow(r.stdout) : [];
  };
  const units = [...(await show(SERVICE_PROPS, SERVICES)), ...(await show(SOCKET_PROPS, SOCKETS))];
  return sshdModeFrom(units, pid);
}

/** The executor's effect for a reload (the same data for the step and for its undo). */
export function reloadEffect(reload: SshdReload, pidFile: string, listen: { host: string; port: number }[]): Extract<Effect, { kind: 'sshd-reload' }> {
  return {
    kind: 'sshd-reload',
    argv: reload.argv,
    pidFile,
    listen,
    ...(reload.socket ? { socket: reload.socket, socketListen: reload.socketListen ?? [] } : {}),
  };
}

/** How a changed config reaches the sshd that runs with this config now. */
export async function reloadCommand(config: string, pidFile: string): Promise<SshdReload | undefined> {
  return reloadFor(await detectSshdMode(config, pidFile));
}
