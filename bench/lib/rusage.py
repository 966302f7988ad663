#!/usr/bin/env python3
"""Runs one command and writes its cost as JSON to the file named first.

  rusage.py OUT.json -- cmd args...

wall: from spawn to exit (monotonic, excludes this wrapper's own start-up). user/sys/maxrss come
from wait4(), which on Linux covers the command and every descendant it waited for (fetchmail's
MDA children, for example); maxrss is the largest peak resident set among them, in KiB.
"""
import json
import os
import sys
import time


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != '--':
        print('usage: rusage.py OUT.json -- cmd [args...]', file=sys.stderr)
        return 2
    out_path, argv = sys.argv[1], sys.argv[3:]
    start = time.monotonic()
    pid = os.posix_spawnp(argv[0], argv, os.environ)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - start
    result = {
        'wallMs': wall * 1000,
        'userMs': ru.ru_utime * 1000,
        'sysMs': ru.ru_stime * 1000,
        'maxRssKb': ru.ru_maxrss,
        'exitCode': os.waitstatus_to_exitcode(status),
    }
    with open(out_path, 'w', encoding='utf-8') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    sys.exit(main())
