// The recipe vocabulary lives in src/model/recipe.ts: recipes import only its types.
export type * from '../src/model/recipe.ts';

/** Placeholder in `binaries` for the path of sshd's external sftp Subsystem (a host fact). */
export const SFTP_SUBSYSTEM = '@sftp-subsystem';
