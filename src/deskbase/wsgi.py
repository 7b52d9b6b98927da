import os

from django.core.wsgi import get_wsgi_application
from django.urls import resolve

from deskbase import config
from deskbase.core import overload
from deskbase.core.request_buffer import BufferedRequests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deskbase.settings")
django_application = get_wsgi_application()
# Django imports the URLconf (every view module and the API's schemas: 0.4 s) on the
# first request; a server process does it while it starts, before it takes requests,
# so nobody's first page of the process waits for it (and is logged as slow).
resolve("/health")
# Bodies read in full first, then at most DESKBASE_WEB_THREADS requests of this
# process in Django at once (deskbase.core.request_buffer says why).
# A request that finds them taken waits while fewer than DESKBASE_WEB_QUEUE others
# wait, for DESKBASE_WEB_QUEUE_WAIT_MS at most; else a fast 503 (deskbase.core.overload).
application = BufferedRequests(
    django_application,
    slots=config.env_int("DESKBASE_WEB_THREADS", 2),
    read_timeout=config.env_int("DESKBASE_WEB_READ_TIMEOUT", 15),
    # Twice the slots, a quarter second: the tightest measured, and the best one
    # (docs/performance.md: p50 and p99 at saturation a tenth and a third of unbounded).
    queue=config.env_int("DESKBASE_WEB_QUEUE", 4),
    queue_wait=config.env_int("DESKBASE_WEB_QUEUE_WAIT_MS", 250) / 1000,
)
overload.install(application.gate)
