"""What every listener shares: one `Request` (the database, the acting member, where to
answer), and `acks_then`, which makes a listener that acks at once and works after.

A listener is as thin as Slack's starter template's: ack, call one operation, answer. The
work after the ack runs on the listener pool (bot.app.ListenerPool), never on the HTTP
thread Slack's 3 seconds wait for; a refusal or a crash there is shown to the member where
they asked (bot.answering), and the Homes the change touched are republished after it.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import answering
from bot.answering import Origin
from bot.forms import FormField
from bot.homes import HomeRefresher
from bot.settings import Settings
from storage.db import Database, passed_over
from storage.errors import DomainError, NotFound
from storage.homes import touched_homes
from storage.sessions import create_session, take_session
from storage.users import KNOWN_MEMBERS, Actor, ensure_user

passed_over(__name__)  # a listener's writes are timed under the listener's own name

MODAL_KIND = "modal"
MODAL_TTL = timedelta(hours=12)


def attach(
    db: Database, settings: Settings, work: Executor, homes: HomeRefresher
) -> Callable[..., Any]:
    """Global middleware: what every listener needs, in every request's context."""

    def attach_parts(context: BoltContext, next: Callable[[], None]) -> None:
        context["db"] = db
        context["settings"] = settings
        context["work"] = work
        context["homes"] = homes
        next()

    return attach_parts


@dataclass
class Request:
    """One Slack request, as its listener and the work after its ack see it. `origin` is
    where answers go: where the request came from, or (once `recall` has read a submitted
    modal's token) where that modal was opened."""

    body: dict[str, Any]
    context: BoltContext
    client: WebClient
    origin: Origin
    touched: list[tuple[str, str]] = field(default_factory=list)  # Homes to republish

    @classmethod
    def of(cls, body: dict[str, Any], context: BoltContext, client: WebClient) -> Request:
        return cls(body, context, client, Origin.of(body))

    @property
    def db(self) -> Database:
        return self.context["db"]

    @property
    def settings(self) -> Settings:
        return self.context["settings"]

    @property
    def user_id(self) -> str:
        if not self.context.user_id:
            raise DomainError("This request carries no user, so nothing can be done with it.")
        return self.context.user_id

    @property
    def team_id(self) -> str:
        """The workspace every operation of this request is scoped to."""
        team = self.context.team_id or self.context.enterprise_id
        if not team:
            raise DomainError("This request carries no workspace, so nothing can be done with it.")
        return team

    def actor(self, s: Session) -> Actor:
        """The member sending this request (created on first sight; a workspace's first is
        ADMIN)."""
        return ensure_user(s, self.team_id, self.user_id)

    def known_actor(self, s: Session) -> Actor | None:
        """The member sending this request if already known (reads only), else None."""
        try:
            return KNOWN_MEMBERS.actor(s, self.team_id, self.user_id)
        except NotFound:
            return None

    @contextlib.contextmanager
    def write(self, *, refresh: bool = True, operation: str | None = None) -> Iterator[Session]:
        """A write transaction; once it commits, the Homes its changes touched are
        republished (with `refresh=False`, when `refresh_homes` is called). It is timed
        under `operation` (default: the function that opened it)."""
        with self.db.write(operation) as s:
            yield s
            self.touched += touched_homes(s)
        if refresh:
            self.refresh_homes()

    def refresh_homes(self) -> None:
        """Republish the Homes the writes so far touched: at once for a member who acted
        from their Home (they are looking at it), the others' after a short delay."""
        touched, self.touched = self.touched, []
        if touched:
            now = self.user_id if self.origin.in_view else None
            self.context["homes"].refresh_all(self.db, self.client, touched, now=now)

    def answer(
        self,
        message: dict[str, Any],
        *,
        replace: bool = False,
        public: bool = False,
        origin: Origin | None = None,
    ) -> Origin:
        """Show `message` where the request (or `origin`, a modal's opener) came from."""
        return answering.answer(
            self.client, origin or self.origin, message, replace=replace, public=public
        )

    def open_modal(self, view: dict[str, Any]) -> None:
        """Open `view` with this request's trigger (valid for 3 seconds after the click)."""
        self.client.views_open(trigger_id=self.body["trigger_id"], view=view)

    # -- what a modal's submission needs, kept behind the token in its private_metadata ----
    def remember(self, s: Session, actor: Actor, **data: Any) -> str:
        """Keep `data` and where the modal was opened from; returns the token for the modal."""
        kept = {**data, "origin": self.origin.kept()}
        return create_session(s, actor, MODAL_KIND, kept, MODAL_TTL)

    def recall(self, s: Session, actor: Actor) -> dict[str, Any]:
        """What the submitted modal's opener kept; from now on this request answers where
        the modal was opened from (its `origin`). The token is spent with this write."""
        token = (self.body.get("view") or {}).get("private_metadata") or ""
        data = take_session(s, actor, token, MODAL_KIND)
        # (a modal opened before origins were kept under "origin" kept them at the top)
        opener = Origin.from_kept(data.get("origin") or data)
        if not opener.user_id:
            opener = dataclasses.replace(opener, user_id=self.user_id)
        self.origin = opener
        return data


def acks_then(work: Callable[[Request], None]) -> Callable[..., None]:
    """A listener that acks at once and runs `work(request)` on the listener pool after the
    ack; a refusal or a crash there is shown to the member where they asked."""

    def listener(ack: Any, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        after_ack(context, run_shown, work=work, request=Request.of(body, context, client))

    # Bolt passes arguments by the listener's parameter names: keep them, name it after work
    listener.__name__ = listener.__qualname__ = work.__name__
    return listener


def submits(
    save: Callable[[Request, Session], Callable[[Request], None] | None],
    *,
    fields: list[str],
    fallback: tuple[str, ...],
    form: tuple[FormField, ...] | None = None,
) -> Callable[..., None]:
    """A modal-submission listener. `save(request, s)` writes, in one transaction, before
    the ack: a refusal keeps the modal open with errors under its fields (nothing saved).
    Else the ack closes the modal, and what `save` returned runs after it (the answer).

    `fields` are the form's inputs (the view's own input blocks count when it has them);
    an error that names none goes under the first of `fallback` present in the view."""

    operation = f"{save.__module__}.{save.__qualname__}"  # what the metrics call its write

    def listener(ack: Any, body: dict, context: BoltContext, client: WebClient) -> None:
        request = Request.of(body, context, client)
        shown = input_block_ids(body.get("view") or {}) or fields
        under = next((name for name in fallback if name in shown), shown[0])
        with (
            answering.inline_errors(ack, shown, under, form) as outcome,
            request.write(refresh=False, operation=operation) as s,
        ):
            then = save(request, s)
        if not outcome["ok"]:
            return
        ack()
        request.refresh_homes()
        if then is not None:
            after_ack(context, run_shown, work=then, request=request)

    listener.__name__ = listener.__qualname__ = save.__name__
    return listener


def input_block_ids(view: dict[str, Any]) -> list[str]:
    """The block ids of a view's inputs: the fields an inline error may be put under."""
    return [b.get("block_id", "") for b in view.get("blocks") or [] if b.get("type") == "input"]


def after_ack(context: BoltContext, work: Callable[..., Any], /, **kwargs: Any) -> None:
    """Run `work(**kwargs)` on the listener pool once this listener has returned (Slack gets
    the ack when it returns). Only listeners call this, never work already on the pool (a
    full pool would wait on itself)."""
    context["work"].submit(work, **kwargs)


def run_shown(work: Callable[[Request], None], request: Request) -> None:
    """`work(request)`, with a refusal or a crash shown to the member, never raised."""
    try:
        work(request)
    except Exception as exc:
        answering.tell_failure(request.client, request.origin, exc, work.__name__)
