#!/usr/bin/env python3
"""Download a whole POP3 mailbox with Python's poplib (USER/PASS over STLS, implicit TLS or none).

Each message is written as <out>/<n>.eml: the lines RETR returned (poplib unstuffs them) joined
with CRLF, each ended by CRLF, i.e. the message's wire form before dot-stuffing. Prints one JSON
line: {"count", "messages": [{"n", "uid", "listed", "octets", "file"}]}, where `listed` is LIST's
size and `octets` what poplib counted. Password from $POP3KIT_PASS (never on the command line).
With --delete, each message is DELEd after it was written, then QUIT commits.
"""
import argparse
import json
import os
import poplib
import ssl
import sys


class _Pop3Tls(poplib.POP3_SSL):
    """POP3_SSL that checks the certificate against a given name instead of the connect address."""

    def __init__(self, servername, *args, **kwargs):
        self._servername = servername
        super().__init__(*args, **kwargs)

    def _create_socket(self, timeout):
        sock = poplib.POP3._create_socket(self, timeout)
        return self.context.wrap_socket(sock, server_hostname=self._servername)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--user', required=True)
    ap.add_argument('--tls', choices=['starttls', 'implicit', 'none'], required=True)
    ap.add_argument('--cafile')
    ap.add_argument('--servername')
    ap.add_argument('--out', required=True)
    ap.add_argument('--delete', action='store_true')
    ap.add_argument('--timeout', type=float, default=60.0)
    args = ap.parse_args()
    password = os.environ.get('POP3KIT_PASS')
    if password is None:
        print('POP3KIT_PASS is not set', file=sys.stderr)
        return 2

    if args.tls != 'none' and not args.cafile:
        print('--cafile is required with TLS', file=sys.stderr)
        return 2
    ctx = ssl.create_default_context(cafile=args.cafile) if args.tls != 'none' else None
    if ctx:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    servername = args.servername or args.host
    if args.tls == 'none':
        pop = poplib.POP3(args.host, args.port, timeout=args.timeout)
    elif args.tls == 'implicit':
        pop = _Pop3Tls(servername, args.host, args.port, timeout=args.timeout, context=ctx)
    else:
        pop = poplib.POP3(args.host, args.port, timeout=args.timeout)
        pop.host = servername  # poplib checks the certificate against .host; the socket is already open
        pop.stls(context=ctx)
    pop.user(args.user)
    pop.pass_(password)

    listed = {}
    for entry in pop.list()[1]:
        n, size = entry.split()
        listed[int(n)] = int(size)
    uids = {}
    for entry in pop.uidl()[1]:
        n, uid = entry.split()
        uids[int(n)] = uid.decode('ascii')

    os.makedirs(args.out, exist_ok=True)
    report = []
    for n in sorted(listed):
        _, lines, octets = pop.retr(n)
        data = b''.join(line + b'\r\n' for line in lines)
        path = os.path.join(args.out, '%06d.eml' % n)
        with open(path, 'wb') as f:
            f.write(data)
        report.append({'n': n, 'uid': uids.get(n), 'listed': listed[n], 'octets': octets, 'file': path})
        if args.delete:
            pop.dele(n)
    pop.quit()
    print(json.dumps({'count': len(report), 'messages': report}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
