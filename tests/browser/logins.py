"""Logging in as a person does: the admin's login form, which the console signs in through."""

PASSWORD = "correct horse battery"  # merchants.tests.factories.UserFactory's


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
