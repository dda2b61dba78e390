"""Sphinx configuration of the deltascf documentation site (``pip install ".[docs]"``, then
``sphinx-build -W --keep-going -n docs docs/_build/html``).

Markdown pages and the stored notebooks are read by MyST-NB without executing them (the test suite runs the
notebooks; their stored outputs come from a full run).  The API reference is autodoc on the numpydoc docstrings
(read by napoleon), and the CLI reference is sphinx-argparse on the parser itself, so neither can drift.
"""
from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

project = "deltascf"
author = "the deltascf developers"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinxarg.ext"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "figures/README*"]
nb_execution_mode = "off"  # the notebooks carry their outputs; tests/integration/test_notebooks.py runs them
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # theory.md numbers its sections itself and starts at ##
napoleon_google_docstring = False
napoleon_numpy_docstring = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"
html_title = "deltascf"
html_theme = "alabaster"


def _copy_notebooks(app) -> None:
    """The notebooks live in examples/notebooks (where users find them); the site renders copies."""
    dest = HERE / "notebooks"
    dest.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "examples" / "notebooks").glob("*.ipynb")):
        if not (dest / nb.name).exists() or (dest / nb.name).read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, dest / nb.name)


def _plain_bars(app, what, name, obj, options, lines) -> None:
    """Docstrings write |x| for norms and bra-kets; in reStructuredText |...| would be a substitution."""
    lines[:] = [line.replace("|", "\\|") for line in lines]


def setup(app):
    app.connect("builder-inited", _copy_notebooks)
    app.connect("autodoc-process-docstring", _plain_bars)
