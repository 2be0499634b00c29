"""Commands that need no tensors start without torch (it costs about a second to import)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
GALLERY = ROOT / "examples" / "graphs"


@pytest.mark.parametrize(
    "args,expected",
    [
        (["wl-test", GALLERY / "c6.csv", GALLERY / "two_triangles.csv"], "verdict: not isomorphic, but 1-WL-equivalent"),
        (["coarsen", GALLERY / "c6.csv", "--k", "3", "--out", "{tmp}/c.csv"], "6 nodes -> 3 supernodes"),
    ],
    ids=["wl-test", "coarsen"],
)
def test_graph_commands_on_edge_lists_import_no_torch(tmp_path, args, expected):
    argv = ["gnn", *(str(a).format(tmp=tmp_path) for a in args)]
    code = (
        "import sys\n"
        "from gnncli.cli.main import app\n"
        f"sys.argv = {argv!r}\n"
        "try:\n    app()\nexcept SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
        "print([m for m in ('torch', 'torch_geometric') if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout  # the command ran
    assert done.stdout.strip().splitlines()[-1] == "[]"
