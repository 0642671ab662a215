"""No public function takes more than 8 parameters without saying why.

A function of the package's public surface (a module with no ``_``-prefixed part in its
path, a name without a leading ``_``, methods of public classes, ``__init__`` included)
with more than ``MAX_PARAMETERS`` named parameters (``self`` / ``cls`` not counted) must
give the reason in its docstring, in a paragraph starting with ``REASON`` ("Parameters
stay: ..."), or group its settings into a spec (:mod:`sparsesim.nn.specs`).  The fields
of a dataclass are not counted: a spec *is* the grouping.  ``**settings`` of a function
that takes a spec's fields by keyword (:func:`sparsesim.nn.train`) are not counted either.

The scan reads the source (no imports), so it also covers modules that need CuPy.
"""

import ast
import pathlib

import pytest

import sparsesim

MAX_PARAMETERS = 8
REASON = "Parameters stay:"
#: Words a reason must at least have (a bare "Parameters stay:" says nothing).
MIN_REASON_WORDS = 6

ROOT = pathlib.Path(sparsesim.__file__).parent


def _n_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return len(names)


def _reason(doc: str) -> str | None:
    """The text after ``REASON`` up to the end of its paragraph, or None."""
    at = doc.find(REASON)
    if at < 0:
        return None
    return doc[at + len(REASON):].split("\n\n")[0].strip()


def many_parameter_functions(source: str, module: str) -> list[tuple[str, int, str | None]]:
    """``(qualified name, parameter count, reason or None)`` of every public function of
    ``source`` over ``MAX_PARAMETERS`` parameters."""
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                public = not child.name.startswith("_") or child.name == "__init__"
                n = _n_params(child)
                if public and n > MAX_PARAMETERS:
                    out.append((f"{module}.{prefix}{child.name}", n,
                                _reason(ast.get_docstring(child) or "")))
            elif isinstance(child, ast.ClassDef) and not child.name.startswith("_"):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return out


def _public_modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent)
        if any(part.startswith("_") and part != "__init__.py" for part in rel.parts):
            continue
        yield ".".join(rel.with_suffix("").parts), path


def _scan():
    found = []
    for module, path in _public_modules():
        found += many_parameter_functions(path.read_text(encoding="utf-8"), module)
    return found


FOUND = _scan()


def test_the_scan_sees_the_package():
    """The scan is not vacuous: it reads the package and finds its long signatures."""
    names = {name for name, _, _ in FOUND}
    assert "sparsesim.nn.saliency.saliency_masks" in names
    assert len(FOUND) >= 10
    # train takes its settings as a TrainSpec (or their names by keyword): not listed
    assert "sparsesim.nn.training.train" not in names


@pytest.mark.parametrize("name,n,reason", FOUND, ids=[f[0] for f in FOUND])
def test_each_long_signature_says_why(name, n, reason):
    assert reason is not None, (
        f"{name} takes {n} parameters (more than {MAX_PARAMETERS}) and its docstring gives "
        f"no reason: group them into a spec (sparsesim.nn.specs) or add a paragraph "
        f"'{REASON} <why>'")
    assert len(reason.split()) >= MIN_REASON_WORDS, (
        f"{name}: the reason after '{REASON}' is too short to say anything: {reason!r}")


# --------------------------------------------------------------------------- planted cases

_NINE = "a, b, c, d, e, f, g, h, i"


@pytest.mark.parametrize("source,expected", [
    (f"def f({_NINE}):\n    '''Nine.'''\n", [("m.f", 9, None)]),
    (f"def f({_NINE}):\n    '''Nine.\n\n    {REASON} each is an independent knob here.\n    '''\n",
     [("m.f", 9, "each is an independent knob here.")]),
    ("def f(a, b, c, d, e, f, g, h):\n    '''Eight.'''\n", []),
    (f"def _f({_NINE}):\n    '''Private.'''\n", []),
    (f"class C:\n    def m(self, {_NINE}):\n        '''Nine.'''\n", [("m.C.m", 9, None)]),
    (f"class C:\n    def __init__(self, {_NINE}):\n        pass\n", [("m.C.__init__", 9, None)]),
    ("def f(a, b, *, c, d, e, f, g, h, i, **rest):\n    '''Nine named.'''\n",
     [("m.f", 9, None)]),
])
def test_the_rule_catches_a_planted_long_signature(source, expected):
    assert many_parameter_functions(source, "m") == expected


def test_a_bare_reason_is_too_short():
    found = many_parameter_functions(f"def f({_NINE}):\n    '''{REASON} because.'''\n", "m")
    assert found == [("m.f", 9, "because.")]
    with pytest.raises(AssertionError, match="too short"):
        test_each_long_signature_says_why(*found[0])
