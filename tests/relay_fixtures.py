"""The relay tests' fixtures (no tests here), loaded by a test module with
``pytest_plugins = ["relay_fixtures"]`` (and never imported otherwise, so pytest rewrites its
asserts): ``relays`` starts relays the one way (``relay_helpers.start_relay``) and stops them
after the test; ``relay_clean`` leaves no machine credential or DANDI resolution behind (a
module asks for it with ``pytestmark = pytest.mark.usefixtures("relay_clean")``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from relay_helpers import start_relay


@pytest.fixture
def relays() -> Iterator[Callable[..., Any]]:
    """``relays(url, credential, **start_relay options)``: a relay stopped after the test; its
    access log is ``relay.log_stream``."""
    started: list[Any] = []

    def start(url: str, credential: Any = None, **kwargs: Any) -> Any:
        log = kwargs.pop("log_stream", io.StringIO())
        relay = start_relay(url, credential, log=log, **kwargs)
        relay.log_stream = log
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.stop()


@pytest.fixture
def relay_clean(no_machine_credentials: Any) -> Iterator[None]:
    """No machine credential, no DANDI resolution left from another test (a relay test module
    asks for it with ``pytestmark = pytest.mark.usefixtures("relay_clean")``)."""
    from kit.io.dandi import resolver

    resolver.clear()
    yield

