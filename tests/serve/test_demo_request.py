"""The last step of ``make demo``: start a server on an export and get k items over HTTP."""

import socket

import pytest

from jaxrec.export.artifact import ExportError
from serve import demo_request


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_demo_request_gets_five_items_over_http(tiny_export, capsys):
    port = _free_port()
    assert demo_request.main(["--model", str(tiny_export), "--port", str(port), "--no-ray"]) == 0
    out = capsys.readouterr().out
    assert f"POST http://127.0.0.1:{port}/v1/recommend" in out and '"model_version"' in out


def test_demo_request_refuses_a_directory_that_is_not_an_export(tmp_path):
    bad = tmp_path / "export"
    bad.mkdir()
    with pytest.raises(ExportError, match=r"items\.jsonl"):
        demo_request.main(["--model", str(bad), "--port", str(_free_port()), "--no-ray"])
