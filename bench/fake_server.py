"""The fake Pushover (tests/fake_pushover.py) in a process of its own, driven over stdin/stdout.

In the bench process it would share a GIL with the load generator's threads, and each would
slow the other. Commands, one per line: ``reset`` forgets what was received; ``stats`` prints
``{"messages": …, "requests": …, "connections": …}``. End of input stops it.
"""

from __future__ import annotations

import json
import sys


def main() -> int:
    from tests.fake_pushover import FakePushover

    with FakePushover() as fake:
        print(json.dumps({"url": fake.url}), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "reset":
                fake.reset_records()
                print(json.dumps({"ok": True}), flush=True)
            elif command == "stats":
                stats = {
                    "messages": len(fake.requests_to("messages")),
                    "requests": len(fake.requests),
                    "connections": fake.connections,
                }
                print(json.dumps(stats), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
