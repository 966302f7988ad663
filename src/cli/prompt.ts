import { createInterface } from 'node:readline';
import { CliError, EXIT } from './exit-codes.js';

/** Ask a yes/no question on the terminal (stderr); only y or yes is yes. Ctrl-C interrupts. */
export function confirm(question: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let answered = false;
    rl.on('SIGINT', () => {
      rl.close();
      reject(new CliError('interrupted', EXIT.INTERRUPTED));
    });
    rl.on('close', () => {
      if (!answered) resolve(false);
    });
    rl.question(`${question} [y/N] `, (answer) => {
      answered = true;
      rl.close();
      resolve(/^\s*y(es)?\s*$/i.test(answer));
    });
  });
}
