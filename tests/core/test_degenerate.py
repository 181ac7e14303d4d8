"""Degenerate customers (few distinct R/F/M profiles) and library warnings: refused or told, never silent or raw."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from rfm_desktop.core import clustering, libwarnings, pipeline
from rfm_desktop.core.errors import ParamsError
from rfm_desktop.core.params import AnalysisParams, ClusteringOptions
from rfm_desktop.core.result import RunWarning


def two_profiles(path: Path, customers: int = 40) -> Path:
    """Half the customers buy once for 10 on 1 March, the other half twice for 25 on 1 June."""
    rows = []
    for c in range(customers):
        if c % 2:
            rows.append((f"A{c}", 1000 + c, "2011-03-01 10:00", 1, 10.0))
        else:
            rows += [
                (f"B{c}a", 1000 + c, "2011-06-01 10:00", 1, 25.0),
                (f"B{c}b", 1000 + c, "2011-06-01 11:00", 1, 25.0),
            ]
    frame = pd.DataFrame(
        rows, columns=["InvoiceNo", "CustomerID", "InvoiceDate", "Quantity", "UnitPrice"]
    )
    frame.to_csv(path, index=False)
    return path


def test_fixed_k_above_the_distinct_profiles_is_refused(tmp_path: Path) -> None:
    data = two_profiles(tmp_path / "two.csv")
    with pytest.raises(ParamsError) as caught:
        pipeline.run(
            AnalysisParams(input_path=str(data), clustering=ClusteringOptions(k=3, sweep=False))
        )
    assert caught.value.message == (
        "K=3 is more than the 2 distinct customer profiles in the data (different recency/frequency/monetary "
        "values); choose K of at most 2."
    )
    result = pipeline.run(
        AnalysisParams(input_path=str(data), clustering=ClusteringOptions(k=2, sweep=False))
    )
    assert result.k == 2 and sorted(result.customers.groupby("cluster").size()) == [20, 20]
    assert not [w for w in result.warnings if "numerical problem" in w.text or "K range" in w.text]


def test_the_sweep_is_cut_to_the_distinct_profiles_with_a_warning(
    tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    data = two_profiles(tmp_path / "two.csv")
    result = pipeline.run(AnalysisParams(input_path=str(data)))
    assert [s.k for s in result.sweep.scores] == [2] and result.k == 2
    cut = "The K range 2:10 was cut to 2:2: the customers have only 2 distinct recency/frequency/monetary profiles."
    assert result.sweep.warnings == (cut,)
    assert RunWarning("clustering", cut) in result.warnings
    assert not [w for w in recwarn if issubclass(w.category, ConvergenceWarning | RuntimeWarning)]


def test_distinct_rows_counts_profiles() -> None:
    import numpy as np

    x = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 1.0], [0.0, 1.0]])
    assert clustering.distinct_rows(x) == 2
    assert clustering.distinct_rows(np.empty((0, 3))) == 0


def test_distinct_profiles_are_counted_exactly_up_to_the_largest_k() -> None:
    """Features.distinct counts every customer's profile when the first DISTINCT_PREFIX hold
    few (new profiles further on count), and stops at those when they hold more than any K."""
    import numpy as np

    def features(x: np.ndarray) -> clustering.Features:
        return clustering.Features(("recency", "frequency"), x, x, "none", None)

    n = clustering.DISTINCT_PREFIX + 500
    few = np.zeros((n, 2))
    few[-3:, 0] = [1.0, 2.0, 2.0]  # two more profiles after the prefix
    assert features(few).distinct == 3
    many = np.column_stack([np.arange(n) % 1_000, np.zeros(n)]).astype(float)
    assert features(many).distinct == 1_000 > clustering.K_LIMIT
    for in_prefix, counted in ((50, 51), (51, 51)):  # K_LIMIT profiles first: all are counted
        edge = np.column_stack([np.arange(n) % in_prefix, np.zeros(n)]).astype(float)
        edge[-1] = [99.0, 0.0]
        assert features(edge).distinct == counted
        assert clustering.distinct_rows(edge) == in_prefix + 1


def test_library_warnings_become_one_analyst_warning(
    sample_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recwarn: pytest.WarningsRecorder,
    capsys: pytest.CaptureFixture,
) -> None:
    real_fit = clustering.fit_kmeans

    def noisy_fit(*args: object, **kwargs: object) -> object:
        warnings.warn(
            "Number of distinct clusters (2) found smaller than n_clusters (3).",
            ConvergenceWarning,
            stacklevel=1,
        )
        warnings.warn("a pandas notice about the future", FutureWarning, stacklevel=1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(clustering, "fit_kmeans", noisy_fit)
    result = pipeline.run(
        AnalysisParams(input_path=str(sample_path), clustering=ClusteringOptions(k=3, sweep=False))
    )
    numeric = [w.text for w in result.warnings if "numerical problem" in w.text]
    assert numeric == [
        "The clustering met a numerical problem, so the segments may be less reliable: 'Number of distinct "
        "clusters (2) found smaller than n_clusters (3).'. Check the amounts for extreme values, or choose a smaller K."
    ]
    assert not any("future" in w.text for w in result.warnings)
    assert len(recwarn) == 0  # nothing went on to Python's warning machinery
    assert capsys.readouterr().err == ""


def test_each_thread_keeps_its_own_warnings(recwarn: pytest.WarningsRecorder) -> None:
    inside: list[list] = []
    ready, done = threading.Event(), threading.Event()

    def capturing() -> None:
        with libwarnings.captured() as caught:
            ready.set()
            done.wait(10)
            warnings.warn("from the capturing thread", RuntimeWarning, stacklevel=1)
        inside.append(list(caught))

    thread = threading.Thread(target=capturing)
    thread.start()
    ready.wait(10)
    warnings.warn(
        "from the main thread", UserWarning, stacklevel=1
    )  # while the other thread captures
    done.set()
    thread.join(10)
    assert [str(w.message) for w in inside[0]] == ["from the capturing thread"]
    assert [str(w.message) for w in recwarn] == ["from the main thread"]
