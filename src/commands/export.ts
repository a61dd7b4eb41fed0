// `jailwizard export --config FILE --format ansible|sh [--out DIR]`: the answers for many
// hosts. `ansible` writes DIR/playbook.yml and DIR/files/<user>.<ext>, a playbook that runs
// this same jailwizard version on every host of an inventory. `sh` writes this host's plan
// as the commented POSIX script --dry-run prints (DIR/jailwizard-<user>.sh, or stdout).
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../model/errors.ts';
import { planToShellScript } from '../model/effects.ts';
import { loadAnswers } from '../host/answers-file.ts';
import { checkedPlan } from '../workflows/apply.ts';
import { checkAuthorizedKeys, checkUserName } from '../host/validate.ts';
import { ansiblePlaybook } from '../workflows/export-ansible.ts';
import { say } from './output.ts';
import { VERSION } from './apply.ts';
import type { CommonOptions } from './common.ts';

export const EXPORT_FORMATS = ['ansible', 'sh'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportOptions extends CommonOptions {
  config: string;
  format: ExportFormat;
  out?: string;
}

export function checkFormat(f: string | undefined): ExportFormat {
  if (f === undefined) throw new UserError('export needs --format ansible or --format sh', 'jailwizard export --config FILE --format ansible --out DIR');
  if (!(EXPORT_FORMATS as readonly string[]).includes(f)) throw new UserError(`unknown export format ${f}`, `use one of: ${EXPORT_FORMATS.join(', ')}`);
  return f as ExportFormat;
}

/** The answers file's extension decides how jailwizard parses it, so the copy keeps it. */
function answersExt(file: string, text: string): string {
  const ext = path.extname(file).toLowerCase();
  if (['.json', '.yaml', '.yml'].includes(ext)) return ext;
  try {
    JSON.parse(text);
    return '.json';
  } catch {
    return '.yaml';
  }
}

function writeFile(p: string, content: string, mode: number): void {
  writeFileSync(p, content, { mode });
  chmodSync(p, mode); // an existing file keeps its mode otherwise
}

export async function exportCommand(o: ExportOptions): Promise<number> {
  const a = await loadAnswers(o.config);
  if (o.format === 'sh') {
    const script = planToShellScript((await checkedPlan(a, o)).plan);
    if (!o.out) {
      process.stdout.write(script);
      return 0;
    }
    mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, `jailwizard-${a.user}.sh`);
    writeFile(file, script, 0o700);
    say(`Wrote ${file}: the plan for this host as a commented sh script.`);
    return 0;
  }

  // The hosts are not this one: check only what does not depend on a host.
  checkUserName(a.user);
  await checkAuthorizedKeys(a.authorizedKeys);
  const text = readFileSync(o.config, 'utf8');
  const name = `${a.user}${answersExt(o.config, text)}`;
  const dir = o.out ?? `jailwizard-${a.user}-ansible`;
  mkdirSync(path.join(dir, 'files'), { recursive: true });
  writeFile(path.join(dir, 'files', name), text, 0o600);
  const playbook = path.join(dir, 'playbook.yml');
  writeFile(playbook, ansiblePlaybook({ version: VERSION, answers: a, answersName: name, source: path.basename(o.config) }), 0o644);
  say(`Wrote ${playbook} and ${path.join(dir, 'files', name)}.`);
  say(`  Check: ansible-playbook -i INVENTORY ${playbook} --check`);
  say(`  Run:   ansible-playbook -i INVENTORY ${playbook}`);
  return 0;
}
