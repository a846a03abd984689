"""Subject access: every request that holds data about one person, found through the keyed
blind index (``store.blind_index``), never by reading every request. The search is audited
as a subject-access search; the audit entry names no one (only how many references matched)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.errors import ConfigError
from flows.request import Request
from store.base import AuditDraft, Store, UnitOfWork
from store.blind_index import BlindIndex, normalise_name


class SubjectQueryError(ConfigError):
    """The search was asked wrongly (the message says which field and how to fix it)."""


@dataclass(frozen=True)
class Held:
    """One reference holding data about the person."""

    ref: str
    org: str
    form: str
    state: str
    created_at: datetime

    def row(self) -> dict[str, str]:
        """As ``oohbot subject find`` prints it."""
        return {
            "ref": self.ref,
            "org": self.org,
            "form": self.form,
            "state": self.state,
            "created": self.created_at.isoformat(timespec="minutes"),
        }


def checked_query(last_name: str, dob: str) -> tuple[str, str]:
    """The last name and date of birth, or ``SubjectQueryError`` naming the field at fault."""
    if not normalise_name(last_name):
        raise SubjectQueryError("--last-name: enter the person's last name")
    try:
        born = date.fromisoformat(dob.strip())
    except ValueError:
        raise SubjectQueryError(
            "--dob: date of birth must be a real date written YYYY-MM-DD, for example 1980-05-03"
        ) from None
    return last_name, born.isoformat()


async def find(
    store: Store, index: BlindIndex, last_name: str, dob: str, now: datetime, actor: str
) -> list[Held]:
    """The references holding data about the person with this last name and date of birth.

    Each hit is read and checked against the name and date (so a stale or colliding index entry
    cannot show someone else's reference); the search is audited with the count only."""
    last_name, dob = checked_query(last_name, dob)
    found: list[Held] = []
    for ref in await store.find_subject(index.digest(last_name, dob)):
        stored = await store.get_request(ref)
        if stored is None:
            continue
        request = Request.model_validate(stored.data)
        if index.digest(last_name, dob) not in index.of_request(stored.data):
            continue
        found.append(
            Held(request.ref, request.org, request.form, request.state, request.created_at)
        )
    details = {"matched": len(found)}
    audit = AuditDraft(now, actor, "subject.search", "", details)
    await store.commit(UnitOfWork(audit=[audit]))
    return found
