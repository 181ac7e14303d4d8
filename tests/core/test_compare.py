"""A run compared with a previous one (core.compare): identity, migration tables, movers."""

from __future__ import annotations

import json

import pytest
from made_transactions import write_rows

from rfm_desktop.core import compare, export, pipeline
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


def _invoices(customer, first_invoice, dates, amount):
    return [(customer, str(first_invoice + i), d, amount) for i, d in enumerate(dates)]


FEB = ["2024-02-02", "2024-02-09", "2024-02-16", "2024-02-20", "2024-02-27"]
MARCH = [f"2024-03-{d:02d}" for d in range(2, 22)]
#: small buyers A, B, C (one order) and big ones D, E, F (five orders of 200)
OLD_ROWS = [
    ("A", "100", "2024-01-05", 10.0),
    ("B", "101", "2024-01-12", 12.0),
    ("C", "102", "2024-01-19", 14.0),
    *_invoices("D", 200, FEB, 200.0),
    *_invoices("E", 300, FEB, 210.0),
    *_invoices("F", 400, FEB, 190.0),
]
#: C is gone; A becomes a big buyer; G and H are new and far bigger than anyone before
NEW_ROWS = [
    *[r for r in OLD_ROWS if r[0] != "C"],
    *_invoices("A", 500, MARCH[:5], 300.0),
    *_invoices("G", 600, MARCH, 5000.0),
    *_invoices("H", 700, MARCH, 5200.0),
]


@pytest.fixture
def runs(tmp_path):
    """The previous run (K=2, its clusters renamed, written as a folder) and the new one (K=3)."""
    old = pipeline.run(
        AnalysisParams(
            input_path=str(write_rows(tmp_path / "may.csv", OLD_ROWS)),
            clustering=ClusteringOptions(k=2, sweep=False),
        )
    )
    assert old.customers.set_index("customer_id")["cluster"].to_dict() == {
        "A": 1,
        "B": 1,
        "C": 1,
        "D": 0,
        "E": 0,
        "F": 0,
    }
    old = old.rename_cluster(0, "Whales").rename_cluster(1, "Small fry")
    export.export_all(old, tmp_path / "A")
    new = pipeline.run(
        AnalysisParams(
            input_path=str(write_rows(tmp_path / "june.csv", NEW_ROWS)),
            clustering=ClusteringOptions(k=3, sweep=False),
        )
    )
    # k-means numbers by monetary: G, H first, then A, D, E, F, then B
    assert new.customers["cluster"].tolist() == [1, 2, 1, 1, 1, 0, 0]
    return old, new, compare.load_previous(tmp_path / "A")


def test_matched_clusters_keep_the_previous_ids_names_and_colours(runs):
    old, new, previous = runs
    matched = compare.match_to(new, previous)
    renumbered = new.cluster(0).name.replace("C1 · ", "C3 · ")
    assert renumbered.startswith("C3 · ")
    assert [(c.id, c.name, c.size) for c in matched.clusters] == [
        (0, "Whales", 4),
        (1, "Small fry", 1),
        (2, renumbered, 2),
    ]
    assert [c.color for c in matched.clusters[:2]] == [c.color for c in old.clusters]
    ids = matched.customers.set_index("customer_id")["cluster"].to_dict()
    assert ids == {"A": 0, "B": 1, "D": 0, "E": 0, "F": 0, "G": 2, "H": 2}
    m = matched.matching
    assert [(x.fitted_id, x.id, x.old_id) for x in m.matches] == [
        (0, 2, None),
        (1, 0, 0),
        (2, 1, 1),
    ]
    assert m.gone == () and [x.id for x in m.unmatched] == [2]
    # drift: the distance of the centroids in the previous run's space, computed here directly
    space = previous.space
    for x in m.matches[1:]:
        members = new.customers[new.customers["cluster"] == x.fitted_id]
        centre = space.apply(members).mean(axis=0)
        assert x.drift == pytest.approx(
            float(((centre - previous.centroids[x.old_id]) ** 2).sum() ** 0.5)
        )
    summary = export.summary_dict(matched)["matching"]
    assert summary["new_clusters"] == [2] and summary["gone_clusters"] == []
    assert [c["old_cluster"] for c in summary["clusters"]] == [None, 0, 1]


def test_migration_tables_count_every_customer_once(runs):
    old, new, previous = runs
    matched = compare.match_to(new, previous)
    tables = compare.migration_tables(previous, matched)
    clusters = tables["migration_clusters"].set_index("from")
    new_name = matched.cluster(2).name
    assert list(clusters.columns) == ["Whales", "Small fry", new_name, "(gone)"]
    assert clusters.loc["Whales"].tolist() == [3, 0, 0, 0]
    assert clusters.loc["Small fry"].tolist() == [1, 1, 0, 1]  # A grew, B stayed, C is gone
    assert clusters.loc["(new)"].tolist() == [0, 0, 2, 0]
    rfm = tables["migration_rfm"].set_index("from")
    assert int(rfm.drop(columns="(gone)").to_numpy().sum()) == len(new.customers) == 7
    assert int(rfm.loc["(new)"].sum()) == 2 and int(rfm["(gone)"].sum()) == 1
    # movers: an independent comparison of the two customer tables
    before = old.customers.set_index("customer_id")
    after = matched.customers.set_index("customer_id")
    both = before.index.intersection(after.index)
    expected = sorted(
        c
        for c in both
        if before.at[c, "rfm_segment"] != after.at[c, "rfm_segment"]
        or before.at[c, "cluster_name"] != after.at[c, "cluster_name"]
    )
    movers = tables["movers"]
    assert list(movers.columns) == list(compare.MOVER_COLUMNS)
    assert movers["customer_id"].tolist() == expected and "A" in expected
    a = movers.set_index("customer_id").loc["A"]
    assert (a["from_cluster"], a["to_cluster"]) == ("Small fry", "Whales")
    assert (a["from_segment"], a["to_segment"]) == (
        before.at["A", "rfm_segment"],
        after.at["A", "rfm_segment"],
    )


def test_a_saved_analysis_is_run_again_and_gives_the_same_identity(runs, tmp_path):
    old, new, previous = runs
    again = compare.load_previous(tmp_path / "A" / "run.json")
    assert again.names == previous.names == {0: "Whales", 1: "Small fry"}
    for i, centre in previous.centroids.items():
        assert again.centroids[i] == pytest.approx(centre, abs=1e-6)


def test_a_folder_without_centroids_is_refused_with_a_hint(runs, tmp_path):
    summary_path = tmp_path / "A" / "summary.json"
    summary = json.loads(summary_path.read_text())
    del summary["feature_space"]
    summary_path.write_text(json.dumps(summary))
    with pytest.raises(ParamsError, match="does not record its clusters' centroids"):
        compare.load_previous(tmp_path / "A")
    with pytest.raises(ParamsError, match="is not a result folder"):
        compare.load_previous(tmp_path)


def test_per_cluster_stability_follows_the_renumbered_clusters(runs, tmp_path):
    _, new, previous = runs
    matched = compare.match_to(new, previous)
    # the fit's clusters 1 (A, D, E, F), 2 (B), 0 (G, H) became 0 "Whales", 1, 2
    fitted_order = [new.cluster(1).stability, new.cluster(2).stability, new.cluster(0).stability]
    assert fitted_order != list(new.stability.cluster_jaccard)  # a real reordering
    assert list(matched.stability.cluster_jaccard) == fitted_order
    assert [c.stability for c in matched.clusters] == fitted_order
    assert matched.stability.ari_mean == new.stability.ari_mean
    # what --compare writes: summary.json's per-cluster figures in the clusters' order
    export.export_all(matched, tmp_path / "B")
    summary = json.loads((tmp_path / "B" / "summary.json").read_text())
    by_id = {c["id"]: c for c in summary["clusters"]}
    assert summary["stability"]["cluster_jaccard"] == [
        pytest.approx(by_id[i]["stability"]) for i in (0, 1, 2)
    ]


def test_a_cells_customers_are_the_ones_it_counts(runs):
    old, new, previous = runs
    comparison = compare.compare_with(new, previous)
    matched = comparison.result
    assert [c.name for c in matched.clusters] == [
        c.name for c in compare.match_to(new, previous).clusters
    ]
    assert compare.cell_customers(previous, matched, "cluster_name", "Small fry", "Whales") == ["A"]
    assert compare.cell_customers(previous, matched, "cluster_name", "Small fry", "(gone)") == ["C"]
    new_name = matched.cluster(2).name
    assert compare.cell_customers(previous, matched, "cluster_name", "(new)", new_name) == [
        "G",
        "H",
    ]
    before = old.customers.set_index("customer_id")["rfm_segment"]
    after = matched.customers.set_index("customer_id")["rfm_segment"]
    rfm = comparison.tables["migration_rfm"].set_index("from")
    for source in rfm.index:
        for target in rfm.columns:
            ids = compare.cell_customers(previous, matched, "rfm_segment", source, target)
            assert len(ids) == rfm.at[source, target]
            expected = sorted(
                c
                for c in set(before.index) | set(after.index)
                if before.get(c, "(new)") == source and after.get(c, "(gone)") == target
            )
            assert ids == expected
