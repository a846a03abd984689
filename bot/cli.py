"""The ``oohbot`` command line (see README: CLI)."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.clock import OffsetClock, SystemClock
from bot.config import Listen, Settings, config_path, load_settings
from bot.directory import DirectoryError, load_directory
from bot.errors import DirectoryProblems, NotFound, PortUnavailable, UsageError, explain
from bot.logs import configure_logging, get_logger
from bot.services import Warn, load_checked_directory, load_keys, opened_store
from flows.directory import find_problems

log = get_logger("cli")
INTERNAL_ERROR = 70
PIPE_CLOSED = 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oohbot", description="Out-of-hours information-sharing bot"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the HTTP server (Slack, Teams, web console) and worker"
    )
    serve.add_argument("--no-worker", action="store_true", help="do not run the scheduler worker")
    sub.add_parser("worker", help="run the scheduler worker alone")
    directory = sub.add_parser("directory", help="nominated-officer directory tools")
    directory.add_argument("action", choices=["check", "reload"])
    oncall = sub.add_parser("oncall", help="who is on duty for the SPOC desk, level by level")
    oncall.add_argument("--at", help="a moment, ISO 8601 (default: now); local time if no offset")
    oncall.add_argument("--format", choices=["text", "json"], default="text")
    oncall.add_argument(
        "--export-ics", metavar="FILE", help="write the schedule as an iCalendar file instead"
    )
    oncall.add_argument(
        "--days", type=int, default=31, help="days to export from --at (default 31)"
    )
    flow = sub.add_parser("flow", help="state machine tools")
    flow.add_argument("action", choices=["diagram"])
    flow.add_argument("--machine", choices=["conversation", "request"], default="conversation")
    audit = sub.add_parser("audit", help="audit log tools")
    audit.add_argument("action", choices=["verify", "export"])
    audit.add_argument("--ref", help="only this request reference")
    audit.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    audit.add_argument("--head", help="a head hash saved earlier: it must still be in the chain")
    requests = sub.add_parser("requests", help="requests tools")
    requests.add_argument("action", choices=["list", "show", "export"])
    requests.add_argument("ref", nargs="?", help="a request reference (show, export)")
    requests.add_argument("--overdue", action="store_true", help="only overdue forms")
    requests.add_argument(
        "--format",
        choices=["table", "json", "text", "html"],
        help="list: table|json; show: text|json; export: html|json",
    )
    requests.add_argument("--out", help="export: write the evidence pack to this file")
    _retention_parsers(sub)
    keys = sub.add_parser("keys", help="encryption key tools")
    keys.add_argument("action", choices=["generate", "rotate"])
    keys.add_argument(
        "--service",
        action="append",
        default=[],
        metavar="URL",
        help="a running oohbot that must know the newest key first (repeat for each replica; "
        "default: service.listen)",
    )
    for command in sub.choices.values():
        command.add_argument(
            "--config", help="path of app.yaml (default: $OOHBOT_CONFIG, ./app.yaml)"
        )
    return parser


def _retention_parsers(sub: Any) -> None:
    retention = sub.add_parser("retention", help="retention of personal data (crypto-shredding)")
    retention.add_argument("action", choices=["run", "hold", "release"])
    retention.add_argument("ref", nargs="?", help="the request reference (hold, release)")
    retention.add_argument("--reason", help="why the request must be kept (hold)")
    retention.add_argument("--dry-run", action="store_true", help="list, destroy nothing")
    retention.add_argument("--format", choices=["table", "json"], default="table")
    correct = sub.add_parser("correct", help="correct a submitted request or its written form")
    correct.add_argument("ref", help="the request reference")
    correct.add_argument("--by", required=True, help="officer id of the requester or SPOC")
    correct.add_argument("--reason", required=True, help="why it is corrected")
    correct.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="a corrected field"
    )
    correct.add_argument("--form", action="store_true", help="correct the written form")
    subject = sub.add_parser("subject", help="subject access")
    subject.add_argument("action", choices=["find"])
    subject.add_argument("--last-name", required=True, help="the person's last name")
    subject.add_argument("--dob", required=True, help="date of birth, YYYY-MM-DD")
    subject.add_argument("--format", choices=["table", "json"], default="table")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oohbot`` console script."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _pipe_closed()
    except Exception as error:
        return _failed(error)


def _failed(error: Exception) -> int:
    """One line for the operator: ours (with its exit code), or an internal error's place."""
    known = explain(error)
    if known is not None:
        print(f"oohbot: {known}", file=sys.stderr)
        return known.exit_code
    frames = traceback.extract_tb(error.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    print(
        f"oohbot: internal error {type(error).__name__}{where}; this is a bug, please report "
        "this line",
        file=sys.stderr,
    )
    return INTERNAL_ERROR


def _pipe_closed() -> int:
    """``oohbot … | head``: the reader left. Point stdout at /dev/null so that flushing it at
    exit cannot fail again, and exit like a command stopped by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return PIPE_CLOSED


def _plain_warning(_: str, message: str) -> None:
    print(f"oohbot: warning: {message}", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "flow":
        return _flow_diagram(args.machine)
    if args.command == "keys" and args.action == "generate":
        from store.crypto import generate_key

        print(generate_key())
        return 0
    settings = load_settings(config_path(args.config, os.environ))
    configure_logging(settings.service.log_level)
    commands = {
        "serve": lambda: asyncio.run(_serve(settings, worker=not args.no_worker)),
        "worker": lambda: asyncio.run(_worker(settings)),
        "directory": lambda: (
            asyncio.run(_directory_reload(settings))
            if args.action == "reload"
            else _directory_check(settings)
        ),
        "oncall": lambda: _oncall(settings, args),
        "audit": lambda: asyncio.run(_audit(settings, args)),
        "requests": lambda: asyncio.run(_requests_command(settings, args)),
        "keys": lambda: asyncio.run(_rotate(settings, args.service)),
        "retention": lambda: asyncio.run(_retention(settings, args)),
        "subject": lambda: asyncio.run(_subject(settings, args)),
        "correct": lambda: asyncio.run(_correct(settings, args)),
    }
    result: int = commands[args.command]()
    return result


def _flow_diagram(machine: str) -> int:
    if machine == "conversation":
        from flows.conversation import ConversationFlow
        from flows.policy import Policy

        print(ConversationFlow(Policy()).diagram())
    else:
        from flows.lifecycle import RequestFlow

        print(RequestFlow().diagram())
    return 0


def _directory_check(settings: Settings) -> int:
    try:
        directory = load_directory(settings.directory, settings.service.zone)
    except DirectoryError as error:
        print(f"{settings.directory}:\n{error}", file=sys.stderr)
        return 1
    problems = find_problems(directory, datetime.now(UTC).date())
    for problem in problems:
        print(f"{settings.directory}: {problem}", file=sys.stderr)
    if problems:
        return 1
    counts = f"{len(directory.organisations)} organisations, {len(directory.officers)} officers"
    print(f"{settings.directory}: OK ({counts})")
    return 0


async def _directory_reload(settings: Settings) -> int:
    """Validate like start-up; publish the version for every running service to load."""
    from bot.reload import publish, validated

    try:
        directory, version = validated(settings, _plain_warning)
    except (DirectoryError, DirectoryProblems) as error:
        print(f"oohbot: {error}", file=sys.stderr)
        print("oohbot: nothing was reloaded; the running services keep the old directory")
        return 1
    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        await publish(store, version, datetime.now(UTC))
    layers = "with a schedule" if directory.spoc.schedule else "rota only"
    print(
        f"{settings.directory}: OK ({len(directory.officers)} officers, {layers}); version "
        f"{version[:12]} published: running services load it within a few seconds"
    )
    return 0


def _oncall(settings: Settings, args: argparse.Namespace) -> int:
    from flows.oncall import oncall_json, oncall_text

    zone = settings.service.zone
    at = _moment(args.at, zone)
    directory = load_checked_directory(settings, _plain_warning)
    if args.export_ics:
        from bot.ical import export_ics

        schedule = directory.spoc.schedule
        if schedule is None:
            print("oohbot: the directory has no spoc.schedule to export", file=sys.stderr)
            return 1
        data = export_ics(schedule, at, at + timedelta(days=args.days), zone)
        with open(args.export_ics, "wb") as out:
            out.write(data)
        print(f"wrote {args.export_ics} ({args.days} days from {at.isoformat()})")
        return 0
    wait = settings.timers.spoc_ack
    if args.format == "json":
        print(json.dumps(oncall_json(directory, at, zone, wait), indent=2))
    else:
        print(oncall_text(directory, at, zone, wait))
    return 0


def _moment(text: str | None, zone: ZoneInfo) -> datetime:
    if not text:
        return datetime.now(zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--at {text!r}: write a moment in ISO 8601, e.g. 2026-11-24T07:50 or "
            "2026-11-24T07:50+00:00"
        ) from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


async def _serve(settings: Settings, *, worker: bool) -> int:
    from bot.app import build_app

    directory = load_checked_directory(settings)
    cipher = load_keys(settings, os.environ)
    clock = OffsetClock() if settings.service.environment == "development" else SystemClock()
    async with opened_store(settings, os.environ, cipher=cipher) as store:
        app = build_app(
            settings,
            clock=clock,
            store=store,
            directory=directory,
            run_worker=worker,
            key_ids=cipher.key_ids,
        )
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        try:
            listen = settings.service.listen
            await _listen(runner, listen)
            _reload_on_hangup(app)
            print(f"oohbot is listening on http://{listen.host}:{listen.port}/", flush=True)
            log.info("serving", host=listen.host, port=listen.port, worker=worker)
            await _until_signal()
            log.info("shutting_down")
        finally:
            await runner.cleanup()
    return 0


async def _listen(runner: web.AppRunner, listen: Listen) -> None:
    try:
        await web.TCPSite(runner, listen.host, listen.port).start()
    except OSError as error:
        raise PortUnavailable(_bind_failure(listen, error)) from None


def _bind_failure(listen: Listen, error: OSError) -> str:
    where = f"service.listen {listen.host}:{listen.port}"
    if error.errno == errno.EADDRINUSE:
        return (
            f"{where} is already in use (is oohbot already running?); stop that process or "
            "choose another service.listen.port (OOHBOT_PORT)"
        )
    if error.errno == errno.EACCES:
        return f"{where} is not allowed for this user; choose a port above 1023"
    return (
        f"{where} cannot be used ({error.strerror or error}); check that service.listen.host "
        "(OOHBOT_HOST) is an address of this machine"
    )


def _reload_on_hangup(app: web.Application) -> None:
    """SIGHUP: reload this service's directory file (the old one stays on error)."""
    from bot.app import RELOADER

    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[bool]] = set()

    def hangup() -> None:
        task = loop.create_task(app[RELOADER].reload())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    loop.add_signal_handler(signal.SIGHUP, hangup)


async def _until_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _worker(settings: Settings) -> int:
    from bot.app import RELOADER, WORKER, build_app

    directory = load_checked_directory(settings)
    async with opened_store(settings, os.environ) as store:
        app = build_app(
            settings, clock=SystemClock(), store=store, directory=directory, run_worker=False
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        _reload_on_hangup(app)
        # The worker pages too: it follows 'oohbot directory reload' like every service.
        watch = asyncio.create_task(app[RELOADER].run(stop))
        log.info("worker_started")
        await app[WORKER].run(stop)
        await watch
    return 0


async def _audit(settings: Settings, args: argparse.Namespace) -> int:
    from store.audit import export, verify

    ref = args.ref if args.action == "export" else None
    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        entries = await store.audit_entries(ref)
        if ref and not entries and await store.get_request(ref) is None:
            raise NotFound(
                f"no request with reference {ref!r}; 'oohbot requests list' shows the references"
            )
    if args.action == "export":
        sys.stdout.write(export(entries, "csv" if args.format == "csv" else "jsonl"))
        return 0
    result = verify(entries)
    if not result.ok:
        print(
            f"audit chain BROKEN at entry {result.first_bad_seq}: {result.reason}", file=sys.stderr
        )
        return 1
    if args.head and all(entry.hash != args.head for entry in entries):
        print("audit chain BROKEN: the saved head is no longer in it (truncated?)", file=sys.stderr)
        return 1
    head = entries[-1].hash if entries else "(empty)"
    print(f"audit chain OK ({len(entries)} entries); head {head}")
    print("Keep the head somewhere safe; 'oohbot audit verify --head <it>' detects truncation.")
    return 0


_FORMATS = {"list": ("table", "json"), "show": ("text", "json"), "export": ("html", "json")}


async def _requests_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot import evidence

    allowed = _FORMATS[args.action]
    fmt = args.format or allowed[0]
    if fmt not in allowed:
        return _usage(f"requests {args.action} takes --format {' or '.join(allowed)}")
    if args.action == "list":
        return await _requests(settings, args.overdue, fmt)
    if not args.ref:
        return _usage(f"requests {args.action} needs a reference, e.g. DPT/17/2026")
    if args.action == "show":
        return await evidence.show(settings, args.ref, fmt, _plain_warning)
    return await evidence.export(settings, args.ref, fmt, args.out, _plain_warning)


def _usage(message: str) -> int:
    print(f"oohbot: {message}", file=sys.stderr)
    return 2


async def _requests(settings: Settings, overdue: bool, fmt: str) -> int:
    from flows import clocks
    from flows.request import Request

    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        rows = [Request.model_validate(v.data) for v in await store.list_requests()]
    if overdue:
        rows = [r for r in rows if clocks.form_overdue(r)]
    listing = [_row(r) for r in sorted(rows, key=lambda r: r.created_at)]
    if fmt == "json":
        print(json.dumps(listing, indent=2))
    else:
        _print_table(listing)
    return 0


def _row(request: Any) -> dict[str, str]:
    def at(moment: datetime | None) -> str:
        return moment.isoformat(timespec="minutes") if moment else ""

    return {
        "ref": request.ref,
        "state": request.state,
        "requester": request.requester,
        "org": request.org,
        "created": at(request.created_at),
        "response_due": at(request.response_due_at),
        "form_due": at(request.retro_due_at),
    }


def _print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        print("No requests.")
        return
    headers = list(rows[0])
    widths = {h: max(len(h), *(len(r[h]) for r in rows)) for h in headers}
    print("  ".join(h.upper().ljust(widths[h]) for h in headers))
    for row in rows:
        print("  ".join(row[h].ljust(widths[h]) for h in headers))


def _operator() -> str:
    """Who runs a command, for the audit trail."""
    import getpass

    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


def _now() -> datetime:
    return SystemClock().now()


async def _retention(settings: Settings, args: argparse.Namespace) -> int:
    from bot import retention

    now = _now()
    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        if args.action in ("hold", "release"):
            if not args.ref:
                raise NotFound(f"'oohbot retention {args.action}' needs a request reference")
            if args.action == "hold" and args.reason is None:
                raise retention.HoldRefused("--reason: say why the request must be kept")
            reason = args.reason if args.action == "hold" else None
            await retention.set_hold(store, args.ref, now, _operator(), reason)
            done = "is held: retention will not destroy it" if reason else "is no longer held"
            print(f"{args.ref} {done}.")
            return 0
        outcomes = await retention.run(
            store,
            settings.retention,
            now,
            dry_run=args.dry_run,
            actor=_operator(),
            directory=load_checked_directory(settings, _plain_warning),
        )
    rows = [outcome.row() for outcome in outcomes]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif rows:
        _print_table(rows)
    else:
        print("Nothing is past its retention period.")
    return 0


async def _subject(settings: Settings, args: argparse.Namespace) -> int:
    from bot import subject
    from bot.services import load_index_key

    index = load_index_key(settings, os.environ, _plain_warning)
    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        found = await subject.find(store, index, args.last_name, args.dob, _now(), _operator())
    rows = [held.row() for held in found]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    elif rows:
        _print_table(rows)
        print("'oohbot requests export REF' gives what each holds.")
    else:
        print("No request holds data about a person with that last name and date of birth.")
    return 0


async def _correct(settings: Settings, args: argparse.Namespace) -> int:
    from bot import corrections
    from flows.corrections import CorrectionRefused

    changes: dict[str, str] = {}
    for item in args.set:
        field, sep, value = item.partition("=")
        if not sep or not field.strip():
            raise CorrectionRefused(
                "--set", "write FIELD=VALUE, for example subject.dob=1980-05-03"
            )
        changes[field.strip()] = value
    directory = load_directory(settings.directory)
    async with opened_store(settings, os.environ, warn=_plain_warning) as store:
        amended = await corrections.amend(
            store,
            directory,
            args.ref,
            args.by,
            changes,
            args.reason,
            _now(),
            part="form" if args.form else "request",
            policy=settings.policy,
        )
    told = ", ".join(amended.notified) or "nobody else had received it"
    print(f"{args.ref} corrected (version {amended.version.n + 1}); told privately: {told}")
    return 0


async def _rotate(settings: Settings, services: Sequence[str]) -> int:
    """Re-encrypt with the newest key, but only once every running service seals with it
    (else the services could not read what this writes: README, Encryption keys)."""
    from bot import rotation

    warn: Warn = _plain_warning
    cipher = load_keys(settings, os.environ, warn)
    urls = list(services) or [rotation.default_url(settings.service.listen)]
    for note in await asyncio.to_thread(rotation.check_services, cipher, urls, bool(services)):
        warn("key_rotation", note)
    async with opened_store(settings, os.environ, cipher=cipher, warn=warn) as store:
        count = await store.reencrypt()
    print(f"re-encrypted {count} values with the newest key ({cipher.key_ids[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
