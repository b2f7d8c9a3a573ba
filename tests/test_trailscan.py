"""The fast route of ``hamari trail`` over files keeps exactly what the ordinary read keeps.

The reference is the pane's own reader (``stream_local``: every event fully parsed, then window,
duplicates and filter). The fast route (``scan_local``: worker processes, only the records a
filter can match decoded) must keep the same events, in the same order, with the same JSON,
for every filter key, on hostile files, on the shared corpus of real files, and on random ones.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tui.aws import trailfiles
from tui.aws.cloudtrail import stream_local
from tui.aws.trailfiles import scan_local
from tui.models import trailscan
from tui.models.cloudtrail import parse_event
from tui.models.timewindow import TimeWindow
from tui.models.trailfilter import compile_filter
from tui.models.trailscan import DeliveryScan

CORPUS = Path("/work/shared/corpus/cloudtrail")
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

FILTERS = [
    "",
    "error:AccessDenied*",
    "-error:AccessDenied*",
    "error:*Unauthorized*",
    "error:any",
    "error:none",
    "name:Start*",
    "name:decrypt",
    "source:kms",
    "source:ec2.amazonaws.com",
    "region:eu-*",
    "type:AssumedRole",
    "invokedby:ec2.amazonaws.com",
    "accesskey:AKIA*",
    "agent:*cli*",
    "readonly:false",
    "account:2109*",
    "id:evt-0003",
    "user:alice",
    "user:*ops*",
    "user:ops/alice",
    "-user:alice",
    'user:"AWS service"',
    "user:ec2*",
    "user:account*",
    "user:caf*",
    "ip:10.0.0.0/8",
    "ip:203.0.113.9",
    "ip:ec2*",
    "resource:i-0abc",
    "decrypt",
    "café",
    "error:AccessDenied* or name:StopInstances",
    "name:Start* or user:bob",
    "error:AccessDenied* source:kms",
]


def _event(i: int, rng: random.Random, **over: Any) -> dict[str, Any]:
    user = rng.choice(["alice", "bob", "Café-Ops", "deploy\u202ebot"])
    kind = rng.random()
    if kind < 0.4:
        identity: Any = {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::210987654321:user/{user}",
            "accountId": "210987654321",
            "accessKeyId": f"AKIA{i:08d}",
            "userName": user,
        }
    elif kind < 0.8:
        identity = {
            "type": "AssumedRole",
            "principalId": f"AROAX:{user}",
            "arn": f"arn:aws:sts::210987654321:assumed-role/Ops/{user}",
            "accountId": "210987654321",
            "accessKeyId": f"ASIA{i:08d}",
        }
    elif kind < 0.88:
        identity = {"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}
    else:
        identity = rng.choice(
            [
                "not-an-object",
                None,
                7,
                {"type": "AWSService"},
                {"type": "AWSAccount", "accountId": "111122223333", "principalId": "AIDX"},
                {"type": "Root", "arn": "arn:aws:iam::210987654321:root", "userName": "Alice"},
                {"type": "IdentityCenterUser", "onBehalfOf": {"userId": "u-alice"}},
                {
                    "type": "FederatedUser",
                    "principalId": "210987654321:alice",
                    "sessionContext": {"sessionIssuer": {"userName": "ops-fed"}},
                },
                {"type": "SAMLUser", "principalId": "alice@example.com"},
            ]
        )
    source, name = rng.choice(
        [
            ("kms.amazonaws.com", "Decrypt"),
            ("ec2.amazonaws.com", "StartInstances"),
            ("ec2.amazonaws.com", "StopInstances"),
            ("s3.amazonaws.com", "GetObject"),
        ]
    )
    event: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": (T0 + timedelta(seconds=i * 7)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": rng.choice(["eu-central-1", "ap-northeast-1", "us-east-1"]),
        "sourceIPAddress": rng.choice(["10.1.2.3", "203.0.113.9", "ec2.amazonaws.com"]),
        "userAgent": rng.choice(["aws-cli/2.15", "Boto3/1.34", "console.amazonaws.com"]),
        "requestParameters": {"instancesSet": {"items": [{"instanceId": f"i-0abc{i:04x}"}]}},
        "responseElements": None,
        "eventID": f"evt-{i:04d}",
        "readOnly": rng.choice([True, False, "false"]),
        "eventType": "AwsApiCall",
        "recipientAccountId": "210987654321",
    }
    roll = rng.random()
    if roll < 0.25:
        event["errorCode"] = rng.choice(["AccessDenied", "Client.UnauthorizedOperation"])
        event["errorMessage"] = "not authorized"
    elif roll < 0.3:
        event["errorMessage"] = "failed without a code"
    event.update(over)
    return event


def _write(
    path: Path,
    records: list[Any],
    *,
    indent: int | None = None,
    swap: tuple[bytes, bytes] = (b"", b""),
) -> None:
    body = json.dumps({"Records": records}, indent=indent, ensure_ascii=False).encode()
    if swap[0]:
        body = body.replace(*swap)  # e.g. a JSON escape that hides a value from a byte search
    path.write_bytes(gzip.compress(body) if path.name.endswith(".gz") else body)


def _hostile_folder(root: Path) -> Path:
    rng = random.Random(5)
    events = [_event(i, rng) for i in range(400)]
    for n in range(4):
        _write(root / f"a{n}_CloudTrail_eu-central-1.json.gz", events[n * 80 : (n + 1) * 80])
    # a second delivery of one file (duplicates across files), a pretty-printed copy
    _write(root / "b0_again.json.gz", events[:40])
    _write(root / "b1_pretty.json", events[320:360], indent=2)
    tricky = [
        # written with JSON escapes that hide the value from a byte search (below)
        _event(1000, rng, errorCode="AccessDenied", userAgent="escaped-1000"),
        _event(1001, rng, eventName="StartInstances", userAgent="escaped-1001"),
        # terminal control characters (C1 CSI, ESC) and bidi in values
        _event(1002, rng, userAgent="evil\x1b[31m\u009b2J", errorCode="AccessDenied"),
        _event(1003, rng, errorMessage="caf\u00e9 \u202e", errorCode="AccessDeniedException"),
        # no eventID: the full parse derives one
        {k: v for k, v in _event(1004, rng, errorCode="AccessDenied").items() if k != "eventID"},
        # epoch eventTime, a time with an offset
        _event(1005, rng, eventTime=1740816000, errorCode="AccessDenied"),
        _event(1006, rng, eventTime="2025-03-01T09:00:00+09:00", errorCode="AccessDenied"),
        # a record that is not an object, an unreadable time
        ["not", "an", "event"],
        _event(1007, rng, eventTime="yesterday", errorCode="AccessDenied"),
        # a field of another JSON type
        _event(1008, rng, errorCode=403, eventName=["Start"]),
        # the same event delivered twice
        _event(1009, random.Random(1), errorCode="AccessDenied", eventID="evt-dup"),
        _event(1009, random.Random(1), errorCode="AccessDenied", eventID="evt-dup"),
    ]
    swaps = {
        0: (b'"AccessDenied"', b'"Access\\u0044enied"'),
        1: (b'"StartInstances"', b'"Start\\u0049nstances"'),
    }
    for n, record in enumerate(tricky):
        name = root / f"c{n:02d}_tricky.json.gz"
        _write(name, [_event(2000 + n, rng), record], swap=swaps.get(n, (b"", b"")))
    _write(root / "d_all_tricky.json", tricky)
    (root / "e_ndjson.json").write_text("\n".join(json.dumps(e) for e in events[:30]))
    (root / "f_truncated.json.gz").write_bytes(gzip.compress(b'{"Records":[{"a":1}]}')[:-9])
    (root / "g_empty.json.gz").write_bytes(gzip.compress(b'{"Records":[]}'))
    (root / "h_bom.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"Records": events[:5]}).encode()
    )
    (root / "i_bad_utf8.json").write_bytes(
        json.dumps({"Records": events[5:9]}).encode().replace(b"alice", b"al\xffce")
    )
    (root / "README.md").write_text("not a log")
    return root


def _reference(path: Path, window: TimeWindow | None, text: str) -> tuple[list[str], int, int]:
    async def run() -> tuple[list[str], int, int]:
        keys: list[str] = []
        scanned = bad = 0
        async for batch in stream_local(str(path), window, compile_filter(text)):
            keys += [e.key for e in batch.events]
            scanned += batch.scanned
            bad += batch.bad
        return keys, scanned, bad

    return asyncio.run(run())


def _fast(path: Path, window: TimeWindow | None, text: str) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    lines: list[str] = []
    for batch in scan_local(str(path), window, compile_filter(text)):
        for match in batch.matches():
            keys.append(match.key)
            lines.append(match.line())
            assert match.full().key == match.key
    return keys, lines


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _hostile_folder(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("text", FILTERS)
def test_fast_route_keeps_what_the_full_parse_keeps(hostile: Path, text: str) -> None:
    want, _scanned, _bad = _reference(hostile, None, text)
    got, lines = _fast(hostile, None, text)
    assert got == want
    for line in lines:
        assert "\n" not in line and "\x1b" not in line and "\x9b" not in line
        assert json.loads(line)["eventTime"] is not None


def test_fast_route_windows_and_folds_duplicates_like_the_full_parse(hostile: Path) -> None:
    window = TimeWindow(T0 + timedelta(minutes=5), T0 + timedelta(minutes=30), live=False)
    for text in ("error:AccessDenied*", "name:Start*", "", "user:alice"):
        want, _, _ = _reference(hostile, window, text)
        got, _ = _fast(hostile, window, text)
        assert got == want, text
        assert got, text


def test_ndjson_lines_are_the_events_json_and_safe_on_a_terminal(hostile: Path) -> None:
    _, lines = _fast(hostile, None, "error:AccessDenied*")
    decoded = [json.loads(line) for line in lines]
    agents = [d["userAgent"] for d in decoded if d.get("eventID") == "evt-1002"]
    assert agents == ["evil\x1b[31m\u009b2J"]  # the value survives, escaped
    raw = next(line for line in lines if "evt-1002" in line)
    assert "\\u001b" in raw and "\\u009b" in raw


def test_counts_match_the_full_parse_on_files_the_fast_route_reads(tmp_path: Path) -> None:
    rng = random.Random(9)
    for n in range(3):
        _write(tmp_path / f"{n}.json.gz", [_event(n * 50 + i, rng) for i in range(50)])
    same = random.Random(9)
    again = [_event(i, same) for i in range(50)]  # file 0 again
    _write(tmp_path / "again.json.gz", again)
    for text in ("error:AccessDenied*", "name:Decrypt"):
        _keys, scanned, bad = _reference(tmp_path, None, text)
        got_scanned = got_bad = dups = 0
        for batch in scan_local(str(tmp_path), None, compile_filter(text)):
            got_scanned += batch.scanned
            got_bad += batch.bad
            dups += batch.duplicates
        assert (got_scanned, got_bad) == (scanned, bad) == (200, 0)
        # copies are folded and counted among the events the filter keeps
        flt = compile_filter(text)
        assert dups == sum(flt.matches(parse_event(e)) for e in again) > 0


@pytest.mark.skipif(not CORPUS.is_dir(), reason="corpus absent")
@pytest.mark.parametrize("text", ["", "error:AccessDenied*", "name:Create*", "source:iam"])
def test_fast_route_on_real_files_written_by_others(text: str) -> None:
    want, _, _ = _reference(CORPUS, None, text)
    got, _ = _fast(CORPUS, None, text)
    assert got == want
    assert want or text


@pytest.mark.parametrize("seed", range(6))
def test_random_files_and_filters(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    events = [_event(i, rng) for i in range(300)]
    rng.shuffle(events)
    events += events[: rng.randrange(20)]  # some delivered twice
    for n in range(0, len(events), 70):
        _write(tmp_path / f"{n:04d}.json.gz", events[n : n + 70])
    for _ in range(8):
        a, b = rng.sample(FILTERS[1:], 2)
        text = rng.choice([a, f"{a} {b}", f"{a} or {b}"])
        want, _, _ = _reference(tmp_path, None, text)
        got, _ = _fast(tmp_path, None, text)
        assert got == want, text


def test_one_worker_or_several_give_the_same_stream(
    hostile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    several = _fast(hostile, None, "error:AccessDenied* or name:Start*")
    monkeypatch.setattr(trailfiles, "MAX_WORKERS", 1)
    assert _fast(hostile, None, "error:AccessDenied* or name:Start*") == several


def test_copies_that_differ_keep_the_copy_the_filter_matches(tmp_path: Path) -> None:
    """Documented difference (tui.models.trailscan): two records with the same eventID, name,
    time and source but other content (never delivered by CloudTrail) are folded among the
    records the filter keeps, so the copy that matches is shown; the full parse folds first."""
    rng = random.Random(3)
    first = _event(1, rng, eventID="evt-same")
    first.pop("errorCode", None)
    second = dict(first, errorCode="AccessDenied")
    _write(tmp_path / "a.json.gz", [first])
    _write(tmp_path / "b.json.gz", [second])
    want, _, _ = _reference(tmp_path, None, "error:AccessDenied")
    got, lines = _fast(tmp_path, None, "error:AccessDenied")
    assert want == []
    assert [json.loads(line)["errorCode"] for line in lines] == ["AccessDenied"]
    assert len(got) == 1


# ------------------------------------------------ record bytes placed by the check pass alone


def _every_and_placed(doc: bytes) -> tuple[list[bytes], list[bytes] | None]:
    """Each record's bytes as the split pass gives them, and as placed from the check pass."""
    decoder = DeliveryScan(compile_filter("error:AccessDenied*"))._decoders[0]
    records = decoder.decode(doc).Records
    every = [bytes(raw) for raw in trailscan._SPLIT.decode(doc).Records]
    return every, trailscan._spans(doc, records, range(len(records)))


_R1 = (
    b'{"eventVersion":"1.09","eventTime":"2025-03-01T08:00:00Z","eventID":"a",'
    b'"errorCode":"AccessDenied","requestParameters":{"items":[{"x":"}, {"},{"y":"]}"}]}}'
)
_R2 = (
    b'{"eventVersion": "1.08", "eventTime": "2025-03-01T08:00:01Z", "eventID": "b", '
    b'"note": "a \\"{\\"eventVersion\\":\\" inside, }]"}'
)
_R3 = b'{"eventVersion":\n\t null, "eventTime": 1740816000, "eventID": "c"}'
_TIME = b'"eventTime":"2025-03-01T08:00:02Z"'


@pytest.mark.parametrize(
    ("doc", "placed"),
    [
        (b'{"Records":[' + _R1 + b"," + _R2 + b"," + _R3 + b"]}", True),  # CloudTrail's own
        (b'{"Records": [' + _R1 + b", " + _R2 + b"]}", True),  # json.dumps
        (b'\n{\n"Records" :\n[\n\t' + _R1 + b"\n\t,\n\t" + _R2 + b"\n]\n}\n", True),
        (b'{"Records":[' + _R3 + b"]}", True),
        (b'{"Records":[' + _R1 + b'],"Records":[' + _R2 + b"," + _R3 + b"]}", True),
        (b'{"Records":[{"eventVersion":{"a":[1,{"b":"}"}]},' + _TIME + b"}]}", True),
        # the bytes before eventVersion's value are not {"eventVersion":
        (b'{"Records":[' + _R1 + b',{ "eventVersion":"1",' + _TIME + b"}]}", False),
        (b'{"Records":[' + _R1 + b',{"eventVersion" :"1",' + _TIME + b"}]}", False),
        (b'{"Records":[' + _R1 + b",{" + _TIME + b',"eventVersion":"1"}]}', False),
        (b'{"Records":[' + _R1 + b',{"event\\u0056ersion":"1",' + _TIME + b"}]}", False),
        (
            b'{"Records":[{"eventVersion":"1",' + _TIME + b',"eventVersion":"2"},' + _R1 + b"]}",
            False,
        ),
        # no eventVersion at the top (one opens a member's object)
        (b'{"Records":[' + _R1 + b",{" + _TIME + b"}]}", False),
        (b'{"Records":[{' + _TIME + b',"x":{"eventVersion":"9"}},' + _R1 + b"]}", False),
        # the array is not the document's last member
        (b'{"Records":[' + _R1 + b'],"Other":[{"eventVersion":"x"}]}', False),
        (b'{"Records":[' + _R1 + b'],"n":1}', False),
    ],
)
def test_records_placed_from_the_check_pass_are_the_split_records(doc: bytes, placed: bool) -> None:
    every, got = _every_and_placed(doc)
    assert (got is not None) == placed
    assert got is None or got == every


@pytest.mark.parametrize("seed", range(40))
def test_records_placed_on_random_layouts_are_the_split_records(seed: int) -> None:
    rng = random.Random(seed)
    space = ["", " ", "\n", "\t", " \r\n "]
    odd = rng.random() < 0.5  # else every record as CloudTrail writes it (spacing aside)
    records = []
    for i in range(rng.randrange(1, 6)):
        event = _event(i, rng)
        items = list(event.items())
        roll = rng.random() if odd else 1.0
        if roll < 0.15:
            rng.shuffle(items)  # eventVersion anywhere
        elif roll < 0.25:
            items = [kv for kv in items if kv[0] != "eventVersion"]
        elif roll < 0.35:
            items.insert(3, ("nested", {"eventVersion": "x"}))
        elif roll < 0.4:
            items.append(("eventVersion", "again"))
        colon = [":", ":", " :"] if odd else [":"]
        pairs = [
            json.dumps(k) + rng.choice(colon) + rng.choice(space) + json.dumps(v) for k, v in items
        ]
        brace = rng.choice(["", "", " "]) if odd else ""
        records.append("{" + brace + ("," + rng.choice(space)).join(pairs) + "}")
    body = (rng.choice(space) + "," + rng.choice(space)).join(records)
    tail = rng.choice(["", "", ', "Other": [{"eventVersion": "1"}]', ', "n": 1']) if odd else ""
    doc = f'{rng.choice(space)}{{"Records":{rng.choice(space)}[{body}]{tail}}}{rng.choice(space)}'
    every, got = _every_and_placed(doc.encode())
    assert got is None or got == every
    plain = all(r.startswith('{"eventVersion":') for r in records) and not tail
    duplicate = any(r.count('"eventVersion"') > 1 for r in records)
    assert (got is not None) == (plain and not duplicate) or duplicate


def test_the_scan_places_records_without_splitting_cloudtrails_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(2)
    events = [_event(i, rng) for i in range(200)]
    doc = json.dumps({"Records": events}, separators=(",", ":")).encode()
    for text in ("error:AccessDenied*", "name:Start* or user:alice", "ip:10.0.0.0/8"):
        placed = DeliveryScan(compile_filter(text)).scan(doc)
        monkeypatch.setattr(trailscan, "_spans", lambda *_: None)
        split = DeliveryScan(compile_filter(text)).scan(doc)
        monkeypatch.undo()
        assert placed is not None and split is not None and placed.raws
        assert placed == split, text

    def split_pass(_data: bytes) -> None:
        raise AssertionError("split")

    monkeypatch.setattr(trailscan, "_SPLIT", type("Split", (), {"decode": split_pass})())
    assert DeliveryScan(compile_filter("error:AccessDenied*")).scan(doc) is not None
