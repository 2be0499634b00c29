"""Tiny data factories and property checks reused by the tests (and handy in notebooks)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from gnncli.domains.pack import GraphPack
from gnncli.featurizers.molecule import MoleculeFeaturizer, featurize_batch
from gnncli.progress import Reporter

#: The molecules bundled with gnn (the molecules kind's default input,
#: ``gnncli.domains.molecules.BUNDLED_DATA``), named here so that this module imports no kind.
MOLECULES = Path(__file__).resolve().parent / "data" / "molecules.csv"

#: Small, varied, valid molecules (rings, charges, stereo, halogens, a lone atom).
SMILES = [
    "CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O", "CN1CCC[C@H]1c1cccnc1", "F/C=C/F", "C[N+](C)(C)C",
    "O=C([O-])CC", "C1CCC2CCCCC2C1", "Clc1ccc(Br)cc1", "CC(C)(C)OC(=O)N", "C#N", "[Na+]",
    "c1ccc2[nH]ccc2c1", "OCC(O)CO", "CC(=O)N[C@@H](C)C(=O)O", "C1CC1C(F)(F)F",
]


def molecule_pack(smiles: list[str] | None = None) -> GraphPack:
    """Featurize ``smiles`` (default :data:`SMILES`) into a pack."""
    x, ei, ea, na, ne, errors = featurize_batch(MoleculeFeaturizer(), smiles or SMILES)
    if errors:
        raise ValueError(f"invalid test SMILES: {errors}")
    return GraphPack.from_arrays(x, ei, ea, na, ne)


def permute_graph(data: Data, perm: torch.Tensor) -> Data:
    """Relabel nodes: new node ``i`` is old node ``perm[i]``. Keeps edge pairs (e, e^1) together."""
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    return Data(x=data.x[perm], edge_index=inverse[data.edge_index], edge_attr=data.edge_attr, num_nodes=data.num_nodes)


def assert_permutation_invariant(model: torch.nn.Module, data: Data, *, seed: int = 0, atol: float = 1e-5) -> None:
    """Raise AssertionError unless ``model`` gives the same output for ``data`` under a node relabelling."""
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(data.num_nodes, generator=gen)
    model.eval()
    with torch.no_grad():
        a = model(Batch.from_data_list([data]))
        b = model(Batch.from_data_list([permute_graph(data, perm)]))
    if not torch.allclose(a, b, atol=atol):
        raise AssertionError(f"output changed under node permutation: max diff {float((a - b).abs().max()):.3g}")


def write_molecule_csv(path: str | Path, n: int = 60, *, seed: int = 0, classification: bool = False,
                       extra_rows: list[list[str]] | None = None) -> Path:
    """A CSV of ``n`` molecules with a computed target (``logp``, or ``active`` = logP > 1.5)."""
    from rdkit import Chem
    from rdkit.Chem import Crippen

    rng = np.random.default_rng(seed)
    with open(MOLECULES) as handle:
        pool = [row["smiles"] for row in csv.DictReader(handle)]
    chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]
    path = Path(path)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "smiles", "active" if classification else "logp"])
        for i, smi in enumerate(chosen):
            logp = Crippen.MolLogP(Chem.MolFromSmiles(smi))
            writer.writerow([f"m{i}", smi, int(logp > 1.5) if classification else round(logp, 4)])
        for row in extra_rows or []:
            writer.writerow(row)
    return path


class InterruptAfterEpochs(Reporter):
    """A silent reporter that simulates Ctrl-C once training has finished ``n`` epochs (to test
    that an interrupted run resumes exactly where it stopped)."""

    def __init__(self, n: int) -> None:
        super().__init__(None)
        self.n, self.seen = n, 0

    def advance(self, task, amount: float = 1, **fields) -> None:
        if "info" in fields and "val" in fields["info"]:  # the training bar's per-epoch update
            self.seen += 1
            if self.seen == self.n:
                raise KeyboardInterrupt


# ------------------------------------------------------------------------------- proteins

_HELIX_AA = ("ALA", "LEU", "GLU", "LYS", "SER", "VAL", "ASP", "PHE", "GLY", "ARG", "THR", "ILE")


def pdb_atom(serial: int, name: str, resname: str, chain: str, resnum: int, xyz, *, element: str | None = None,
             het: bool = False, altloc: str = " ", occupancy: float = 1.0, bfactor: float = 20.0, icode: str = " ") -> str:
    """One fixed-column PDB ATOM/HETATM line."""
    element = element or name.strip()[0]
    padded = f" {name:<3}" if len(name) < 4 else name
    return (f"{'HETATM' if het else 'ATOM  '}{serial:5d} {padded:<4}{altloc}{resname:>3} {chain}{resnum:4d}{icode}   "
            f"{xyz[0]:8.3f}{xyz[1]:8.3f}{xyz[2]:8.3f}{occupancy:6.2f}{bfactor:6.2f}          {element:>2}")


def helix_backbone(n: int, *, rotation: np.ndarray | None = None, shift=(0.0, 0.0, 0.0)) -> np.ndarray:
    """Ideal alpha-helix backbone and C-beta coordinates [n, 4, 3] (N, CA, C, CB): 3.6 residues
    per turn, 1.5 Angstrom rise, C-alpha radius 2.3 Angstrom; optionally rotated and shifted."""
    t = np.radians(100.0)
    out = np.zeros((n, 4, 3))
    for i in range(n):
        for k, (dr, r, dz) in enumerate(((-0.35, 1.55, -0.6), (0.0, 2.3, 0.0), (0.33, 1.65, 0.55), (0.1, 3.3, -0.4))):
            a = (i + dr) * t
            out[i, k] = (r * np.cos(a), r * np.sin(a), 1.5 * (i + dr) + dz)
    rot = np.eye(3) if rotation is None else rotation
    return out @ rot.T + np.asarray(shift)


def write_protein_pdb(path, n: int = 24, *, chains: str = "A", ligand_near: int | None = None, ligand_name: str = "LIG",
                      seed: int = 0, extra_lines: list[str] | None = None, rotation: np.ndarray | None = None) -> Path:
    """A small PDB file: one ideal helix of ``n`` residues per chain (chains side by side, 10
    Angstrom apart), waters, and with ``ligand_near=k`` a 3-atom HETATM ligand 3 Angstrom out from
    residue k's C-beta of the first chain (so residue k, and only residues near it, bind it)."""
    rng = np.random.default_rng(seed)
    lines, serial = [], 1
    for c, chain in enumerate(chains):
        coords = helix_backbone(n, rotation=rotation, shift=(10.0 * c, 0.0, 0.0))
        for i in range(n):
            resname = _HELIX_AA[int(rng.integers(len(_HELIX_AA)))]
            for k, atom in enumerate(("N", "CA", "C", "CB")):
                lines.append(pdb_atom(serial, atom, resname, chain, i + 1, coords[i, k], bfactor=float(rng.uniform(10, 40))))
                serial += 1
    if ligand_near is not None:
        coords = helix_backbone(n, rotation=rotation)
        ca, cb = coords[ligand_near - 1, 1], coords[ligand_near - 1, 3]
        out = (cb - ca) / np.linalg.norm(cb - ca)
        for j in range(3):
            lines.append(pdb_atom(serial, f"C{j + 1}", ligand_name, "A", 900, cb + out * (3.0 + 1.4 * j), element="C", het=True))
            serial += 1
    lines.append(pdb_atom(serial, "O", "HOH", "A", 1000, (30.0, 30.0, 30.0), element="O", het=True))
    lines.extend(extra_lines or [])
    path = Path(path)
    path.write_text("\n".join(lines) + "\nEND\n")
    return path


def write_protein_folder(folder, count: int = 8, *, n: int = 24, seed: int = 0) -> Path:
    """``count`` small structures (:func:`write_protein_pdb`), each with a ligand next to a
    different residue, randomly rotated."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        write_protein_pdb(folder / f"p{i}.pdb", n, ligand_near=int(rng.integers(4, n - 3)), seed=seed + i,
                          rotation=q * np.sign(np.linalg.det(q)))
    return folder


def random_rotation(seed: int = 0) -> torch.Tensor:
    """A random proper rotation matrix [3, 3]."""
    gen = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q.float()


def assert_equivariant(encode, batch, *, seed: int = 0, atol: float = 1e-4) -> None:
    """Raise AssertionError unless ``encode(batch) -> (h, pos)`` gives the same node states ``h``
    and coordinates that rotate and translate with the input when ``batch.pos`` is rotated and
    translated (E(3)-equivariance, as e3nn's ``assert_equivariant`` checks for its layers)."""
    rot = random_rotation(seed)
    shift = torch.randn(3, generator=torch.Generator().manual_seed(seed + 1)) * 10
    moved = batch.clone()
    moved.pos = batch.pos @ rot.T + shift
    with torch.no_grad():
        h, pos = encode(batch)[:2]
        h2, pos2 = encode(moved)[:2]
    if not torch.allclose(h, h2, atol=atol):
        raise AssertionError(f"node states changed under rotation + translation: max diff {float((h - h2).abs().max()):.3g}")
    expected = pos @ rot.T + shift
    if not torch.allclose(expected, pos2, atol=atol * max(1.0, float(pos.abs().max()))):
        raise AssertionError(f"coordinates did not move with the input: max diff {float((expected - pos2).abs().max()):.3g}")


def planted_graph(n: int = 300, blocks: int = 3, *, p_in: float = 0.06, p_out: float = 0.005, features: int = 16,
                  signal: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A stochastic block model with planted communities: ``(edges [E, 2], labels [n], x [n, F])``.

    Each node's block is its label; an edge joins two nodes with probability ``p_in`` inside a
    block and ``p_out`` across. Features are Gaussian noise plus ``signal`` times a direction of
    the node's block, so features alone tell the blocks apart only in part and the graph adds the rest.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % blocks
    rng.shuffle(labels)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, p_in, p_out), 1)
    src, dst = np.nonzero(upper)
    centers = rng.normal(size=(blocks, features))
    x = (rng.normal(size=(n, features)) + signal * centers[labels]).astype(np.float32)
    return np.stack([src, dst], 1), labels, x


def write_planted_graph(folder, n: int = 300, blocks: int = 3, *, seed: int = 0, split: bool = True,
                        feature_file: str | None = "features.npy", **kwargs) -> Path:
    """:func:`planted_graph` as a folder of the graph kind: ``edges.csv``, ``nodes.csv`` (``id,label``
    and a ``split`` column, 40% / 20% / 40%) and ``features.npy`` (or feature columns in the node
    table when ``feature_file`` is None). Node ids are ``n0 .. n{n-1}``."""
    import pandas as pd

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    edges, labels, x = planted_graph(n, blocks, seed=seed, **kwargs)
    ids = np.array([f"n{i}" for i in range(n)])
    pd.DataFrame({"source": ids[edges[:, 0]], "target": ids[edges[:, 1]]}).to_csv(folder / "edges.csv", index=False)
    nodes = pd.DataFrame({"id": ids, "label": labels})
    if split:
        part = np.random.default_rng(seed + 1).permutation(n)
        column = np.empty(n, dtype=object)
        column[part[: int(0.4 * n)]] = "train"
        column[part[int(0.4 * n): int(0.6 * n)]] = "val"
        column[part[int(0.6 * n):]] = "test"
        nodes["split"] = column
    if feature_file is None:
        for j in range(x.shape[1]):
            nodes[f"f{j}"] = x[:, j]
    else:
        np.save(folder / feature_file, x)
    nodes.to_csv(folder / "nodes.csv", index=False)
    return folder
