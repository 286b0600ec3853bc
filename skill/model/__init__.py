"""Alexa interaction models: generated from the intent map, and checked against it.

``python -m skill model`` writes one ``<locale>.json`` per locale in the format the developer
console's JSON editor and the ASK CLI accept; ``python -m skill check`` compares the committed
files with what generation would give, so a map edited without regenerating is caught.

The parts: ``locales`` (which locales, which per-locale value serves one, the file text),
``invocation`` (Amazon's invocation-name rules), ``generate`` (the models and what Alexa would
refuse), ``drift`` (the committed files against the map) and ``package`` (the ASK CLI skill
package, and writing the files).

Schema: https://developer.amazon.com/docs/smapi/interaction-model-schema.html
Skill package: https://developer.amazon.com/docs/smapi/skill-package-api-reference.html
"""

from __future__ import annotations

from .drift import check_models
from .generate import BUILTIN_INTENTS, DELEGATION_STRATEGY, Generated, generate_models
from .invocation import LAUNCH_PHRASES, LAUNCH_WORDS, WAKE_WORDS, invocation_name_problems
from .locales import model_locales, pick_key, pick_strict, render_model
from .package import (
    ALEXA_HTTPS_PORT,
    ASK_RESOURCES_VERSION,
    MANIFEST_VERSION,
    PERSON_ID_PERMISSION,
    SSL_CERTIFICATE_TYPES,
    WILDCARD_HOST_SUFFIXES,
    build_ask_resources,
    build_skill_manifest,
    certificate_type,
    check_endpoint,
    write_models,
)

__all__ = [
    "ALEXA_HTTPS_PORT",
    "ASK_RESOURCES_VERSION",
    "BUILTIN_INTENTS",
    "DELEGATION_STRATEGY",
    "LAUNCH_PHRASES",
    "LAUNCH_WORDS",
    "MANIFEST_VERSION",
    "PERSON_ID_PERMISSION",
    "SSL_CERTIFICATE_TYPES",
    "WAKE_WORDS",
    "WILDCARD_HOST_SUFFIXES",
    "Generated",
    "build_ask_resources",
    "build_skill_manifest",
    "certificate_type",
    "check_endpoint",
    "check_models",
    "generate_models",
    "invocation_name_problems",
    "model_locales",
    "pick_key",
    "pick_strict",
    "render_model",
    "write_models",
]
