/**
 * Mechanisms that hand the peer a reusable secret (password or bearer token) in the clear.
 * Clients choose them, and servers offer them, only under TLS unless cleartext is explicitly
 * allowed (CONFORMANCE S12, S17, C14).
 */
export const CLEARTEXT_SECRET_MECHANISMS: ReadonlySet<string> = new Set([
  'PLAIN',
  'LOGIN',
  'OAUTHBEARER',
  'XOAUTH2',
]);
