"""``python -m sparsesim.sim.phase_transition.kinematic_refresh FOLDER [FOLDER ...]``.

Samples and stores the exact finite-d law at every cell the tables of the
folders read (see :mod:`sparsesim.sim.phase_transition.kinematic`).
"""

from .kinematic import main

if __name__ == "__main__":
    raise SystemExit(main())
