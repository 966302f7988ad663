import { secretsEqual } from '../fields.js';
import type { SaslServerBackend } from './types.js';

/**
 * Check a password with whatever the backend offers: verifyPassword, else a constant-time
 * comparison against getPassword(). An unknown user costs the same comparison as a known one.
 */
export async function checkPassword(
  backend: SaslServerBackend,
  user: string,
  pass: string,
  authzid: string | undefined,
): Promise<string | null> {
  if (backend.verifyPassword) return backend.verifyPassword(user, pass, authzid);
  if (backend.getPassword) {
    const stored = await backend.getPassword(user);
    const match = secretsEqual(stored ?? '\0unknown user\0', pass);
    return stored !== null && match ? user : null;
  }
  return null;
}
