"""Members: roles, one leader, several groups per worker, history on removal."""

from __future__ import annotations

import httpx

from tests.registry.conftest import KO_TAN, assert_problem, create_group, create_worker


async def test_members_roles_and_history(
    registry: httpx.AsyncClient, writer: dict[str, str], reader: dict[str, str]
) -> None:
    group = await create_group(registry, writer)
    url = f"/v1/groups/{group['id']}/members"
    leader = await create_worker(registry, writer)
    member = await create_worker(registry, writer)
    second = await create_worker(registry, writer)

    r = await registry.post(url, json={"worker_id": leader["id"], "role": "leader"}, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "leader" and r.json()["left_at"] is None
    assert r.json()["worker"]["national_id_masked"] == leader["national_id_masked"]
    r = await registry.post(url, json={"worker_id": member["id"]}, headers=writer)
    assert r.status_code == 201 and r.json()["role"] == "member"

    body = assert_problem(
        await registry.post(url, json={"worker_id": member["id"]}, headers=writer),
        409,
        "already-member",
    )
    assert body["worker_id"] == member["id"]
    body = assert_problem(
        await registry.post(
            url, json={"worker_id": second["id"], "role": "leader"}, headers=writer
        ),
        409,
        "leader-exists",
    )
    assert body["leader_worker_id"] == leader["id"]

    listed = (await registry.get(url, headers=reader)).json()["items"]
    assert [m["worker_id"] for m in listed] == [leader["id"], member["id"]]
    leaders = (await registry.get(url, params={"role": "leader"}, headers=reader)).json()
    assert [m["worker_id"] for m in leaders["items"]] == [leader["id"]]

    # Removing the leader keeps the history and frees the role.
    r = await registry.delete(f"{url}/{leader['id']}", headers=writer)
    assert r.status_code == 204 and r.content == b""
    assert_problem(await registry.delete(f"{url}/{leader['id']}", headers=writer), 404)
    r = await registry.post(url, json={"worker_id": second["id"], "role": "leader"}, headers=writer)
    assert r.status_code == 201
    # The former leader may rejoin as a member.
    r = await registry.post(url, json={"worker_id": leader["id"]}, headers=writer)
    assert r.status_code == 201

    current = (await registry.get(url, headers=reader)).json()["items"]
    assert {m["worker_id"] for m in current} == {leader["id"], member["id"], second["id"]}
    everything = (
        await registry.get(url, params={"include_former": "true"}, headers=reader)
    ).json()["items"]
    assert len(everything) == 4
    ended = [m for m in everything if m["left_at"] is not None]
    assert len(ended) == 1 and ended[0]["role"] == "leader"


async def test_worker_in_several_groups(
    registry: httpx.AsyncClient, writer: dict[str, str], ang_thong_writer: dict[str, str]
) -> None:
    worker = await create_worker(registry, writer)
    here = await create_group(registry, writer)
    there = await create_group(registry, writer, subdistrict_code=KO_TAN)
    for g in (here, there):
        r = await registry.post(
            f"/v1/groups/{g['id']}/members", json={"worker_id": worker["id"]}, headers=writer
        )
        assert r.status_code == 201
    r = await registry.get(f"/v1/workers/{worker['id']}/memberships", headers=writer)
    assert {m["group_id"] for m in r.json()["items"]} == {here["id"], there["id"]}
    # A province-bound client sees only its province's groups.
    r = await registry.get(f"/v1/workers/{worker['id']}/memberships", headers=ang_thong_writer)
    assert [m["group_id"] for m in r.json()["items"]] == [here["id"]]


async def test_member_errors(
    registry: httpx.AsyncClient,
    writer: dict[str, str],
    reader: dict[str, str],
    phayao_writer: dict[str, str],
) -> None:
    group = await create_group(registry, writer)
    url = f"/v1/groups/{group['id']}/members"
    worker = await create_worker(registry, writer)
    unknown = "01934f8e-7c2a-7d3e-9a1b-2c3d4e5f6a7b"
    body = assert_problem(
        await registry.post(url, json={"worker_id": unknown}, headers=writer), 422
    )
    assert body["errors"][0]["field"] == "body.worker_id"
    assert_problem(
        await registry.post(url, json={"worker_id": worker["id"], "role": "boss"}, headers=writer),
        422,
    )
    assert_problem(await registry.post(url, json={"worker_id": worker["id"]}, headers=reader), 403)
    assert_problem(await registry.post(url, json={"worker_id": worker["id"]}), 401)
    assert_problem(
        await registry.post(
            f"/v1/groups/{unknown}/members", json={"worker_id": worker["id"]}, headers=writer
        ),
        404,
    )
    assert_problem(await registry.get(url, headers=phayao_writer), 404)
    assert_problem(await registry.delete(f"{url}/{worker['id']}", headers=writer), 404)

    # A dissolved group takes no new members.
    r = await registry.post(
        f"/v1/groups/{group['id']}/stage-changes", json={"stage": "dissolved"}, headers=writer
    )
    assert r.status_code == 201
    assert_problem(await registry.post(url, json={"worker_id": worker["id"]}, headers=writer), 409)
