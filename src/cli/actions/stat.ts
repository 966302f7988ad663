import { splitUrl } from '../connection-args.js';
import type { ConnectFlags } from '../connection-options.js';
import { humanSize, print, printJson } from '../output.js';
import { withSession } from '../session.js';

export async function run(url: string | undefined, flags: ConnectFlags): Promise<void> {
  await withSession(flags, splitUrl([url]).url, async ({ client }) => {
    const stat = await client.stat();
    if (flags.json) printJson(stat);
    else
      print(
        `${stat.count} message${stat.count === 1 ? '' : 's'}, ${stat.octets} octets (${humanSize(stat.octets)})`,
      );
  });
}
