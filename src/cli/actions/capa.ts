import { printable } from '../../protocol/errors.js';
import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { print, printJson } from '../output.js';
import { withSession } from '../session.js';

export interface CapaFlags extends ConnectFlags {
  login?: boolean;
}

export async function run(url: string | undefined, flags: CapaFlags): Promise<void> {
  const { url: u } = splitUrl([url]);
  await withSession(
    flags,
    u,
    async ({ client, target }) => {
      const caps = client.capabilities;
      const tls = client.tls;
      if (flags.json) {
        printJson({
          host: target.host,
          port: target.port,
          tls: tls ?? null,
          greeting: client.greeting,
          loggedIn: client.mechanism !== undefined,
          mechanism: client.mechanism ?? null,
          capabilities: caps.toJSON(),
        });
        return;
      }
      const lines = [`Server:   ${target.host}:${target.port}`];
      lines.push(
        tls
          ? `TLS:      ${tls.version} ${tls.cipher}, certificate CN=${printable(tls.subject, 200)}\n          sha256:${tls.fingerprint256}`
          : 'TLS:      none (cleartext)',
      );
      if (client.greeting) lines.push(`Greeting: ${printable(client.greeting, 600)}`);
      if (client.mechanism) lines.push(`Login:    ${client.mechanism}`);
      lines.push('Capabilities:');
      const names = caps.names;
      if (names.length === 0) lines.push('  (none: the server answered CAPA with -ERR)');
      for (const name of names)
        lines.push(`  ${printable([name, ...(caps.args(name) ?? [])].join(' '), 600)}`);
      print(lines.join('\n'));
    },
    { login: flags.login ?? false },
  );
}
