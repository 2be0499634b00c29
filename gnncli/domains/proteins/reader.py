"""Reading protein structures (PDB, mmCIF, gzipped or not) into residue arrays with gemmi.

One reading path: gemmi (C++ core, PyPI wheels). On the shared PDB entries it parses about 40x
faster than Biopython's ``PDBParser`` (``python benchmarks/proteins_speed.py``), which is what
lets parse + residue graph reach 50 structures per second per core.

What is read, per structure:

* the model ``model_index`` (1-based; the first by default), every protein chain unless ``chains``
  names some; nucleic-acid chains are left out with a note;
* per residue with a C-alpha: chain, number, insertion code, name (modified residues mapped to
  their parent, MSE -> MET, SEP -> SER, ...; unknown amino acids -> UNK), the backbone N, CA, C,
  the centroid of its heavy atoms and its C-alpha's B-factor; residues without a C-alpha
  are dropped and counted in the notes (missing side-chain atoms are fine);
* alternate locations: per residue, the altloc with the highest summed occupancy (atoms without an
  altloc are always kept); hydrogens and waters dropped;
* ligands: HETATM groups that are not water, not an amino acid or nucleotide (modified residues
  are part of the chain), not one of :data:`EXCLUDED_HET` (crystallization additives and
  buffers) and with at least two heavy atoms (so no ion counts as a ligand).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from gnncli.errors import InputError

#: The 20 standard amino acids, in the order of the residue-type features; UNK is the 21st.
AMINO_ACIDS = ("ALA", "ARG", "ASN", "ASP", "CYS", "GLN", "GLU", "GLY", "HIS", "ILE",
               "LEU", "LYS", "MET", "PHE", "PRO", "SER", "THR", "TRP", "TYR", "VAL")
ONE_TO_THREE = dict(zip("ARNDCQEGHILKMFPSTWYV", AMINO_ACIDS))

#: HETATM groups that are never ligands: crystallization additives, buffers, cryoprotectants,
#: detergents and common counter-ions of more than one atom (single-atom ions are never ligands).
EXCLUDED_HET = frozenset({
    "HOH", "DOD", "WAT", "SO4", "PO4", "EDO", "GOL", "PEG", "PG4", "PGE", "1PE", "P6G", "DMS", "ACT", "ACY",
    "MOH", "EOH", "IMD", "TRS", "EPE", "MES", "BME", "FMT", "CIT", "NO3", "SCN", "AZI", "IPA", "MPD",
    "BTB", "PE4", "2PE", "NH4", "TLA", "MLI", "BU3", "DTT", "CO3", "OXY", "IOD", "UNX", "UNL",
})

STRUCTURE_EXTENSIONS = (".pdb", ".ent", ".cif", ".mmcif")
_NUCLEIC = ("RNA", "DNA")


@dataclass
class Ligand:
    """A ligand's heavy atoms: ``name`` (residue name, or the file it came from), ``xyz`` [A, 3]."""

    name: str
    xyz: np.ndarray
    chain: str = ""
    resnum: str = ""


@dataclass
class Structure:
    """The protein residues of one structure (R residues, A heavy atoms).

    Attributes:
        source: the file as the user named it.
        chain, resnum, icode, resname: per residue (``resname`` after mapping to the parent).
        backbone: [R, 3, 3] N, CA, C coordinates (NaN where an atom is missing; CA never is).
        center: [R, 3] centroid of each residue's heavy atoms.
        bfactor: [R] the B-factor of each residue's C-alpha (NaN when the file has none).
        atom_xyz: [A, 3] every protein heavy atom; ``atom_residue`` [A] its residue;
            ``atom_element`` [A] its element (only when read with ``elements=True``, else None).
        ligands: HETATM ligands found in the file (see the module docstring).
        notes: one line each about what was left out.
    """

    source: str
    chain: np.ndarray
    resnum: np.ndarray
    icode: np.ndarray
    resname: np.ndarray
    backbone: np.ndarray
    center: np.ndarray
    bfactor: np.ndarray
    atom_xyz: np.ndarray
    atom_residue: np.ndarray
    ligands: list[Ligand] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    atom_element: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.resname)

    @property
    def ca(self) -> np.ndarray:
        return self.backbone[:, 1]


def structure_format(path: str, fmt: str | None = None) -> str:
    """``pdb`` or ``cif``: ``fmt`` if given, else from the extension (``.gz`` allowed)."""
    if fmt:
        return fmt
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return "cif" if name.endswith((".cif", ".mmcif")) else "pdb"


def is_structure_file(path: str) -> bool:
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(STRUCTURE_EXTENSIONS)


def parent_residue(name: str) -> str | None:
    """The standard amino acid ``name`` is (or derives from): ``MSE`` -> ``MET``; ``UNK`` for an
    amino acid without a standard parent; None when ``name`` is not an amino acid."""
    if name in _PARENT_CACHE:
        return _PARENT_CACHE[name]
    import gemmi

    parent = None
    info = gemmi.find_tabulated_residue(name)
    if info is not None and info.is_amino_acid():
        parent = ONE_TO_THREE.get(info.one_letter_code.upper(), "UNK")
    _PARENT_CACHE[name] = parent
    return parent


_PARENT_CACHE: dict[str, str | None] = {a: a for a in AMINO_ACIDS}


def _residue_kind(name: str) -> str:
    """``water``, ``nucleic`` or ``other`` for a residue that is not an amino acid."""
    import gemmi

    info = gemmi.find_tabulated_residue(name)
    if info is None:
        return "other"
    if info.is_water():
        return "water"
    if info.is_nucleic_acid():
        return "nucleic"
    return "other"


def _read_gemmi(path: str, fmt: str | None):
    import gemmi

    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputError(f"{p}: file not found")
    if os.path.isdir(p):
        raise InputError(f"{p}: is a folder, expected a structure file")
    if os.path.getsize(p) == 0:
        raise InputError(f"{p}: file is empty")
    kind = structure_format(p, fmt)
    try:
        if kind == "cif":
            st = gemmi.make_structure_from_block(gemmi.cif.read(p).sole_block())
        else:
            st = gemmi.read_pdb(p, max_line_length=0)
    except (RuntimeError, ValueError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        what = "mmCIF" if kind == "cif" else "PDB"
        raise InputError(f"{p}: not a readable {what} file ({first})") from None
    return st


def read_structure(path: str, *, model_index: int = 1, chains: list[str] | None = None, fmt: str | None = None,
                   excluded_het: frozenset[str] | None = None, ligand_names: list[str] | None = None,
                   elements: bool = False) -> Structure:
    """Read the protein residues and ligands of ``path`` (see the module docstring).

    Args:
        model_index: which model (1-based) of a multi-model file (NMR ensembles).
        chains: chain IDs to keep (None: every protein chain); one that does not exist is an error.
        fmt: ``pdb`` or ``cif`` (default: from the extension).
        excluded_het: HETATM names never taken as ligands (default :data:`EXCLUDED_HET`).
        ligand_names: if given, only HETATM groups of these names are ligands.
        elements: also record each protein atom's element (``atom_element``; atom graphs).

    Raises InputError naming the file for an empty or unreadable file, a missing model or chain,
    and a structure with no protein residues.
    """
    p = os.fspath(path)
    st = _read_gemmi(p, fmt)
    if len(st) == 0 or not any(len(ch) for m in st for ch in m):
        raise InputError(f"{p}: no atoms: not a {'mmCIF' if structure_format(p, fmt) == 'cif' else 'PDB'} structure "
                         "(no ATOM/HETATM records)")
    if not 1 <= model_index <= len(st):
        raise InputError(f"{p}: no model {model_index} (the file has {len(st)})")
    st.remove_hydrogens()
    model = st[model_index - 1]
    excluded = EXCLUDED_HET if excluded_het is None else excluded_het
    wanted = set(ligand_names) if ligand_names else None
    present = [ch.name for ch in model]
    if chains:
        missing = [c for c in chains if c not in present]
        if missing:
            raise InputError(f"{p}: no chain '{missing[0]}' (chains: {', '.join(dict.fromkeys(present))})")
    keep_chains = set(chains) if chains else None

    # Per atom only its position crosses from gemmi to Python (the cost that matters: gemmi itself
    # parses a file in a few ms); names, B-factors and altlocs are looked at per residue.
    partial_occupancy = model.count_occupancies() < model.count_atom_sites() - 1e-6
    res_chain, res_num, res_icode, res_name, res_b = [], [], [], [], []
    flat_xyz, counts, bb_index = [], [], []  # per atom; per residue its atom count and N/CA/C rows
    flat_element: list[str] = []
    ligands: list[Ligand] = []
    no_ca = 0
    nucleic_chains: list[str] = []
    for ch in model:
        if keep_chains is not None and ch.name not in keep_chains:
            continue
        nucleic = 0
        chain_name = ch.name
        for res in ch:
            name = res.name
            parent = _PARENT_CACHE[name] if name in _PARENT_CACHE else parent_residue(name)
            if parent is None:
                kind = _residue_kind(name)
                if kind == "nucleic":
                    nucleic += 1
                elif kind != "water" and res.het_flag == "H" and name not in excluded and (wanted is None or name in wanted):
                    xyz = np.array([a.pos.tolist() for a in res], dtype=np.float64).reshape(-1, 3)
                    if len(xyz) >= 2 or wanted is not None:
                        ligands.append(Ligand(name, xyz, chain_name, f"{res.seqid.num}{res.seqid.icode.strip()}"))
                continue
            atoms = _conformer(res) if partial_occupancy else res
            ca = res.find_atom("CA", "*")
            if ca is None:
                no_ca += 1
                continue
            start = len(flat_xyz)
            names = [a.name for a in atoms] if atoms is not res else None
            if names is None:
                n_atoms = len(res)
                index = [_index_of(res, atom, start) for atom in ("N", "CA", "C")]
                flat_xyz.extend(a.pos.tolist() for a in res)
                if elements:
                    flat_element.extend(a.element.name for a in res)
            else:
                n_atoms = len(atoms)
                index = [start + names.index(atom) if atom in names else -1 for atom in ("N", "CA", "C")]
                flat_xyz.extend(a.pos.tolist() for a in atoms)
                if elements:
                    flat_element.extend(a.element.name for a in atoms)
            counts.append(n_atoms)
            bb_index.append(index)
            res_b.append(ca.b_iso)
            res_chain.append(chain_name)
            res_num.append(res.seqid.num)
            res_icode.append(res.seqid.icode)
            res_name.append(parent)
        if nucleic:
            nucleic_chains.append(chain_name)
    if not res_name:
        raise InputError(f"{p}: no protein residues" + (f" in chain(s) {', '.join(chains)}" if chains else "")
                         + (" (only nucleic acids)" if nucleic_chains else ""))
    notes = []
    if nucleic_chains:
        notes.append(f"{p}: nucleic-acid residues in chain(s) {', '.join(dict.fromkeys(nucleic_chains))} ignored")
    if no_ca:
        notes.append(f"{p}: {no_ca} residue(s) without a C-alpha atom left out")
    xyz = np.asarray(flat_xyz, np.float64)
    sizes = np.asarray(counts, np.int64)
    atom_res = np.repeat(np.arange(len(sizes)), sizes)
    center = np.stack([np.bincount(atom_res, xyz[:, k]) for k in range(3)], axis=1) / sizes[:, None]
    b = np.asarray(res_b, np.float64)
    if np.all(b == 0):
        b = np.full(len(b), np.nan)  # a file without B-factors (models, predicted structures set 0)
    idx = np.asarray(bb_index, np.int64)
    backbone = np.where((idx >= 0)[:, :, None], xyz[np.maximum(idx, 0)], np.nan)
    icode = np.char.strip(np.asarray(res_icode, dtype=str)).astype(object)
    return Structure(
        p, np.asarray(res_chain, dtype=object), np.asarray(res_num, np.int64), icode,
        np.asarray(res_name, dtype=object), backbone, center, b, xyz, atom_res, ligands, notes,
        np.asarray(flat_element, dtype=object) if elements else None,
    )


def _index_of(res, name: str, start: int) -> int:
    """The row of atom ``name`` of ``res`` among the atoms written from ``start`` (-1 if absent)."""
    atom = res.find_atom(name, "*")
    if atom is None:
        return -1
    for k, a in enumerate(res):  # only reached for the 3 backbone atoms, which come first
        if a.name == name:
            return start + k
    return -1


def _conformer(res) -> list:
    """The atoms of ``res`` in its highest-occupancy alternate location (and those without one)."""
    atoms = list(res)
    if not any(a.has_altloc() for a in atoms):
        return atoms
    occupancy: dict[str, float] = {}
    for a in atoms:
        if a.altloc != "\0":
            occupancy[a.altloc] = occupancy.get(a.altloc, 0.0) + a.occ
    best = max(occupancy, key=lambda k: (occupancy[k], -ord(k)))
    return [a for a in atoms if a.altloc in ("\0", best)]


def read_ligand_file(path: str) -> Ligand:
    """The heavy atoms of a ligand file (SDF or mol2, in the protein's frame) with RDKit.

    Falls back to ``sanitize=False`` when sanitization fails (PDBbind's charged amidines and
    carboxylates), and from one file to its twin (``_ligand.sdf`` <-> ``_ligand.mol2``) when RDKit
    cannot read it at all.
    """
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    p = os.fspath(path)
    stem, ext = os.path.splitext(p)
    twins = [p] + [stem + e for e in (".sdf", ".mol2") if e != ext.lower() and os.path.exists(stem + e)]
    for candidate in twins:
        for sanitize in (True, False):
            try:
                if candidate.lower().endswith(".mol2"):
                    mol = Chem.MolFromMol2File(candidate, sanitize=sanitize, removeHs=False)
                else:
                    mol = next(iter(Chem.SDMolSupplier(candidate, sanitize=sanitize, removeHs=False)), None)
            except (OSError, RuntimeError, StopIteration):
                mol = None
            if mol is not None and mol.GetNumConformers():
                xyz = mol.GetConformer().GetPositions()
                heavy = np.array([a.GetAtomicNum() > 1 for a in mol.GetAtoms()])
                if heavy.any():
                    return Ligand(os.path.basename(stem), xyz[heavy].astype(np.float64))
    raise InputError(f"{p}: RDKit could not read the ligand (tried {', '.join(os.path.basename(t) for t in twins)}, "
                     "with and without sanitization)")
