// The Ansible export: a small playbook that makes every host in an inventory look like the
// answers file says, by running the same jailwizard there. Only ansible.builtin modules;
// jailwizard does the work, so the playbook stays readable and idempotent for free:
// apply changes only what differs and says so in JSON, which the playbook reports.
// Pure: text in, text out. Writing the files is src/commands/export.ts.
import { oneLine } from '../model/effects.ts';
import { UserError } from '../model/errors.ts';
import type { Answers } from '../model/types.ts';

export interface AnsibleExport {
  /** jailwizard's version: what the hosts must run. */
  version: string;
  answers: Answers;
  /** The answers file's name under files/ and in the config dir on the hosts. */
  answersName: string;
  /** The answers file as given to export, for the header. */
  source: string;
}

/**
 * YAML double-quoted scalar (also a valid JSON string). Everything outside printable ASCII
 * is escaped: PyYAML, which Ansible uses, reads NEL and the Unicode line separators as line
 * breaks and refuses other control characters.
 */
export function yq(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function ansiblePlaybook(x: AnsibleExport): string {
  const { version, answers: a, answersName: name } = x;
  const user = a.user;
  const pkg = `jailwizard@${version}`;
  // The user and the file name go into commands and Jinja-templated strings: plain names only
  // (export checks the user name first, so this holds for every answers file it accepts).
  for (const v of [user, name]) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*\$?(\.json|\.ya?ml)?$/.test(v)) throw new UserError(`cannot export a playbook for ${JSON.stringify(v)}`, 'user names are lowercase letters, digits, "_" and "-"');
  }
  // Every task name is plain text (no templates), so logs and tests can find them.
  return `# jailwizard ${version}: jail ${oneLine(user)} on every host of an inventory.
#
# Exported by \`jailwizard export --format ansible\` from ${oneLine(x.source)}
# (${oneLine(a.tools.join(', '))} in ${oneLine(a.jail)}). On each host this play
#   1. checks for Node.js 18.19 or later, and installs jailwizard ${version} with npm
#      unless \`jailwizard --version\` already prints ${version};
#   2. copies files/${name} to the host (root only, mode 0600);
#   3. runs \`jailwizard apply --config ... --yes --json\`: only what differs from the answers
#      changes, then the jail is tested with the real clients, and a failure rolls back.
#      The task is "changed" exactly when jailwizard changed the host;
#   4. runs \`jailwizard test ${user}\`, which proves the jail and changes nothing.
#
# Run it as root on the hosts (add -b when you log in as a sudoer):
#   ansible-playbook -i inventory playbook.yml --syntax-check
#   ansible-playbook -i inventory playbook.yml --check    # what would change; changes nothing
#   ansible-playbook -i inventory playbook.yml
# In check mode the answers and, when needed, jailwizard go to a temporary directory, and
# \`jailwizard plan --json\` (which only reads) says whether apply would change the host.
#
# Variables (inventory, group_vars or -e), with their defaults:
#   jailwizard_package     ${pkg}; or the path of a tarball made by \`npm pack\`,
#                          installed with --offline (no registry)
#   jailwizard_prefix      /usr/local: npm installs into it, and <prefix>/bin/jailwizard runs
#   jailwizard_config_dir  /etc/jailwizard: where the answers file goes on the host
#   jailwizard_flags       "": more flags for every jailwizard command, e.g.
#                          -e "jailwizard_flags='--sshd-config /etc/ssh/sshd_config --state-dir /var/lib/jailwizard'"
#   jailwizard_hosts       all: the inventory hosts or group to jail ${user} on
#
# apply's exit codes: 0 ok, 1 failed and rolled back, 2 bad input (nothing changed),
# 4 rollback incomplete (the commands to run by hand are in its JSON, under "manual").
# To undo on a host: jailwizard remove ${oneLine(user)} --yes

- name: ${yq(`Jail ${user} with jailwizard ${version}`)}
  hosts: "{{ jailwizard_hosts | default('all') }}"
  gather_facts: false
  vars:
    jw_version: ${yq(version)}
    jw_package: "{{ jailwizard_package | default('${pkg}') }}"
    jw_prefix: "{{ jailwizard_prefix | default('/usr/local') }}"
    jw_flags: "{{ jailwizard_flags | default('') }}"
    jw_config: "{{ jailwizard_config_dir | default('/etc/jailwizard') }}/${name}"
    jw_bin: "{{ jw_prefix }}/bin/jailwizard"
    # A path (or a .tgz) is a local tarball: npm installs it without asking a registry.
    jw_npm_offline: "{{ '--offline' if (jw_package is match('[./]') or jw_package is search('[.]tgz$')) else '' }}"
    jw_needs_install: "{{ jw_installed.rc != 0 or (jw_installed.stdout | default('') | trim) != jw_version }}"

  tasks:
    - name: Node.js version
      ansible.builtin.command: node --version
      register: jw_node
      changed_when: false
      failed_when: false
      check_mode: false

    - name: Node.js is 18.19 or later
      ansible.builtin.assert:
        that:
          - jw_node.rc == 0
          - jw_node.stdout | trim | regex_replace('^v', '') is version('18.19', '>=')
        fail_msg: "jailwizard needs Node.js 18.19 or later (this host: {{ jw_node.stdout | default('', true) | trim or 'no node' }}). Debian 12, Ubuntu 24.04: apt-get install nodejs npm"
        quiet: true

    - name: Installed jailwizard version
      ansible.builtin.command: "{{ jw_bin | quote }} --version"
      register: jw_installed
      changed_when: false
      failed_when: false
      check_mode: false

    - name: ${yq(`Install jailwizard ${version} with npm`)}
      ansible.builtin.command: "npm install --global --prefix {{ jw_prefix | quote }} --no-audit --no-fund {{ jw_npm_offline }} {{ jw_package | quote }}"
      when: jw_needs_install | bool

    - name: The directory for answers files
      ansible.builtin.file:
        path: "{{ jw_config | dirname }}"
        state: directory

    - name: ${yq(`The answers for ${user}`)}
      ansible.builtin.copy:
        src: ${yq(`files/${name}`)}
        dest: "{{ jw_config }}"
        owner: root
        group: root
        mode: "0600"

    - name: Check mode, what apply would change (planned from a temporary copy)
      when: ansible_check_mode
      check_mode: false
      block:
        - name: A temporary directory for the plan
          ansible.builtin.tempfile:
            state: directory
            prefix: jailwizard-check-
          register: jw_tmp
          changed_when: false

        - name: The answers, for the plan only
          ansible.builtin.copy:
            src: ${yq(`files/${name}`)}
            dest: ${yq(`{{ jw_tmp.path }}/${name}`)}
            mode: "0600"
          changed_when: false

        - name: ${yq(`jailwizard ${version}, for the plan only`)}
          ansible.builtin.command: "npm install --global --prefix {{ jw_tmp.path | quote }} --no-audit --no-fund {{ jw_npm_offline }} {{ jw_package | quote }}"
          when: jw_needs_install | bool
          changed_when: false

        - name: What apply would change
          ansible.builtin.command: ${yq(`{{ jw_plan_bin | quote }} plan --config {{ jw_tmp.path | quote }}/${name} --json {{ jw_flags }}`)}
          vars:
            jw_plan_bin: "{{ (jw_tmp.path ~ '/bin/jailwizard') if (jw_needs_install | bool) else jw_bin }}"
          register: jw_plan
          changed_when: jw_plan.stdout.startswith('{') and (jw_plan.stdout | from_json).changed

        - name: The steps apply would run
          ansible.builtin.debug:
            msg: "{{ (jw_plan.stdout | from_json).steps | map(attribute='title') | list }}"
      always:
        - name: Remove the temporary directory
          ansible.builtin.file:
            path: "{{ jw_tmp.path }}"
            state: absent
          when: jw_tmp.path is defined
          changed_when: false

    - name: ${yq(`Apply the answers for ${user} (changes only what differs, then tests)`)}
      ansible.builtin.command: "{{ jw_bin | quote }} apply --config {{ jw_config | quote }} --yes --json {{ jw_flags }}"
      when: not ansible_check_mode
      register: jw_apply
      changed_when: jw_apply.stdout.startswith('{') and (jw_apply.stdout | from_json).changed
      failed_when: jw_apply.rc != 0

    - name: The steps apply ran
      ansible.builtin.debug:
        msg: "{{ (jw_apply.stdout | from_json).steps | map(attribute='title') | list }}"
      when: not ansible_check_mode

    - name: ${yq(`Prove the jail of ${user} with the real ssh, sftp, scp and rsync clients`)}
      ansible.builtin.command: ${yq(`{{ jw_bin | quote }} test ${user} {{ jw_flags }}`)}
      when: not ansible_check_mode
      changed_when: false
`;
}
