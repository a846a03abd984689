"""The composition root: one aiohttp application with every platform, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adapters.plugin import PlatformPlugin, Wiring
from bot.clock import Clock, OffsetClock
from bot.config import Settings
from bot.delivery import Delivery
from bot.dispatcher import Dispatcher
from bot.engine import Engine
from bot.errors import KeyMismatch, explain
from bot.logs import get_logger
from bot.metrics import Metrics, keep_store_gauges, latency_middleware, ping
from bot.observed import observed
from bot.platforms import PLATFORMS
from bot.reload import Reloader
from bot.worker import Worker
from flows.directory import Directory
from flows.errors import new_error_id, sorry
from store.base import Store

log = get_logger("app")
ENGINE = web.AppKey("engine", Engine)
WORKER = web.AppKey("worker", Worker)
METRICS = web.AppKey("metrics", Metrics)
STORE = web.AppKey("store", Store)
BACKGROUND = web.AppKey("background", list[asyncio.Task[None]])
STORE_GAUGES_EVERY = 15.0
"""Seconds between background checks of the store (readiness, job queue, dead letters)."""
WORKER_STOP_GRACE_SECONDS = 5.0
"""Seconds the worker's round under way is given to finish at shutdown."""
MAX_BODY_BYTES = 1024 * 1024
"""Any request body over this is refused with 413 before a handler reads it."""
KEY_IDS: web.AppKey[tuple[str, ...]] = web.AppKey("key_ids")
RELOADER = web.AppKey("reloader", Reloader)


@dataclass(frozen=True)
class Core:
    """The platform-independent parts: engine, worker and what they share."""

    engine: Engine
    worker: Worker
    metrics: Metrics


def build_core(settings: Settings, *, clock: Clock, store: Store, directory: Directory) -> Core:
    """Engine and worker wired to the store; platforms are added with ``engine.add_sender``."""
    metrics = Metrics()
    delivery = Delivery(senders={}, channels={}, directory=directory, store=store, metrics=metrics)
    dispatcher = Dispatcher(
        store=store, delivery=delivery, clock=clock, timers=settings.timers, metrics=metrics
    )
    engine = Engine(
        settings=settings,
        store=observed(store, metrics),
        directory=directory,
        clock=clock,
        delivery=delivery,
        dispatcher=dispatcher,
        metrics=metrics,
    )
    worker = Worker(
        store=store,
        runner=engine,
        outbox=dispatcher,
        alerter=delivery,
        clock=clock,
        timers=settings.timers,
        metrics=metrics,
    )
    return Core(engine=engine, worker=worker, metrics=metrics)


def build_app(
    settings: Settings,
    *,
    clock: Clock,
    store: Store,
    directory: Directory,
    run_worker: bool = True,
    key_ids: Sequence[str] = (),
    platforms: Sequence[PlatformPlugin[Any]] = PLATFORMS,
) -> web.Application:
    """Wire the engine, worker and every enabled platform into one application.

    ``key_ids`` (the encryption keys' ids, newest first) are reported by ``/readyz`` so that
    ``oohbot keys rotate`` can check the service holds the newest key before rotating.
    ``platforms`` are the platforms to install when their section enables them
    (``bot/platforms.py``)."""
    core = build_core(settings, clock=clock, store=store, directory=directory)
    engine, worker, metrics = core.engine, core.worker, core.metrics
    app = web.Application(
        middlewares=[latency_middleware(metrics), _errors(metrics)],
        client_max_size=MAX_BODY_BYTES,
    )
    app[ENGINE], app[WORKER], app[METRICS], app[STORE] = engine, worker, metrics, store
    app[BACKGROUND] = []
    app[KEY_IDS] = tuple(key_ids)
    app[RELOADER] = Reloader(settings, directory, store, on_swap=engine.schedule_handover)
    _health_routes(app)
    advance = _advance(clock, worker)
    _install_platforms(app, settings, engine, store, directory, clock, advance, platforms)
    app.on_startup.append(_start_digest)
    app.cleanup_ctx.append(_gauges_context(clock, STORE_GAUGES_EVERY))
    app.cleanup_ctx.append(_reload_context)
    if run_worker:
        app.cleanup_ctx.append(_worker_context)
    return app


def _install_platforms(
    app: web.Application,
    settings: Settings,
    engine: Engine,
    store: Store,
    directory: Directory,
    clock: Clock,
    advance: Callable[[timedelta], Awaitable[None]] | None,
    platforms: Sequence[PlatformPlugin[Any]],
) -> None:
    wiring = Wiring(
        app=app,
        handler=engine,
        service=settings.service,
        store=store,
        directory=directory,
        now=clock.now,
        zone=settings.service.zone,
        advance=advance,
    )
    for platform in platforms:
        section = settings.section(platform.name, platform.settings)
        if platform.enabled(section):
            installed = platform.install(wiring, section)
            engine.add_sender(installed.sender, installed.channel)


def _advance(clock: Clock, worker: Worker) -> Callable[[timedelta], Awaitable[None]] | None:
    if not isinstance(clock, OffsetClock):
        return None

    async def advance(delta: timedelta) -> None:
        clock.advance(delta)
        await worker.drain()

    return advance


def _health_routes(app: web.Application) -> None:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        ready = await ping(request.app[STORE])
        request.app[METRICS].ready.set(1 if ready else 0)
        key_ids = request.app[KEY_IDS]
        body = {"ready": ready, "keys": list(key_ids)}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(request.app[METRICS].registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


def _errors(metrics: Metrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The outermost handler: anything unexpected becomes a logged error id and a short
    answer, never a traceback. A key mismatch (README: Encryption keys) is logged with its
    fix and answered 503: the service is up but cannot open what it stored."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as error:
            error_id = new_error_id()
            metrics.errors.inc()
            where = [f"{f.filename}:{f.lineno}" for f in traceback.extract_tb(error.__traceback__)]
            known = explain(error)
            log.error(
                "unhandled_error",
                error_id=error_id,
                error=type(error).__name__,
                where=where[-5:],
                fix=str(known) if isinstance(known, KeyMismatch) else None,
            )
            message = sorry(error_id)
            status = 503 if isinstance(known, KeyMismatch) else 500
            return web.json_response({"error": message, "error_id": error_id}, status=status)

    return middleware


async def _start_digest(app: web.Application) -> None:
    await app[ENGINE].schedule_digest()
    await app[ENGINE].schedule_retention()
    await app[ENGINE].schedule_handover()


def _gauges_context(clock: Clock, every: float) -> Callable[[web.Application], AsyncIterator[None]]:
    """Keep ``oohbot_store_ready`` and the job gauges current while the app runs."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        stop = asyncio.Event()

        def now() -> float:
            return clock.now().timestamp()

        task = asyncio.create_task(keep_store_gauges(app[METRICS], app[STORE], now, every, stop))
        yield
        stop.set()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=5)

    return context


async def _worker_context(app: web.Application) -> AsyncIterator[None]:
    """Run the worker; at shutdown let its round finish, or stop it mid-way after a grace (a
    platform that stopped answering): what it held comes back when its lease runs out."""
    stop = asyncio.Event()
    task = asyncio.create_task(app[WORKER].run(stop))
    app[BACKGROUND].append(task)
    yield
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=WORKER_STOP_GRACE_SECONDS)
    except TimeoutError:
        log.warning("worker_stopped_mid_round", grace=WORKER_STOP_GRACE_SECONDS)
    except asyncio.CancelledError:
        pass


async def _reload_context(app: web.Application) -> AsyncIterator[None]:
    """Watch for a published directory version (``oohbot directory reload``)."""
    stop = asyncio.Event()
    task = asyncio.create_task(app[RELOADER].run(stop))
    yield
    stop.set()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError):
        await asyncio.wait_for(task, timeout=5)
