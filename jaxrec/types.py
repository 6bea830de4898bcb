"""Type aliases shared across jaxrec.

Dimension letters used in shapes throughout the package: ``B`` batch, ``L`` sequence
length, ``D`` embedding width, ``I`` catalogue size (+1 for the padding id 0), ``K``
negatives, ``H`` attention heads.
"""

from typing import Any

import jax
import numpy as np

Array = jax.Array
PyTree = Any
Batch = dict[str, np.ndarray | jax.Array]
Metrics = dict[str, jax.Array]
