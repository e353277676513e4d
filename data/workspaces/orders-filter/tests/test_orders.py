import unittest
from datetime import datetime

import orders
from orders import CurrentUser, Order, OrderStatus

DATA = [
    Order(1, 10, OrderStatus.PAID, datetime(2026, 1, 5)),
    Order(2, 10, OrderStatus.PENDING, datetime(2026, 2, 1)),
    Order(3, 10, OrderStatus.PAID, datetime(2026, 3, 9)),
    Order(4, 20, OrderStatus.PAID, datetime(2026, 2, 2)),
]
USER = CurrentUser(id=1, customer_id=10)


class FilterOrdersTest(unittest.TestCase):
    def test_by_status(self) -> None:
        found = orders.filter_orders(DATA, USER, status=OrderStatus.PAID)
        self.assertEqual([o.id for o in found], [3, 1])

    def test_by_date_range_is_scoped_to_the_customer(self) -> None:
        found = orders.filter_orders(DATA, USER, start=datetime(2026, 1, 31),
                                     end=datetime(2026, 2, 28))
        self.assertEqual([o.id for o in found], [2])

    def test_start_after_end_is_refused(self) -> None:
        with self.assertRaises(ValueError):
            orders.filter_orders(DATA, USER, start=datetime(2026, 3, 1),
                                 end=datetime(2026, 2, 1))

    def test_list_orders_is_unchanged(self) -> None:
        self.assertEqual([o.id for o in orders.list_orders(DATA, USER)], [3, 2, 1])


if __name__ == "__main__":
    unittest.main()
