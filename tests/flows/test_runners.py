"""`flows.runners`: a Dask scheduler that does not answer is named in seconds, before the flow."""

from __future__ import annotations

import socket

import pytest

from flows.errors import DaskUnreachableError, FlowsError
from flows.runners import check_scheduler_answers
from testkit.loopback import free_port


def test_a_listening_scheduler_passes():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host, port = listener.getsockname()
        check_scheduler_answers(f"tcp://{host}:{port}")
        check_scheduler_answers(f"{host}:{port}")


def test_a_closed_port_is_named_as_an_unusable_service():
    port = free_port()  # free a moment ago: nothing listens there
    with pytest.raises(DaskUnreachableError, match=f"no Dask scheduler answers at 127.0.0.1:{port} .*--dask local"):
        check_scheduler_answers(f"127.0.0.1:{port}", timeout_s=2.0)
    assert issubclass(DaskUnreachableError, FlowsError)  # the command line's exit code 2
