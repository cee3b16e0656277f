#!/usr/bin/python3
"""Maintenance commands of the example shop, run by opsctl-port as jobs
(docs/sidecar.md, "exec"): each prints its progress line by line (the job's
log) and exits non-zero when it fails (the job's result).

    python3 maintenance.py purge --prefix test-     delete items named test-…
    python3 maintenance.py vacuum                   rebuild the database file
"""
import argparse
import os
import sqlite3
import sys


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    purge = sub.add_parser("purge")
    purge.add_argument("--prefix", required=True)
    sub.add_parser("vacuum")
    a = p.parse_args()
    db = os.environ.get("APP_DB", "var/app.db")
    if not os.path.exists(db):
        print(f"no database at {db}", file=sys.stderr)
        return 3
    with sqlite3.connect(db) as c:
        if a.command == "purge":
            # The prefix is data: a bound parameter, with LIKE's wildcards escaped.
            pattern = a.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            ids = [r[0] for r in c.execute("SELECT id FROM items WHERE name LIKE ? ESCAPE '\\'", (pattern,))]
            print(f"{len(ids)} item(s) named {a.prefix!r}…", flush=True)
            for i in ids:
                c.execute("DELETE FROM items WHERE id = ?", (i,))
                print(f"deleted item {i}", flush=True)
            print(f"purged {len(ids)} item(s)", flush=True)
        else:
            print("vacuum: rebuilding the database file", flush=True)
            c.execute("VACUUM")
            print("vacuum: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
