"""Login lockout (django-axes) for every login that arrives in a request: the admin's form, which
the console signs in through (RELIABILITY.md "Security")."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' check, first among the backends, so a locked-out login is refused before any
    password hashing. A call with no request (code calling `authenticate()` itself, as the test
    client's `login()` does) has no address to count against and goes on to the password check."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def lockout_page(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """The page a locked-out login gets (settings.AXES_LOCKOUT_CALLABLE), in the admin's frame:
    the console and the admin share that login form."""
    context = {
        **admin.site.each_context(request),
        "title": _("Too many failed logins"),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "admin/lockout.html", context, status=429)
