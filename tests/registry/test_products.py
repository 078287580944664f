"""Products, certifications (expired ones), PATCH with If-Match."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from otog_registry.fiscal import today_in_bangkok

from tests.registry.conftest import assert_problem, create_group


async def test_products_and_certifications(
    registry: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    r = await registry.post(
        f"/v1/groups/{group['id']}/products",
        json={
            "name_th": "พวงหรีดดอกไม้จันทน์",
            "name_en": "Sandalwood-flower wreath",
            "price_satang": 150000,
            "unit": "ชิ้น",
            "is_premium": True,
            "packaging_notes": "กล่องกระดาษรีไซเคิล",
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    product = r.json()
    assert product["price_satang"] == 150000 and product["is_premium"] is True
    assert product["certifications"] == [] and product["is_available"] is True
    url = f"/v1/products/{product['id']}/certifications"

    today = today_in_bangkok()
    r = await registry.post(
        url,
        json={
            "standard": "fda",
            "number": "15-2-01163-2-0001",
            "issued_on": "2024-06-01",
            "expires_on": str(today + timedelta(days=365)),
        },
        headers=writer,
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "valid"
    r = await registry.post(
        url,
        json={
            "standard": "tcps",
            "number": "มผช. 1182/2566",
            "issued_on": "2020-01-01",
            "expires_on": str(today - timedelta(days=1)),
        },
        headers=writer,
    )
    assert r.status_code == 201 and r.json()["status"] == "expired"
    r = await registry.post(
        url,
        json={
            "standard": "other",
            "standard_name": "Q mark",
            "number": "Q-1",
            "issued_on": "2024-01-01",
        },
        headers=writer,
    )
    assert r.status_code == 201 and r.json()["expires_on"] is None

    got = await registry.get(f"/v1/products/{product['id']}", headers=reader)
    statuses = {c["standard"]: c["status"] for c in got.json()["certifications"]}
    assert statuses == {"fda": "valid", "tcps": "expired", "other": "valid"}
    listed = await registry.get(url, headers=reader)
    assert len(listed.json()["items"]) == 3
    group_products = await registry.get(f"/v1/groups/{group['id']}/products", headers=reader)
    assert [p["id"] for p in group_products.json()["items"]] == [product["id"]]

    # The same certificate twice is a conflict; bad values are 422.
    r = await registry.post(
        url,
        json={"standard": "fda", "number": "15-2-01163-2-0001", "issued_on": "2024-06-01"},
        headers=writer,
    )
    assert_problem(r, 409, "duplicate-certification")
    for body in (
        {"standard": "other", "number": "x", "issued_on": "2024-01-01"},
        {"standard": "fda", "number": "x", "issued_on": "2024-01-01", "expires_on": "2023-01-01"},
        {"standard": "iso", "number": "x", "issued_on": "2024-01-01"},
        {"standard": "fda", "number": "", "issued_on": "2024-01-01"},
        {"standard": "fda", "number": "x" * 101, "issued_on": "2024-01-01"},
        {"standard": "fda", "number": "x", "issued_on": 0},
        {"standard": "fda", "number": "x", "issued_on": "20240101"},
    ):
        assert_problem(await registry.post(url, json=body, headers=writer), 422)


async def test_product_patch_and_errors(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    reader: dict[str, str],
    phayao_writer: dict[str, str],
) -> None:
    group = await create_group(registry, writer)
    r = await registry.post(
        f"/v1/groups/{group['id']}/products", json={"name_th": "น้ำผึ้ง"}, headers=writer
    )
    product = r.json()
    etag = r.headers["etag"]
    r = await registry.patch(
        f"/v1/products/{product['id']}",
        json={"price_satang": 25000, "is_available": False},
        headers={**writer, "If-Match": etag},
    )
    assert r.status_code == 200 and r.json()["price_satang"] == 25000
    stale = await registry.patch(
        f"/v1/products/{product['id']}",
        json={"price_satang": 1},
        headers={**writer, "If-Match": etag},
    )
    assert_problem(stale, 412)
    for body in (
        {"price_satang": -1},
        {"price_satang": 1.5},
        {"price_satang": "100"},
        {"is_available": 0},
        {"is_premium": "yes"},
        {"name_th": None},
        {"x": 1},
    ):
        assert_problem(
            await registry.patch(f"/v1/products/{product['id']}", json=body, headers=writer), 422
        )
    assert_problem(
        await registry.post(f"/v1/groups/{group['id']}/products", json={}, headers=writer), 422
    )
    assert_problem(
        await registry.post(
            f"/v1/groups/{group['id']}/products", json={"name_th": "x"}, headers=reader
        ),
        403,
    )
    assert_problem(await registry.get(f"/v1/products/{product['id']}", headers=phayao_writer), 404)
    assert_problem(
        await registry.get("/v1/products/01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b", headers=reader), 404
    )


def test_expiry_is_by_bangkok_date() -> None:
    from otog_registry.products.models import Certification
    from otog_registry.products.service import certification_status

    cert = Certification(expires_on=date(2025, 3, 31))
    assert certification_status(cert, date(2025, 3, 31)).value == "valid"
    assert certification_status(cert, date(2025, 4, 1)).value == "expired"
