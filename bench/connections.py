"""Row "connections": 100 sequential notifications through one PushoverClient cost one TCP connection."""

from __future__ import annotations

import time

from bench.harness import Figure


def measure_connections(n: int = 100) -> list[Figure]:
    """Send ``n`` messages one after another to the fake Pushover; count connections at the fake."""
    from skill.config import Credentials
    from skill.pushover import Message, PushoverClient
    from tests.fake_pushover import TOKEN, USER, FakePushover

    credentials = Credentials(TOKEN, USER)
    message = Message("The location of Paulus has been queried via Alexa.", title="Home Assistant", sound="falling")
    with FakePushover() as fake, PushoverClient(fake.url) as client:
        start = time.perf_counter()
        for _ in range(n):
            client.send(message, credentials)
        elapsed = time.perf_counter() - start
        connections, received = fake.connections, len(fake.requests_to("messages"))
    return [
        Figure(
            "connections",
            f"Pushover connections, {n} sends",
            "TCP conns",
            float(connections),
            goal=("==", 1),
            extra={"n": n, "received": received, "ms_per_send": elapsed / n * 1000},
        )
    ]
