import sqlite3
import unittest

from report import CustomerRow, customers_report


def database(customers: int) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    db.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, "
               "total_cents INTEGER NOT NULL)")
    db.executemany("INSERT INTO customers VALUES (?, ?)",
                   [(i, f"c{i:03d}") for i in range(1, customers + 1)])
    db.executemany("INSERT INTO orders (customer_id, total_cents) VALUES (?, ?)",
                   [(i, 100 * i) for i in range(1, customers + 1) if i % 3] * 2)
    return db


class ReportTest(unittest.TestCase):
    def test_rows(self) -> None:
        rows = customers_report(database(4))
        self.assertEqual(rows, [CustomerRow("c001", 2, 200), CustomerRow("c002", 2, 400),
                                CustomerRow("c003", 0, 0), CustomerRow("c004", 2, 800)])

    def test_one_query_however_many_customers(self) -> None:
        db = database(60)
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        self.assertEqual(len(customers_report(db)), 60)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        self.assertLessEqual(len(selects), 1, f"{len(selects)} queries (N+1)")


if __name__ == "__main__":
    unittest.main()
