"""The Teams turn handler: remember where people are, hand events to the engine, reply.

Replies to something said in a personal chat go back to that chat. Replies to a click in a
channel (the decision note card, "you are not authorised") go to the clicker's personal chat,
so nothing about one officer's action is posted for the whole channel; only if that chat cannot
be reached is the reply threaded under the card. One outermost handler turns any failure into
a short message with an error id and a log line without personal data.
"""

from __future__ import annotations

import traceback

from botbuilder.core import ActivityHandler, InvokeResponse, TurnContext
from botbuilder.schema import ActivityTypes
from structlog import get_logger

from adapters.base import Address, Handler, NotStored, Unreachable
from adapters.teams.cards import to_activity
from adapters.teams.inbound import to_inbound
from adapters.teams.references import References
from adapters.teams.retry import Backoff, with_retries
from adapters.teams.sender import TeamsSender, connector_of, post
from flows.errors import new_error_id, sorry
from flows.inbound import Inbound
from flows.messages import Form, Message, Text

log = get_logger(component="teams")


class TeamsBot(ActivityHandler):  # type: ignore[misc]
    """Translates activities for the engine; holds no business rule."""

    def __init__(self, handler: Handler, references: References, sender: TeamsSender) -> None:
        self._handler = handler
        self._references = references
        self._sender = sender

    @property
    def backoff(self) -> Backoff:
        return self._sender.backoff

    async def on_turn(self, turn_context: TurnContext) -> None:
        try:
            await super().on_turn(turn_context)
        except NotStored:
            raise  # not acknowledged: the route answers 503 and the activity comes again
        except Exception as error:
            await self._failed(turn_context, error)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        inbound = to_inbound(turn_context.activity)
        try:
            await self._references.remember(turn_context.activity)
        except Exception as error:
            raise NotStored(type(error).__name__) from error
        if inbound is None:
            return
        log.debug(
            "teams_inbound", kind=inbound.kind, action=inbound.action, activity=inbound.event_id
        )
        receipt = await self._handler.receive(inbound)
        if receipt is None:
            return
        for message in await self._handler.process(receipt):
            await self._reply(turn_context, inbound, message)
        await self._handler.delivered(receipt)

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """oohbot answers no invoke (its cards use ``Action.Submit``, which arrives as a
        message): one is acknowledged with an empty 200, so Teams shows no error (botbuilder
        would answer 501)."""
        return InvokeResponse(status=200)

    async def on_conversation_update_activity(self, turn_context: TurnContext) -> None:
        await self._references.remember(turn_context.activity)

    async def on_installation_update(self, turn_context: TurnContext) -> None:
        await self._references.remember(turn_context.activity)

    async def _reply(self, turn: TurnContext, inbound: Inbound, message: Message) -> None:
        in_chat = inbound.kind == "form" and not inbound.in_channel
        if in_chat and isinstance(message, Form) and await self._in_place(turn, message):
            return
        if inbound.in_channel:
            clicker = Address(
                platform="teams", kind="user", id=inbound.user_id, tenant=inbound.tenant
            )
            try:
                await self._sender.send(clicker, message)
                return
            except Unreachable:
                log.warning("teams_private_reply_unreachable", activity=inbound.event_id)
        reference = TurnContext.get_conversation_reference(turn.activity)
        await post(turn, reference, message, self.backoff)

    async def _in_place(self, turn: TurnContext, form: Form) -> bool:
        """A form sent back (with its errors) replaces the card it was submitted from, as the
        console and Slack do, instead of arriving as a second copy. False if it cannot."""
        card_id = turn.activity.reply_to_id
        if not card_id:
            return False
        reference = TurnContext.get_conversation_reference(turn.activity)
        activity = TurnContext.apply_conversation_reference(to_activity(form), reference)
        activity.id, activity.reply_to_id = card_id, None
        conversation = str(reference.conversation.id)
        operations = connector_of(turn).conversations
        try:
            await with_retries(
                lambda: operations.update_activity(conversation, card_id, activity),
                self.backoff,
                "update",
            )
        except Exception as error:  # an old card Teams will not update: send a new one
            log.warning("teams_form_update_failed", error=type(error).__name__)
            return False
        return True

    async def _failed(self, turn: TurnContext, error: Exception) -> None:
        error_id = new_error_id()
        where = [f"{f.filename}:{f.lineno}" for f in traceback.extract_tb(error.__traceback__)]
        log.error(
            "teams_turn_failed", error_id=error_id, error=type(error).__name__, where=where[-5:]
        )
        if turn.activity.type != ActivityTypes.message:
            return
        reply = Text(sorry(error_id))
        try:
            reference = TurnContext.get_conversation_reference(turn.activity)
            await post(turn, reference, reply, self.backoff)
        except Exception:
            log.error("teams_error_reply_failed", error_id=error_id)
