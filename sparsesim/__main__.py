"""``python -m sparsesim``: the ``sparsesim`` command without an installed entry point.

Examples
--------
``PYTHONPATH=. python -m sparsesim list`` in a source checkout lists the
simulations, exactly like ``sparsesim list`` after ``pip install``.
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
