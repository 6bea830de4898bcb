import dataclasses
import pathlib

import pytest

from jaxrec import config

CONFIGS = sorted((pathlib.Path(__file__).parents[2] / "configs").glob("*.py"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_loads_and_round_trips(path):
    from jaxrec.ensemble import resolve_members

    experiment = config.load_experiment(path)
    if isinstance(experiment, config.EnsembleConfig):  # shipped configs + their overrides
        cfgs = [member.cfg for member in resolve_members(experiment, path)]
    else:
        cfgs = [experiment]
    for cfg in cfgs:
        assert config.from_dict(config.to_dict(cfg)) == cfg


def test_overrides_are_typed():
    cfg = config.apply_overrides(
        config.TrainConfig(),
        [
            "model.embed_dim=32",
            "optim.learning_rate=0.01",
            "max_minutes=none",
            "eval.exclude_seen=false",
            "loss.name=bce",
            "mesh.data=2",
        ],
    )
    assert cfg.model.embed_dim == 32 and cfg.optim.learning_rate == 0.01
    assert cfg.max_minutes is None and cfg.eval.exclude_seen is False
    assert cfg.loss.name == "bce" and cfg.mesh.data == 2


@pytest.mark.parametrize(
    "override, message",
    [
        ("model.embd_dim=3", "unknown config key"),
        ("model.embed_dim=x", "expected int"),
        ("loss.name=hinge", "expected one of"),
        ("seed", "expected key=value"),
    ],
)
def test_bad_overrides_fail_with_the_key(override, message):
    with pytest.raises(ValueError, match=message):
        config.apply_overrides(config.TrainConfig(), [override])


def test_validation_in_post_init():
    with pytest.raises(ValueError, match="divisible"):
        config.ModelConfig(embed_dim=10, num_heads=3)
    with pytest.raises(ValueError, match="-1"):
        config.MeshConfig(data=-1, model=-1)
    assert dataclasses.replace(config.MeshConfig(), model=2).model == 2
