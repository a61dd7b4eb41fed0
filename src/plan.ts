// The apply planner's entry point: the stages live in src/plan/apply/, one file each; this
// module keeps the names the rest of the program imports.
export { planApply, applyContext, APPLY_STAGES } from './plan/apply/index.ts';
export type { PlanOptions, ApplyContext, ApplyStage } from './plan/apply/context.ts';
export { AUTHORIZED_KEYS_DIR } from './plan/apply/keys.ts';
export { needsShell, loginShell, toolBinaries, matchSettings, gateGrant, noexecDirs, type BinaryGroup } from './plan/apply/tools.ts';
export { pickUid, plannedUser, PRIVILEGED_GROUPS, privilegedGroupsOf, type PlannedUser } from './plan/apply/account.ts';
export { jailNames } from './plan/apply/layout.ts';
export { copyIntoJail, installArgv, removeArgv } from './plan/apply/actions.ts';
