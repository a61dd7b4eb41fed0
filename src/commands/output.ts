// Plain-line output for the non-interactive commands. Once the admin's terminal is gone
// (SIGHUP), writes fail with EIO/EPIPE: ignore them, the rollback must go on.
import type { ExecEvent } from '../engine/executor.ts';

// stdin too: a hung-up terminal makes a raw-mode read fail with EIO.
for (const s of [process.stdout, process.stderr, process.stdin]) s.on('error', () => {});

export function say(line = ''): void {
  try {
    process.stdout.write(`${line}\n`);
  } catch {
    // terminal gone
  }
}

export function warn(line: string): void {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // terminal gone
  }
}

/** Prints executor events as one line per step; quiet about per-file progress. */
export function printEvent(e: ExecEvent): void {
  switch (e.type) {
    case 'step-start':
      say(`[${e.index}/${e.total}] ${e.step.title}`);
      break;
    case 'step-failed':
      warn(`  ✗ failed: ${e.error}`);
      break;
    case 'rollback-start':
      warn(`Rolling back (${e.reason})…`);
      break;
    case 'rollback-step':
      warn(`  ${e.ok ? '↩' : '✗'} undone: ${e.title}${e.ok ? '' : ' (incomplete)'}`);
      break;
    case 'rollback-done':
      if (e.manual.length > 0) {
        warn('These changes could not be undone; run them by hand:');
        for (const m of e.manual) warn(`  ${m}`);
      } else warn('Rollback complete: the host is as it was.');
      break;
    default:
      break;
  }
}
