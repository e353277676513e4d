import unittest

from login import LoginService, RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class RateLimitTest(unittest.TestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.service = LoginService({"ann@example.com": "right"}, self.clock)

    def fail_logins(self, times: int, email: str = "ann@example.com") -> None:
        for _ in range(times):
            self.assertFalse(self.service.login(email, "wrong"))

    def test_sixth_attempt_is_blocked_with_retry_after(self) -> None:
        self.fail_logins(5)
        with self.assertRaises(RateLimited) as caught:
            self.service.login("ann@example.com", "right")
        self.assertGreater(caught.exception.retry_after, 0)
        self.assertLessEqual(caught.exception.retry_after, 15 * 60)

    def test_email_case_does_not_reset_the_count(self) -> None:
        self.fail_logins(5)
        with self.assertRaises(RateLimited):
            self.service.login("ANN@example.com", "right")

    def test_window_expires_after_15_minutes(self) -> None:
        self.fail_logins(5)
        self.clock.now += 15 * 60 + 1
        self.assertTrue(self.service.login("ann@example.com", "right"))

    def test_success_keeps_working_below_the_limit(self) -> None:
        self.fail_logins(4)
        self.assertTrue(self.service.login("ann@example.com", "right"))


if __name__ == "__main__":
    unittest.main()
