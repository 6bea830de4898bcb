"""Tampered exports are refused; TensorRT absent fails cleanly with no output."""

import importlib.util
import json
import shutil

import pytest

from jaxrec.cli import main
from jaxrec.export.artifact import ExportError, ExportIntegrityError
from jaxrec.export.runtime import load_backend


def test_tampered_artifact_is_refused(jax_export, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(jax_export, copy)
    load_backend(copy)  # intact copy loads
    params = copy / "params.msgpack"
    data = bytearray(params.read_bytes())
    data[-5] ^= 0xFF
    params.write_bytes(bytes(data))
    with pytest.raises(ExportIntegrityError, match=r"params\.msgpack: sha256 .* does not match"):
        load_backend(copy)


def test_tampered_catalogue_and_metadata_are_refused(jax_export, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(jax_export, copy)
    (copy / "items.jsonl").write_text("")
    with pytest.raises(ExportIntegrityError, match=r"items\.jsonl"):
        load_backend(copy)
    shutil.rmtree(copy)
    shutil.copytree(jax_export, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["checksum"] = "0" * 64
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ExportIntegrityError, match="'checksum'"):
        load_backend(copy)
    with pytest.raises(ExportError, match="not a jaxrec export"):
        load_backend(tmp_path)


def test_existing_out_needs_overwrite(trained_run, jax_export, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(jax_export, out)
    argv = ["export", "--workdir", str(trained_run), "--format", "jax", "--out", str(out)]
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--k-max", "5"]) == 0
    assert load_backend(out).k_max == 5
    assert [p.name for p in tmp_path.iterdir()] == ["copy"]  # no temp or backup dirs left


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT present")
def test_tensorrt_absent_is_a_clear_error_without_output(trained_run, tmp_path, capsys):
    out = tmp_path / "trt"
    argv = ["export", "--workdir", str(trained_run), "--format", "tensorrt", "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "needs the TensorRT Python package" in err and "--format onnx" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_tensorrt_profile_is_validated_and_engine_required(jax_export):
    from jaxrec.export.trt_engine import EngineOptions

    with pytest.raises(ExportError, match="min_batch"):
        EngineOptions(min_batch=8, opt_batch=4, max_batch=16)
    with pytest.raises(ExportError, match=r"no model\.engine"):
        load_backend(jax_export, "tensorrt")
