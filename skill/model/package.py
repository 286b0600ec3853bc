"""The ASK CLI skill package (manifest, ask-resources.json) and writing the model files.

Skill package: https://developer.amazon.com/docs/smapi/skill-package-api-reference.html
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ..intent_map import IntentMap
from ..phrases import counted
from .generate import generate_models
from .locales import pick_strict, render_model

#: Skill manifest: https://developer.amazon.com/docs/smapi/skill-manifest.html
MANIFEST_VERSION: Final = "1.0"
SSL_CERTIFICATE_TYPES: Final = ("Wildcard", "Trusted", "SelfSigned")
#: Alexa calls a custom skill's HTTPS endpoint on this port only:
#: https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html
ALEXA_HTTPS_PORT: Final = 443
#: Tunnel hosts whose certificate is a wildcard one for the parent domain (``sslCertificateType: Wildcard``).
WILDCARD_HOST_SUFFIXES: Final = (".ngrok.io", ".ngrok.app", ".ngrok-free.app", ".ngrok.dev", ".ngrok-free.dev")
#: ASK CLI v2 project file: https://github.com/alexa/ask-cli/blob/develop/docs/concepts/Alexa-Skill-Project-Definition.md
ASK_RESOURCES_VERSION: Final = "2020-03-31"

#: What the ASK CLI package tells people about the skill, per language.
_LISTING: Final[Mapping[str, Mapping[str, str]]] = {
    "en": {
        "summary": "Send notifications to your phones with Pushover, by voice.",
        "description": "Say what should reach whom, and the skill sends it as a Pushover notification: "
        "a message, a location request or an emergency alert that repeats until someone acknowledges it.",
        "open": "Alexa, open {name}",
        "request": "Alexa, ask {name} to {sample}",
        "keywords": "pushover, notifications, messages",
    },
    "de": {
        "summary": "Sende per Sprache Benachrichtigungen mit Pushover an deine Telefone.",
        "description": "Sag, was wen erreichen soll, und der Skill sendet es als Pushover-Benachrichtigung: "
        "eine Nachricht, eine Standortabfrage oder einen Notruf, der sich wiederholt, bis ihn jemand bestätigt.",
        "open": "Alexa, öffne {name}",
        "keywords": "pushover, benachrichtigungen, nachrichten",
    },
}
_TESTING_INSTRUCTIONS: Final = "Set PUSHOVER_TOKEN and PUSHOVER_USER on the endpoint, then say the example phrases."


def certificate_type(endpoint: str) -> str | None:
    """``sslCertificateType`` for an HTTPS endpoint: Wildcard for tunnel hosts, else Trusted; None for Lambda."""
    if endpoint.startswith("arn:"):
        return None
    host = (urlsplit(endpoint).hostname or "").lower()
    return "Wildcard" if host.endswith(WILDCARD_HOST_SUFFIXES) else "Trusted"


def check_endpoint(endpoint: str) -> str | None:
    """Why ``endpoint`` cannot be a custom skill endpoint, or None."""
    if endpoint.startswith("arn:aws:lambda:"):
        return None
    parts = urlsplit(endpoint)
    if parts.scheme != "https" or not parts.hostname:
        return f"--endpoint must be an https:// URL or an AWS Lambda ARN, not {endpoint!r}"
    try:
        port = parts.port
    except ValueError:
        return f"--endpoint {endpoint!r} has no valid port"
    if port not in (None, ALEXA_HTTPS_PORT):
        return (
            f"--endpoint {endpoint!r}: Alexa calls HTTPS endpoints on port {ALEXA_HTTPS_PORT} only, not {port}; "
            f"put a reverse proxy or tunnel on {ALEXA_HTTPS_PORT} in front of `serve` and give its URL without a port"
        )
    return None


#: The manifest permission behind the developer console's "Skills Personalization" switch.
PERSON_ID_PERMISSION: Final = "alexa::person_id:read"


def build_skill_manifest(
    imap: IntentMap, locales: Iterable[str], endpoint: str, *, ssl_certificate_type: str | None = None
) -> dict[str, Any]:
    """``skill-package/skill.json``: the manifest with the endpoint and a listing per locale."""
    listing: dict[str, Any] = {}
    for locale in locales:
        words = _LISTING.get(locale.split("-")[0], _LISTING["en"])
        name = (pick_strict(imap.invocation_names, locale) or "").strip()
        phrases = [words["open"].format(name=name)]
        if "request" in words:
            for spec in imap.intents.values():
                samples = pick_strict(spec.samples, locale) or []
                plain = [s for s in samples if "{" not in s]
                if plain and not spec.name.startswith("AMAZON.") and len(phrases) < 3:
                    phrases.append(words["request"].format(name=name, sample=plain[0]))
        listing[locale] = {
            "name": name.title(),
            "summary": words["summary"],
            "description": words["description"],
            "examplePhrases": phrases,
            "keywords": [word.strip() for word in words["keywords"].split(",")],
        }
    endpoint_obj: dict[str, str] = {"uri": endpoint}
    cert = certificate_type(endpoint) and (ssl_certificate_type or certificate_type(endpoint))
    if cert:
        endpoint_obj["sslCertificateType"] = cert
    manifest: dict[str, Any] = {
        "manifestVersion": MANIFEST_VERSION,
        "publishingInformation": {
            "locales": listing,
            "isAvailableWorldwide": True,
            "distributionCountries": [],
            "testingInstructions": _TESTING_INSTRUCTIONS,
        },
        "apis": {"custom": {"endpoint": endpoint_obj}},
    }
    if imap.people:  # the console's "Skills Personalization" switch: Alexa then sends who is speaking
        manifest["permissions"] = [{"name": PERSON_ID_PERMISSION}]
    return {"manifest": manifest}


def build_ask_resources() -> dict[str, Any]:
    """``ask-resources.json``: skill metadata only; the endpoint is self-hosted, so no code or infrastructure."""
    return {
        "askcliResourcesVersion": ASK_RESOURCES_VERSION,
        "profiles": {"default": {"skillMetadata": {"src": "./skill-package"}}},
    }


# --------------------------------------------------------------------------- write


def write_models(
    imap: IntentMap,
    out: str | os.PathLike[str],
    *,
    ask_cli: str | os.PathLike[str] | None = None,
    endpoint: str | None = None,
    ssl_certificate_type: str | None = None,
) -> int:
    """Write ``<out>/<locale>.json`` (and an ASK CLI project); the exit status."""
    if not imap.invocation_names:
        _say_error(
            f"{imap.path}: no invocation_name; add one (e.g. `invocation_name: family notes`) to generate a model"
        )
        return 1
    if not any(spec.samples for spec in imap.intents.values()):
        _say_error(f"{imap.path}: no intent has samples, so there is no model to generate")
        return 1
    if ask_cli is not None:
        reason = "--ask-cli needs --endpoint" if not endpoint else check_endpoint(endpoint)
        if ssl_certificate_type is not None and ssl_certificate_type not in SSL_CERTIFICATE_TYPES:
            reason = f"sslCertificateType must be one of {', '.join(SSL_CERTIFICATE_TYPES)}"
        if reason:
            _say_error(reason)
            return 2
    generated = generate_models(imap)
    for problem in generated.problems:
        print(problem, file=sys.stderr)
    if generated.errors:
        print(f"nothing written: {counted(len(generated.errors), 'problem')} to fix first", file=sys.stderr)
        return 1
    directory = os.fspath(out)
    for locale, text in generated.texts.items():
        _write(os.path.join(directory, f"{locale}.json"), text)
    if ask_cli is not None:
        assert endpoint is not None
        root = os.fspath(ask_cli)
        package = os.path.join(root, "skill-package")
        manifest = build_skill_manifest(imap, generated.texts, endpoint, ssl_certificate_type=ssl_certificate_type)
        _write(os.path.join(package, "skill.json"), render_model(manifest))
        for locale, text in generated.texts.items():
            _write(os.path.join(package, "interactionModels", "custom", f"{locale}.json"), text)
        resources = os.path.join(root, "ask-resources.json")
        if os.path.exists(resources):
            print(f"kept {resources} (it may hold your profiles)")
        else:
            _write(resources, render_model(build_ask_resources()))
    return 0


def _write(path: str, text: str) -> None:
    """Write atomically, so a half-written model never reaches the console or a commit."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    temp = f"{path}.tmp"
    with open(temp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
    os.replace(temp, path)
    print(f"wrote {path}")


def _say_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
