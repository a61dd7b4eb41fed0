// The mount table parser: targets with escapes, optional fields, the filesystem type.
import { describe, expect, it } from 'vitest';
import { mountOf, parseMountInfo, readMountInfo } from '../src/host/mountinfo.ts';

const TEXT = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro',
  '23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw',
  '24 22 0:22 / /srv/a\\040b rw,nosuid master:3 shared:9 - tmpfs tmpfs rw,size=1024k',
  '25 22 8:1 /srv/web /srv/jails/x/web ro,nosuid,nodev,noexec - ext4 /dev/sda1 rw',
  '',
].join('\n');

describe('mountinfo', () => {
  it('reads target, type and options past any optional fields', () => {
    expect(parseMountInfo(TEXT)).toEqual([
      { target: '/', fsType: 'ext4', options: ['rw', 'relatime', 'rw', 'errors=remount-ro'] },
      { target: '/proc', fsType: 'proc', options: ['rw', 'nosuid', 'nodev', 'noexec', 'relatime', 'rw'] },
      { target: '/srv/a b', fsType: 'tmpfs', options: ['rw', 'nosuid', 'rw', 'size=1024k'] },
      { target: '/srv/jails/x/web', fsType: 'ext4', options: ['ro', 'nosuid', 'nodev', 'noexec', 'rw'] },
    ]);
  });

  it('finds the mount holding a path: the longest target, never a sibling with the same prefix', () => {
    const m = parseMountInfo(TEXT);
    expect(mountOf('/proc/self', m)?.fsType).toBe('proc');
    expect(mountOf('/procx', m)?.target).toBe('/');
    expect(mountOf('/srv/a b/c', m)?.fsType).toBe('tmpfs');
    expect(mountOf('/srv/jails/x/web/index.html', m)?.options).toContain('noexec');
  });

  it('on this host, /proc is proc', () => {
    expect(mountOf('/proc/self', readMountInfo())?.fsType).toBe('proc');
  });
});
