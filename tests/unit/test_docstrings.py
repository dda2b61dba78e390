"""Every public name of deltascf has its own docstring (issue: docs).

Public: each name in a public module's ``__all__`` (a module whose dotted path has no part starting with ``_``),
and each public method and property that a deltascf class defines itself.  A dataclass's generated
``Name(field, ...)`` text is not a docstring.  The docstrings follow the numpydoc convention (like PySCF and
SciPy); the documentation site renders them (``docs/reference.md``).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import deltascf


def public_modules() -> list:
    names = [m.name for m in pkgutil.walk_packages(deltascf.__path__, "deltascf.")
             if not any(part.startswith("_") for part in m.name.split(".")[1:])]
    return ["deltascf", *sorted(names)]


def _own_doc(obj) -> bool:
    doc = obj.__doc__
    if not doc or not doc.strip():
        return False
    return not (inspect.isclass(obj) and doc.startswith(obj.__name__ + "("))


def _members(cls):
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, property):
            value = value.fget
        elif isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if inspect.isfunction(value):
            yield name, value


def public_objects() -> dict:
    """{qualified name: object} of every public function, class and class member."""
    out = {}
    for modname in public_modules():
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if not getattr(obj, "__module__", "").startswith("deltascf"):
                continue
            key = f"{obj.__module__}.{obj.__qualname__}"
            out[key] = obj
            if inspect.isclass(obj):
                out.update({f"{key}.{n}": f for n, f in _members(obj)})
    return out


def test_every_public_module_has_a_docstring():
    for modname in public_modules():
        mod = importlib.import_module(modname)
        assert mod.__doc__ and mod.__doc__.strip(), f"{modname} has no module docstring"


def test_every_public_name_has_a_docstring():
    objects = public_objects()
    assert len(objects) > 300  # the walk found the package
    missing = sorted(k for k, v in objects.items() if not _own_doc(v))
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


def test_the_check_sees_a_missing_docstring():
    """The rule itself: a bare function and a dataclass with only its generated text both fail it."""
    from dataclasses import dataclass

    def bare():
        pass

    @dataclass
    class Bare:
        x: int = 0

    assert not _own_doc(bare) and not _own_doc(Bare)
    assert _own_doc(public_objects)
