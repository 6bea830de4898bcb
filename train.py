"""Same as ``jaxrec train ...``.

python train.py --config configs/sasrec.py --data DIR --workdir DIR
"""

import sys

from jaxrec.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
