"""Which words a person types are commands, and where a typed reply belongs.

Outside a draft a few words ask about requests already made; ``start``/``new`` always begin a
new draft; ``answer …`` is the explicit way to answer a SPOC's question (so answers given while a
draft is open never feed the draft, and draft answers never reach the SPOC).
"""

from __future__ import annotations

from collections.abc import Iterable

from flows.messages import Text
from flows.request import Request
from flows.states import RequestState

START = frozenset({"start", "new"})
HOME = frozenset({"forms", "my forms", "requests"})
STATUS = "status"
ONCALL = "oncall"
"""Who is on duty for the SPOC desk now, level by level (``/ooh oncall`` on Slack)."""

CHANNEL_ONLY = Text(
    "I only take requests in a direct message, so that no personal details are posted in a "
    "channel. Send me a direct message to start."
)
NOT_FOUND = Text("I cannot find that request. Check the reference and try again.")
START_HINT = Text("Type start to begin a new request.")
BUSY = Text("Someone else changed this request at the same moment. Please try again.")
NOT_AUTHORISED = Text(
    "You are not authorised to do that. Only officers in the nominated-officer directory with "
    "the right role can act on requests."
)


def word(text: str) -> str:
    """A typed message as a command word."""
    return text.strip().lower()


def answer_prefix(text: str) -> str | None:
    """'answer <text>' → '<text>' (the explicit way to answer a SPOC's question)."""
    head, _, rest = text.strip().partition(" ")
    return rest.strip() or None if head.lower().rstrip(":") == "answer" else None


def awaiting_answer(requests: Iterable[Request], officer_id: str) -> Request | None:
    """The request of this requester whose SPOC question is still unanswered, if any."""
    for request in requests:
        open_question = bool(request.info) and request.info[-1].answer is None
        if (
            request.requester == officer_id
            and request.state == RequestState.INFO_REQUESTED
            and open_question
        ):
            return request
    return None
