// Pure path and naming helpers that every layer uses: no I/O.

/** `p` is `dir` or below it. */
export function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/** A file name for things that belong to a jail rather than a user (shared jails have several users). */
export function jailSlug(jail: string): string {
  return jail.replace(/^\/+/, '').replace(/\//g, '-');
}

/** systemd-escape --path: the name of the mount unit for a mount point. */
export function systemdUnitForPath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '-.mount';
  const esc = trimmed
    .split('/')
    .map((part) =>
      [...part]
        .map((c, i) => (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
        .join(''),
    )
    .join('-');
  return `${esc}.mount`;
}
