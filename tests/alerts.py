"""What the emergency-loop tests share (web service, Lambda, CLI): the alert intents and a clock to move."""

from __future__ import annotations

import time

#: An emergency alert, the intent that asks whether it was acknowledged and the one that cancels it.
ALERT_MAP = """
intents:
  EmergencyIntent:
    samples: ["raise the alarm"]
    notify: {message: "Help!", priority: 2, retry: 30, expire: 300, target: pixel3}
  AlertStatusIntent:
    samples: ["did anyone acknowledge"]
    alert_status: EmergencyIntent
  CancelAlertIntent:
    samples: ["all clear"]
    cancel_alerts: EmergencyIntent
"""


class Clock:
    """A clock the test moves by hand (``clock.now += 300``), starting at the current whole second."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now
