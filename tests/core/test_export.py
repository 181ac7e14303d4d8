from __future__ import annotations

import json
import os

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from rfm_desktop.core import export, pipeline, writing
from rfm_desktop.core.errors import ExportError
from rfm_desktop.core.filenames import unique_file_names
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions


@pytest.fixture(scope="module")
def result(sample_path):
    return pipeline.run(
        AnalysisParams(input_path=str(sample_path), clustering=ClusteringOptions(k=4, sweep=True))
    )


def test_export_all_writes_every_file(result, tmp_path, sample_path):
    written = export.export_all(result, tmp_path / "out", xlsx=True)
    names = {p.relative_to(tmp_path / "out").as_posix() for p in written}
    assert {"customers.csv", "summary.json", "run.json", "segments.xlsx"} <= names
    assert sum(n.startswith("segments/") for n in names) == result.k

    customers = pd.read_csv(tmp_path / "out" / "customers.csv", dtype={"customer_id": str})
    assert list(customers.columns[:11]) == list(export.CUSTOMER_COLUMNS)
    assert len(customers) == result.customer_count
    assert customers["customer_id"].is_unique
    cluster_files = export.segment_file_names(result, ".csv")
    for profile in result.clusters:
        segment = pd.read_csv(tmp_path / "out" / "segments" / cluster_files[profile.id])
        assert len(segment) == profile.size
        assert set(segment["cluster_name"]) == {profile.name}

    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for key in (
        "rows_read",
        "rows_clean",
        "customers",
        "k",
        "suggested_k",
        "silhouette",
        "cleaning",
        "k_scores",
        "clusters",
        "params",
    ):
        assert key in summary
    assert summary["customers"] == result.customer_count
    assert [c["size"] for c in summary["clusters"]] == [c.size for c in result.clusters]
    assert {"step", "removed", "remaining"} <= set(summary["cleaning"][0])
    assert {"k", "inertia", "silhouette", "davies_bouldin", "calinski_harabasz"} <= set(
        summary["k_scores"][0]
    )

    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["input"]["sha256"] == writing.file_sha256(sample_path)
    assert run["params"]["clustering"]["k"] == 4
    assert "pandas" in run["versions"]

    book = load_workbook(tmp_path / "out" / "segments.xlsx", read_only=True)
    book.close()  # the sheet names are read on opening; a read-only book holds the file open
    assert book.sheetnames[0] == "Summary"
    segments = result.segments["segment"].tolist()
    # clusters, then the segment table, the thresholds and one sheet per named RFM segment
    assert book.sheetnames == [
        "Summary",
        *[c.name for c in result.clusters],
        "RFM segments",
        "Score thresholds",
        *segments,
        "Technical",
    ]
    assert sum(n.startswith("rfm_segments/") for n in names) == len(segments)
    for name, file_name, size in zip(
        segments, unique_file_names(segments, ".csv"), result.segments["customers"], strict=True
    ):
        listed = pd.read_csv(tmp_path / "out" / "rfm_segments" / file_name)
        assert len(listed) == size and set(listed["rfm_segment"]) == {name}


def test_customers_csv_is_byte_identical_for_the_same_input(sample_path, tmp_path, result):
    again = pipeline.run(result.params)
    a = export.export_all(result, tmp_path / "a")[0].read_bytes()
    b = export.export_all(again, tmp_path / "b")[0].read_bytes()
    assert a == b


def test_renamed_segment_flows_into_exports(result, tmp_path):
    renamed = result.rename_cluster(result.clusters[0].id, "VIP list")
    path = export.export_customers(renamed, tmp_path / "all.csv")
    table = pd.read_csv(path)
    assert (table["cluster_name"] == "VIP list").sum() == result.clusters[0].size
    files = export.export_segments(renamed, tmp_path / "segs", cluster_ids=[result.clusters[0].id])
    assert [p.name for p in files] == ["VIP list.csv"]


def test_formula_like_text_is_neutralised_numbers_stay_numbers(result, tmp_path):
    customers = result.customers.copy()
    customers.loc[0, "customer_id"] = '=HYPERLINK("http://x")'
    customers.loc[1, "customer_id"] = "-12"
    customers.loc[2, "customer_id"] = "@SUM(A1)"
    evil = result.__class__(**{**result.__dict__, "customers": customers})
    back = pd.read_csv(
        export.export_customers(evil, tmp_path / "c.csv"), dtype={"customer_id": str}
    )
    assert {'\'=HYPERLINK("http://x")', "'-12", "'@SUM(A1)"} <= set(back["customer_id"])
    assert not back["customer_id"].str.startswith(("=", "+", "-", "@")).any()
    assert pd.api.types.is_numeric_dtype(back["monetary"]) and pd.api.types.is_numeric_dtype(
        back["pc1"]
    )
    xlsx = export.export_customers(evil, tmp_path / "c.xlsx")
    book = load_workbook(xlsx, read_only=True)  # read-only books hold the file until closed
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    ids = {r[0] for r in rows[1:]}
    assert '\'=HYPERLINK("http://x")' in ids and "'-12" in ids
    recency, monetary = rows[0].index("recency"), rows[0].index("monetary")
    assert all(isinstance(r[recency], int | float) for r in rows[1:])  # recency stays a number
    assert all(isinstance(r[monetary], int | float) for r in rows[1:])  # monetary too


def test_writing_over_the_input_is_refused(result, sample_path):
    before = sample_path.read_bytes()
    with pytest.raises(ExportError, match="input file"):
        export.export_customers(result, sample_path)
    with pytest.raises(ExportError):
        export.export_all(result, sample_path)
    assert sample_path.read_bytes() == before


def test_a_failed_write_leaves_the_old_file_and_no_temp(result, tmp_path, monkeypatch):
    target = tmp_path / "customers.csv"
    target.write_text("old")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(ExportError, match="No space left"):
        export.export_customers(result, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["customers.csv"]


def test_unknown_export_suffix_is_an_export_error(result, tmp_path):
    with pytest.raises(ExportError, match=r"\.csv or \.xlsx"):
        export.export_customers(result, tmp_path / "out.pdf")


def test_cluster_names_and_segment_names_never_meet(result, tmp_path):
    table = export.customer_table(result)
    assert set(table["cluster_name"]) & set(table["rfm_segment"]) == set()
    with pytest.raises(ValueError, match="name of a named RFM segment"):
        result.rename_cluster(result.clusters[0].id, "champions")
    with pytest.raises(ValueError, match="name of a named RFM segment"):
        result.rename_cluster(result.clusters[0].id, "Others")


def test_export_named_segments_one_file_each(result, tmp_path):
    first, second = result.segments["segment"].iloc[:2]
    files = export.export_rfm_segments(result, tmp_path, segments=[second, first])
    assert [p.name for p in files] == unique_file_names([first, second], ".csv")
    table = pd.read_csv(files[0], dtype={"customer_id": str})
    assert len(table) == int(result.segments["customers"].iloc[0]) and set(
        table["rfm_segment"]
    ) == {first}
    summary = export.summary_dict(result)
    assert [row["segment"] for row in summary["rfm_segments"]] == result.segments[
        "segment"
    ].tolist()
    assert summary["rfm_segments"][0]["orders"] == int(
        result.customers.loc[result.customers["rfm_segment"] == first, "frequency"].sum()
    )
    assert set(summary["score_thresholds"]) == {"recency", "frequency", "monetary"}


def test_cluster_names_are_params_applied_by_the_run_and_round_trip(result, sample_path):
    renamed = result.rename_cluster(1, "Loyal regulars")
    assert renamed.params.cluster_names == ((1, "Loyal regulars"),)
    data = renamed.params.to_dict()
    assert data["cluster_names"] == {"1": "Loyal regulars"}
    assert AnalysisParams.from_dict(json.loads(json.dumps(data))) == renamed.params
    again = pipeline.run(renamed.params)
    assert again.cluster(1).name == "Loyal regulars"
    assert again.params == renamed.params
    assert (again.customers["cluster_name"] == "Loyal regulars").sum() == result.cluster(1).size
    # a name that no longer fits (no such cluster) is a warning, not a failure
    far = pipeline.run(renamed.params.replace(cluster_names={99: "Ghosts"}))
    assert any("no cluster 99" in w.text and w.stage == "clustering" for w in far.warnings)


def test_workbook_sheets_are_ready_for_a_campaign(result, tmp_path):
    export.export_all(result, tmp_path / "out", xlsx=True)
    book = load_workbook(tmp_path / "out" / "segments.xlsx")  # not read-only: styles are read
    first = result.clusters[0]
    sheet = book[first.name[:31]]
    header = [c.value for c in sheet[1]]
    assert header[:7] == [
        "customer_id",
        "cluster_name",
        "rfm_segment",
        "country",
        "recency",
        "frequency",
        "monetary",
    ]
    assert not {"pc1", "pc2", "pc3"} & set(header), "technical columns stay out of campaign lists"
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(header)).column_letter}{first.size + 1}"
    money = sheet.cell(2, header.index("monetary") + 1)
    assert money.number_format == "#,##0.00" and isinstance(money.value, float)
    assert sheet.cell(2, header.index("silhouette") + 1).number_format == "0.000"
    assert sheet.column_dimensions["A"].width >= len("customer_id")
    assert sheet.column_dimensions["B"].width >= len(first.name)
    technical = book["Technical"]
    assert [c.value for c in technical[1]] == ["customer_id", "pc1", "pc2", "pc3"]
    assert technical.max_row == result.customer_count + 1
    summary = book["RFM segments"]
    names = [c.value for c in summary[1]]
    assert summary.cell(2, names.index("share") + 1).number_format == "0.0%"
    # a single campaign file from the GUI: the same layout
    path = export.export_customers(result, tmp_path / "one.xlsx", cluster_ids=[first.id])
    one = load_workbook(path).active
    assert [c.value for c in one[1]] == header and one.freeze_panes == "A2"


def test_cluster_and_segment_files_are_the_rows_of_one_table(result):
    """result_files sorts and neutralises the customers once and takes each cluster's and
    segment's rows from that table: the bytes are those of a table made per file, also when only
    one cluster holds formula-like ids."""
    customers = result.customers.copy()
    first = customers.index[customers["cluster"] == result.clusters[0].id][:2]
    customers.loc[first, "customer_id"] = ["=1+1", "@SUM(A1)"]
    evil = result.__class__(**{**result.__dict__, "customers": customers})
    files = export.result_files(evil)
    per_cluster = export.segment_file_names(evil, ".csv")
    for profile in evil.clusters:
        expected = export.csv_bytes(export.customer_table(evil, cluster_ids=[profile.id]))
        assert files[f"segments/{per_cluster[profile.id]}"] == expected
    names = evil.segments["segment"].astype(str).tolist()
    for name, file_name in zip(names, unique_file_names(names, ".csv"), strict=True):
        expected = export.csv_bytes(export.customer_table(evil, segments=[name]))
        assert files[f"rfm_segments/{file_name}"] == expected
    assert files["customers.csv"] == export.csv_bytes(export.customer_table(evil))
    assert b"'=1+1" in files[f"segments/{per_cluster[evil.clusters[0].id]}"]


def test_customer_files_are_rendered_as_they_are_written_at_most_two_at_a_time(
    result, tmp_path, monkeypatch
):
    """At millions of customers each customer file is some hundred megabytes: the export renders
    one when a writer reads it and keeps none but the customers' CSV, so memory holds that and
    a block of the files being written (writing.WRITERS side by side), not all of them. The
    customers are sorted and formatted once, even with two files asking for them at once;
    each cluster's and segment's file is cut from those lines as it is written, in pieces."""
    import threading
    import time

    tables, formatted, parts = [], [], []
    busy, most, lock = [0], [0], threading.Lock()
    real_table, real_block, real_pieces = (
        export.customer_table,
        export._csv_block,
        export.CustomerLines.pieces,
    )

    def counted_table(res, **which):
        tables.append(which)
        return real_table(res, **which)

    def counted_block(frame, start):
        if start == 0:  # the first block of a table
            formatted.append(len(frame))
            time.sleep(0.05)  # a second writer asks for the lines meanwhile
        return real_block(frame, start)

    def counted_pieces(lines, column, value):
        parts.append((column, value))
        return real_pieces(lines, column, value)

    monkeypatch.setattr(export, "customer_table", counted_table)
    monkeypatch.setattr(export, "_csv_block", counted_block)
    monkeypatch.setattr(export.CustomerLines, "pieces", counted_pieces)
    export.result_files(result)
    assert tables == [] and parts == []  # listing the files renders no customer table
    real_write = writing._write_new

    def write_new(path, data):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        try:
            return real_write(path, data)  # a part is rendered while it is written
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(writing, "_write_new", write_new)
    formatted.clear()
    export.export_all(result, tmp_path / "out")
    assert tables == [{}]
    assert formatted.count(result.customer_count) == 1  # the customers formatted once
    assert sorted(parts, key=str) == sorted(
        [("cluster", c.id) for c in result.clusters]
        + [("rfm_segment", name) for name in result.segments["segment"]],
        key=str,
    )
    assert 1 <= most[0] <= writing.WRITERS
    expected = export.csv_bytes(real_table(result))
    assert (tmp_path / "out" / "customers.csv").read_bytes() == expected
    names = export.segment_file_names(result, ".csv")
    for profile in result.clusters:
        assert (tmp_path / "out" / "segments" / names[profile.id]).read_bytes() == (
            export.csv_bytes(real_table(result, cluster_ids=[profile.id]))
        )


def _csv_rows(data) -> list[list[str]]:
    import csv
    import io

    return list(csv.reader(io.StringIO(bytes(data).decode("utf-8"), newline="")))


@pytest.mark.parametrize(
    "odd", ['Côte d\'Ivoire, "Abidjan"', "two\nlines", "carriage\r\nreturn"], ids=repr
)
def test_cluster_and_segment_files_are_the_rows_of_customers_csv(result, monkeypatch, odd):
    """Each cluster's and segment's file is cut from the lines of customers.csv; a country with a
    quoted comma and quotes stays one line, one with a line break spreads its row over two
    lines and the parts are then formatted from their rows. Either way each part holds exactly
    the rows of customers.csv with its cluster or segment, and the bytes a file of its own gives.
    A block of 7 rows (instead of 500,000) puts block edges inside every part."""
    monkeypatch.setattr(export, "_FORMAT_ROWS", 7)
    customers = result.customers.copy()
    customers["country"] = customers["country"].astype("string")
    customers.loc[customers.index[::3], "country"] = odd
    odd_result = result.__class__(**{**result.__dict__, "customers": customers})
    files = export.result_files(odd_result)
    every = _csv_rows(files["customers.csv"])
    header, rows = every[0], every[1:]
    assert len(rows) == odd_result.customer_count
    assert sum(row[header.index("country")] == odd for row in rows) == len(customers.index[::3])
    names = export.segment_file_names(odd_result, ".csv")
    for profile in odd_result.clusters:
        part = files[f"segments/{names[profile.id]}"]
        expected = [row for row in rows if row[header.index("cluster")] == str(profile.id)]
        assert _csv_rows(part) == [header, *expected] and len(expected) == profile.size
        assert part == export.csv_bytes(export.customer_table(odd_result, cluster_ids=[profile.id]))
    segments = odd_result.segments["segment"].tolist()
    for name, file_name in zip(segments, unique_file_names(segments, ".csv"), strict=True):
        part = files[f"rfm_segments/{file_name}"]
        expected = [row for row in rows if row[header.index("rfm_segment")] == name]
        assert _csv_rows(part) == [header, *expected] and expected
        assert part == export.csv_bytes(export.customer_table(odd_result, segments=[name]))


def test_customers_csv_is_written_block_by_block_never_joined(result, tmp_path, monkeypatch):
    """customers.csv reaches the disk as the buffers of its formatted blocks, one after
    another: the file is never copied into one buffer (at 1,000,000 customers 113 MB of new
    memory). A block of 7 rows makes many blocks."""
    monkeypatch.setattr(export, "_FORMAT_ROWS", 7)

    def joined(self):
        raise AssertionError("customers.csv was joined into one buffer")

    monkeypatch.setattr(export.CustomerLines, "whole", joined)
    export.export_all(result, tmp_path / "out")
    expected = export.csv_bytes(export.customer_table(result))
    assert (tmp_path / "out" / "customers.csv").read_bytes() == expected
    assert expected.count(b"\n") == result.customer_count + 1


def test_customers_csv_formatted_in_blocks_is_one_table_formatted_whole(result, monkeypatch):
    """Blocks of rows (one header, the rest without) give the bytes of the whole table at once."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = export.customer_table(result)
    whole = pa.BufferOutputStream()
    pa_csv.write_csv(
        pa.Table.from_pandas(table, preserve_index=False),
        whole,
        pa_csv.WriteOptions(quoting_style="needed"),
    )
    monkeypatch.setattr(export, "_FORMAT_ROWS", 10)
    assert export.csv_bytes(table) == whole.getvalue().to_pybytes()
    assert export.csv_bytes(table.iloc[:0]) == whole.getvalue().to_pybytes().split(b"\n")[0] + b"\n"


def test_blocks_are_formatted_two_at_a_time_and_joined_in_order(result, monkeypatch):
    """Arrow's writer leaves Python's lock: blocks are formatted in two threads at once, and
    the file still holds them in the table's order (a slow first block cannot come second)."""
    import threading
    import time

    import pyarrow.csv as pa_csv

    table = export.customer_table(result)
    expected = export.csv_bytes(table)
    monkeypatch.setattr(export, "_FORMAT_ROWS", 10)
    threads, write = set(), pa_csv.write_csv

    def slow_first(data, sink, options):
        threads.add(threading.current_thread().name)
        if options.include_header:  # the first block: finished after the second
            time.sleep(0.2)
        write(data, sink, options)

    monkeypatch.setattr(pa_csv, "write_csv", slow_first)
    assert export.csv_bytes(table) == expected
    assert len(threads) == 2


def test_customer_table_is_sorted_by_id_whatever_the_order_of_the_customers(result):
    """The engines give customers sorted by id and the table then keeps their order without
    sorting again; customers in another order are sorted as before."""
    shuffled = result.customers.sample(frac=1, random_state=3)
    other = result.__class__(**{**result.__dict__, "customers": shuffled})
    table = export.customer_table(other)
    assert table["customer_id"].tolist() == sorted(result.customers["customer_id"])
    pd.testing.assert_frame_equal(table, export.customer_table(result))


def test_cluster_names_by_id_are_those_of_a_map(result):
    """result.cluster_name_column takes each customer's name by cluster id through Arrow: the
    column of ``map(names).astype("string")``, also for ids without a name and after a gap."""
    from rfm_desktop.core.result import cluster_name_column

    ids = pd.Series([3, 0, 0, 5, 1, 3], index=[10, 11, 12, 13, 14, 15], name="cluster")
    names = {0: "C1 · Champions-like", 1: "C2", 3: 'Ölkunden, "A"', 7: "unused"}
    expected = ids.map(names).astype("string")
    got = cluster_name_column(ids, names)
    pd.testing.assert_series_equal(got, expected, check_names=False)
    assert got.isna().tolist() == [False, False, False, True, False, False]
    assert cluster_name_column(ids.iloc[:0], {}).tolist() == []
    # a renamed cluster: only its customers' names change, the result it came from keeps its own
    renamed = result.rename_cluster(result.clusters[0].id, "Best buyers")
    members = result.customers["cluster"] == result.clusters[0].id
    assert set(renamed.customers.loc[members, "cluster_name"]) == {"Best buyers"}
    assert set(result.customers.loc[members, "cluster_name"]) == {result.clusters[0].name}
    pd.testing.assert_series_equal(
        renamed.customers.loc[~members, "cluster_name"],
        result.customers.loc[~members, "cluster_name"],
    )


def test_customer_lines_that_fail_are_made_once_not_again_by_the_second_writer(
    result, tmp_path, monkeypatch
):
    """Two writers ask for the customers' lines at once; when making them fails (memory at
    millions of customers), the second gets that failure instead of trying again, and the
    folder is left as it was."""
    import time

    tries = []

    def failing(table):
        tries.append(len(table))
        time.sleep(0.05)  # the second writer asks meanwhile
        raise MemoryError("no room for the customers' lines")

    monkeypatch.setattr(export, "CustomerLines", failing)
    with pytest.raises(MemoryError):
        export.export_all(result, tmp_path / "out")
    assert tries == [result.customer_count]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@settings(max_examples=300, deadline=None)
@given(
    ids=st.lists(st.text(min_size=0, max_size=4), max_size=8),
    storage=st.sampled_from(["pyarrow", "python"]),
    missing=st.booleans(),
)
def test_ids_in_order_as_pandas_tells(ids, storage, missing):
    """export._increasing, which compares text ids in Arrow, says what pandas says, for any
    text (non-ASCII too, as code points), with ids missing and for other kinds of ids."""
    values = pd.Series(
        pd.array([*ids, *([None] if missing else [])], dtype=pd.StringDtype(storage))
    )
    assert export._increasing(values) == values.is_monotonic_increasing
    numbers = pd.Series([len(i) for i in ids], dtype="int64")
    assert export._increasing(numbers) == numbers.is_monotonic_increasing


def test_each_block_is_cut_into_lines_where_it_was_formatted(result, monkeypatch):
    """CustomerLines formats its blocks side by side and cuts each into lines in the worker
    that formatted it (not one after another once all are formatted), and numbers the rows'
    clusters and segments meanwhile; the parts are the same bytes."""
    import threading

    monkeypatch.setattr(export, "_FORMAT_ROWS", 7)
    where: dict[str, list[str]] = {"format": [], "cut": []}
    real_block, real_split = export._csv_block, export._split_lines

    def block(frame, start):
        where["format"].append(threading.current_thread().name)
        return real_block(frame, start)

    def split(data, rows):
        where["cut"].append(threading.current_thread().name)
        return real_split(data, rows)

    monkeypatch.setattr(export, "_csv_block", block)
    monkeypatch.setattr(export, "_split_lines", split)
    table = export._neutralise_frame(export.customer_table(result))
    lines = export.CustomerLines(table)
    blocks = -(-len(table) // 7)
    assert len(where["format"]) == len(where["cut"]) == blocks > 2
    assert threading.current_thread().name not in where["cut"]
    assert set(where["cut"]) <= set(where["format"])
    monkeypatch.setattr(export, "_split_lines", real_split)
    for profile in result.clusters:
        assert bytes(lines.part("cluster", profile.id)) == export.csv_bytes(
            export.customer_table(result, cluster_ids=[profile.id])
        )
