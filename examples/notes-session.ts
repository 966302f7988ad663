/**
 * The session from the notes this project grew from: log in with USER/PASS, then
 * STAT, LIST, UIDL 1, RETR 3 and QUIT, printing every reply. With PIPELINING the
 * five commands go out together, as in the notes' single packet.
 *
 *   POP3_HOST=127.0.0.1 POP3_PORT=1110 POP3_USER=alice POP3_PASSWORD=... \
 *   POP3_TLS=starttls npx tsx examples/notes-session.ts
 *
 * Set POP3_CA to a PEM file to trust a private CA (e.g. a test server's self-signed
 * certificate); with POP3_TLS=none the password is sent in cleartext, so the example
 * needs POP3_INSECURE=1 as well.
 */
import { readFileSync } from 'node:fs';
import { Pop3Client, type TlsMode } from '../src/index.js';

const env = process.env;
const client = await Pop3Client.connect({
  host: env.POP3_HOST ?? '127.0.0.1',
  port: env.POP3_PORT ? Number(env.POP3_PORT) : undefined,
  tls: (env.POP3_TLS as TlsMode | undefined) ?? 'implicit',
  tlsOptions: env.POP3_CA ? { ca: readFileSync(env.POP3_CA) } : undefined,
  allowInsecureAuth: env.POP3_INSECURE === '1',
  auth: { user: env.POP3_USER ?? 'alice', pass: env.POP3_PASSWORD ?? '', mechanism: 'USER' },
  // Print the dialogue as it happens; the password shows as ***.
  onTrace: (e) =>
    console.log(`${e.dir}: ${e.line}${e.body ? `  (${e.body.octets} octets, ${e.body.lines} lines)` : ''}`),
});

// Issue everything at once; replies come back in order.
const [stat, list, uid1, message3] = await Promise.all([
  client.stat(),
  client.list(),
  client.uidl(1),
  client.retrBuffer(3),
]);
await client.quit();

console.log('\nSTAT', stat);
console.log('LIST', list);
console.log('UIDL 1', uid1);
console.log(`RETR 3: ${message3.length} octets\n${message3.toString('utf8').slice(0, 400)}`);
