// Extra commands (answers.extraBinaries) that need more than their own file.

/**
 * Programs with several entry points that are links to the one binary: asking for the
 * program brings them along (from the same dir, where the host has them). git's server side
 * runs git-upload-pack (clone, fetch), git-receive-pack (push) and git-upload-archive
 * (archive --remote); a jail with only git passes `git --version` and fails every clone.
 */
export const ENTRY_POINTS: Record<string, { names: string[]; why: string }> = {
  git: {
    names: ['git-upload-pack', 'git-receive-pack', 'git-upload-archive'],
    why: "git: also git-upload-pack, git-receive-pack and git-upload-archive, the links to git that a clone, a push and git archive --remote run on the server.",
  },
};
