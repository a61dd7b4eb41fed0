// Tests that change the host need root. In CI (root) they always run; elsewhere they are
// skipped with a printed reason, never silently.
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function rootOrSkipReason(): string | undefined {
  if (isRoot) return undefined;
  if (process.env.JW_TEST_CI === 'true' || process.env.CI === 'true') throw new Error('CI must run the tests as root');
  const reason = 'skipped: these tests create users, jails and an sshd, and need root';
  console.warn(`[jailwizard tests] ${reason}`);
  return reason;
}
