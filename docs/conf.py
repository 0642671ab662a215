"""Sphinx configuration of the sparsesim documentation.

Build (from this folder)::

    python -m sphinx -W -b html . _build/html

Two sets of pages are generated when the build starts (both ignored by git):

* ``results/<folder>.md``: one page per committed result folder, each
  including that folder's ``table.md`` (``results/*/table.md`` and nested
  ``results/*/*/table.md``), and ``results/index.md`` listing them;
* ``api/<module>.rst``: one page per public module, with an autosummary
  of the names in the module's ``__all__``.

The gallery (``examples/plot_*.py``) is run by sphinx-gallery on every build.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document the source tree beside this folder
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # small batched products: see Performance
os.environ.setdefault("MPLBACKEND", "Agg")

import sparsesim  # noqa: E402

project = "sparsesim"
author = "the sparsesim authors"
copyright = "2026, the sparsesim authors"
release = sparsesim.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]  # autosummary pages titled by the short name
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "examples/README.txt",
                    "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip",
                    "auto_examples/*.md5", "auto_examples/*.json"]


# -- MyST (Markdown pages and the included results/*/table.md) ---------------
myst_enable_extensions = ["colon_fence", "deflist"]  # no dollarmath: a "$" in a report stays text
myst_heading_anchors = 3
# table.md files are reports, not documentation pages: their headings may skip
# levels and their links point at files beside them, not at documents.
suppress_warnings = ["myst.header", "myst.xref_missing"]

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"          # numpydoc's Parameters section carries the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # autosummary lists members; avoids duplicate stubs
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()  # the test-suite's doctests check the examples
nitpicky = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
}
intersphinx_disabled_reftypes = ["*"]
intersphinx_timeout = 5
# The build must not depend on the network: intersphinx inventories are only
# fetched when SPARSESIM_DOCS_INTERSPHINX=1.
if os.environ.get("SPARSESIM_DOCS_INTERSPHINX") != "1":
    extensions.remove("sphinx.ext.intersphinx")
    del intersphinx_mapping, intersphinx_disabled_reftypes, intersphinx_timeout

# -- sphinx-gallery ---------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
}

# -- HTML -------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sparsesim {release}"
html_theme_options = {
    "navigation_depth": 2,
    "header_links_before_dropdown": 7,
    "navbar_persistent": ["search-button"],
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# Results pages hold wide tables: no left sidebar there (results/index lists them all).
html_sidebars = {"results/*": [], "findings": [], "planted_errors": [], "performance": []}
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False

# -- generated pages --------------------------------------------------------
#: The public modules of the API reference, in the order of the layers (top down).
API_MODULES = (
    ("sparsesim", "Top-level functions: the ℓ0 projection and masks, re-exported from "
                  ":mod:`sparsesim.sparsity`; ``sparsesim.run`` is :func:`sparsesim.api.run`."),
    ("sparsesim.api", ""),
    ("sparsesim.testing", ""),
    ("sparsesim.plan", ""),
    ("sparsesim.report", ""),
    ("sparsesim.sweep", ""),
    ("sparsesim.sim", ""),
    ("sparsesim.nn", ""),
    ("sparsesim.geometry", ""),
    ("sparsesim.stats", ""),
    ("sparsesim.theory", ""),
    ("sparsesim.theory.laws", "One law object per model of support recovery by thresholding; "
                              "the tables of ``support_recovery`` loop over them."),
    ("sparsesim.sparsity", ""),
)


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (keeps incremental builds incremental)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _first_heading(table_md: Path) -> str:
    for line in table_md.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return table_md.parent.name


def _agreement_line(table_md: Path) -> str:
    """The bold agreement line that opens a report (or "" when it has none)."""
    for line in table_md.read_text(encoding="utf-8").splitlines()[:12]:
        if line.startswith("**"):
            return line.strip()
    return ""


def write_results_pages() -> list[str]:
    """One page per ``results/**/table.md`` (depth ≤ 2) under ``docs/results/``; returns the names."""
    out = DOCS / "results"
    tables = sorted(set((ROOT / "results").glob("*/table.md"))
                    | set((ROOT / "results").glob("*/*/table.md")))
    names, rows = [], []
    for t in tables:
        rel = t.parent.relative_to(ROOT / "results")
        name = "__".join(rel.parts)
        names.append(name)
        folder = "/".join(rel.parts)
        # relative-images: the report's figures sit beside it; its own title
        # (the simulation's name) would repeat on nested folders, so the page
        # gets the folder as its title and the report's headings one level down.
        include = os.path.relpath(t, out).replace(os.sep, "/")
        # The container marks the page for the compact table style (_static/custom.css).
        page = (f"# {folder}\n\n"
                f"::::{{container}} results-report\n"
                f"Committed report `results/{folder}/table.md`, included verbatim; the rows' "
                f"cells are in `results/{folder}/cells.csv`. See {{doc}}`../guide/verdicts` "
                f"for what ✓, ✗, inconclusive, not testable, descriptive and post hoc mean.\n"
                f"::::\n\n"
                f"```{{include}} {include}\n:relative-images:\n:start-line: 1\n```\n")
        _write_if_changed(out / f"{name}.md", page)
        rows.append((folder, name, _first_heading(t), _agreement_line(t)))
    index = ["# Results", "",
             "One page per committed result folder, generated when the documentation is "
             "built from `results/*/table.md`: the theory tables with the verdict of every "
             "row, the figures, and where and when the numbers were produced. "
             "{doc}`../findings` summarises them.", "",
             "| folder | simulation | agreement line |", "|---|---|---|"]
    for folder, name, sim_name, agree in rows:
        index.append(f"| {{doc}}`{folder} <{name}>` | `{sim_name}` | {agree or '—'} |")
    index += ["", "```{toctree}", ":hidden:", ":maxdepth: 1", ""] + names + ["```", ""]
    _write_if_changed(out / "index.md", "\n".join(index))
    for stale in out.glob("*.md"):
        if stale.stem not in names and stale.name != "index.md":
            stale.unlink()
    return names


def write_api_pages() -> None:
    """One page per public module: its docstring and an autosummary of its ``__all__``."""
    out = DOCS / "api"
    toc = []
    for modname, note in API_MODULES:
        mod = importlib.import_module(modname)
        names = [n for n in getattr(mod, "__all__", ()) if not n.startswith("__")]
        if modname == "sparsesim":
            names = names + ["run", "RunResult", "Verdict"]
        funcs, classes, data = [], [], []
        for n in names:
            obj = getattr(mod, n)
            if isinstance(obj, type):
                classes.append(n)
            elif callable(obj):
                funcs.append(n)
            else:
                data.append(n)
        lines = [modname, "=" * len(modname), ""]
        if note:
            lines += [note, ""]
        lines += [f".. automodule:: {modname}", "    :no-members:", ""]
        lines += [f".. currentmodule:: {modname}", ""]
        for title, group in (("Functions", funcs), ("Classes", classes)):
            if group:
                lines += [title, "-" * len(title), "", ".. autosummary::",
                          "    :toctree: ../generated", "    :nosignatures:", ""]
                lines += [f"    {n}" for n in group] + [""]
        if data:
            lines += ["Constants", "---------", ""]
            for n in data:
                lines += [f".. autodata:: {n}", "    :no-value:" if _long_value(getattr(mod, n))
                          else "", ""]
        _write_if_changed(out / f"{modname}.rst", "\n".join(lines))
        toc.append(modname)
    index = ["API reference", "=============", "",
             "The public modules, top layer first (a module imports only from the layers "
             "below it). Each page lists the names of the module's ``__all__``; the "
             "docstrings follow the numpydoc format and their examples run as doctests in "
             "the test-suite.", "",
             ".. toctree::", "    :maxdepth: 1", ""] + [f"    {m}" for m in toc] + [""]
    _write_if_changed(out / "index.rst", "\n".join(index))


def _long_value(obj) -> bool:
    return len(repr(obj)) > 120


write_results_pages()
write_api_pages()
