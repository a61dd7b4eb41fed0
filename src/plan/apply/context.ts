// What every apply stage works on: the answers and host facts in, the steps and notes out,
// and what one stage hands the next (the paths planned so far, the manifest, the gate).
import type { Answers } from '../../model/types.ts';
import type { HostFacts } from '../../host/facts.ts';
import type { Action, Step } from '../../model/effects.ts';
import type { JailRecord } from '../../host/state.ts';
import type { GateGrant } from '../gate.ts';
import type { JailWide } from '../options.ts';
import type { PasswdEntry } from '../../host/accounts.ts';

export interface PlanOptions {
  now: string;
  /** sha256 of a string; injected so the planner stays free of node:crypto state. */
  sha256: (s: string) => string;
}

/** The account the jailed user logs in as, as it will be after the plan. */
export interface PlannedUser extends PasswdEntry {
  exists: boolean;
}

export interface ApplyContext {
  a: Answers;
  facts: HostFacts;
  opts: PlanOptions;
  /** What all users of the jail ask for together (binds, extras, log, allowSetuid). */
  wide: JailWide;
  user: PlannedUser;
  jail: string;
  /** What the gate lets a user without bash run; undefined with bash or sftp only. */
  grant?: GateGrant;
  steps: Step[];
  notes: string[];
  /** Jail paths some stage already plans, so an entry needed twice is made once. */
  planned: Set<string>;
  /** The base layout's actions, gathered by the layout stages and made one step. */
  layout: Action[];
  manifest: JailRecord['manifest'];
  /** Actions of the earlier record that this plan takes back (a mount the answers dropped): they leave the record. */
  revoked: Set<Action>;
  /** Where the jail's log lines land and which syslog config holds them (for test and doctor). */
  logFile?: string;
  syslogConfig?: string;
}

/** One named part of the apply plan. 'stop' ends the plan there (packages must be installed first). */
export type ApplyStage = (ctx: ApplyContext) => void | 'stop';

export const ROOT = { uid: 0, gid: 0 };
