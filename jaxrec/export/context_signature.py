"""The context inputs of an exported context model, and their int32[B, L, F] form in the graph.

A context model (``sasrec_context``, ``sasrec_text_context``) reads the columns of
``data_pipeline/context_schema.py`` that ``model.context`` switches on. Its export takes,
after ``histories`` and ``exclude_seen``:

* ``context_<column>`` int32[B, L] for each enabled event column (``hour``, ``weekday``,
  ``gap``, ``device``, ``sentiment``), aligned with ``histories`` (0 = unknown, and 0 at
  padding positions);
* ``context_user`` int32[B, S]: the enabled user columns (``age``, ``gender``, ``occupation``,
  ``region``, in that order) of the row's user.

``assemble`` turns them back into the model's int32[B, L, F] (switched-off columns 0, user
columns repeated at every position, exactly as the training windows are built). The ids come
from ``context_featurizer.py`` outside the graph. ``ContextSpec`` is plain data so that
serving reads it from ``metadata.json`` without importing the model code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

USER_INPUT = "context_user"
PREFIX = "context_"


@dataclasses.dataclass(frozen=True)
class ContextSpec:
    """Which context columns an export reads.

    Attributes:
        columns: all F column names of the model's context tensor, in order.
        events: the enabled event columns (a ``context_<name>`` input each), in column order.
        users: the enabled user columns (the ``context_user`` columns), in column order.
        vocab: column name -> vocabulary size (ids 0..size-1; 0 = unknown).
    """

    columns: tuple[str, ...]
    events: tuple[str, ...]
    users: tuple[str, ...]
    vocab: Mapping[str, int]

    @classmethod
    def for_model(cls, model_cfg) -> ContextSpec | None:
        """The spec of a ``ModelConfig``; None when the model reads no context column."""
        from jaxrec.context_features import CONTEXT_MODELS

        if model_cfg.name not in CONTEXT_MODELS:
            return None
        from jaxrec.models.sasrec_context import EVENT_COLUMNS, USER_COLUMNS, enabled_columns

        events, users = enabled_columns(model_cfg)
        if not events and not users:
            return None
        layout = (*EVENT_COLUMNS, *USER_COLUMNS)
        return cls(tuple(n for n, _ in layout), events, users, dict(layout))

    @classmethod
    def from_metadata(cls, metadata: dict) -> ContextSpec | None:
        """The spec recorded by ``to_metadata`` in an export's metadata (None: no context)."""
        section = metadata.get("context")
        if not section:
            return None
        return cls(
            tuple(section["columns"]),
            tuple(section["events"]),
            tuple(section["users"]),
            dict(section["vocab_sizes"]),
        )

    def to_metadata(self) -> dict:
        """JSON form (read back by ``from_metadata``)."""
        return {
            "columns": list(self.columns),
            "events": list(self.events),
            "users": list(self.users),
            "vocab_sizes": dict(self.vocab),
            "unknown_id": 0,
        }

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the context inputs, in signature order (after histories, exclude_seen)."""
        return (*(PREFIX + n for n in self.events), *((USER_INPUT,) if self.users else ()))

    def signature(self, max_len: int) -> dict[str, list]:
        """``{input name: [dims..., dtype]}`` for the metadata's ``signature.inputs``."""
        out: dict[str, list] = {PREFIX + n: ["B", max_len, "int32"] for n in self.events}
        if self.users:
            out[USER_INPUT] = ["B", len(self.users), "int32"]
        return out

    def assemble(self, histories, inputs: Sequence):
        """int32[B, L, F] model context from int32[B, L] histories and the context inputs.

        Traced under ``jit`` (jnp); also works on NumPy arrays.
        """
        import jax.numpy as jnp

        named = dict(zip(self.input_names, inputs, strict=True))
        zeros = jnp.zeros_like(histories, dtype=jnp.int32)
        cols = []
        for name in self.columns:
            if name in self.events:
                cols.append(named[PREFIX + name].astype(jnp.int32))
            elif name in self.users:
                user = named[USER_INPUT][:, self.users.index(name)].astype(jnp.int32)
                cols.append(zeros + user[:, None])
            else:
                cols.append(zeros)
        return jnp.stack(cols, axis=-1)

    def split(self, context: np.ndarray) -> list[np.ndarray]:
        """The context inputs (signature order) cut from an int32[B, L, F] model context."""
        index = {n: i for i, n in enumerate(self.columns)}
        out = [np.asarray(context[..., index[n]], np.int32) for n in self.events]
        if self.users:
            out.append(np.asarray(context[:, -1][:, [index[n] for n in self.users]], np.int32))
        return out

    def check(self, inputs: Mapping[str, np.ndarray] | None, batch: int, max_len: int):
        """The context inputs as int32 arrays in signature order, validated.

        Raises:
            ValueError: an input is missing, unexpected, mis-shaped or has an id out of range
                (the message names the input).
        """
        inputs = dict(inputs or {})
        missing = [n for n in self.input_names if n not in inputs]
        extra = sorted(set(inputs) - set(self.input_names))
        if missing or extra:
            raise ValueError(
                f"context inputs: expected {list(self.input_names)}; missing {missing}, "
                f"unexpected {extra}"
            )
        out = []
        for name in self.input_names:
            array = np.asarray(inputs[name])
            cols = [name[len(PREFIX) :]] if name != USER_INPUT else list(self.users)
            shape = (batch, max_len) if name != USER_INPUT else (batch, len(cols))
            if array.shape != shape:
                raise ValueError(f"{name}: expected shape {list(shape)}, got {list(array.shape)}")
            if array.size and not np.issubdtype(array.dtype, np.integer):
                raise ValueError(f"{name}: expected integer ids, got dtype {array.dtype}")
            for j, col in enumerate(cols):
                ids = array if name != USER_INPUT else array[:, j]
                if ids.size and (ids.min() < 0 or ids.max() >= self.vocab[col]):
                    raise ValueError(f"{name}: {col} ids must lie in 0..{self.vocab[col] - 1}")
            out.append(np.ascontiguousarray(array, dtype=np.int32))
        return out
