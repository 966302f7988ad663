#!/usr/bin/env python3
"""The Python contender: the standard library's poplib in a plain loop, each message written to a
Maildir as a delivery agent would (tmp/, fsync, rename into new/).

  poplib_fetch.py '{"host":..,"port":..,"tls":true,"caFile":..,"user":..,"maildir":..,"timeout":..}'
The password comes from the environment (POP3_BENCH_PASS), never from argv.
"""
import json
import os
import poplib
import ssl
import sys
import time


def main() -> int:
    args = json.loads(sys.argv[1])
    if args['tls']:
        ctx = ssl.create_default_context(cafile=args['caFile'])
        pop = poplib.POP3_SSL(args['host'], args['port'], context=ctx, timeout=args['timeout'])
    else:
        pop = poplib.POP3(args['host'], args['port'], timeout=args['timeout'])
    pop.user(args['user'])
    pop.pass_(os.environ['POP3_BENCH_PASS'])
    count, _ = pop.stat()
    maildir = args['maildir']
    stamp = f'{int(time.time())}.P{os.getpid()}'
    for n in range(1, count + 1):
        _, lines, _ = pop.retr(n)
        name = f'{stamp}Q{n}.bench'
        tmp = os.path.join(maildir, 'tmp', name)
        with open(tmp, 'xb') as f:
            for line in lines:
                f.write(line)
                f.write(b'\n')
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(maildir, 'new', name))
    pop.quit()
    return 0


if __name__ == '__main__':
    sys.exit(main())
