"""Alexa custom-skill backend that turns voice intents into Pushover notifications."""

from .const import VERSION

__version__ = VERSION
__all__ = ["__version__"]
