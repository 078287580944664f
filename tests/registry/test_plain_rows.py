"""The import's quick check of plain rows never says yes where the model says no."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from otog_registry.workers.importer import COLUMNS, model_input
from otog_registry.workers.plain_rows import PlainRowCheck, WorkerRow
from otog_registry.workers.schemas import WorkerCreate
from pydantic import ValidationError

from tests.registry.conftest import KO_TAN, YAN_SUE, make_national_id, wrong_check_digit

PLACES = {YAN_SUE, KO_TAN}
TODAY = date.today()


def _padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    space = st.sampled_from(["", " ", "\t", "\u00a0", "\u3000", "\x1c", "\n"])
    return st.tuples(space, values, space).map("".join)


national_ids = st.one_of(
    st.builds(make_national_id),
    st.builds(lambda: wrong_check_digit(make_national_id())),
    st.builds(lambda: "-".join([make_national_id()[:1], make_national_id()[1:]])),
    st.builds(lambda: make_national_id().translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))),
    st.text(alphabet="0123456789 -x", max_size=16),
)
names = st.one_of(
    st.sampled_from(["สมศรี", "ใจดี", "Somsri", "O'Brien", "ณ อยุธยา", "a" * 200, "a" * 201]),
    st.text(max_size=12),
)
dates = st.one_of(
    st.dates(min_value=date(1850, 1, 1), max_value=TODAY + timedelta(days=3)).map(date.isoformat),
    st.sampled_from(
        [
            "1899-12-31",
            "1900-01-01",
            TODAY.isoformat(),
            (TODAY + timedelta(days=1)).isoformat(),
            "2024-02-30",
            "1980-1-01",
            "19800101",
            "1980-01-01T00:00",
            "１９８０-01-01",
        ]
    ),
    st.text(alphabet="0123456789-", min_size=10, max_size=10),
)
subdistricts = st.sampled_from([YAN_SUE, KO_TAN, "999999", "15011", "1501140", "๑๕๐๑๑๔"])
phones = st.one_of(
    st.sampled_from(["081-234-5678", "+66812345678", "02 123 4567", "12345", "081–234–5678"]),
    st.text(alphabet="+0123456789 -", max_size=28),
)
enums = st.sampled_from(
    ["none", "section_40", "unknown", "public_task", "consent", "contract", "Section_40", "x"]
)
consents = st.sampled_from(["2025-01-15T09:30:00+07:00", "2025-01-15 09:30", "yesterday"])


def _cell(
    plain: st.SearchStrategy[str | None], odd: st.SearchStrategy[str]
) -> st.SearchStrategy[str | None]:
    # Mostly plain, so that many rows differ from a plain row in one cell only:
    # the rows a too-generous quick check would wrongly accept.
    odd_cell = st.one_of(odd, _padded(odd), st.none())
    return st.sampled_from([True, True, True, True, True, False]).flatmap(
        lambda is_plain: plain if is_plain else odd_cell
    )


def _maybe(values: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(st.none(), values)


plain_names = st.sampled_from(["สมศรี", "ใจดี", "Somsri", "O'Brien", "ณ อยุธยา", "a" * 200])
plain_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY).map(date.isoformat)
rows = st.fixed_dictionaries(
    {
        "national_id": _cell(st.builds(make_national_id), national_ids),
        "first_name_th": _cell(plain_names, names),
        "last_name_th": _cell(plain_names, names),
        "birth_date": _cell(plain_dates, dates),
        "subdistrict_code": _cell(st.sampled_from(sorted(PLACES)), subdistricts),
        "first_name_en": _cell(_maybe(plain_names), names),
        "last_name_en": _cell(_maybe(plain_names), names),
        "phone": _cell(_maybe(st.sampled_from(["081-234-5678", "+66812345678"])), phones),
        "social_security": _cell(_maybe(st.sampled_from(["none", "section_40"])), enums),
        "pdpa_basis": _cell(_maybe(st.sampled_from(["contract", "public_task"])), enums),
        "consent_given_at": _cell(st.none(), consents),
    }
)


def as_cells(row: dict[str, str | None]) -> list[str | None]:
    # As the importer hands them over: a blank cell is an empty one.
    return [row[c] if row[c] is not None and row[c].strip() else None for c in COLUMNS]  # type: ignore[union-attr]


PLAIN_ROW: dict[str, str | None] = {
    "national_id": "1101700203450",
    "first_name_th": "สมศรี",
    "last_name_th": "ใจดี",
    "birth_date": "1985-04-12",
    "subdistrict_code": YAN_SUE,
    "first_name_en": None,
    "last_name_en": None,
    "phone": None,
    "social_security": None,
    "pdpa_basis": None,
    "consent_given_at": None,
}


@settings(max_examples=3_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
@example(PLAIN_ROW)
# Python reads these as dates too (basic and week forms); the contract does not.
@example(PLAIN_ROW | {"birth_date": "19850412"})
@example(PLAIN_ROW | {"birth_date": "1985-W15-5"})
def test_a_plain_yes_is_the_models_yes_with_the_same_values(row: dict[str, str | None]) -> None:
    header = list(COLUMNS)
    cells = as_cells(row)
    quick = PlainRowCheck(header, PLACES).check(cells)
    if quick is None:
        return  # the model decides; nothing to compare
    try:
        model = WorkerCreate.model_validate(model_input(header, cells))
    except ValidationError as exc:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"accepted quickly, refused by the model: {exc}") from exc
    assert quick == WorkerRow.from_model(model)


def test_an_ordinary_export_takes_the_quick_path() -> None:
    header = [
        "national_id",
        "first_name_th",
        "last_name_th",
        "birth_date",
        "subdistrict_code",
        "first_name_en",
        "phone",
        "social_security",
    ]
    check = PlainRowCheck(header, PLACES)
    nid = make_national_id()
    plain = [nid, "สมศรี", "ใจดี", "1985-04-12", YAN_SUE, None, "081-234-5678", "section_40"]
    assert check.check(plain) == WorkerRow(
        nid,
        "สมศรี",
        "ใจดี",
        None,
        None,
        date(1985, 4, 12),
        YAN_SUE,
        "081-234-5678",
        "section_40",
        "public_task",
    )
    # Anything out of the ordinary, valid or not, is left to the model.
    for i, odd in enumerate([f" {nid}", " สมศรี", "ใจดี ", "1985-4-12", "999999"]):
        assert check.check([*plain[:i], odd, *plain[i + 1 :]]) is None
