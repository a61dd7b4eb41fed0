// Whether systemd is the service manager: sd_booted(3)'s test, /run/systemd/system exists.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** True when systemd runs the system rooted at `root` (this host by default). */
export function systemdRunning(root = '/'): boolean {
  return existsSync(path.join(root, 'run/systemd/system'));
}
