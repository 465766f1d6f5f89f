"""The admin page's files ship inside the shared package, and only they are served."""

from __future__ import annotations

import pytest
from signup_hooks.admin import page


def test_the_files_ship_inside_the_shared_package():
    assert {asset.file for asset in page.ASSETS.values()} <= {p.name for p in page.STATIC.iterdir()}
    assert page.STATIC.parent.parent.name == "signup_hooks"  # signup_hooks/admin/static


def test_each_shipped_module_is_served_as_javascript():
    assert "api.js" in page.MODULE_NAMES
    for name in page.MODULE_NAMES:
        response = page.module_response(name)
        assert (response.status_code, response.content_type) == (200, "text/javascript; charset=utf-8"), name
        assert response.headers["Content-Security-Policy"] == page.CONTENT_SECURITY_POLICY


# Most name a real file, reachable if a name were ever joined to the folder before being checked.
@pytest.mark.parametrize("name", ["../page.py", "../admin.html", "../../page.py", "./../page.py", "/etc/passwd", ".."])
def test_a_name_that_is_not_a_shipped_module_is_refused_before_any_file_is_read(name):
    response = page.module_response(name)
    assert response.status_code == 404
    assert response.body == "Not found"
