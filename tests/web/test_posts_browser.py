"""The posts layer in a real Chromium: a plan proposed from calls is drawn with its figures, a
supervisor accepts it on the page, and the opened posts are drawn with the cells they serve."""

import httpx
import pytest

from tests.web.conftest import AUTH, SUPERVISOR_KEY, start_server
from tests.web.test_map_browser import browser_page  # noqa: F401  (the fixture)
from tests.web.test_posts_api import HOT, STEP
from web.redis_server import free_port

pytestmark = pytest.mark.browser


def test_the_pending_plan_is_accepted_on_the_map_and_its_posts_drawn(redis_server, browser_page) -> None:  # noqa: F811
    page, errors = browser_page
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(redis_server.url, port, namespace=f"posts{port}", post_agencies='["120"]',
                          post_target_s='{"120": 120}', post_coverage_goal="0.9")
    try:
        for i in range(6):
            r = httpx.post(f"{base}/v1/calls", headers=AUTH, json={
                "hotline": "120", "kind": "medical_emergency",
                "location": {"lon": HOT[0] + STEP * (i % 3), "lat": HOT[1] + STEP * (i // 3)}})
            assert r.status_code == 201, r.text
        plan = httpx.post(f"{base}/v1/posts/plans", json={"period": "all"}, headers=AUTH, timeout=60).json()
        assert plan["opens"], plan
        page.goto(f"{base}/#key={SUPERVISOR_KEY}")
        page.wait_for_function("window.jd && window.jd.connected && window.jd.posts.plan !== null",
                               timeout=30_000)
        assert page.evaluate("window.jd.posts.plan.plan_id") == plan["plan_id"]
        assert page.evaluate("window.jd.posts.planLayer.getLayers().length") > 0  # drawn dashed
        page.click("#posts button[data-action='accept']")
        page.wait_for_function("window.jd.posts.plan === null && window.jd.posts.open.features.length > 0",
                               timeout=5_000)
        ids = page.evaluate(
            "window.jd.posts.open.features.filter(f => f.properties.kind === 'post').map(f => f.id)")
        assert set(ids) == {p["post_id"] for p in plan["opens"]}
        assert "Staging posts" in page.inner_text("#posts-section")
        # nobody stands at the new post: the move-up is offered, and confirming it posts the unit
        page.wait_for_selector("#posts button[data-action='confirm-move']", timeout=5_000)
        unit = page.get_attribute("#posts .move-up li", "data-unit")
        page.click("#posts button[data-action='confirm-move']")
        page.wait_for_function(
            f"window.jd.posts.open.features.some(f => (f.properties.units || []).includes('{unit}'))",
            timeout=5_000)
        assert httpx.get(f"{base}/v1/posts/plans", headers=AUTH).json()["plans"][0]["status"] == "accepted"
        assert not errors, errors
    finally:
        server.terminate()
        server.wait(timeout=30)
