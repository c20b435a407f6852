"""/docs and /docs/redoc work offline: every asset they reference is served by meetadmin itself."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def _assets(html: str) -> list[str]:
    return ASSET.findall(html)


@pytest.mark.parametrize("page", ["/docs", "/docs/redoc"])
def test_docs_reference_only_local_assets_and_serve_them(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "/v1/openapi.json" in r.text
    assets = _assets(r.text)
    assert any(a.endswith(".js") for a in assets)
    assert not re.search(r"https?://", r.text.replace("window.location.origin", ""))
    for url in assets:
        assert url.startswith("/docs/static/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url


def test_swagger_ui_gets_its_script_styles_and_no_online_validator(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/docs/static/swagger-ui-bundle.js" in _assets(html)
    assert "/docs/static/swagger-ui.css" in _assets(html)
    assert '"validatorUrl": null' in html
    js = client.get("/docs/static/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in js.text
    assert js.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    css = client.get("/docs/static/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")


def test_the_openapi_document_and_the_oauth2_redirect_are_served(client: TestClient) -> None:
    spec = client.get("/v1/openapi.json")
    assert spec.status_code == 200
    assert spec.json()["info"]["title"] == "meetadmin"
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200
    assert "oauth2" in redirect.text.lower()


def test_a_missing_asset_is_a_webex_shaped_404(client: TestClient) -> None:
    r = client.get("/docs/static/no-such-file.js")
    assert r.status_code == 404
    assert r.json()["errors"][0]["description"]
    assert r.json()["trackingId"]
