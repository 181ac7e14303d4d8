"""Small transaction files generated in the tests (never shared data)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd


def write_rows(path: Path, rows: Sequence[tuple[str, str, str, float]]) -> Path:
    """A transactions CSV in the Online Retail layout, one line per (customer, invoice, date,
    amount) with quantity 1."""
    frame = pd.DataFrame(
        {
            "InvoiceNo": [r[1] for r in rows],
            "StockCode": "85123A",
            "Description": "item",
            "Quantity": 1,
            "InvoiceDate": [r[2] for r in rows],
            "UnitPrice": [r[3] for r in rows],
            "CustomerID": [r[0] for r in rows],
            "Country": "United Kingdom",
        }
    )
    frame.to_csv(path, index=False)
    return path
