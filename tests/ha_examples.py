"""Home Assistant's own Pushover example, shared by the loader's tests and ``init --from``'s."""

from __future__ import annotations

#: The ``LocateIntent`` entry of the Home Assistant Pushover docs' ``alexa: intents:`` block, as it
#: stands there (indented under ``intents:``), without its ``attachment:`` line.
HA_DOCS_LOCATE_INTENT = """\
    LocateIntent:
      action:
        action: notify.notify
        data:
          message: "The location of {{ User }} has been queried via Alexa."
          title: "Home Assistant"
          target: pixel
          data:
            sound: falling
            url: "https://www.home-assistant.io/"
"""

#: The docs' whole example, verbatim.
HA_PUSHOVER_DOCS = (
    "# Example configuration.yaml entries\nalexa:\n  intents:\n"
    + HA_DOCS_LOCATE_INTENT
    + '            attachment: "/tmp/image.png"\n'
)
