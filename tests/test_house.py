"""The house (``benchmarks/house.py``): the core imports no kind of input, and no import circles.

The core is every module of ``gnncli`` but the kinds' packages (``gnncli/domains/<kind>/``) and
the command line (``gnncli.cli``, ``gnncli.__main__``), which loads every kind to build ``--help``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent

def _house():
    spec = importlib.util.spec_from_file_location("house", ROOT / "benchmarks" / "house.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


house = _house()
KNOWN_MODULES = house.modules(ROOT)


def _core() -> list[str]:
    return sorted(m for m in KNOWN_MODULES
                  if house.kind_of(m, KNOWN_MODULES) is None and m != "gnncli.__main__"
                  and m != "gnncli.cli" and not m.startswith("gnncli.cli."))


def _kinds_loaded(modules: list[str]) -> list[str]:
    """The ``gnncli.domains.<kind>`` modules in ``sys.modules`` after importing ``modules`` in a
    fresh interpreter."""
    code = ("import importlib, json, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('gnncli.domains.'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return [m for m in loaded if house.kind_of(m, KNOWN_MODULES) is not None]


def test_core_list_is_the_package():
    core = _core()
    assert "gnncli.models.config" in core and "gnncli.domains.base" in core and "gnncli.kinds" in core
    assert not any(m.startswith(("gnncli.domains.molecules", "gnncli.cli")) for m in core)


def test_core_imports_no_kind():
    loaded = _kinds_loaded(_core())
    assert loaded == [], f"importing the core loaded kinds of input: {loaded}"


def test_model_names_load_kinds_by_name():
    """The model registry finds a kind's own models without importing gnncli.domains itself."""
    code = ("import sys\n"
            "from gnncli.models.config import model_entry, model_names\n"
            "assert not any(m.startswith('gnncli.domains') for m in sys.modules), 'models import domains'\n"
            "assert 'appnp' in model_names('graph') and 'gcmc' in model_names('ratings')\n"
            "assert model_entry('gcn', 'graph').meta['domains'] == ('graph',)\n"
            "assert model_entry('gcn', 'molecules').meta.get('domains') is None\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_circles():
    result = house.house(ROOT)
    assert result["circles"] == [] and result["back_arrows"] == [], (
        f"import circles in gnncli (python benchmarks/house.py): {result['circles']}")


def test_house_reads_lazy_and_relative_imports(tmp_path):
    package = tmp_path / "gnncli"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import a\n")
    (package / "sub" / "a.py").write_text("def f():\n    from gnncli.sub.b import g\n")
    (package / "sub" / "b.py").write_text("from ..sub import a\n")
    graph = house.arrows(house.modules(tmp_path))
    assert graph["gnncli.sub.a"] == {"gnncli.sub.b"} and graph["gnncli.sub.b"] == {"gnncli.sub.a"}
    assert house.circles(graph) == [["gnncli.sub.a", "gnncli.sub.b"]]
    result = house.house(tmp_path)
    assert len(result["back_arrows"]) == 1 and result["rooms"] == 4


def test_testing_names_the_bundled_molecules():
    from gnncli.domains.molecules import BUNDLED_DATA
    from gnncli.testing import MOLECULES

    assert MOLECULES == BUNDLED_DATA and MOLECULES.is_file()
