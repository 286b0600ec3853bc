"""``python -m bench.deadline [N]``: how long N people at once wait while Pushover is slow, hangs or is down.

A real ``python -m skill serve --no-verify`` and the fake Pushover (tests/fake_pushover.py) on
loopback; N requests (default 64) posted at once, each on its own connection, timed at the client.
Modes: every message accepted 3 s late (one notification per request); Pushover never answering
(three notifications and a device check per request); Pushover down (503). The promise
(docs/reliability.md, "The deadline") is every answer within 6.5 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from tests.fake_pushover import TOKEN, USER, FakePushover
from tests.test_serve import serving
from tests.test_serve_deadline import INTENTS, ask_at_once, body

PROMISE_S = 6.5


def main(argv: list[str]) -> int:
    """Print one line per mode: answers, median and slowest wait, how many within the promise."""
    n = int(argv[0]) if argv else 64
    with tempfile.TemporaryDirectory() as tmp, FakePushover() as fake:
        tmp_path = Path(tmp)
        (tmp_path / "intents.yaml").write_text(INTENTS, encoding="utf-8")
        env = {
            "PUSHOVER_API_URL": fake.url, "PUSHOVER_TOKEN": TOKEN, "PUSHOVER_USER": USER,
            "OUTBOX_PATH": str(tmp_path / "outbox.sqlite3"), "LOG_FORMAT": "json",
        }  # fmt: skip
        with serving(tmp_path, "--no-verify", "--intent-map", str(tmp_path / "intents.yaml"), env=env) as served:
            modes = [
                ("slow: accepted 3 s late, 1 notification", lambda: fake.slow(3.0), "ShoppingIntent"),
                ("hanging: never answers, 3 notifications + device check", lambda: fake.slow(None), "EveryoneIntent"),
                ("down: 503", fake.down, "ShoppingIntent"),
            ]
            print(f"{n} requests at once, timed at the client; promise: every answer within {PROMISE_S} s")
            for name, start_mode, intent in modes:
                fake.up()
                start_mode()
                bodies = [body(intent, Item=f"item {i}", Text=f"text {i}", Device="pixel 3") for i in range(n)]
                answers = ask_at_once(served.url, bodies)
                took = sorted(a.took_s for a in answers)
                within = sum(a.status == 200 and a.took_s <= PROMISE_S for a in answers)
                print(
                    f"  {name:55s} 200s {sum(a.status == 200 for a in answers):3d}/{n}  "
                    f"median {statistics.median(took):5.2f} s  slowest {took[-1]:5.2f} s  within {within}/{n}"
                )
            fake.up()
            served.proc.terminate()
            served.proc.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
