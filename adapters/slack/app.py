"""Bolt ``AsyncApp`` wiring: one listener per kind of Slack request, each a thin translation.

Replies from the engine are shown in context (``Where``): a ``Form`` opens a modal with the
request's trigger id; in a DM everything is posted in the DM; after a click in a channel a
``Text`` is shown only to the clicker (ephemeral) and anything else goes to their DM, so
personal data never lands in a channel.

Acks: Bolt answers Slack when a listener returns (``process_before_response``), and every
listener first gives the event to the engine's ``receive``, which handles it at once (one
commit) or puts it in the inbox, so an acknowledged event is a stored event: if storing fails
the listener raises, Slack gets a 500 and delivers the event again. The replies are shown in
the background (``Listeners.tasks``), where an event that went to the inbox is handled too.
A modal submission waits for the engine up to ``VIEW_DEADLINE`` so that its answer (a
corrected form, a refusal) can be shown in the modal; past that the modal closes and the
answer arrives by DM.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse

from adapters.base import Handler, NotStored, Receipt
from adapters.http_answers import failure_body, logged_error
from adapters.slack import blocks, inbound
from adapters.slack.payloads import COMMAND
from adapters.slack.sender import SlackSender, log, quiet_logger
from flows.errors import new_error_id, sorry
from flows.messages import Form, Message, Text

VIEW_DEADLINE = 2.5
SHUTDOWN_GRACE = 5.0
ANY = re.compile(".+")
IN_DM_NOTICE = "I have replied in our direct message, so that nothing personal is posted here."
Body = dict[str, Any]


@dataclass(frozen=True)
class Where:
    """Where an event happened, which decides how its replies are shown."""

    user: str
    team: str
    channel: str = ""
    trigger_id: str = ""

    @property
    def in_dm(self) -> bool:
        return inbound.is_dm_channel(self.channel)


def error_reply() -> Text:
    """The short message a person sees when something failed on our side; logs the id."""
    error_id = new_error_id()
    log.error("slack_handler_failed", error_id=error_id)
    return Text(sorry(error_id))


class Listeners:
    """The Bolt listeners: Slack payload → ``Inbound`` → engine → replies in context."""

    def __init__(self, handler: Handler, sender: SlackSender) -> None:
        self.handler = handler
        self.sender = sender
        self.tasks: set[asyncio.Task[None]] = set()

    async def ask(self, receipt: Receipt) -> list[Message]:
        """The engine, behind the one outermost error handler for Slack."""
        try:
            return await self.handler.process(receipt)
        except Exception as error:
            reply = error_reply()
            log.error("slack_handler_error", error=type(error).__name__)
            return [reply]

    async def answer(self, receipt: Receipt, where: Where) -> None:
        """Process a stored event and show its replies where it happened."""
        await self.show(receipt, await self.ask(receipt), where)

    async def show(self, receipt: Receipt, replies: Sequence[Message], where: Where) -> None:
        try:
            await self.deliver(replies, where)
        except Exception as error:  # left in the outbox: sent by message after the grace
            log.error("slack_reply_failed", error=type(error).__name__)
            return
        await self.handler.delivered(receipt)

    async def finish(self) -> None:
        """Let the events already acknowledged finish (at shutdown); what is still running
        after that is finished by the next process: replies from the outbox, an event that
        went to the inbox from there."""
        if self.tasks:
            await asyncio.wait(set(self.tasks), timeout=SHUTDOWN_GRACE)

    async def later(self, receipt: Receipt, where: Where) -> None:
        """Answer in the background; the task is kept so shutdown can wait for it. It is let
        run until it waits (the replies on their way) before the listener goes on to the ack."""
        task = asyncio.ensure_future(self.answer(receipt, where))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        await asyncio.sleep(0)

    # --- events -----------------------------------------------------------------------------

    async def on_message(self, body: Body) -> None:
        event: Body = body["event"]
        if not inbound.is_person_dm(event):
            return
        message = inbound.from_dm(body)
        receipt = await self.handler.receive(message)
        if receipt is not None:
            await self.later(receipt, Where(message.user_id, message.tenant, message.conversation))
        # Remembered for messages sent later; the replies to this one need not wait for it,
        # and the event is stored already, so a failure here must not make Slack send it again.
        try:
            await self.sender.remember_dm(message.user_id, message.tenant, message.conversation)
        except Exception as error:
            log.warning("slack_dm_not_remembered", error=type(error).__name__)

    async def on_mention(self, body: Body) -> None:
        message = inbound.from_mention(body)
        receipt = await self.handler.receive(message)
        if receipt is not None:
            await self.later(receipt, Where(message.user_id, message.tenant, message.conversation))

    async def on_home_opened(self, body: Body) -> None:
        event: Body = body["event"]
        if event.get("tab") != "home":
            return
        user, team = str(event["user"]), str(body.get("team_id") or "")
        messages = await self.handler.home("slack", user, team)
        await self.sender.publish_home(user, messages)

    # --- interactivity ------------------------------------------------------------------------

    async def on_command(self, ack: AsyncAck, body: Body) -> None:
        user, team = str(body["user_id"]), str(body.get("team_id") or "")
        known = await self.sender.known_dm(user, team)
        dm = known or await self.sender.dm_channel(user, team)
        receipt = await self.handler.receive(inbound.from_command(body, dm))
        if body.get("channel_id") == known:
            await ack()
        else:
            await ack(text=IN_DM_NOTICE)
        if receipt is not None:
            await self.later(receipt, Where(user, team, dm, str(body.get("trigger_id") or "")))

    async def on_action(self, ack: AsyncAck, body: Body) -> None:
        message = inbound.from_block_action(body)
        receipt = None if message is None else await self.handler.receive(message)
        await ack()
        if message is None or receipt is None:
            return
        where = Where(
            message.user_id,
            message.tenant,
            inbound.click_channel(body),
            str(body.get("trigger_id") or ""),
        )
        await self.later(receipt, where)

    async def on_view(self, ack: AsyncAck, body: Body) -> None:
        message = inbound.from_view_submission(body)
        where = Where(message.user_id, message.tenant)
        receipt = await self.handler.receive(message)
        if receipt is None:
            await ack()
            return
        task = asyncio.ensure_future(self.ask(receipt))
        done, _ = await asyncio.wait({task}, timeout=VIEW_DEADLINE)
        if not done:
            await ack()
            await self.show(receipt, await task, where)
            return
        replies = task.result()
        title = str((body["view"].get("title") or {}).get("text") or "oohbot")
        response, rest = view_response(replies, title)
        await ack(**response)
        await self.show(receipt, rest, where)

    # --- replies ------------------------------------------------------------------------------

    async def deliver(self, replies: Sequence[Message], where: Where) -> None:
        trigger = where.trigger_id
        for message in replies:
            if isinstance(message, Form) and trigger:
                await self.sender.open_modal(trigger, message)
                trigger = ""  # a trigger id opens one modal
            elif where.in_dm:
                await self.sender.post(where.channel, message)
            elif isinstance(message, Text) and where.channel:
                await self.sender.ephemeral(where.channel, where.user, where.team, message)
            else:
                dm = await self.sender.dm_channel(where.user, where.team)
                await self.sender.post(dm, message)


def view_response(replies: Sequence[Message], title: str) -> tuple[dict[str, Any], list[Message]]:
    """How a modal answers its submission: a form again (errors shown in its hints), the
    engine's texts in place of the form, or close. Returns ack kwargs and what is left over."""
    forms = [m for m in replies if isinstance(m, Form)]
    if forms:
        rest = [m for m in replies if m is not forms[0]]
        return {"response_action": "update", "view": blocks.modal(forms[0])}, rest
    texts = [m for m in replies if isinstance(m, Text)]
    if texts:
        rest = [m for m in replies if not isinstance(m, Text)]
        view = blocks.result_modal(title, [t.text for t in texts])
        return {"response_action": "update", "view": view}, rest
    return {}, list(replies)


async def _on_error(error: Exception) -> BoltResponse:
    """Bolt's error handler (its default logs the request body). The answer is 500 either
    way: an event the store could not take must come again; anything else was unforeseen
    and gets an error id."""
    if isinstance(error, NotStored):
        log.warning("slack_not_stored", error=str(error))
        return BoltResponse(status=500, body={"error": "not stored, send again"})
    error_id = logged_error(log, "slack_listener_error", error)
    return BoltResponse(status=500, body=failure_body(error_id))


def bolt_app(
    handler: Handler, sender: SlackSender, signing_secret: str, listeners: Listeners | None = None
) -> AsyncApp:
    """The Bolt app. Signatures are checked before Bolt sees a request (see ``routes``)."""
    app = AsyncApp(
        client=sender.client,
        signing_secret=signing_secret or None,
        request_verification_enabled=False,
        logger=quiet_logger("bolt"),
        process_before_response=True,
    )
    listeners = listeners or Listeners(handler, sender)
    app.event("message")(listeners.on_message)
    app.event("app_mention")(listeners.on_mention)
    app.event("app_home_opened")(listeners.on_home_opened)
    app.command(COMMAND)(listeners.on_command)
    app.action(ANY)(listeners.on_action)
    app.view_submission(ANY)(listeners.on_view)
    app.error(_on_error)
    return app
