"""Hostile and broken input (issue 14): a broken file or manifest is that form's or that export's
problem only, nothing outside the landing zone is opened, export and site folder names are checked,
a header-only form is reported and unexpected columns are one finding per file (site-export.md,
Bad input)."""

import hashlib
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from assets.ingest.assets import findings_from_ingest
from assets.ingest.batch import ingest_batch, write_landing_problems
from assets.ingest.discovery import (
    LANDING,
    discover_exports,
    inventory_frame,
    landing_problems,
    list_sites,
    verify_export,
)
from assets.ingest.reading import csv_fault, read_form
from assets.ingest.site_ingest import ingest_source, ingest_sources
from assets.ingest.store import read_qa_table
from tests.assets.ingest.test_ingest import NEW, OLD, vs_row
from tests.exports import csv_bytes, form_header, write_export

VS_HEADER = ",".join(form_header("VS")).encode()
GOOD_ROW = b"LDIL2SLE,101,101-0001,VS1,SCREENING,07-MAR-2026,WEIGHT,70.0,kg"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def write_raw_export(landing: Path, site: str, export_id: str, files: dict[str, bytes], manifest=None):
    """An export of exactly ``files`` with a manifest of their true SHA-256 and the given (or the
    physical line) row counts; ``manifest`` patches the manifest's ``files`` afterwards."""
    folder = landing / "sites" / site / export_id
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        entries[name] = {"sha256": hashlib.sha256(data).hexdigest(), "rows": max(data.count(b"\n") - 1, 0)}
    entries.update(manifest or {})
    doc = {"study": "LDIL2SLE", "site": site, "export_id": export_id, "files": entries}
    (folder / "MANIFEST.json").write_text(json.dumps(doc))
    return folder


# --- item 1: a malformed row rejects that form of that export, nothing else --------------------

MALFORMED = [
    pytest.param(GOOD_ROW + b",EXTRA\n", 3, "row has 10 fields, the header has 9", id="extra-field"),
    pytest.param(b"LDIL2SLE,101\n", 3, "row has 2 fields, the header has 9", id="missing-fields"),
    pytest.param(GOOD_ROW.replace(b"70.0", b'"70.0') + b"\n", 3, "unbalanced", id="unbalanced-quote"),
    pytest.param(b'LDIL2SLE,101,"101-0002', 3, "unterminated", id="unterminated-quote-at-end"),
    pytest.param(GOOD_ROW.replace(b"70.0", b"70\r.0") + b"\n", 3, "fields", id="bare-cr-unquoted"),
]


@pytest.mark.parametrize("bad_row, line, reason", MALFORMED)
def test_malformed_row_rejects_that_form_only_with_line_and_reason(tmp_path, bad_row, line, reason):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    data = VS_HEADER + b"\n" + GOOD_ROW.replace(b"VS1", b"VS2") + b"\n" + bad_row
    write_export(tmp_path, "101", NEW, {"LB": []})
    # The new export's VS.csv is the broken file; its manifest lists its true checksum.
    write_raw_export(tmp_path, "101", NEW, {"VS.csv": data, **_files_of(tmp_path / "sites/101" / NEW)})
    checks = discover_exports(tmp_path)  # before: raised from the row count (ArrowInvalid, csv.Error)
    assert all(c.complete for c in checks)
    result = ingest_source("101", checks, tmp_path)
    rej = result.rejections.set_index("FORM").loc["VS"]
    assert (rej.SRC_EXPORT, rej.SRC_FILE, rej.SRC_LINE, rej.FALLBACK_EXPORT) == (
        NEW,
        f"sites/101/{NEW}/VS.csv",
        line,
        OLD,
    )
    assert reason in rej.REASON
    assert result.forms["VS"]["SRC_EXPORT"].unique().tolist() == [OLD]  # earlier data in force
    assert result.accounting.set_index("FORM").loc["LB", "SRC_EXPORT"] == NEW  # other forms go on
    assert result.accounting["BALANCED"].all() and len(result.accounting) == 13


def _files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name not in ("MANIFEST.json", "VS.csv")}


@pytest.mark.parametrize(
    "data, n_columns, expected",
    [
        (b"A,B\n1,2\n3,4\n", 2, (None, "")),
        (b"A,B\n1,2\n3,4,5\n", 2, (3, "row has 3 fields, the header has 2")),
        (b'A,B\n"x\ny",2\n3\n', 2, (4, "row has 1 fields, the header has 2")),  # LF inside quotes
        (b'\xef\xbb\xbfA,B\r\n1,2\r\n"3,4\r\n', 2, (3, "unexpected end of data")),
    ],
)
def test_csv_fault_names_the_line_the_bad_record_starts_on(data, n_columns, expected):
    line, reason = csv_fault(data, n_columns)
    assert line == expected[0] and expected[1] in reason


def test_unreadable_file_of_any_kind_is_a_rejection_not_an_exception(tmp_path, monkeypatch):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})

    def broken(*_args, **_kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr("assets.ingest.site_ingest.read_form", broken)
    result = ingest_source("101", discover_exports(tmp_path), tmp_path)
    assert len(result.rejections) == 13
    assert result.rejections["REASON"].str.contains("RuntimeError: unforeseen").all()


@pytest.mark.parametrize(
    "entry, reason",
    [
        ({"sha256": "0" * 64, "rows": "abc"}, "row count 'abc' is not a non-negative integer"),
        ({"sha256": "0" * 64, "rows": 1.5}, "row count 1.5"),
        ({"sha256": "0" * 64, "rows": True}, "row count True"),
        ({"sha256": "0" * 64, "rows": -1}, "row count -1"),
        ({"sha256": 7, "rows": 1}, "sha256 is not text"),
        ("VS.csv", "entry is not an object"),
        ([1, 2], "entry is not an object"),
        (None, "entry is not an object"),
    ],
)
def test_malformed_manifest_entry_makes_the_export_incomplete(tmp_path, entry, reason):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    folder = write_export(tmp_path, "101", NEW, {"VS": [vs_row("VS1"), vs_row("VS2")]})
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"]["VS.csv"] = entry
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    check = verify_export(folder, "101")  # before: ValueError / AttributeError
    assert not check.complete and reason in check.reason
    assert ingest_source("101", discover_exports(tmp_path), tmp_path).export_id == OLD


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_manifest_with_a_non_json_number_is_incomplete(tmp_path, constant):
    folder = write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    text = (folder / "MANIFEST.json").read_text()
    count = json.loads(text)["files"]["VS.csv"]["rows"]
    (folder / "MANIFEST.json").write_text(text.replace(f'"rows": {count}', f'"rows": {constant}', 1))
    check = verify_export(folder, "101")  # before: OverflowError / ValueError escaped
    assert not check.complete and "is not a JSON number" in check.reason


def test_one_broken_site_never_stops_the_batch_and_is_reported(tmp_path, monkeypatch):
    import assets.ingest.site_ingest as site_ingest

    write_export(tmp_path / "landing", "101", OLD, {"VS": [vs_row("VS1")]})
    write_export(tmp_path / "landing", "102", OLD, {"VS": [vs_row("VS1", SUBJID="102-0001")]})
    real = site_ingest.validate_form

    def fails_for_102(tables, form):
        if any("102" in t["SRC_SOURCE"].to_pylist() for t in tables):
            raise RuntimeError("bug met by site 102")
        return real(tables, form)

    monkeypatch.setattr(site_ingest, "validate_form", fails_for_102)
    ingest_dir = tmp_path / "wh" / "ingest"
    counts = ingest_batch(["101", "102"], tmp_path / "landing", ingest_dir)  # before: raised
    assert {c["source"]: c["rows_read"] for c in counts} == {"101": 1, "102": 0}
    assert (ingest_dir / "forms" / "VS" / "101.parquet").exists()
    assert not (ingest_dir / "forms" / "VS" / "102.parquet").exists()
    rej = read_qa_table(ingest_dir, "rejections")
    assert rej["SOURCE"].tolist() == ["102"] and "bug met by site 102" in rej["REASON"].iloc[0]


# --- item 2: only regular files directly inside the export folder are opened -----------------


class OpenAudit:
    """Every open (builtin and ``os.open``) and folder listing of the test, by path and flags."""

    def __init__(self):
        self.opens: list[tuple[str, int]] = []
        self.listings: list[str] = []
        self.active = False  # only inside ``with audit:`` (the test's own set-up writes files)

    def __enter__(self):
        self.active = True
        return self

    def __exit__(self, *_exc):
        self.active = False

    def __call__(self, event, args):
        if not self.active:
            return
        if event == "open" and isinstance(args[0], str | bytes | os.PathLike):
            self.opens.append((os.fsdecode(args[0]), args[2] if isinstance(args[2], int) else 0))
        elif event in ("os.listdir", "os.scandir") and args and args[0] is not None:
            self.listings.append(os.fsdecode(args[0]))


@pytest.fixture
def audit():
    hook = OpenAudit()
    sys.addaudithook(hook)  # audit hooks cannot be removed: active only inside ``with hook:``
    return hook


def _outside_opened(audit: OpenAudit, outside: Path) -> list[str]:
    """Opens that reached a file under ``outside``: by its own path, or through a link followed
    (a link opened with O_NOFOLLOW is refused by the kernel, so it never reaches its target)."""
    outside = outside.resolve()
    reached = []
    for path, flags in audit.opens:
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(outside):
            continue
        if Path(path).is_symlink() and flags & os.O_NOFOLLOW:
            continue
        reached.append(path)
    return reached


def _restricted(tmp_path: Path) -> tuple[Path, bytes]:
    restricted = tmp_path / "restricted"
    restricted.mkdir()
    data = b"RANDNO,ARMCD\nR001,IL2H\n"
    (restricted / "RANDLIST.csv").write_bytes(data)
    return restricted, data


def test_symlinked_form_pointing_at_the_restricted_list_is_never_opened(tmp_path, audit):
    restricted, secret = _restricted(tmp_path)
    landing = tmp_path / "landing"
    write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    folder = write_export(landing, "101", NEW, {"VS": [vs_row("VS1")]})
    (folder / "FACS.csv").unlink()
    (folder / "FACS.csv").symlink_to(restricted / "RANDLIST.csv")
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"]["FACS.csv"] = {"sha256": hashlib.sha256(secret).hexdigest(), "rows": 1}
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))

    with audit:
        checks = discover_exports(landing)
        result = ingest_sources(["101"], checks, landing)["101"]

    new = [c for c in checks if c.export_id == NEW][0]
    assert not new.complete and new.reason == "FACS.csv: is a symbolic link, not followed"
    assert result.export_id == OLD
    assert _outside_opened(audit, restricted) == []  # before: the link was read and hashed
    assert not [p for p in audit.listings if Path(p).resolve().is_relative_to(restricted.resolve())]


@pytest.mark.parametrize("name", ["../../../../restricted/RANDLIST.csv", "ABSOLUTE", "sub/FACS.csv", ".."])
def test_manifest_entry_that_names_a_path_makes_the_export_incomplete(tmp_path, audit, name):
    restricted, secret = _restricted(tmp_path)
    landing = tmp_path / "landing"
    folder = write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    (folder / "sub").mkdir()
    (folder / "sub" / "FACS.csv").write_bytes(secret)
    name = str(restricted / "RANDLIST.csv") if name == "ABSOLUTE" else name
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(secret).hexdigest(), "rows": 1}
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))

    with audit:
        check = verify_export(folder, "101")

    assert not check.complete
    assert check.reason == f"manifest entry {name!r} is not a plain file name inside the export folder"
    assert _outside_opened(audit, restricted) == []
    assert not [p for p, _ in audit.opens if Path(p).parent.name == "sub"]


def test_symlinked_export_folder_is_reported_and_never_followed(tmp_path, audit):
    landing = tmp_path / "landing"
    write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    elsewhere = write_export(tmp_path / "elsewhere", "101", NEW, {"VS": [vs_row("VS1"), vs_row("VS2")]})
    (landing / "sites" / "101" / NEW).symlink_to(elsewhere, target_is_directory=True)

    with audit:
        checks = discover_exports(landing)
        result = ingest_source("101", checks, landing)

    new = [c for c in checks if c.export_id == NEW][0]
    assert (new.complete, new.reason) == (False, "export folder is a symbolic link, not followed")
    assert result.export_id == OLD  # before: NEW was in force
    assert _outside_opened(audit, tmp_path / "elsewhere") == []
    inv = inventory_frame(checks).set_index("EXPORT_ID")
    assert not bool(inv.loc[NEW, "IN_FORCE"]) and bool(inv.loc[OLD, "IN_FORCE"])


def test_symlinked_site_folder_is_no_site_and_is_reported(tmp_path, audit):
    landing = tmp_path / "landing"
    write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    write_export(tmp_path / "elsewhere", "105", OLD, {"VS": [vs_row("VS1", SUBJID="105-0001")]})
    (landing / "sites" / "105").symlink_to(tmp_path / "elsewhere" / "sites" / "105")

    with audit:
        sites = list_sites(landing)
        checks = discover_exports(landing)
        problems = landing_problems(landing)
    assert sites == ["101"]  # before: ["101", "105"]
    assert {c.source for c in checks} == {"101"}
    assert [(p.source, p.export_id, p.reason) for p in problems] == [
        (LANDING, "sites/105", "site folder '105' is a symbolic link, not followed: not ingested")
    ]
    assert _outside_opened(audit, tmp_path / "elsewhere") == []


# --- item 3: export and site folder names ----------------------------------------------------


@pytest.mark.parametrize(
    "export_id, reason",
    [
        ("20261399T999999Z", "folder name '20261399T999999Z' is not a real UTC time"),
        ("20260230T020000Z", "folder name '20260230T020000Z' is not a real UTC time"),
        ("20991231T000000Z", "export id 20991231T000000Z is later than the run (20260601T000000Z)"),
        ("20260601T000001Z", "export id 20260601T000001Z is later than the run (20260601T000000Z)"),
    ],
)
def test_export_id_not_a_real_time_or_after_the_run_is_never_in_force(tmp_path, export_id, reason):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1")]})
    write_export(tmp_path, "101", export_id, {"VS": [vs_row("VS1"), vs_row("VS2")]})

    checks = discover_exports(tmp_path, now=NOW)

    bad = [c for c in checks if c.export_id == export_id][0]
    assert not bad.complete and reason in bad.reason
    inv = inventory_frame(checks).set_index("EXPORT_ID")
    assert bool(inv.loc[OLD, "IN_FORCE"]) and not bool(inv.loc[export_id, "IN_FORCE"])
    assert inv.loc[export_id, "REASON"] == bad.reason
    assert ingest_source("101", checks, tmp_path).forms["VS"]["SRC_EXPORT"].unique().tolist() == [OLD]


def test_export_of_the_run_time_itself_is_in_force(tmp_path):
    write_export(tmp_path, "101", "20260601T000000Z", {"VS": [vs_row("VS1")]})
    assert [c.complete for c in discover_exports(tmp_path, now=NOW)] == [True]


def test_site_folder_not_three_digits_is_reported_with_its_name(tmp_path):
    landing = tmp_path / "landing"
    write_export(landing, "101", OLD, {"VS": [vs_row("VS1")]})
    for name in ("1O4", "0104", "104 "):
        write_export(landing, name, OLD, {"VS": [vs_row("VS1", SUBJID="104-0001")]})
    (landing / "sites" / "NOTES.txt").write_text("not a folder")

    assert list_sites(landing) == ["101"]
    reasons = {p.export_id: p.reason for p in landing_problems(landing)}
    assert reasons == {
        "sites/0104": "site folder name '0104' is not three digits: not ingested",
        "sites/104 ": "site folder name '104 ' is not three digits: not ingested",
        "sites/1O4": "site folder name '1O4' is not three digits: not ingested",
        "sites/NOTES.txt": "'NOTES.txt' in sites/ is not a folder: not ingested",
    }
    ingest_dir = tmp_path / "wh" / "ingest"
    assert write_landing_problems(landing, ingest_dir) == 4
    inv = read_qa_table(ingest_dir, "inventory")
    assert set(inv["SOURCE"]) == {LANDING} and not inv["COMPLETE"].any() and not inv["IN_FORCE"].any()
    findings = findings_from_ingest(pd.DataFrame(), pd.DataFrame(), inv, pd.DataFrame())
    assert sorted(findings["SRC_EXPORT"]) == sorted(reasons)
    assert set(findings["KIND"]) == {"EXPORT_INCOMPLETE"}
    # Nothing to report: the file goes away.
    for name in ("1O4", "0104", "104 "):
        for p in sorted((landing / "sites" / name).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
        (landing / "sites" / name).rmdir()
    (landing / "sites" / "NOTES.txt").unlink()
    assert write_landing_problems(landing, ingest_dir) == 0
    assert read_qa_table(ingest_dir, "inventory").empty


# --- item 11 (part): header-only forms, unexpected columns -------------------------------------


def test_header_only_form_is_kept_and_reported_when_the_previous_export_had_rows(tmp_path):
    write_export(tmp_path, "101", OLD, {"VS": [vs_row("VS1"), vs_row("VS2")]})
    write_export(tmp_path, "101", NEW, {"VS": []})
    result = ingest_source("101", discover_exports(tmp_path), tmp_path)
    assert result.forms["VS"].empty  # kept: the site may have deleted the rows
    assert result.accounting.set_index("FORM").loc["VS", "SRC_EXPORT"] == NEW
    emptied = result.emptied.to_dict("records")
    assert emptied == [
        {
            "SOURCE": "101",
            "FORM": "VS",
            "SRC_EXPORT": NEW,
            "SRC_FILE": f"sites/101/{NEW}/VS.csv",
            "PREVIOUS_EXPORT": OLD,
            "PREVIOUS_ROWS": 2,
        }
    ]
    empty = result.quarantine.iloc[:0]
    findings = findings_from_ingest(empty, result.rejections, empty, result.unexpected, result.emptied)
    f = findings.iloc[0]
    assert (len(findings), f.KIND, f.SEVERITY, f.FORM, f.SRC_EXPORT, f.SRC_LINE) == (
        1,
        "FORM_EMPTIED",
        "WARNING",
        "VS",
        NEW,
        1,
    )
    assert f"previous complete export {OLD} had 2 rows" in f.MESSAGE


def test_header_only_form_is_not_reported_when_it_had_no_rows_before(tmp_path):
    write_export(tmp_path, "101", OLD, {"VS": []})
    write_export(tmp_path, "101", NEW, {"VS": []})
    assert ingest_source("101", discover_exports(tmp_path), tmp_path).emptied.empty


def test_many_unexpected_columns_are_one_finding_per_file(tmp_path):
    extra = [f"X{i:05d}" for i in range(2000)]
    cols = form_header("VS") + extra
    row = vs_row("VS1", STUDYID="LDIL2SLE", SITEID="101", X00001="v")
    write_export(tmp_path, "101", OLD, {}, raw_files={"VS.csv": csv_bytes([row], cols)})
    result = ingest_source("101", discover_exports(tmp_path), tmp_path)
    assert len(result.unexpected) == 2000  # the QA table keeps every column
    empty = result.quarantine.iloc[:0]
    findings = findings_from_ingest(empty, result.rejections, empty, result.unexpected)
    assert len(findings) == 1  # before: 2000
    f = findings.iloc[0]
    assert (f.KIND, f.FORM, f.SRC_FILE) == ("UNEXPECTED_COLUMN", "VS", f"sites/101/{OLD}/VS.csv")
    assert f.MESSAGE.startswith("2000 unexpected column(s) carried to QA, not used: X00000 (0 values), ")
    assert "X00001 (1 values)" in f.MESSAGE and f.MESSAGE.endswith(" and 1980 more")
    assert read_form(tmp_path / "sites/101" / OLD / "VS.csv", "VS", OLD).unexpected_columns == extra


def test_one_unexpected_column_keeps_its_column_in_the_finding(tmp_path):
    cols = form_header("VS") + ["COMMENT"]
    raw = csv_bytes([vs_row("VS1", STUDYID="LDIL2SLE", SITEID="101", COMMENT="x")], cols)
    write_export(tmp_path, "101", OLD, {}, raw_files={"VS.csv": raw})
    result = ingest_source("101", discover_exports(tmp_path), tmp_path)
    empty = result.quarantine.iloc[:0]
    f = findings_from_ingest(empty, result.rejections, empty, result.unexpected).iloc[0]
    assert (f.COLUMN, f.MESSAGE) == (
        "COMMENT",
        "1 unexpected column(s) carried to QA, not used: COMMENT (1 values)",
    )


def test_a_dead_worker_never_fails_the_step_its_sites_are_ingested_in_process(monkeypatch):
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool
    from types import SimpleNamespace

    import assets.ingest.assets as ingest_assets

    future: Future = Future()
    future.set_exception(BrokenProcessPool("a worker died"))
    again = []
    monkeypatch.setattr(ingest_assets, "ingest_batch", lambda b, *_a: again.append(b) or [{"source": b[0]}])
    errors: list[str] = []
    context = SimpleNamespace(log=SimpleNamespace(error=errors.append))
    landing = SimpleNamespace(root=Path("landing"))
    got = ingest_assets._worker_result(context, future, ["102"], landing, Path("ingest"), NOW)
    assert got == [{"source": "102"}] and again == [["102"]]
    assert "BrokenProcessPool: a worker died" in errors[0]

    failed_io: Future = Future()
    failed_io.set_exception(TimeoutError("share gone"))  # an OSError: the step retries it
    with pytest.raises(TimeoutError):
        ingest_assets._worker_result(context, failed_io, ["102"], landing, Path("ingest"), NOW)
