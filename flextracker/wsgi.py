"""The WSGI application gunicorn serves (`gunicorn flextracker.wsgi`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flextracker.settings")

application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - loads the views now, not on the first request
# Everything loaded so far lives as long as the process. Frozen, the collector's full passes no
# longer walk it every few requests (5 % of a batch of 500 events; docs/benchmarks.md).
gc.freeze()
