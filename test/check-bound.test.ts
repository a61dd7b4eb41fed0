// check's output is bounded whatever happened to a jail: at most MAX_FINDINGS lines, the
// last one saying how many more there are. Read-only: a temp dir stands for a jail whose
// 70 copied files are all gone, and the user no longer exists.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAX_FINDINGS, checkJail } from '../src/workflows/check.ts';
import type { JailRecord } from '../src/host/state.ts';

let jail: string;

beforeAll(() => {
  jail = mkdtempSync(path.join(tmpdir(), 'jw-check-bound-'));
});
afterAll(() => rmSync(jail, { recursive: true, force: true }));

describe('check', () => {
  it(`prints at most ${MAX_FINDINGS} findings, the last one counting the rest`, async () => {
    const user = 'jwcheckboundnobody';
    const manifest = Array.from({ length: 70 }, (_, i) => ({ path: path.join(jail, 'usr/lib', `gone-${i}.so`), from: `/usr/lib/gone-${i}.so`, sha256: '0'.repeat(64) }));
    const rec = {
      version: 1,
      user,
      jail,
      tools: ['sftp'],
      answers: { user, tools: ['sftp'], jail },
      createdUser: true,
      uid: 4242,
      gid: 4242,
      sshdConfig: '/nonexistent/sshd_config',
      dropIn: '/nonexistent/jailwizard-x.conf',
      actions: [],
      manifest,
      appliedAt: '2026-11-30T00:00:00.000Z',
    } as unknown as JailRecord;
    const report = await checkJail(rec, '2026-11-30T00:00:00.000Z');
    expect(report.ok).toBe(false);
    expect(report.findings).toHaveLength(MAX_FINDINGS);
    // The chain under /tmp (1777) comes first, then the missing files, cut where the bound is.
    expect(report.findings.filter((f) => f.id.startsWith('missing:')).length).toBeGreaterThan(MAX_FINDINGS - 5);
    // 70 missing files, the missing keys file, the missing user, and a chain under /tmp (1777).
    const last = report.findings.at(-1)!;
    expect(last.id).toBe('more');
    expect(last.title).toMatch(/^… and \d+ more findings$/);
    expect(Number(/(\d+) more/.exec(last.title)![1])).toBeGreaterThanOrEqual(70 + 2 - (MAX_FINDINGS - 1));
  });
});
