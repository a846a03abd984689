"""The service log: JSON lines, without the state machine library's chatter."""

from __future__ import annotations

import logging

from bot.logs import configure_logging


def test_transitions_info_lines_stay_out_of_the_service_log() -> None:
    try:
        configure_logging("info")
        assert not logging.getLogger("transitions.core").isEnabledFor(logging.INFO)
        assert logging.getLogger("transitions.core").isEnabledFor(logging.WARNING)
        assert logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)
        configure_logging("debug")
        assert logging.getLogger("transitions.core").isEnabledFor(logging.DEBUG)
    finally:
        configure_logging("info")
