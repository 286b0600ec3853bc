"""What the web app holds and shows, without Flask: SkillExtension, its wiring for a (re)loaded map, /healthz."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ask_sdk_core.skill import CustomSkill

from . import alexa, const
from .config import Credentials, Settings
from .errors import OutboxError
from .intent_map import IntentMap
from .outbox import Outbox, PendingItem
from .pushover import Message, SendResult
from .receipts import ReceiptBook
from .recent import RecentRequests
from .reloader import Generation, MapHolder
from .service import Service
from .verify import RequestVerifier

# The web service's log lines keep its name, wherever their code lives.
logger = logging.getLogger("skill.web")


@dataclass
class SkillExtension:
    """What ``create_app()`` wired together, kept at ``app.extensions["skill"]``."""

    settings: Settings
    #: the current intent map with its service and skill (skill.reloader); a reload swaps it
    holder: MapHolder
    verifier: RequestVerifier
    #: The durable outbox (skill.outbox): transient failures wait there; its worker runs in ``run_server``.
    outbox: Outbox | None = None
    #: Emergency receipts (skill.receipts), in the outbox's file.
    receipts: ReceiptBook | None = None
    #: The installation's callback secret, when ``PUBLIC_URL`` is set (never logged in full).
    callback_secret: str | None = field(default=None, repr=False)
    #: Called by ``close()`` in reverse order, for whatever a later component opens.
    closers: list[Callable[[], None]] = field(default_factory=list, repr=False)
    #: The last requests, for the dashboard (skill.ui).
    recent: RecentRequests = field(default_factory=RecentRequests, repr=False)

    @property
    def service(self) -> Service:
        """The service of the current map (read once per request: a reload may swap it)."""
        service: Service = self.holder.current.service
        return service

    @property
    def skill(self) -> CustomSkill:
        """The ASK SDK skill of the current map."""
        skill: CustomSkill = self.holder.current.skill
        return skill

    def close(self) -> None:
        """Release the HTTP sessions (and anything in ``closers``); safe to call twice."""
        for close in [*reversed(self.closers), self.verifier.close, self.service.close]:
            try:
                close()
            except Exception:  # one failing close must not leak the others
                logger.warning("error while closing %r", close, exc_info=True)
        self.closers.clear()


def build_generation(settings: Settings, imap: IntentMap, old: Generation | None) -> tuple[Service, CustomSkill]:
    """The service and skill for a (re)loaded map; a reload keeps the Pushover client, the outbox, the
    receipts and the unknown ids seen so far."""
    if old is None:
        service = Service(imap, settings)
    else:
        previous: Service = old.service
        same_files = (imap.attachment_dirs, imap.attachment_hosts) == (
            old.intent_map.attachment_dirs,
            old.intent_map.attachment_hosts,
        )
        loader = previous.loader if same_files else None
        service = Service(
            imap, settings, client=previous.client, outbox=previous.outbox, loader=loader, receipts=previous.receipts
        )
        service.people.carry_over(previous.people)  # the unknown ids /healthz lists
    return service, alexa.build_skill(service)


def credentials_for(holder: MapHolder, notifier: str) -> Credentials | None:
    """The outbox's credentials: those of the current map (a reload may add or drop a notifier)."""
    try:
        return holder.current.service.credentials_for(notifier)
    except KeyError:
        return None


def keep_receipt(book: ReceiptBook, item: PendingItem, message: Message, result: SendResult) -> None:
    """An emergency alert the outbox delivered late is kept like one sent at once."""
    if result.receipt:
        book.record(item.intent, item.notifier, message, result.receipt)


def name_for_user_key(holder: MapHolder, user_key: str) -> str | None:
    """Who acknowledged an alert: a person of the current map's ``people:``."""
    return holder.current.service.name_for_user_key(user_key)


def health_of(ext: SkillExtension) -> dict[str, Any]:
    """What /healthz shows (and the dashboard's status page): never a secret."""
    service = ext.service
    quota = service.client.quota
    return dict(
        status="ok",
        version=const.VERSION,
        intents=len(service.intent_map.intents),
        intent_map={"path": service.intent_map.path, **ext.holder.status.as_dict()},
        dry_run=service.dry_run,
        verification=ext.verifier.verify_signature,
        skill_id_set=bool(ext.verifier.skill_id),
        pushover_quota=None
        if quota is None
        else {"limit": quota.limit, "remaining": quota.remaining, "reset": quota.reset},
        outbox=_outbox_health(ext.outbox),
        people=ext.service.people.health(),
        alerts=ext.receipts.health() if ext.receipts is not None else None,
    )


def _outbox_health(outbox: Outbox | None) -> dict[str, Any] | None:
    """How many notifications wait for a retry, and for how long the oldest has waited."""
    if outbox is None:
        return None
    try:
        depth, oldest, set_aside = outbox.depth(), outbox.oldest_age_s(), outbox.set_aside_count()
    except OutboxError:
        logger.warning("/healthz: the outbox %s cannot be read", outbox.path, exc_info=True)
        return {"depth": None, "oldest_age_s": None, "error": "the outbox cannot be read"}
    return {"depth": depth, "oldest_age_s": None if oldest is None else round(oldest, 1), "set_aside": set_aside}
