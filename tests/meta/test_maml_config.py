import pathlib

import pytest

from jaxrec.config import MamlConfig, apply_overrides, from_dict, load_config, to_dict

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"


def test_shipped_maml_config_matches_its_warm_model_and_round_trips():
    cfg = load_config(CONFIGS / "maml_ml1m.py")
    assert cfg.maml.algorithm == "maml" and cfg.maml.adapt_params == ("adapter",)
    assert cfg.model == load_config(CONFIGS / "sasrec.py").model  # init_from needs the same
    assert cfg.maml.task_len <= cfg.model.max_len
    assert from_dict(to_dict(cfg)) == cfg
    changed = apply_overrides(cfg, ["maml.adapt_params=adapter,base/item_embed"])
    assert changed.maml.adapt_params == ("adapter", "base/item_embed")


def test_maml_config_rejects_tasks_that_do_not_fit():
    with pytest.raises(ValueError, match="task_len"):
        MamlConfig(support_sizes=(10,), query_size=8, task_len=16)
