"""The programme console in headless Chromium, on a stack of the module's own: databases
loaded with `make run demo=1`'s data (the console's app client `otog-console` registered
for this gateway's address, its demo officers), the three services as real processes, a
real nginx serving the console as `make console` builds it, and on top of the demo a few
records made through the public API that the tests know by id."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from otog_devstack import nginx
from otog_devstack.browser import CHROMIUM_ARGS, ensure_chromium
from otog_devstack.console import CLIENT_ID, ensure_console
from otog_devstack.postgres import asyncpg_url, ensure_databases, free_port, with_database
from otog_devstack.processes import ServiceProcess, stop_group

from tests.loans.conftest import THB, fund_body, today_bkk
from tests.support.gateway import FUNCTIONAL_LIMITS, wait_for_gateway
from tests.support.stack import SPECS, service_env, start_service
from tests.support.tokens import TokenFactory
from tests.training.helpers import add_member, create_course, create_worker, session_body

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "console" / "screenshots"
# A tablet held upright (iPad Air): the size the console is made to be read at.
TABLET = {"width": 820, "height": 1180}
READ_ALL = ["registry:read", "training:read", "loans:read"]
OURS = "15"  # Ang Thong
THEIRS = "62"  # Kamphaeng Phet


@dataclass
class ConsoleStack:
    url: str
    client_id: str
    admin: dict[str, str]
    national: dict[str, Any]
    provincial: dict[str, Any]
    data: dict[str, Any] = field(default_factory=dict)

    def client(self, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kw)


@dataclass
class DemoDatabases:
    urls: dict[str, str]
    access: dict[str, Any]


@pytest.fixture(scope="module")
def demo_databases(pg_server_url: str, data_dir: Path) -> DemoDatabases:
    """Fresh, migrated databases of the module's own (the demo is loaded into them once the
    gateway's port is known)."""
    from otog_devstack.stack import SERVICES
    from otog_registry.demo import CONSOLE_OFFICERS
    from otog_shared.migrations import upgrade

    names = {s.name: f"test_console_{s.database}" for s in SERVICES}
    ensure_databases(pg_server_url, list(names.values()), recreate=True)
    urls = {name: asyncpg_url(with_database(pg_server_url, db)) for name, db in names.items()}
    for spec in SERVICES:
        upgrade(spec.package, urls[spec.name])
    return DemoDatabases(urls, {"officers": CONSOLE_OFFICERS})


@pytest.fixture(scope="module")
def console_gateway(
    demo_databases: DemoDatabases,
    data_dir: Path,
    log_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The demo loaded for this gateway's port, the services on the demo databases, and
    nginx serving the console built as `make console` builds it (client `otog-console`)."""
    from otog_devstack.demo import load_demo
    from otog_registry.cli import _create

    urls = demo_databases.urls
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as env:
        # The demo's personal data is sealed with the keys the services will read.
        env.setenv("REGISTRY_DATA_DIR", str(data_dir))
        load_demo(urls, gateway_port=port)
    build = tmp_path_factory.mktemp("console-app")
    # nginx's workers run unprivileged: they must read the build and pass every folder above.
    build.chmod(0o755)
    for folder in build.parents:
        folder.chmod(folder.stat().st_mode | 0o001)
    ensure_console(build)
    ports = {"training": free_port(), "loan-ledger": free_port()}
    started: dict[str, ServiceProcess] = {}
    proc = None
    try:
        started["registry"] = start_service(
            "registry",
            urls["registry"],
            port=free_port(),
            data_dir=data_dir,
            log_dir=log_dir,
            extra_env={
                "REGISTRY_PUBLIC_BASE_URL": url,
                "REGISTRY_TRAINING_URL": f"http://127.0.0.1:{ports['training']}",
                "REGISTRY_LOANS_URL": f"http://127.0.0.1:{ports['loan-ledger']}",
            },
        )
        # Training and the loan ledger start side by side once the registry (whose keys
        # they fetch) answers.
        for name, prefix in (("training", "TRAINING"), ("loan-ledger", "LOANS")):
            creds = asyncio.run(
                _create(urls["registry"], f"{name} service", ["registry:read"], None)
            )
            env = service_env(
                name, urls[name], data_dir=data_dir, registry_url=started["registry"].base_url
            )
            env[f"{prefix}_REGISTRY_CLIENT_ID"] = creds["client_id"]
            env[f"{prefix}_REGISTRY_CLIENT_SECRET"] = creds["client_secret"]
            started[name] = ServiceProcess(
                name,
                SPECS[name].factory,
                ports[name],
                env=env,
                log_path=log_dir / f"console-{name}-{ports[name]}.log",
            )
            started[name].start()
        for name in ("training", "loan-ledger"):
            started[name].wait_ready()
        conf = nginx.write_config(
            nginx.GatewayConfig(
                gateway_port=port,
                registry_port=started["registry"].port,
                training_port=started["training"].port,
                loan_ledger_port=started["loan-ledger"].port,
                run_dir=tmp_path_factory.mktemp("console-gateway"),
                log_dir=log_dir,
                console_dir=build,
                worker_processes="1",
                **FUNCTIONAL_LIMITS,
            )
        )
        proc = nginx.start(nginx.ensure_nginx(), conf, log_dir / "console-gateway.log")
        wait_for_gateway(url, proc, log_dir)
        yield url
    finally:
        if proc is not None:
            stop_group(proc.pid)
        for p in started.values():
            p.stop()


@pytest_asyncio.fixture(scope="module")
async def console_stack(
    console_gateway: str, demo_databases: DemoDatabases, tokens: TokenFactory
) -> AsyncIterator[ConsoleStack]:
    url = console_gateway
    admin = tokens.headers("admin")
    officers = {o.province: o for o in demo_databases.access["officers"]}
    national = {"username": officers[None].username, "password": officers[None].password}
    provincial = {"username": officers[OURS].username, "password": officers[OURS].password}
    async with httpx.AsyncClient(base_url=url, timeout=30) as gw:
        stack = ConsoleStack(url, CLIENT_ID, admin, national, provincial)
        stack.data = await _programme_data(gw, admin, tokens)
        yield stack


async def _programme_data(
    gw: httpx.AsyncClient, admin: dict[str, str], tokens: TokenFactory
) -> dict[str, Any]:
    """What every view shows: groups in two provinces, one of them a prototype in training
    with members, a certified product, a field visit, sales, a training session and an
    overdue loan."""
    today = today_bkk()

    async def quiet_subdistrict(province: str) -> str:
        # The demo's groups sit in each province's first subdistricts; ours take the last,
        # where no prototype of this fiscal year is taken yet.
        r = await gw.get("/v1/subdistricts", params={"province": province, "limit": 200})
        assert r.status_code == 200, r.text
        return str(max(item["code"] for item in r.json()["items"]))

    ours, theirs = await quiet_subdistrict(OURS), await quiet_subdistrict(THEIRS)

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await gw.post(path, json=body, headers=admin)
        assert r.status_code in (200, 201), f"{path}: {r.text}"
        return dict(r.json())

    group = await post(
        "/v1/groups",
        {
            "name_th": f"กลุ่มทอผ้าไหมบ้านทดสอบ {uuid.uuid4().hex[:6]}",
            "name_en": "Test village silk weavers",
            "subdistrict_code": ours,
            "occupation": "textiles_weaving",
        },
    )
    gid = group["id"]
    await post(f"/v1/groups/{gid}/stage-changes", {"stage": "prototype", "note": "คัดเลือก"})
    await post(f"/v1/groups/{gid}/stage-changes", {"stage": "training"})
    workers = [await create_worker(gw, tokens, f"{OURS}0101") for _ in range(3)]
    for worker in workers:
        await add_member(gw, tokens, gid, worker)
    product = await post(
        f"/v1/groups/{gid}/products",
        {"name_th": "ผ้าไหมมัดหมี่", "name_en": "Mudmee silk", "price_satang": 1_250 * THB},
    )
    await post(
        f"/v1/products/{product['id']}/certifications",
        {
            "standard": "tcps",
            "number": "มผช. 14/2566",
            "issued_on": (today - timedelta(days=300)).isoformat(),
            "expires_on": (today + timedelta(days=400)).isoformat(),
        },
    )
    await post(
        f"/v1/groups/{gid}/visits",
        {
            "visited_on": (today - timedelta(days=3)).isoformat(),
            "progress": "Looms installed",
            "progress_percent": 40,
            "problems": ["Dye supply late"],
        },
    )
    await post(
        f"/v1/groups/{gid}/market-links",
        {
            "partner": "commerce",
            "channel": "trade fair",
            "occurred_on": (today - timedelta(days=2)).isoformat(),
            "sales_satang": 18_500 * THB,
        },
    )
    other = await post(
        "/v1/groups",
        {
            "name_th": f"กลุ่มจักสานทดสอบ {uuid.uuid4().hex[:6]}",
            "subdistrict_code": theirs,
            "occupation": "handicraft",
        },
    )
    await post(f"/v1/groups/{other['id']}/stage-changes", {"stage": "prototype"})
    course = await create_course(gw, admin)
    session = await post(
        "/v1/training-sessions",
        session_body(str(course["id"]), province_code=OURS, capacity=5, minimum=2),
    )
    fund = await post("/v1/funds", fund_body())
    loan = await post(
        "/v1/loans",
        {
            "fund_id": fund["id"],
            "group_id": gid,
            "principal_satang": 120_000 * THB,
            "purpose": "Looms and dye",
        },
    )
    await post(f"/v1/loans/{loan['id']}/approve", {})
    # Disbursed three months ago and never repaid: the loan is in arrears.
    await post(
        f"/v1/loans/{loan['id']}/disburse",
        {"disbursed_on": (today - timedelta(days=95)).isoformat()},
    )
    return {
        "group": gid,
        "other_group": other["id"],
        "session": session["id"],
        "workers": workers,
        "loan": loan["id"],
        "fund": fund["id"],
    }


@pytest_asyncio.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = ensure_chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class SignedIn:
    page: Any
    csp_violations: list[str]


async def sign_in(browser: Any, stack: ConsoleStack, user: dict[str, Any]) -> SignedIn:
    """A tablet-sized browser that opens the console and signs in on the real sign-in page."""
    context = await browser.new_context(
        viewport=TABLET, device_scale_factor=1, has_touch=True, locale="th-TH"
    )
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    # A script error fails the test that caused it rather than a later wait.
    page.on("pageerror", lambda error: violations.append(f"script error: {error}"))
    await page.goto(f"{stack.url}/console/")
    try:
        await page.click("#sign-in", timeout=10_000)
    except Exception as exc:
        raise AssertionError(
            f"no sign-in button; the page said: {violations}\n{await page.content()}"
        ) from exc
    await page.wait_for_url("**/v1/oauth/authorize?*")
    await page.fill("#username", user["username"])
    await page.fill("#password", user["password"])
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{stack.url}/console/*")
    await page.wait_for_selector("#sign-out")
    return SignedIn(page, violations)


@pytest_asyncio.fixture(scope="module")
async def national(browser: Any, console_stack: ConsoleStack) -> AsyncIterator[SignedIn]:
    signed = await sign_in(browser, console_stack, console_stack.national)
    yield signed
    await signed.page.context.close()


@pytest_asyncio.fixture(scope="module")
async def provincial(browser: Any, console_stack: ConsoleStack) -> AsyncIterator[SignedIn]:
    signed = await sign_in(browser, console_stack, console_stack.provincial)
    yield signed
    await signed.page.context.close()
