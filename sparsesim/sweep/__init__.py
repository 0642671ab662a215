"""Sweeps: grids declared in ``sims/*.toml`` (shipped in ``sparsesim/sims``), journaled, resumable, with provenance.

>>> from sparsesim.sweep import cell_key
>>> len(cell_key({"d": 4}, 0))
20
"""

from .config import (ConfigError, SweepConfig, find_config, list_configs, load_config,
                     recorded_config, shipped_dir)
from .journal import Journal, JournalError, RoundJournal
from .outdir import OutputFolderError
from .provenance import cell_key, cell_seed, git_commit
from .runner import CellContext, LocalExecutor, make_tasks, rows_frame, run_sweep, run_task

__all__ = [
    "CellContext", "ConfigError", "Journal", "JournalError", "LocalExecutor", "OutputFolderError",
    "RoundJournal",    "SweepConfig",
    "cell_key", "cell_seed", "find_config", "git_commit", "list_configs", "load_config",
    "make_tasks", "recorded_config", "rows_frame", "run_sweep", "run_task", "shipped_dir",
]
