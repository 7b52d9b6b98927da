"""A server process loads every view while it starts, not on its first request."""

from __future__ import annotations

import os
import subprocess
import sys


def test_importing_the_wsgi_application_loads_the_views_and_the_api():
    # Given a fresh Python process, as a gunicorn worker is
    probe = (
        "import sys, deskbase.wsgi; "
        "print(all(name in sys.modules for name in "
        "('deskbase.web.views.desk', 'deskbase.api.main', 'deskbase.web.views.portal')))"
    )
    # When it imports the application gunicorn serves
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "deskbase.settings"}, check=False,
    )  # fmt: skip
    # Then the views and the API are loaded already: the first request pays for neither
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
