"""Stock levels by SKU. `python -m mypy` reports an error here; the tests fail too."""

from __future__ import annotations


def stock_level(stock: dict[str, int], sku: str) -> int:
    """Units in stock for ``sku``; an unknown SKU has none."""
    return stock.get(sku)


def restock(stock: dict[str, int], sku: str, units: int) -> dict[str, int]:
    """A copy of ``stock`` with ``units`` more of ``sku``."""
    return {**stock, sku: stock_level(stock, sku) + units}
