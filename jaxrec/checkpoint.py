"""The only orbax user: 'latest' (state + grain iterator + bookkeeping) and 'best'.

``latest`` lets a killed run resume exactly where it was, in the data too; ``best`` keeps
the parameters with the best validation metric (early stopping) for evaluation/export.

A run killed between its ``best`` and ``latest`` saves leaves ``best`` ahead of the step
it resumes from; ``restore_latest`` drops those newer best steps, and ``best`` keeps two,
so the best step recorded in ``latest`` is always still on disk.
"""

from __future__ import annotations

import pathlib

import grain
import orbax.checkpoint as ocp

from jaxrec.types import PyTree


def _manager_options(*, max_to_keep: int, name: str) -> ocp.CheckpointManagerOptions:
    """Options whose multi-process barriers carry ``name``.

    Both managers save into step directories named by the step, and orbax names its
    async-save barriers after that directory; ``latest`` and ``best`` saving the same step
    at once would then wait on one barrier twice (a multi-process run timed out on
    ``async_commit_complete``). The prefix keeps their barrier keys apart.
    """
    return ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        create=True,
        multiprocessing_options=ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=name),
    )


class Checkpointer:
    """Two ``CheckpointManager``s under ``workdir/checkpoints``."""

    def __init__(self, workdir: str | pathlib.Path, *, keep: int = 2):
        root = pathlib.Path(workdir).resolve() / "checkpoints"
        self._latest = ocp.CheckpointManager(
            root / "latest",
            options=_manager_options(max_to_keep=keep, name="latest"),
            item_names=("state", "data_iter", "meta"),
        )
        self._best = ocp.CheckpointManager(
            root / "best",
            options=_manager_options(max_to_keep=2, name="best"),
            item_names=("params", "meta"),
        )

    def latest_step(self) -> int | None:
        """Step of the newest resumable checkpoint, or None."""
        return self._latest.latest_step()

    def save_latest(self, step: int, state: PyTree, data_iter, meta: dict) -> None:
        """Saves state, the grain iterator position and JSON bookkeeping."""
        self._latest.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state),
                data_iter=grain.checkpoint.CheckpointSave(data_iter),
                meta=ocp.args.JsonSave(meta),
            ),
        )

    def restore_latest(self, abstract_state: PyTree, data_iter) -> tuple[PyTree, dict]:
        """Restores into ``abstract_state`` (keeps its shardings) and moves ``data_iter``.

        Best checkpoints newer than the restored step belong to the killed run's lost future
        and are deleted: the resumed run recomputes them.
        """
        step = self._latest.latest_step()
        for best_step in self._best.all_steps():
            if best_step > step:
                self._best.delete(best_step)
        restored = self._latest.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state),
                data_iter=grain.checkpoint.CheckpointRestore(data_iter),
                meta=ocp.args.JsonRestore(),
            ),
        )
        return restored.state, restored.meta

    def save_best(self, step: int, params: PyTree, meta: dict) -> None:
        """Saves new best parameters (the previous best is kept until the next save)."""
        self._best.save(
            step,
            args=ocp.args.Composite(
                params=ocp.args.StandardSave(params), meta=ocp.args.JsonSave(meta)
            ),
            force=True,
        )

    def has_best(self) -> bool:
        """Whether best parameters exist."""
        return self._best.latest_step() is not None

    def restore_best(self, abstract_params: PyTree) -> tuple[PyTree, dict]:
        """The best parameters and their bookkeeping.

        Raises:
            ValueError: the saved parameters are not this model's (another config, or a
                jaxrec version whose model had other parameters), naming the difference.
        """
        step = self._best.latest_step()
        try:
            restored = self._best.restore(
                step,
                args=ocp.args.Composite(
                    params=ocp.args.StandardRestore(abstract_params), meta=ocp.args.JsonRestore()
                ),
            )
        except ValueError as error:
            if "tree structures do not match" not in str(error):
                raise
            raise ValueError(
                f"{self._best.directory / str(step)}: the saved parameters do not match the "
                f"model the run's config builds (written by another jaxrec version?); retrain "
                f"or refit the run. Difference: {str(error).split(':', 1)[1].strip()}"
            ) from error
        return restored.params, restored.meta

    def wait(self) -> None:
        """Blocks until asynchronous saves are on disk."""
        self._latest.wait_until_finished()
        self._best.wait_until_finished()

    def close(self) -> None:
        """Flushes and releases both managers."""
        self._latest.close()
        self._best.close()
