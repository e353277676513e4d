import unittest

from inventory import restock, stock_level


class InventoryTest(unittest.TestCase):
    def test_known_sku(self) -> None:
        self.assertEqual(stock_level({"a": 3}, "a"), 3)

    def test_unknown_sku_has_none_in_stock(self) -> None:
        self.assertEqual(stock_level({"a": 3}, "b"), 0)

    def test_restock_a_new_sku(self) -> None:
        self.assertEqual(restock({"a": 3}, "b", 5), {"a": 3, "b": 5})


if __name__ == "__main__":
    unittest.main()
