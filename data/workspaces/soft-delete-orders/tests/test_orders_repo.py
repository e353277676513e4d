import sqlite3
import unittest

from orders_repo import NotFound, cancel_order, get_status


def database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
               "status TEXT NOT NULL)")
    db.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                   [(1, 7, "paid"), (2, 7, "shipped"), (3, 8, "paid")])
    return db


class CancelOrderTest(unittest.TestCase):
    def test_cancelled_orders_are_kept(self) -> None:
        db = database()
        cancel_order(db, 1, 7)
        self.assertEqual(get_status(db, 1, 7), "cancelled")

    def test_shipped_orders_cannot_be_cancelled(self) -> None:
        db = database()
        with self.assertRaises(ValueError):
            cancel_order(db, 2, 7)
        self.assertEqual(get_status(db, 2, 7), "shipped")

    def test_other_customers_orders_are_not_found(self) -> None:
        with self.assertRaises(NotFound):
            cancel_order(database(), 3, 7)


if __name__ == "__main__":
    unittest.main()
