"""Login lockout (django-axes) for every login that arrives in a request: the admin's form, which
the console signs in through (RELIABILITY.md "Security")."""

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' check, first among the backends, so a locked-out login is refused before any
    password hashing. A call with no request (code calling `authenticate()` itself, as the test
    client's `login()` does) has no address to count against and goes on to the password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
