// The apply planner's entry point: the stages live in src/plan/apply/, one file each; this
// module keeps the names the rest of the program imports.
export { planApply, applyContext, APPLY_STAGES } from './apply/index.ts';
export type { PlanOptions, ApplyContext, ApplyStage } from './apply/context.ts';
export { AUTHORIZED_KEYS_DIR } from './apply/keys.ts';
export { needsShell, loginShell, toolBinaries, matchSettings, gateGrant, noexecDirs, type BinaryGroup } from './apply/tools.ts';
export { pickUid, plannedUser, PRIVILEGED_GROUPS, privilegedGroupsOf } from './apply/account.ts';
export type { PlannedUser } from './apply/context.ts';
export { jailNames } from './apply/layout.ts';
export { copyIntoJail, installArgv, removeArgv } from './apply/actions.ts';
