"""Make the small molecule dataset that ships with gnn (``gnncli/data/molecules.csv``).

Molecules are assembled from common medicinal-chemistry fragments with RDKit reaction-free
string joins, deduplicated by canonical SMILES; the targets are RDKit-computed properties:
Crippen logP, topological polar surface area (TPSA) and the fraction of sp3 carbons.
Deterministic for a given seed:

    python examples/make_molecules.py --n 400 --seed 0 --out gnncli/data/molecules.csv
"""

from __future__ import annotations

import argparse
import csv
import random

from rdkit import Chem, RDLogger
from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors

RDLogger.DisableLog("rdApp.*")

CORES = [
    "c1ccccc1", "c1ccncc1", "c1ccc2ccccc2c1", "C1CCCCC1", "C1CCNCC1", "C1CCOCC1", "c1ccoc1",
    "c1ccsc1", "c1cn[nH]c1", "c1cnc2ccccc2c1", "C1CC1", "c1ccc2[nH]ccc2c1", "O=C1CCCN1", "c1ncncc1",
    "C1COCCN1", "c1ccc(cc1)-c1ccccc1",
]
SUBSTITUENTS = [
    "C", "CC", "CCC", "C(C)C", "O", "OC", "N", "NC", "N(C)C", "F", "Cl", "Br", "C(F)(F)F", "C#N",
    "C(=O)O", "C(=O)N", "C(=O)OC", "S(=O)(=O)N", "[N+](=O)[O-]", "CO", "CCO", "NC(=O)C", "C(=O)C",
    "OCC", "CN", "C=C", "C#C", "SC", "CCN",
]
LINKERS = ["", "C", "CC", "O", "N", "C(=O)N", "NC(=O)", "OC", "S", "C(=O)"]


def attach(core: str, rng: random.Random, n_subs: int) -> Chem.Mol | None:
    mol = Chem.MolFromSmiles(core)
    if mol is None:
        return None
    rw = Chem.RWMol(mol)
    sites = [a.GetIdx() for a in rw.GetAtoms() if a.GetTotalNumHs() > 0]
    rng.shuffle(sites)
    for site in sites[:n_subs]:
        sub = Chem.MolFromSmiles(rng.choice(SUBSTITUENTS))
        offset = rw.GetNumAtoms()
        combined = Chem.RWMol(Chem.CombineMols(rw, sub))
        combined.AddBond(site, offset, Chem.BondType.SINGLE)
        rw = combined
    out = rw.GetMol()
    try:
        Chem.SanitizeMol(out)
    except Exception:
        return None
    return out


def make(n: int, seed: int) -> list[tuple[str, float, float, float]]:
    rng = random.Random(seed)
    seen, rows = set(), []
    while len(rows) < n:
        core = rng.choice(CORES)
        if rng.random() < 0.4:  # two cores joined by a linker
            core = f"{core}{rng.choice(LINKERS)}{rng.choice(CORES)}"
        mol = attach(core, rng, rng.randint(0, 3))
        if mol is None:
            continue
        smiles = Chem.MolToSmiles(mol)
        if smiles in seen or Descriptors.HeavyAtomCount(mol) > 40:
            continue
        seen.add(smiles)
        rows.append((
            smiles,
            round(Crippen.MolLogP(mol), 4),
            round(rdMolDescriptors.CalcTPSA(mol), 4),
            round(rdMolDescriptors.CalcFractionCSP3(mol), 4),
        ))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="gnncli/data/molecules.csv")
    args = parser.parse_args()
    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["smiles", "logp", "tpsa", "fsp3"])
        writer.writerows(make(args.n, args.seed))


if __name__ == "__main__":
    main()
