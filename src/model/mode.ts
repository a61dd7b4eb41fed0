// A file mode as chmod, install and mknod take it and as an admin reads it: 0755, 2770, 4755.

/** The permission bits (with setuid, setgid and sticky) of `mode`, four octal digits. */
export function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
