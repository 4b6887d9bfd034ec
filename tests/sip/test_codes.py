"""Tests for the response code catalogue, checked row by row against the reference table."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sipfault.sip.codes import (
    CATALOGUE,
    NOT_SIP,
    CodeInfo,
    HeaderRequirement,
    ResponseClass,
    effective_code,
    is_valid_status,
    lookup,
    reason_phrase,
    recommended_headers,
    required_headers,
    response_class,
)

# --- the reference table -------------------------------------------------------------------

_REFERENCE_CANDIDATES = (
    os.environ.get("SIPFAULT_RESPONSE_CODES_MD", ""),
    str(Path(__file__).resolve().parents[2] / "docs" / "reference" / "response-codes.md"),
    "/work/shared/reference/response-codes.md",
)

_ROW = re.compile(r"^\|\s*(\d{3})\s*\|(.*)\|\s*$")


def _reference_path() -> Path | None:
    for candidate in _REFERENCE_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _table_rows() -> dict[int, list[str]]:
    """Rows of the reference table: code -> [reason, defined in, MUST, SHOULD/notes]."""
    path = _reference_path()
    if path is None:
        pytest.skip("reference table response-codes.md not found")
    rows: dict[int, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line.strip())
        if match:
            cells = [cell.strip() for cell in match.group(2).split("|")]
            assert len(cells) == 4, f"unexpected table row: {line!r}"
            rows[int(match.group(1))] = cells
    assert rows, f"no table rows found in {path}"
    return rows


def _mentions(text: str, header: str) -> bool:
    """Whether ``header`` appears as a whole header name (so Accept does not match Accept-*)."""
    return re.search(rf"(?<![\w-]){re.escape(header)}(?![\w-])", text) is not None


def _must_cell(rows: dict[int, list[str]], code: int) -> str:
    """The MUST cell of a row, following "as 180" to the row it points at."""
    cell = rows[code][2]
    pointer = re.fullmatch(r"as (\d{3})", cell)
    return rows[int(pointer.group(1))][2] if pointer else cell


def _must_headers_cell(rows: dict[int, list[str]], code: int) -> str:
    """The MUST cell without its asides: "Unsupported (tags from Require)" needs no Require."""
    cell = _must_cell(rows, code)
    if cell.startswith("(") and cell.endswith(")"):
        return cell
    return re.sub(r"\([^)]*\)", "", cell)


def _notes_cell(rows: dict[int, list[str]], code: int) -> str:
    cell = rows[code][2]
    pointer = re.fullmatch(r"as (\d{3})", cell)
    notes = rows[code][3]
    return notes + " " + rows[int(pointer.group(1))][3] if pointer else notes


# Header names that, when the table's MUST cell names them, the catalogue must list in `must`.
_TABLE_HEADERS = (
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Allow",
    "Allow-Events",
    "AlertMsg-Error",
    "Contact",
    "Expires",
    "Geolocation-Error",
    "Min-Expires",
    "Min-SE",
    "Proxy-Authenticate",
    "Record-Route",
    "Recv-Info",
    "Require",
    "Retry-After",
    "Security-Server",
    "Timestamp",
    "Unsupported",
    "WWW-Authenticate",
)


def test_catalogue_has_exactly_the_table_codes() -> None:
    rows = _table_rows()
    assert sorted(CATALOGUE) == sorted(rows)


def test_every_reason_phrase_matches_the_table() -> None:
    rows = _table_rows()
    mismatches = {
        code: (CATALOGUE[code].reason, cells[0])
        for code, cells in rows.items()
        if code in CATALOGUE and CATALOGUE[code].reason != cells[0]
    }
    assert mismatches == {}


def test_rows_marked_with_a_question_mark_are_uncertain() -> None:
    rows = _table_rows()
    marked = {code for code, cells in rows.items() if "(?)" in " ".join(cells)}
    assert {code for code, info in CATALOGUE.items() if info.uncertain} == marked


def test_every_header_the_table_requires_is_in_must() -> None:
    rows = _table_rows()
    missing = {
        (code, header)
        for code in rows
        for header in _TABLE_HEADERS
        if _mentions(_must_headers_cell(rows, code), header)
        and header not in {req.header for req in CATALOGUE[code].must}
    }
    assert missing == set()


def test_catalogue_headers_all_come_from_the_table() -> None:
    rows = _table_rows()
    invented = {
        (code, req.header, kind)
        for code, info in CATALOGUE.items()
        for kind, requirements in (("must", info.must), ("should", info.should))
        for req in requirements
        if not _mentions(_must_cell(rows, code) + " " + _notes_cell(rows, code), req.header)
    }
    assert invented == set()


# --- the MUST and SHOULD fields of sample rows ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "method", "expected"),
    [
        (401, "REGISTER", ("WWW-Authenticate",)),
        (407, "INVITE", ("Proxy-Authenticate",)),
        (405, "PUBLISH", ("Allow",)),
        (415, "MESSAGE", ("Accept",)),
        (420, "INVITE", ("Unsupported",)),
        (421, "INVITE", ("Require",)),
        (422, "INVITE", ("Min-SE",)),
        (423, "REGISTER", ("Min-Expires",)),
        (424, "INVITE", ("Geolocation-Error",)),
        (425, "MESSAGE", ("AlertMsg-Error",)),
        (469, "INFO", ("Recv-Info",)),
        (489, "SUBSCRIBE", ("Allow-Events",)),
        (494, "REGISTER", ("Security-Server", "Require")),
        (300, "INVITE", ("Contact",)),
        (301, "INVITE", ("Contact",)),
        (302, "INVITE", ("Contact",)),
        (305, "INVITE", ("Contact",)),
        (180, "INVITE", ("Contact",)),
        (183, "INVITE", ("Contact",)),
        (200, "INVITE", ("Contact",)),
        (200, "SUBSCRIBE", ("Expires",)),
        (202, "SUBSCRIBE", ("Expires",)),
        (204, "SUBSCRIBE", ("Expires",)),
        (200, "BYE", ()),
        (200, "OPTIONS", ()),
        (486, "INVITE", ()),
        (380, "INVITE", ()),
    ],
)
def test_required_headers(code: int, method: str, expected: tuple[str, ...]) -> None:
    assert required_headers(code, method) == expected


def test_method_bound_requirements_skip_other_methods() -> None:
    assert required_headers(180, "OPTIONS") == ()
    assert required_headers(202, "REFER") == ()
    assert required_headers(200, "NOTIFY") == ()


def test_method_names_are_case_sensitive() -> None:
    # RFC 3261 §7.1: "invite" is a different (unknown) method from INVITE.
    assert required_headers(200, "invite") == ()


def test_conditional_requirements_only_on_request() -> None:
    assert required_headers(180, "INVITE", include_conditional=True) == (
        "Contact",
        "Record-Route",
        "Require",
        "RSeq",
    )
    assert required_headers(100, "INVITE") == ()
    assert required_headers(100, "INVITE", include_conditional=True) == ("Timestamp",)
    assert required_headers(200, "REGISTER") == ()
    assert required_headers(200, "REGISTER", include_conditional=True) == ("Contact",)
    assert required_headers(500, "INVITE") == ()
    assert required_headers(500, "INVITE", include_conditional=True) == ("Retry-After",)
    assert required_headers(500, "BYE", include_conditional=True) == ()
    assert required_headers(415, "INVITE", include_conditional=True) == (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
    )


def test_conditional_requirements_say_when() -> None:
    retry = next(req for req in CATALOGUE[500].must if req.header == "Retry-After")
    assert retry.conditional
    assert "re-INVITE" in retry.when
    assert retry.methods == frozenset({"INVITE"})
    contact = next(req for req in CATALOGUE[200].must if req.methods == frozenset({"INVITE"}))
    assert contact.header == "Contact"
    assert not contact.conditional


@pytest.mark.parametrize(
    ("code", "method", "expected"),
    [
        (200, "OPTIONS", ("Allow", "Accept", "Supported")),
        (200, "INVITE", ("Allow", "Supported")),
        (200, "REGISTER", ("Date",)),
        (480, "INVITE", ("Retry-After",)),
        (486, "INVITE", ("Retry-After",)),
        (488, "INVITE", ("Warning",)),
        (606, "INVITE", ("Warning",)),
        (608, "INVITE", ("Call-Info",)),
        (470, "INVITE", ("Permission-Missing",)),
        (417, "INVITE", ("Accept-Resource-Priority",)),
        (485, "INVITE", ("Contact",)),
        (199, "INVITE", ("Reason",)),
        (404, "INVITE", ()),
    ],
)
def test_recommended_headers(code: int, method: str, expected: tuple[str, ...]) -> None:
    assert recommended_headers(code, method) == expected


def test_optional_fields_are_marked_may() -> None:
    for code, header in ((606, "Warning"), (485, "Contact"), (199, "Reason")):
        (req,) = (r for r in CATALOGUE[code].should if r.header == header)
        assert req.note.startswith("MAY"), (code, header)


def test_unknown_in_range_codes_require_nothing() -> None:
    assert required_headers(499, "INVITE") == ()
    assert recommended_headers(299, "INVITE") == ()


@pytest.mark.parametrize("fn", [required_headers, recommended_headers])
@pytest.mark.parametrize("code", [0, 99, 700, 701, -200])
def test_header_lookups_reject_out_of_range_codes(fn: object, code: int) -> None:
    assert callable(fn)
    with pytest.raises(ValueError, match=r"100\.\.699"):
        fn(code, "INVITE")


# --- flags: class, To tag, dialogs, Retry-After, deprecation -------------------------------


def test_response_class_follows_first_digit() -> None:
    for code, info in CATALOGUE.items():
        assert info.code == code
        assert info.response_class == ResponseClass(code // 100)
        assert response_class(code) is info.response_class
    assert response_class(183) is ResponseClass.PROVISIONAL
    assert response_class(699) is ResponseClass.GLOBAL_FAILURE
    with pytest.raises(ValueError):
        response_class(700)


def test_every_response_but_100_needs_a_to_tag() -> None:
    assert not CATALOGUE[100].needs_to_tag
    assert all(info.needs_to_tag for code, info in CATALOGUE.items() if code != 100)


def test_dialog_creating_codes() -> None:
    creating = {code for code, info in CATALOGUE.items() if info.dialog_creating_for_invite}
    assert creating == {180, 181, 182, 183, 200, 202, 204}


def test_retry_after_allowed_exactly_where_rfc_3261_says() -> None:
    allowed = {code for code, info in CATALOGUE.items() if info.retry_after}
    assert allowed == {404, 413, 480, 486, 500, 503, 600, 603}


def test_deprecated_codes() -> None:
    deprecated = {code for code, info in CATALOGUE.items() if info.deprecated}
    assert deprecated == {202, 409, 411}


def test_defined_in_names_a_source() -> None:
    for info in CATALOGUE.values():
        assert info.defined_in.startswith("RFC "), info


def test_lookup() -> None:
    info = lookup(486)
    assert isinstance(info, CodeInfo)
    assert info.reason == "Busy Here"
    assert info.defined_in == "RFC 3261 §21.4.24"
    session_timer = lookup(422)
    assert session_timer is not None
    assert session_timer.defined_in == "RFC 4028 §6"
    assert lookup(499) is None
    assert lookup(701) is None


def test_catalogue_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOGUE[999] = CATALOGUE[200]  # type: ignore[index]
    with pytest.raises(AttributeError):
        CATALOGUE[200].reason = "Fine"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        HeaderRequirement("Allow").header = "Deny"  # type: ignore[misc]


# --- reason phrases and effective codes ----------------------------------------------------


@pytest.mark.parametrize(
    ("code", "phrase"),
    [
        (100, "Trying"),
        (183, "Session Progress"),
        (481, "Call/Transaction Does Not Exist"),
        (608, "Rejected"),
        (409, "Conflict"),
        (150, "Provisional"),
        (299, "Success"),
        (303, "Redirection"),
        (499, "Client Error"),
        (599, "Server Error"),
        (699, "Global Failure"),
    ],
)
def test_reason_phrase(code: int, phrase: str) -> None:
    assert reason_phrase(code) == phrase


@pytest.mark.parametrize("code", [0, 99, 700, 701, 1000, -1])
def test_reason_phrase_rejects_out_of_range_codes(code: int) -> None:
    with pytest.raises(ValueError, match="not a SIP status code"):
        reason_phrase(code)


@pytest.mark.parametrize(
    ("code", "effective"),
    [
        (486, 486),
        (183, 183),
        (100, 100),
        (199, 199),
        (202, 202),
        (101, 183),
        (150, 183),
        (299, 200),
        (303, 300),
        (499, 400),
        (409, 400),
        (411, 400),
        (599, 500),
        (699, 600),
    ],
)
def test_effective_code(code: int, effective: int) -> None:
    assert effective_code(code) == effective


def test_effective_code_is_always_catalogued() -> None:
    for code in range(100, 700):
        assert effective_code(code) in CATALOGUE


def test_effective_code_rejects_out_of_range_codes() -> None:
    with pytest.raises(ValueError):
        effective_code(701)


def test_is_valid_status() -> None:
    assert is_valid_status(100)
    assert is_valid_status(699)
    assert not is_valid_status(99)
    assert not is_valid_status(700)


# --- numbers that are not SIP --------------------------------------------------------------


def test_not_sip_explains_vendor_numbers() -> None:
    assert set(NOT_SIP) == {303, 304, 701}
    assert "Party Hangs Up" in NOT_SIP[701]
    assert "305" in NOT_SIP[303]
    assert "380" in NOT_SIP[304]
    assert not is_valid_status(701)
    assert all(code not in CATALOGUE for code in NOT_SIP)
