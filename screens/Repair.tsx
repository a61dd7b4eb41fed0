import React, { useState } from 'react';
import { Box, Text } from 'ink';
import type { RepairServices } from '../src/workflows/doctor-fix.ts';
import { EXIT } from '../src/model/errors.ts';
import type { Plan } from '../src/model/effects.ts';
import { formatPlanLines } from '../src/model/effects.ts';
import { wrapProse } from '../src/wizard/wrap.ts';
import type { ProbeResult } from '../src/workflows/verify.ts';
import { Prose, Spinner, Status, fit, usePager, useSize, useUi, useWrapStyle, wrapPlan } from './ui.tsx';
import { useKeys } from './keyboard.tsx';
import { useSelectList } from './SelectList.tsx';
import { useTextField } from './TextField.tsx';

type Stage =
  | { s: 'choose' }
  | { s: 'typing' }
  | { s: 'diagnosing'; user: string }
  | { s: 'report'; user: string; report: string[]; plan: Plan }
  | { s: 'preview'; user: string; plan: Plan }
  | { s: 'running'; user: string }
  | { s: 'done'; user: string; ok: boolean; error?: string; manual: string[]; exitCode: number }
  | { s: 'error'; message: string };

export interface RepairProps {
  services: RepairServices;
  height: number;
  /** With a message when the program ends at once (a signal rolled the fixes back). */
  onExit(code: number, message?: string): void;
}

/** doctor, interactively: pick a user, see the chain and findings, preview the fixes, run them. */
export function RepairScreen({ services, height, onExit }: RepairProps): React.JSX.Element {
  const { sym } = useUi();
  const { columns } = useSize();
  const [stage, setStage] = useState<Stage>({ s: 'choose' });
  const [typed, setTyped] = useState('');
  const [log, setLog] = useState<string[]>([]);
  const [probes, setProbes] = useState<ProbeResult[]>([]);

  const diagnose = (user: string): void => {
    setStage({ s: 'diagnosing', user });
    services.diagnose(user).then(
      (d) => setStage({ s: 'report', user, report: d.report, plan: d.plan }),
      (e: Error & { hint?: string }) => setStage({ s: 'error', message: `${e.message}${e.hint ? ` (${e.hint})` : ''}` }),
    );
  };
  const run = (user: string): void => {
    setStage({ s: 'running', user });
    void services
      .fix(
        user,
        (e) => {
          if (e.type === 'step-done') setLog((l) => [...l, `${sym.ok} fixed`]);
          if (e.type === 'step-start') setLog((l) => [...l, `${sym.pointer} ${e.step.title}`]);
          if (e.type === 'step-failed') setLog((l) => [...l, `${sym.bad} ${e.error}`]);
          if (e.type === 'rollback-step') setLog((l) => [...l, `${sym.undone} undone: ${e.title}`]);
        },
        (p) => setProbes((ps) => [...ps, p]),
      )
      // A signal (SIGHUP: the terminal is gone) ends the program once rolled back, as a make run does.
      .then((r) => (r.exitCode >= 128 ? onExit(r.exitCode, r.error) : setStage({ s: 'done', user, ok: r.ok, error: r.error, manual: r.manual, exitCode: r.exitCode })));
  };

  const style = useWrapStyle();
  const [candidates] = useState(() => services.repairCandidates());
  const list = useSelectList([...candidates.map((c) => ({ label: fit(`${c.user}  (${c.reason})`, columns - 3), value: c.user })), { label: `Type a user${sym.ellipsis}`, value: '' }], {
    limit: Math.max(3, height - 2),
    onSelect: (i) => (i.value ? diagnose(i.value) : setStage({ s: 'typing' })),
  });
  const field = useTextField(typed, (v) => setTyped(v.trim()), (v) => v && diagnose(v));
  // The report and the fixes' preview, wrapped for the window; one pager for whichever is shown.
  const paged = stage.s === 'report' ? stage.report.flatMap((l) => wrapProse(l, columns - 1, style, 0, Math.min(8, /^\s*/.exec(l)![0].length + 2))) : stage.s === 'preview' ? wrapPlan(formatPlanLines(stage.plan), columns - 1, style) : [];
  const pager = usePager(paged, height - 1, stage.s);
  useKeys(
    (key) => {
      const quit = key.name === 'enter' || (key.name === 'text' && key.text === 'q');
      if (stage.s === 'choose') list.onKey(key);
      else if (stage.s === 'typing') {
        if (key.name === 'tab') setStage({ s: 'choose' });
        else field.onKey(key);
      } else if (stage.s === 'report') {
        if (key.name !== 'enter') pager.onKey(key);
        else if (stage.plan.steps.length > 0) setStage({ s: 'preview', user: stage.user, plan: stage.plan });
        else onExit(EXIT.failed);
      } else if (stage.s === 'preview') {
        if (key.name === 'enter') run(stage.user);
        else pager.onKey(key);
      } else if ((stage.s === 'done' || stage.s === 'error') && quit) onExit(stage.s === 'done' ? stage.exitCode : EXIT.failed);
    },
    {
      runs: stage.s === 'typing',
      burst: (keys) => (stage.s === 'choose' ? list.onKeys(keys) : stage.s === 'typing' ? field.onKeys(keys) : stage.s === 'report' || stage.s === 'preview' ? pager.onKeys(keys) : 0),
    },
  );

  switch (stage.s) {
    case 'choose':
      return (
        <Box flexDirection="column">
          <Text>Whose jail should be repaired?</Text>
          {list.view}
        </Box>
      );
    case 'typing':
      return (
        <Box flexDirection="column">
          <Text>User name:</Text>
          <Box>
            <Box flexShrink={0}>
              <Text>{sym.pointer} </Text>
            </Box>
            {field.view}
          </Box>
          <Text dimColor>(Tab: back to the list)</Text>
        </Box>
      );
    case 'diagnosing':
      return (
        <Text>
          <Spinner /> Reading sshd's log and config, checking {stage.user}'s jail{sym.ellipsis}
        </Text>
      );
    case 'report':
      return (
        <Box flexDirection="column">
          {pager.view}
          <Text bold>{stage.plan.steps.length > 0 ? `Enter: preview the ${stage.plan.steps.length} fix${stage.plan.steps.length === 1 ? '' : 'es'}.` : 'Nothing to fix automatically. Enter: exit.'}</Text>
        </Box>
      );
    case 'preview':
      return (
        <Box flexDirection="column">
          {pager.view}
          <Text bold>Enter: apply these fixes (journaled; rolled back if one fails).</Text>
        </Box>
      );
    case 'running':
    case 'done':
      return (
        <Box flexDirection="column">
          {log.slice(-Math.max(3, Math.floor(height / 2))).map((l, i) => (
            <Text key={i}>{fit(l, columns - 1)}</Text>
          ))}
          {probes.slice(-Math.max(3, Math.floor(height / 2) - 1)).map((p) => (
            <Text key={p.name}>
              <Status ok={p.ok} /> {fit(p.name, columns - 4)}
            </Text>
          ))}
          {stage.s === 'running' ? (
            <Text>
              <Spinner /> working{sym.ellipsis}
            </Text>
          ) : stage.ok ? (
            <Text color="green">{sym.ok} Fixed: {stage.user} logs in again. Enter: exit.</Text>
          ) : (
            <Box flexDirection="column">
              <Prose text={`${sym.bad} ${stage.error ?? 'not fixed'}`} hanging={2} color="red" />
              {stage.manual.map((m) => (
                <Text key={m}>  {m}</Text>
              ))}
              <Text dimColor>Enter: exit.</Text>
            </Box>
          )}
        </Box>
      );
    case 'error':
      return (
        <Box flexDirection="column">
          <Prose text={`${sym.bad} ${stage.message}`} hanging={2} color="red" />
          <Text dimColor>Enter: exit.</Text>
        </Box>
      );
  }
}
