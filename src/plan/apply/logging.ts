// Stage "logging": logging from inside the jail, a /dev/log socket the syslog daemon listens on.
import path from 'node:path';
import { jailSlug, rsyslogDropInText, syslogNgDropInText } from '../options.ts';
import { isSyslogProblem } from '../../host/syslog.ts';
import { ensureFile, runAction } from './actions.ts';
import { ROOT, type ApplyContext } from './context.ts';

export function loggingStage(ctx: Pick<ApplyContext, 'facts' | 'opts' | 'wide' | 'jail' | 'steps' | 'logFile' | 'syslogConfig'>): void {
  const { facts, opts, jail } = ctx;
  if (!ctx.wide.log || !facts.syslog || isSyslogProblem(facts.syslog)) return;
  const sl = facts.syslog;
  ctx.logFile = sl.authLog;
  ctx.syslogConfig = sl.config;
  const dropIn = path.join(sl.dropInDir, `jailwizard-${jailSlug(jail)}.conf`);
  const text = sl.kind === 'rsyslog' ? rsyslogDropInText(jail) : syslogNgDropInText(jail);
  const have = facts.syslogDropIn && facts.syslogDropIn.text !== undefined ? { ...facts.syslogDropIn, sha256: opts.sha256(facts.syslogDropIn.text) } : facts.syslogDropIn;
  const write = ensureFile(dropIn, have, { kind: 'write', path: dropIn, content: text, mode: 0o644, ...ROOT }, opts.sha256(text));
  if (write.length === 0) {
    ctx.logFile = facts.record?.logFile ?? ctx.logFile;
    return;
  }
  // Undo in that order: the drop-in goes, the daemon lets go of the socket, the socket goes.
  write[0]!.undo.push(sl.apply, { kind: 'unlink', path: path.join(jail, 'dev/log') });
  ctx.steps.push({
    id: 'logging',
    title: `Let ${sl.kind} listen on ${jail}/dev/log`,
    why: [
      'internal-sftp runs inside the chroot, where the host\'s /dev/log does not exist: without a socket there its log lines are lost.',
      `A ${sl.kind} drop-in adds the socket; ${sl.kind === 'rsyslog' ? 'rsyslog reads new inputs only when it starts, so it is restarted (sshd is not)' : 'syslog-ng is reloaded'}.`,
      ...(ctx.logFile ? [`The lines land in ${ctx.logFile} (facility AUTH), where the connection test looks for its own upload.`] : []),
    ],
    actions: [...write, runAction(sl.validate, []), { effect: sl.apply, undo: [], pre: { kind: 'none' } }],
  });
}
