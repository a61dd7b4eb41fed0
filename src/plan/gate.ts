// The gate: what sshd runs (ForceCommand) for a user who has rsync or scp but no bash. sshd
// hands it the client's command in SSH_ORIGINAL_COMMAND; it runs that command only when it is
// what the user's tools need (rsync --server with options from an allow-list as rrsync has,
// scp -t/-f, the sftp-server, git's server commands, the extra commands), and refuses the
// rest: /bin/bash in a shared jail, an uploaded program, the jail's ld.so with one.
//
// The jail has no Python or Node, so the gate is a POSIX sh script for the jail's dash. It
// splits the command itself (quotes and backslashes as sh reads them; $, `, ;, |, &, <, >,
// (, ) and newlines refused), never evals user text, and globs only download paths.
import path from 'node:path';
import type { GateGrant } from '../model/types.ts';

/** Where the gate lives inside the jail (root-owned, 0755). */
export const GATE_PATH = '/usr/lib/jailwizard/gate';

export type { GateGrant };

const PLAIN = /^\/[A-Za-z0-9._+@/-]*$/;

/** The ForceCommand line: the gate with the user's grant as arguments (plain paths only). */
export function gateCommand(g: GateGrant): string {
  const args: string[] = [];
  if (g.rsync) args.push(`--rsync=${g.rsync}`);
  if (g.scp) args.push(`--scp=${g.scp}`);
  if (g.sftp) args.push(`--sftp=${g.sftp}`);
  if (g.sftp && g.sftpSubsystem && g.sftpSubsystem !== g.sftp) args.push(`--sftp-subsystem=${g.sftpSubsystem}`);
  if (g.git) args.push(`--git=${g.git}`);
  for (const c of g.commands) args.push(`--command=${c}`);
  for (const a of args) {
    const v = a.slice(a.indexOf('=') + 1);
    if (!PLAIN.test(v) && v !== 'internal-sftp') throw new Error(`gate argument ${JSON.stringify(a)} is not a plain path`);
  }
  return [GATE_PATH, ...args].join(' ');
}

/** Readable list of what the grant allows, for the preview. */
export function describeGrant(g: GateGrant): string {
  const what = [
    ...(g.rsync ? ['rsync --server'] : []),
    ...(g.scp ? ['scp -t/-f'] : []),
    ...(g.sftp ? ['the sftp-server'] : []),
    ...(g.git ? ['git-upload-pack', 'git-receive-pack'] : []),
    ...g.commands.map((c) => path.basename(c)),
  ];
  return what.join(', ');
}

/**
 * rsync's long options a client sends to a server, from rrsync's list: without a value, and
 * with one (`--name=value`). Not here, so refused: --rsh/-e, --rsync-path, --config, --daemon,
 * --copy-devices, --write-devices, --debug, --no-munge-links, and everything else.
 */
export const RSYNC_LONG_FLAGS = [
  'append', 'copy-unsafe-links', 'delay-updates', 'delete', 'delete-after', 'delete-before', 'delete-delay',
  'delete-during', 'delete-excluded', 'delete-missing-args', 'dirs', 'existing', 'fake-super', 'force', 'from0',
  'fsync', 'fuzzy', 'group', 'hard-links', 'ignore-errors', 'ignore-existing', 'ignore-missing-args', 'ignore-times',
  'inplace', 'links', 'list-only', 'mkpath', 'msgs2stderr', 'munge-links', 'new-compress', 'no-W', 'no-implied-dirs',
  'no-msgs2stderr', 'no-r', 'no-relative', 'no-specials', 'numeric-ids', 'old-compress', 'one-file-system',
  'open-noatime', 'owner', 'partial', 'perms', 'preallocate', 'recursive', 'remove-sent-files', 'remove-source-files',
  'safe-links', 'size-only', 'specials', 'stats', 'super', 'times', 'use-qsort',
];
export const RSYNC_LONG_VALUES = [
  'backup-dir', 'block-size', 'bwlimit', 'checksum-choice', 'checksum-seed', 'compare-dest', 'compress-choice',
  'compress-level', 'compress-threads', 'copy-dest', 'files-from', 'groupmap', 'iconv', 'info', 'link-dest', 'log-file',
  'log-format', 'max-alloc', 'max-delete', 'max-size', 'min-size', 'modify-window', 'only-write-batch', 'partial-dir',
  'skip-compress', 'stderr', 'suffix', 'temp-dir', 'timeout', 'usermap',
];
/** Short options a client puts in its cluster (rrsync's list without s, --protect-args, which would carry the real arguments past the gate). */
export const RSYNC_SHORT = 'ACDEHIJKLNORSUWXbcdgklmnopqrtuvxyz';

/**
 * git's server side, with the config that would run programs from the repository turned off:
 * hooks, fsmonitor, the alternate-refs command (run by the shell), and the checkout a push to
 * a checked-out branch does with updateInstead (which runs the repository's filter drivers).
 * Command-line config (GIT_CONFIG_COUNT) wins over the repository's own.
 */
const GIT_SAFE_CONFIG: [string, string][] = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.alternateRefsCommand', ': #'],
  ['receive.denyCurrentBranch', 'refuse'],
];

/** The gate's text. The same for every user: what a user may run comes in its arguments. */
export function gateScript(): string {
  const flags = RSYNC_LONG_FLAGS.map((o) => `--${o}`).join('|');
  const values = RSYNC_LONG_VALUES.map((o) => `--${o}=*`).join('|');
  const gitEnv = GIT_SAFE_CONFIG.map(([k, v], i) => `GIT_CONFIG_KEY_${i}=${k} GIT_CONFIG_VALUE_${i}='${v}'`).join(' ');
  return `#!/bin/sh
# Written by jailwizard: sshd runs this (ForceCommand) for users without a shell. It runs the
# client's command only when the user's tools need it, and never evaluates the user's text.
# Its arguments, from the user's sshd drop-in, say what the user may run.
set -f
PATH=/usr/bin:/bin
export PATH
nl='
'

refuse() {
	printf 'jailwizard: refused: %s\\n' "$1" >&2
	exit 1
}

rsync= scp= sftp= subsystem= git= commands= allowed=
for arg do
	case $arg in
	--rsync=/*) rsync=\${arg#*=} allowed="$allowed rsync" ;;
	--scp=/*) scp=\${arg#*=} allowed="$allowed scp" ;;
	--sftp=/*) sftp=\${arg#*=} allowed="$allowed sftp" ;;
	--sftp-subsystem=*) subsystem=\${arg#*=} ;;
	--git=/*) git=\${arg#*=} allowed="$allowed git-upload-pack git-receive-pack" ;;
	--command=/*) commands="$commands \${arg#*=}" allowed="$allowed \${arg##*/}" ;;
	*) refuse "the gate was called with $arg" ;;
	esac
done

# A word with wildcards, which a download's paths may have for the server to expand.
has_wildcard() {
	case $1 in
	*[*?[]*) return 0 ;;
	esac
	return 1
}

check_rsync() {
	[ "$1" = --server ] || refuse "rsync runs here only as a server (rsync --server ...)"
	shift
	[ "$1" != --sender ] || shift
	dot=
	for a do
		if [ -n "$dot" ]; then
			case $a in -*) refuse "rsync: a path may not start with -" ;; esac
			continue
		fi
		case $a in
		.) dot=1 ;;
		${flags}) ;;
		${values}) ;;
		--*) refuse "rsync option \${a%%=*} is not allowed here" ;;
		-[B@][0-9]*)
			case \${a#-?} in *[!0-9]*) refuse "rsync option $a is not allowed here" ;; esac ;;
		-?*)
			s=\${a#-}
			letters=\${s%%e*}
			cap=\${s#"$letters"}
			case $letters in *[!${RSYNC_SHORT}]*) refuse "rsync option $a is not allowed here" ;; esac
			if [ -n "$cap" ]; then
				# e, digits, a dot and letters: the client's capability flags, never a shell
				c=\${cap#e}
				digits=\${c%%.*}
				case $digits in *[!0-9]*) refuse "rsync option $a is not allowed here" ;; esac
				[ "$c" != "$digits" ] || refuse "rsync option $a is not allowed here"
				case \${c#*.} in *[!A-Za-z0-9_]*) refuse "rsync option $a is not allowed here" ;; esac
			fi ;;
		*) refuse "rsync: $a before the . that ends the options" ;;
		esac
	done
	[ -n "$dot" ] || refuse "rsync: no . after the options"
}

check_scp() {
	mode=
	while [ $# -gt 0 ]; do
		case $1 in
		-t|-f) [ -z "$mode" ] || refuse "scp: -t and -f together"; mode=$1 ;;
		-r|-p|-d|-v) ;;
		--) shift; break ;;
		-*) refuse "scp option $1 is not allowed here" ;;
		*) break ;;
		esac
		shift
	done
	[ -n "$mode" ] || refuse "scp runs here only as a server (scp -t or scp -f)"
	[ $# -ge 1 ] || refuse "scp: no path"
	[ "$mode" = -f ] || [ $# -eq 1 ] || refuse "scp -t: one target"
}

# Runs rsync or scp ($1, at $2) with the client's words, expanding the wildcards a download's
# paths may have (rsync --sender after the ".", scp -f after its options), as a shell would.
run_with_downloads() {
	kind=$1 prog=$2
	shift 2
	n=$# sender= dot= from=
	while [ $n -gt 0 ]; do
		a=$1
		shift
		n=$((n - 1))
		download=
		if [ "$kind" = rsync ]; then
			[ -z "$dot" ] || [ -z "$sender" ] || download=1
			[ "$a" != --sender ] || sender=1
			[ "$a" != . ] || dot=1
		else
			case $a in
			-f) from=1 ;;
			-*) ;;
			*) [ -z "$from" ] || download=1 ;;
			esac
		fi
		if [ -n "$download" ] && has_wildcard "$a"; then
			set +f
			IFS=
			set -- "$@" $a
			IFS=" "
			set -f
		else
			set -- "$@" "$a"
		fi
	done
	exec "$prog" "$@"
}

# Runs the command, or refuses it. Its arguments are the client's words.
dispatch() {
	cmd=$1
	shift
	[ -n "$cmd" ] || refuse "an empty command"
	case $cmd in
	rsync|"$rsync")
		[ -n "$rsync" ] || refuse "rsync is not one of this account's tools"
		check_rsync "$@"
		run_with_downloads rsync "$rsync" "$@" ;;
	scp|"$scp")
		[ -n "$scp" ] || refuse "scp is not one of this account's tools"
		check_scp "$@"
		run_with_downloads scp "$scp" "$@" ;;
	internal-sftp|"$subsystem"|"$sftp")
		[ -n "$sftp" ] || refuse "sftp is not one of this account's tools"
		exec "$sftp" ;;
	git-upload-pack|git-receive-pack|"$git/git-upload-pack"|"$git/git-receive-pack")
		[ -n "$git" ] || refuse "git is not one of this account's commands"
		[ $# -eq 1 ] || refuse "\${cmd##*/}: one repository path"
		case $1 in -*) refuse "\${cmd##*/}: a path may not start with -" ;; esac
		# Config in the repository (which the user writes) must not run programs.
		export GIT_CONFIG_COUNT=${GIT_SAFE_CONFIG.length} ${gitEnv}
		exec "$git/\${cmd##*/}" "$1" ;;
	esac
	for c in $commands; do
		if [ "$cmd" = "$c" ] || [ "$cmd" = "\${c##*/}" ]; then
			exec "$c" "$@"
		fi
	done
	refuse "\${cmd##*/} is not one of this account's programs (it may run:$allowed)"
}

[ -n "\${SSH_ORIGINAL_COMMAND+set}" ] || refuse "this account has no shell; it may run:$allowed"
line=$SSH_ORIGINAL_COMMAND
# dash's string operations make splitting cost n squared: bound n (PATH_MAX is 4096).
[ \${#line} -le 4096 ] || refuse "a command longer than 4096 characters"

# Split the command into words as sh would, without running anything in it.
split_and_dispatch() {
	rest=$1
	set --
	word= inword=
	while [ -n "$rest" ]; do
		# A run of ordinary characters in one step; one character at a time costs n squared in dash.
		plain=\${rest%%[[:space:]\\\\\\'\\";&|<>()\\$\\\`]*}
		if [ -n "$plain" ]; then
			word=$word$plain inword=1
			rest=\${rest#"$plain"}
			continue
		fi
		# The first character: %% of the rest after it (a literal) matches at once; % would scan.
		c=\${rest%%"\${rest#?}"}
		rest=\${rest#?}
		case $c in
		' '|'	')
			if [ -n "$inword" ]; then
				set -- "$@" "$word"
				word= inword=
			fi ;;
		\\\\)
			[ -n "$rest" ] || refuse "a backslash at the end"
			c=\${rest%%"\${rest#?}"}
			rest=\${rest#?}
			[ "$c" != "$nl" ] || refuse "a newline in the command"
			word=$word$c inword=1 ;;
		\\')
			case $rest in *\\'*) ;; *) refuse "an unclosed quote" ;; esac
			q=\${rest%%\\'*}
			rest=\${rest#*\\'}
			case $q in *"$nl"*) refuse "a newline in the command" ;; esac
			word=$word$q inword=1 ;;
		\\")
			while :; do
				[ -n "$rest" ] || refuse "an unclosed quote"
				plain=\${rest%%[\\"\\\\\\$\\\`[:space:]]*}
				if [ -n "$plain" ]; then
					word=$word$plain
					rest=\${rest#"$plain"}
					continue
				fi
				c=\${rest%%"\${rest#?}"}
				rest=\${rest#?}
				case $c in
				\\") break ;;
				\\$|\\\`|"$nl") refuse "$c inside quotes" ;;
				\\\\)
					d=\${rest%%"\${rest#?}"}
					case $d in
					\\\\|\\"|\\$|\\\`) c=$d rest=\${rest#?} ;;
					esac ;;
				esac
				word=$word$c
			done
			inword=1 ;;
		';'|'&'|'|'|'<'|'>'|'('|')'|'$'|'\`'|"$nl")
			refuse "shell syntax ($c) in the command" ;;
		*)
			word=$word$c inword=1 ;;
		esac
	done
	[ -z "$inword" ] || set -- "$@" "$word"
	[ $# -gt 0 ] || refuse "an empty command"
	IFS=" "
	dispatch "$@"
}

split_and_dispatch "$line"
`;
}
