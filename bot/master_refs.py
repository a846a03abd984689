"""The master reference an update names (MH1 "Master unique reference"; protocol §2.3, §10.6):
looked up in the store by its key, so the pure conversation can check it exists and whose it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from flows.conversation import Session
from flows.inbound import Inbound
from flows.reference import MASTER_REF, try_reference
from flows.request import Request
from store.base import Store


async def looked_up(
    store: Store, session: Session | None, inbound: Inbound
) -> Mapping[str, tuple[str, ...]]:
    """``{reference: (its organisation, on behalf of)}`` for the reference typed in answer to the
    master-reference question; empty otherwise, or when there is no such request. One indexed
    read (``get_request``), never a scan."""
    if session is None or session.asking != MASTER_REF or inbound.kind != "text":
        return {}
    ref = try_reference(inbound.text)
    stored = await store.get_request(ref) if ref else None
    if ref is None or stored is None:
        return {}
    request = Request.model_validate(stored.data)
    return {ref: (request.org, request.on_behalf_of)}
