"""The admin page's files ship inside the shared package."""

from __future__ import annotations

from signup_hooks.admin import page


def test_the_files_ship_inside_the_shared_package():
    assert {asset.file for asset in page.ASSETS.values()} <= {p.name for p in page.STATIC.iterdir()}
    assert page.STATIC.parent.parent.name == "signup_hooks"  # signup_hooks/admin/static
