"""Every page, and the entry point, renders without an exception on empty and on demo data."""

import pytest

from tests.helpers import PAGES, page


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_on_an_empty_database(app_env, name):
    at = page(name).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_with_data(demo_dbs, name):
    at = page(name).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
