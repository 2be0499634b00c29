"""Reading structures: chains, models, altlocs, insertion codes, modified residues, ligands, bad input;
residue graphs, features, labels and pockets."""

import gzip

import numpy as np
import pytest

from gnncli.domains.proteins.graphs import KNN, RADIUS, SEQUENCE, residue_edges, residue_graph
from gnncli.domains.proteins.labels import read_site_table, site_labels
from gnncli.domains.proteins.pockets import find_pockets, pocket_success
from gnncli.domains.proteins.reader import read_structure
from gnncli.errors import InputError
from gnncli.domains.proteins.featurizer import ResidueFeaturizer, atom_packing, dihedral
from gnncli.testing import pdb_atom, write_protein_pdb


def test_reads_residues_ligands_and_leaves_out_water_ions_and_additives(tmp_path):
    extra = [
        pdb_atom(500, "S", "SO4", "A", 950, (40, 0, 0), het=True),
        pdb_atom(501, "O1", "SO4", "A", 950, (41, 0, 0), het=True, element="O"),
        pdb_atom(502, "ZN", "ZN", "A", 951, (0, 40, 0), het=True, element="ZN"),
    ]
    path = write_protein_pdb(tmp_path / "a.pdb", 12, chains="AB", ligand_near=5, extra_lines=extra)
    st = read_structure(str(path))
    assert len(st) == 24 and list(dict.fromkeys(st.chain)) == ["A", "B"]
    assert [lig.name for lig in st.ligands] == ["LIG"] and st.ligands[0].xyz.shape == (3, 3)
    assert st.atom_xyz.shape == (24 * 4, 3) and st.backbone.shape == (24, 3, 3)
    assert np.isfinite(st.bfactor).all()
    only_b = read_structure(str(path), chains=["B"])
    assert len(only_b) == 12 and set(only_b.chain) == {"B"}
    with pytest.raises(InputError, match=r"a\.pdb: no chain 'C' \(chains: A, B\)"):
        read_structure(str(path), chains=["C"])
    assert [lig.name for lig in read_structure(str(path), excluded_het=frozenset()).ligands] == ["LIG", "SO4"]
    assert read_structure(str(path), ligand_names=["ZN"]).ligands[0].name == "ZN"


def test_modified_residues_altlocs_insertion_codes_models_and_gzip(tmp_path):
    lines = ["MODEL        1"]
    lines += [pdb_atom(1, "N", "ALA", "A", 1, (0, 0, 0)), pdb_atom(2, "CA", "ALA", "A", 1, (1.45, 0, 0)),
              pdb_atom(3, "C", "ALA", "A", 1, (2.0, 1.4, 0))]
    lines += [pdb_atom(4, "N", "MSE", "A", 2, (3.3, 1.5, 0), het=True), pdb_atom(5, "CA", "MSE", "A", 2, (4.0, 2.8, 0), het=True),
              pdb_atom(6, "SE", "MSE", "A", 2, (5.0, 3.8, 1.0), het=True, element="SE")]
    lines += [pdb_atom(7, "CA", "SER", "A", 2, (7.0, 3.0, 0), icode="A"),
              pdb_atom(8, "CA", "LYS", "A", 3, (9.0, 3.0, 0), altloc="A", occupancy=0.3),
              pdb_atom(9, "CA", "LYS", "A", 3, (9.5, 3.5, 0), altloc="B", occupancy=0.7),
              pdb_atom(10, "N", "GLY", "A", 4, (11.0, 3.0, 0)),  # no C-alpha: left out
              pdb_atom(11, "P", "DA", "B", 1, (20.0, 3.0, 0)), "ENDMDL", "MODEL        2",
              pdb_atom(1, "CA", "GLY", "A", 1, (0, 0, 0)), pdb_atom(2, "CA", "GLY", "A", 2, (3.8, 0, 0)), "ENDMDL", "END"]
    path = tmp_path / "m.pdb"
    path.write_text("\n".join(lines) + "\n")
    st = read_structure(str(path))
    assert st.resname.tolist() == ["ALA", "MET", "SER", "LYS"]
    assert st.icode.tolist() == ["", "", "A", ""] and st.resnum.tolist() == [1, 2, 2, 3]
    assert np.allclose(st.ca[3], (9.5, 3.5, 0))  # the altloc with the higher occupancy
    assert any("without a C-alpha" in n for n in st.notes) and any("nucleic-acid" in n for n in st.notes)
    second = read_structure(str(path), model_index=2)
    assert second.resname.tolist() == ["GLY", "GLY"]
    with pytest.raises(InputError, match=r"m\.pdb: no model 3 \(the file has 2\)"):
        read_structure(str(path), model_index=3)
    gz = tmp_path / "m.pdb.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert read_structure(str(gz)).resname.tolist() == st.resname.tolist()


def test_mmcif_reads_like_pdb(tmp_path):
    import gemmi

    pdb = write_protein_pdb(tmp_path / "x.pdb", 10, ligand_near=3)
    doc = gemmi.read_structure(str(pdb))
    doc.setup_entities()
    doc.make_mmcif_document().write_file(str(tmp_path / "x.cif"))
    a, b = read_structure(str(pdb)), read_structure(str(tmp_path / "x.cif"))
    assert a.resname.tolist() == b.resname.tolist() and np.allclose(a.ca, b.ca, atol=1e-3)
    assert [lig.name for lig in b.ligands] == ["LIG"]


@pytest.mark.parametrize("content, message", [
    ("", "file is empty"),
    ("this is not a structure\n", "no atoms: not a PDB structure"),
    (pdb_atom(1, "C1", "LIG", "A", 1, (0, 0, 0), het=True) + "\n", "no protein residues"),
])
def test_bad_files_are_one_line_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.pdb"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read_structure(str(path))
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value) and "\n" not in str(info.value)


def test_edges_match_a_brute_force_search():
    rng = np.random.default_rng(0)
    pos = rng.normal(size=(60, 3)) * 8
    chain = np.array(["A"] * 30 + ["B"] * 30, dtype=object)
    pairs, kind = residue_edges(pos, chain, seq_neighbours=2, radius=7.0, knn=4)
    found = {tuple(p): k for p, k in zip(pairs.tolist(), kind.tolist())}
    d = np.linalg.norm(pos[:, None] - pos[None], axis=2)
    expect: dict = {}
    for i in range(60):
        for j in range(i + 1, 60):
            bits = 0
            bits |= SEQUENCE if chain[i] == chain[j] and j - i <= 2 else 0
            bits |= RADIUS if d[i, j] <= 7.0 else 0
            if bits:
                expect[(i, j)] = bits
        for j in np.argsort(d[i])[1:5]:
            key = (min(i, j), max(i, j))
            expect[key] = expect.get(key, 0) | KNN
    assert found == expect
    edge_index, edge_attr, edge_type = residue_graph(pos, chain, seq_neighbours=2, radius=7.0, knn=4)
    assert edge_index.shape[1] == 2 * len(pairs) and (edge_index[:, 0::2] == edge_index[::-1, 1::2]).all()
    assert edge_attr.shape == (edge_index.shape[1], 21) and edge_type.max() < 7


def test_residue_features_and_dihedrals(tmp_path):
    st = read_structure(str(write_protein_pdb(tmp_path / "h.pdb", 20)))
    graph = ResidueFeaturizer()(st)
    x = graph["x"]
    assert x.shape == (20, len(ResidueFeaturizer())) and np.allclose(x[:, :21].sum(1), 1)
    assert x[0, 21] == 0 and x[0, 24] == 0  # no phi for the first residue
    assert np.allclose(x[5:15, 21] ** 2 + x[5:15, 24] ** 2, 1)  # sin^2 + cos^2 of phi inside the chain
    assert (x[10, 27] > x[0, 27])  # a middle residue has more neighbours than an end
    assert np.allclose(x[:, 33], 1)  # B-factors present
    p = np.array([[1.0, 0, 0]]), np.array([[0.0, 0, 0]]), np.array([[0.0, 1, 0]]), np.array([[0.0, 1, 1]])
    assert np.isclose(np.degrees(dihedral(*p))[0], -90.0)
    assert graph["pos"].shape == (20, 3) and graph["edge_index"].max() < 20


def test_atom_packing_matches_a_brute_force_count_and_sees_enclosure():
    rng = np.random.default_rng(0)
    shell = rng.normal(size=(3000, 3))
    shell *= rng.uniform(8.0, 13.0, (3000, 1)) / np.linalg.norm(shell, axis=1, keepdims=True)  # solid, 8-13 A out
    inside = rng.normal(scale=0.8, size=(6, 3))  # residue 0 in the middle of it
    outside = np.array([[60.0, 0, 0]])  # residue 2: one atom, far from everything
    xyz = np.concatenate([inside, shell, outside])
    owner = np.concatenate([np.zeros(6, int), np.ones(3000, int), [2]])
    out = atom_packing(xyz, owner, 4)  # residue 3 has no atoms
    centre = np.stack([xyz[owner == r].mean(0) for r in range(3)])
    within8 = (np.linalg.norm(xyz[None] - centre[:, None], axis=2) <= 8.0).sum(1)
    assert np.allclose(out[:3, 0], within8 / 100.0)
    near6 = (np.linalg.norm(xyz[:, None] - xyz[None], axis=2) <= 6.0).sum(1)
    for r in range(3):
        assert np.isclose(out[r, 1], near6[owner == r].mean() / 60.0, atol=1e-6)
        assert np.isclose(out[r, 2], near6[owner == r].min() / 60.0, atol=1e-6)
    assert out[0, 3] == 1.0 and out[2, 3] == 0.0  # enclosed in every direction; in none
    assert (out[3] == 0).all()


def test_version_1_runs_keep_their_34_features(tmp_path):
    st = read_structure(str(write_protein_pdb(tmp_path / "h.pdb", 12)))
    old = ResidueFeaturizer.from_spec({**ResidueFeaturizer().spec, "version": 1})
    new = ResidueFeaturizer.from_spec(ResidueFeaturizer().spec)
    assert (len(old), len(new)) == (34, 38) and new.version == 2
    x_old, x_new = old(st)["x"], new(st)["x"]
    assert x_old.shape == (12, 34) and np.array_equal(x_old, x_new[:, :34])
    with pytest.raises(ValueError, match="v1, v2"):
        ResidueFeaturizer.from_spec({**new.spec, "version": 3})


def test_site_labels_mark_the_residues_next_to_the_ligand(tmp_path):
    st = read_structure(str(write_protein_pdb(tmp_path / "s.pdb", 20, ligand_near=10)))
    labels = site_labels(st.atom_xyz, st.atom_residue, len(st), [st.ligands[0].xyz], 4.0)
    assert labels[9] == 1.0 and labels.sum() < 5
    assert site_labels(st.atom_xyz, st.atom_residue, len(st), [st.ligands[0].xyz], 2.9).sum() == 0
    table = tmp_path / "sites.csv"
    table.write_text("file,chain,resnum\ns.pdb,A,10\ns.pdb,A,11B\n")
    assert read_site_table(str(table)) == {"s.pdb": {("A", 10, ""), ("A", 11, "B")}}


def test_pockets_cluster_high_scores_and_rank_by_summed_score():
    ca = np.array([[0, 0, 0], [3, 0, 0], [6, 0, 0], [40, 0, 0], [43, 0, 0], [80, 0, 0]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.9, 0.1])
    pockets = find_pockets(scores, ca, ca)
    assert [sorted(p.residues.tolist()) for p in pockets] == [[0, 1, 2], [3, 4]]
    assert pockets[0].rank == 1 and np.isclose(pockets[0].score, 2.4)
    ligand = np.array([[3.0, 2.0, 0.0], [3.0, 3.0, 0.0]])
    assert pocket_success(pockets, [ligand]) == ([True], [True])
    second = ligand + np.array([40.0, 0.0, 0.0])
    assert pocket_success(pockets, [second]) == ([False], [False])  # only the top-1 pocket counts
    assert pocket_success(pockets, [second], extra=2) == ([True], [True])
    none_high = find_pockets(np.full(6, 0.1), ca, ca, fallback=2)
    assert sum(len(p.residues) for p in none_high) == 2


def test_inputs_are_files_folders_globs_and_labels_tables(tmp_path):
    from gnncli.domains.proteins.inputs import discover, looks_like_structures

    folder = tmp_path / "s"
    folder.mkdir()
    for name in ("b.pdb", "a.cif", "c.pdb.gz", "notes.txt"):
        (folder / name).write_text("x")
    assert [p.path for p in discover([str(folder)])] == [str(folder / n) for n in ("a.cif", "b.pdb", "c.pdb.gz")]
    assert [p.path for p in discover([str(folder / "*.pdb")])] == [str(folder / "b.pdb")]
    with pytest.raises(InputError, match=r"\*\.ent: no file matches"):
        discover([str(folder / "*.ent")])
    missing = discover([str(tmp_path / "gone.pdb")])[0]
    assert missing.error == f"{tmp_path / 'gone.pdb'}: file not found"
    table = tmp_path / "labels.csv"
    table.write_text("id,y\nb,1\nzz,2\n")
    items = discover([str(table)], structures=str(folder))
    assert items[0].path == str(folder / "b.pdb") and items[0].row["y"] == "1" and items[0].from_table
    assert items[1].error.startswith(f"{table}: line 3: structure 'zz' not found")
    assert looks_like_structures(str(folder)) and not looks_like_structures(str(tmp_path / "gone"))
