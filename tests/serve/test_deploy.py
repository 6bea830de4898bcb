"""Deployment files: Dockerfile, Serve config, KubeRay RayService + values, Grafana dashboard."""

import importlib
import json
import pathlib
import re

import jsonschema
import pytest
import yaml

from serve.settings import ServeSettings

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

APP_SCHEMA = {
    "type": "object",
    "required": ["applications", "http_options"],
    "properties": {
        "http_options": {
            "type": "object",
            "required": ["host", "port"],
            "properties": {"port": {"const": 8000}},
        },
        "applications": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "route_prefix", "import_path", "args", "deployments"],
                "properties": {
                    "route_prefix": {"const": "/"},
                    "import_path": {"const": "serve.deployment:app_builder"},
                    "args": {"type": "object", "required": ["model_dir", "backend"]},
                    "deployments": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "max_ongoing_requests", "max_queued_requests"],
                            "properties": {
                                "name": {"const": "Recommender"},
                                "max_queued_requests": {"type": "integer", "minimum": 1},
                            },
                        },
                    },
                },
            },
        },
    },
}

CONTAINER = {
    "type": "object",
    "required": ["name", "image", "ports", "resources"],
    "properties": {
        "ports": {
            "type": "array",
            "contains": {"type": "object", "properties": {"containerPort": {"const": 8000}}},
        }
    },
}
POD = {
    "type": "object",
    "required": ["spec"],
    "properties": {
        "spec": {
            "type": "object",
            "required": ["containers"],
            "properties": {"containers": {"type": "array", "minItems": 1, "items": CONTAINER}},
        }
    },
}
RAYSERVICE_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "ray.io/v1"},
        "kind": {"const": "RayService"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["serveConfigV2", "rayClusterConfig"],
            "properties": {
                "serveConfigV2": {"type": "string"},
                "rayClusterConfig": {
                    "type": "object",
                    "required": ["rayVersion", "headGroupSpec", "workerGroupSpecs"],
                    "properties": {
                        "rayVersion": {"type": "string"},
                        "headGroupSpec": {
                            "type": "object",
                            "required": ["rayStartParams", "template"],
                            "properties": {"template": POD},
                        },
                        "workerGroupSpecs": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": [
                                    "groupName",
                                    "minReplicas",
                                    "maxReplicas",
                                    "rayStartParams",
                                    "template",
                                ],
                                "properties": {"template": POD},
                            },
                        },
                    },
                },
            },
        },
    },
}


def _check_serve_config(config: dict) -> None:
    jsonschema.validate(config, APP_SCHEMA)
    from ray.serve.schema import ServeDeploySchema

    ServeDeploySchema.model_validate(config)  # Ray's own schema for `serve deploy`
    for app in config["applications"]:
        module, attr = app["import_path"].split(":")
        assert callable(getattr(importlib.import_module(module), attr))
        settings = ServeSettings.from_mapping(app["args"])  # every arg is a known setting
        assert settings.backend in ("jax", "onnx", "savedmodel", "tensorrt")


def test_serve_config_for_serve_deploy():
    config = yaml.safe_load((DEPLOY / "serve_config.yaml").read_text())
    _check_serve_config(config)
    assert config["http_options"]["host"] == "127.0.0.1"


def test_rayservice_manifest_matches_values():
    manifest = yaml.safe_load((DEPLOY / "kuberay" / "rayservice.yaml").read_text())
    values = yaml.safe_load((DEPLOY / "kuberay" / "values.yaml").read_text())
    jsonschema.validate(manifest, RAYSERVICE_SCHEMA)
    serve_config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    assert serve_config == values["serveConfig"]
    _check_serve_config(serve_config)
    cluster = manifest["spec"]["rayClusterConfig"]
    assert (
        cluster["rayVersion"] == values["rayVersion"] == importlib.import_module("ray").__version__
    )
    pods = [cluster["headGroupSpec"]["template"]] + [
        g["template"] for g in cluster["workerGroupSpecs"]
    ]
    for pod in pods:
        assert {c["image"] for c in pod["spec"]["containers"]} == {values["image"]}
    assert cluster["headGroupSpec"]["rayStartParams"]["metrics-export-port"] == "8080"
    group = cluster["workerGroupSpecs"][0]
    assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]


def test_dockerfile():
    lines = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    instructions = [line.split(None, 1) for line in lines if line.strip() and line[0] != "#"]
    assert instructions[0][0] == "FROM"
    by_kind = {}
    for kind, rest in instructions:
        by_kind.setdefault(kind, []).append(rest)
    for copy in by_kind["COPY"]:
        for source in copy.split()[:-1]:
            assert (REPO / source).exists(), f"COPY source {source} missing"
    entry = json.loads(by_kind["ENTRYPOINT"][0])
    assert entry[:2] == ["jaxrec", "serve"] and "--model" in entry
    assert "8000" in by_kind["EXPOSE"][0].split()
    assert "/healthz" in by_kind["HEALTHCHECK"][0]


def _metric_names() -> set[str]:
    source = (REPO / "serve" / "metrics.py").read_text()
    names = set(re.findall(r'"(jaxrec_[a-z_]+)"', source))
    ray_names = set()
    for name in names:
        ray_names |= {f"ray_{name}{s}" for s in ("", "_bucket", "_count", "_sum", "_total")}
    return ray_names


DASHBOARD_SCHEMA = {
    "type": "object",
    "required": ["title", "panels", "uid", "schemaVersion"],
    "properties": {
        "panels": {
            "type": "array",
            "minItems": 6,
            "items": {
                "type": "object",
                "required": ["title", "type", "targets", "gridPos"],
                "properties": {
                    "targets": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": "object", "required": ["expr", "refId"]},
                    }
                },
            },
        }
    },
}


def test_grafana_dashboard_uses_our_metrics():
    dashboard = json.loads((DEPLOY / "grafana" / "jaxrec.json").read_text())
    jsonschema.validate(dashboard, DASHBOARD_SCHEMA)
    known = _metric_names()
    used = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            for name in re.findall(r"\b(ray_[a-z_]+)", target["expr"]):
                used.add(name)
                assert name in known or name.startswith("ray_serve_"), name
    for metric in ("request_latency_ms", "errors", "batch_size", "model_latency_ms", "model_info"):
        assert any(f"ray_jaxrec_{metric}" in name for name in used), metric


@pytest.mark.parametrize("host", ["127.0.0.1", None])
def test_cli_binds_loopback_by_default(tmp_path, host):
    import argparse

    from serve.local import add_arguments, settings_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["--model", str(tmp_path)] + (["--host", host] if host else [])
    settings = settings_from_args(parser.parse_args(argv))
    assert settings.host == "127.0.0.1" and settings.port == 8000 and settings.backend is None
    with pytest.raises(ValueError, match="backend"):
        ServeSettings(backend="torch")
    with pytest.raises(ValueError, match="unknown serve setting"):
        ServeSettings.from_mapping({"max_batch": 3})


@pytest.mark.parametrize("bad", [0.0, -0.001, 2.0])
def test_gil_switch_interval_must_be_a_positive_fraction_of_a_second(bad):
    assert ServeSettings(gil_switch_interval_s=0.0005).gil_switch_interval_s == 0.0005
    with pytest.raises(ValueError, match="gil_switch_interval_s"):
        ServeSettings(gil_switch_interval_s=bad)
