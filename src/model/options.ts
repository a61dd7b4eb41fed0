// The options every command takes, as the workflows below the CLI receive them.

export interface CommonOptions {
  sshdConfig: string;
  stateDir: string;
  /** The syslog daemon's config for jails that log (--syslog-config); found by itself when absent. */
  syslogConfig?: string;
}
