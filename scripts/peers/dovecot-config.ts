// The dovecot.conf text for the private test peer (Dovecot 2.3 setting names; 2.4 renamed many,
// e.g. disable_plaintext_auth -> auth_allow_cleartext, mail_location -> mail_driver/mail_path).
import { userInfo } from 'node:os';
import { join } from 'node:path';

export interface PeerConfigInput {
  dir: string;
  plainPort: number;
  tlsPort: number;
  passwdPath: string;
  logPath: string;
  mailUid: number;
  mailGid: number;
  /** Primary group name of the invoking user (used only when not running as root). */
  groupName: string;
}

/**
 * Capacity: sized so 5,000 concurrent POP3 sessions from 127.0.0.1 fit.
 * - pop3 (one process per logged-in session): process_limit 6000.
 * - pop3-login in "high-performance" mode (service_count = 0): each login process serves many
 *   connections and keeps proxying TLS for the whole session, so 4 x 2000 = 8000 slots.
 * - mail_max_userip_connections (default 10 per user and IP: every test connects from 127.0.0.1).
 * - default_client_limit covers auth, anvil, log and config, which every process above talks to.
 */
export const LIMITS = {
  pop3ProcessLimit: 6000,
  loginProcessLimit: 4,
  loginClientLimit: 2000,
  userIpConnections: 10000,
  defaultClientLimit: 16000,
  defaultProcessLimit: 6000,
} as const;

export function dovecotConfig(c: PeerConfigInput): string {
  const me = userInfo();
  const root = me.uid === 0;
  // As root: the usual split (internal user `dovecot`, login user `dovenull`). Unprivileged: every
  // process runs as the invoking user and nothing can chroot.
  const users = root
    ? ['default_internal_user = dovecot', 'default_login_user = dovenull']
    : [
        `default_internal_user = ${me.username}`,
        `default_internal_group = ${c.groupName}`,
        `default_login_user = ${me.username}`,
      ];
  const noChroot = root ? '' : '  chroot =\n';
  const rootlessServices = root ? '' : 'service auth-worker {\n  user = $default_internal_user\n}\n';
  return `# Written by scripts/peers/dovecot.ts for pop3kit interop tests. Regenerated on every start.
instance_name = pop3kit-${c.plainPort}
base_dir = ${join(c.dir, 'run')}
state_dir = ${join(c.dir, 'state')}
log_path = ${c.logPath}
info_log_path = ${c.logPath}
debug_log_path = ${c.logPath}
${users.join('\n')}

protocols = pop3
listen = 127.0.0.1
shutdown_clients = yes

ssl = yes
ssl_cert = <${join(c.dir, 'tls', 'cert.pem')}
ssl_key = <${join(c.dir, 'tls', 'key.pem')}
ssl_dh = <${join(c.dir, 'tls', 'dh.pem')}
ssl_min_protocol = TLSv1.2

# Cleartext USER/PASS is allowed on the plain port (Dovecot treats loopback as secure anyway).
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop
# No 2 s sleep after a failed login: tests fail logins on purpose.
auth_failure_delay = 0
auth_verbose = no
auth_debug_passwords = no
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${c.passwdPath}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${c.passwdPath}
}

mail_location = maildir:${join(c.dir, 'mail')}/%u
first_valid_uid = ${c.mailUid}
last_valid_uid = ${c.mailUid}
first_valid_gid = ${c.mailGid}
last_valid_gid = ${c.mailGid}

# UIDL = the Maildir base file name: stable, and known to the test that wrote the file.
pop3_uidl_format = %f
# RETR must not mark mail \\Seen (a rename in Maildir): tests read the files by path.
pop3_no_flag_updates = yes

default_process_limit = ${LIMITS.defaultProcessLimit}
default_client_limit = ${LIMITS.defaultClientLimit}
protocol pop3 {
  mail_max_userip_connections = ${LIMITS.userIpConnections}
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${c.plainPort}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${c.tlsPort}
    ssl = yes
  }
  service_count = 0
  process_min_avail = 2
  process_limit = ${LIMITS.loginProcessLimit}
  client_limit = ${LIMITS.loginClientLimit}
  vsz_limit = 1G
${noChroot}}
service pop3 {
  process_limit = ${LIMITS.pop3ProcessLimit}
}
# Mode 0 hides the auth-penalty socket from the auth process, which then skips its per-IP
# penalty (2..15 s growing delays after failed logins from 127.0.0.1, i.e. from every test).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
${noChroot}}
${rootlessServices}`;
}
