import unittest

from pagination import Customer, list_customers

CUSTOMERS = [Customer(i, f"customer {i}") for i in range(1, 8)]


def walk(limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    for _ in range(20):
        page = list_customers(CUSTOMERS, cursor, limit)
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("pagination never ended")


class PaginationTest(unittest.TestCase):
    def test_full_page_has_a_next_cursor(self) -> None:
        self.assertEqual(list_customers(CUSTOMERS, None, 3).next_cursor, 3)

    def test_pages_do_not_repeat_customers(self) -> None:
        self.assertEqual(walk(3), list(range(1, 8)))

    def test_every_customer_is_shown_when_pages_divide_evenly(self) -> None:
        self.assertEqual(walk(7), list(range(1, 8)))


if __name__ == "__main__":
    unittest.main()
