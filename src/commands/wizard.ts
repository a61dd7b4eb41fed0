// `jailwizard` with no command: the interactive wizard. It needs a terminal; scripts use
// `jailwizard apply --config FILE`.
import { EXIT, UserError } from '../model/errors.ts';
import { detectTerm, startBracketedPaste, symbols } from '../wizard/terminal.ts';
import { realServices } from '../wizard/services.ts';
import { repeatFlags, type CommonOptions } from './common.ts';
import './output.ts'; // ignore EIO/EPIPE once the terminal is gone

export async function wizardCommand(o: CommonOptions & { sshdLog?: string }): Promise<number> {
  // Ink throws "Raw mode is not supported" without a TTY (ink#166): say what to do instead.
  if (!process.stdin.isTTY) {
    throw new UserError('the wizard needs a terminal, and stdin is not one', 'for scripts and pipes use `jailwizard apply --config FILE` (see --help)');
  }
  const caps = detectTerm();
  // chalk reads FORCE_COLOR when Ink loads; it does not look at NO_COLOR itself.
  if (!caps.color) process.env.FORCE_COLOR = '0';
  // Loading Ink and React takes longer than the admin should wait for a first frame: the
  // start-up file (scripts/build.mjs) has drawn the same first frame by hand. Erase it
  // just before Ink draws.
  const { render, createElement, App } = await import('../../screens/tui.ts');
  const splashLines = (globalThis as { __jailwizardSplash?: number }).__jailwizardSplash;
  if (splashLines) process.stdout.write(`\x1b[${splashLines}F\x1b[J`);
  // From the parsed options: `--state-dir=/x` and `--state-dir /x` alike.
  const extraFlags = repeatFlags(o);
  // Off again on every way out: onExit, the App's unmount (Ink unmounts on a signal), and
  // process exit (a crash).
  const stopPaste = startBracketedPaste(process.stdout, caps);
  return new Promise<number>((resolve) => {
    let done = false;
    const app = render(
      createElement(App, {
        services: realServices(o, extraFlags),
        ui: { caps, sym: symbols(caps) },
        onUnmount: stopPaste,
        onExit(code: number, message?: string, finalText?: string) {
          if (done) return;
          done = true;
          stopPaste();
          // The summary is printed again as plain lines, so long commands copy as one line.
          if (finalText && !caps.dumb) app.clear();
          app.unmount();
          if (finalText) process.stdout.write(finalText);
          if (message) process.stderr.write(`jailwizard: ${message}\n`);
          resolve(code);
        },
      }),
      { exitOnCtrlC: false, debug: caps.dumb, patchConsole: false },
    );
    void app.waitUntilExit().then(() => {
      if (!done) resolve(EXIT.ok);
    });
  });
}
