"""The trail filter compiled to CloudTrail Lake SQL and Logs Insights (tui/models/trailsql.py).

Table-driven tests on the compiled text, and differential tests: the Lake SQL runs in DuckDB over
a table in Lake's schema (the emulator's, tui/demo/lake.py) and must select every event the
Python filter selects (exactly those when the query says it is exact); the rows, rebuilt into
events and filtered again as the pane does, give the Python filter's answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.test_trailfilter import FORWARDED, PEOPLE, make
from tui.aws.lake import record_from_row
from tui.demo.lake import load_events
from tui.models.cloudtrail import TrailEvent, iter_trail_path, parse_event
from tui.models.trailfilter import compile_filter
from tui.models.trailsql import to_insights, to_lake_sql

START = datetime(2000, 1, 1, tzinfo=UTC)
END = datetime(2100, 1, 1, tzinfo=UTC)
STORE = "EXAMPLE-f852-4e8f-8bd1"
CORPUS = Path("/work/shared/corpus/cloudtrail")

FILTERS = [
    "",
    "error:AccessDenied*",
    "error:accessdenied",
    "error:*",
    "error:any",
    "error:none",
    "-error:none",
    "-error:AccessDenied*",
    "error:*Exception",
    "user:alice",
    "user:ops-admin/alice",
    "user:ALI*",
    'user:"Jane Doe"',
    "-user:alice",
    "user:account*",
    "name:Start*",
    "name:Get?allerIdentity",
    "name:[CP]*",
    "-name:[CP]*",
    "source:kms",
    "source:kms.amazonaws.com",
    "-source:sts",
    "source:s*",
    "ip:10.0.0.0/8",
    "ip:10.1.2.3",
    "ip:192.168.0.0/16",
    "ip:2001:db8::/32",
    "ip:ec2.amazonaws.com",
    "ip:*.amazonaws.com",
    "-ip:10.0.0.0/8",
    "resource:i-0abc",
    "resource:I-0ABC",
    "resource:1234abcd",
    "resource:arn:aws:kms:*",
    "readonly:false",
    "readonly:true",
    "-readonly:true",
    "region:eu-*",
    "id:ev-grant",
    "invokedby:ec2*",
    "type:AWSService",
    "-type:assumed*",
    "account:111122223333",
    "accesskey:ASIA*",
    "agent:*python*",
    "agent:100%_sure",
    "agent:100%_*",
    'name:"o\'brien"',
    "alice",
    "-alice",
    "error:AccessDenied* or source:sts",
    "error:any -source:kms or readonly:true name:Get*",
    "user:alice error:any or ip:10.0.0.0/8",
]


def _corpus(limit: int = 1500) -> list[TrailEvent]:
    """Real-world events (unique IDs, so the two sides can be compared by ID)."""
    if not CORPUS.exists():
        return []
    out: list[TrailEvent] = []
    for result in iter_trail_path(str(CORPUS)):
        for event in result.events:
            if event.partial or not event.raw.get("eventTime"):
                continue
            raw = dict(event.raw, eventID=f"c{len(out)}")
            out.append(parse_event(raw))
            if len(out) >= limit:
                return out
    return out


@pytest.fixture(scope="module")
def events() -> list[TrailEvent]:
    mine = [*PEOPLE, FORWARDED]
    mine.append(make(eventID="ev-pct", userAgent="100%_sure", eventName="O'Brien"))
    mine.append(make(eventID="ev-acct", userIdentity={"type": "AWSAccount", "accountId": "9"}))
    mine.append(make(eventID="ev-nul", errorMessage="failed", sourceIPAddress=None, readOnly=None))
    return mine + _corpus()


@pytest.fixture(scope="module")
def db(events: list[TrailEvent]) -> Any:
    conn = duckdb.connect()
    load_events(conn, STORE, (e.raw for e in events))
    yield conn
    conn.close()


def _run(conn: Any, sql: str) -> list[dict[str, str]]:
    cursor = conn.execute(sql.replace(f"FROM {STORE}", f'FROM "{STORE}"'))
    names = [d[0] for d in cursor.description]
    out = []
    for row in cursor.fetchall():
        cells = {}
        for name, value in zip(names, row, strict=True):
            if value is None:
                continue
            if isinstance(value, datetime):
                value = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            elif isinstance(value, bool):
                value = "true" if value else "false"
            cells[name] = str(value)
        out.append(cells)
    return out


@pytest.mark.parametrize("text", FILTERS)
def test_lake_sql_never_loses_an_event_and_is_exact_when_it_says_so(
    text: str, events: list[TrailEvent], db: Any
) -> None:
    flt = compile_filter(text)
    query = to_lake_sql(flt, STORE, START, END, limit=100_000)
    rows = _run(db, query.text)
    pushed = {r["eventID"] for r in rows}
    wanted = {e.event_id for e in events if flt.matches(e)}
    assert wanted <= pushed, f"Lake SQL lost {sorted(wanted - pushed)[:5]}"
    if query.exact:
        assert pushed == wanted
    # What the pane shows: the rows rebuilt into events, the filter applied again.
    rebuilt = {e.event_id for e in map(parse_event, map(record_from_row, rows)) if flt.matches(e)}
    if not any(t.key == "text" for t in flt.terms):  # the search text is not in Lake's columns
        assert rebuilt == wanted


def test_differential_covers_real_events(events: list[TrailEvent]) -> None:
    assert len(events) > 500, "the corpus is where the differential test earns its keep"


@pytest.mark.parametrize(
    ("text", "fragment", "exact"),
    [
        (
            "error:AccessDenied*",
            "lower(coalesce(errorCode, '')) LIKE 'accessdenied%' ESCAPE '\\'",
            True,
        ),
        ("error:any", "(coalesce(errorCode, '') <> '' OR coalesce(errorMessage, '') <> '')", True),
        ("name:StartInstances", "lower(coalesce(eventName, '')) = 'startinstances'", True),
        ("source:kms", "= 'kms.amazonaws.com'", True),
        ("readonly:true", "coalesce(readOnly = true, false)", True),
        ("-readonly:true", "NOT (coalesce(readOnly = true, false))", True),
        ("ip:10.1.0.0/16", "lower(coalesce(sourceIPAddress, '')) LIKE '%10.1.%'", False),
        ("user:alice", "userIdentity.sessionContext.sessionIssuer.userName", False),
        ("resource:i-0abc", "json_format(CAST(requestParameters AS JSON))", False),
        ("agent:100%_x*", "LIKE '100\\%\\_x%'", True),
        ('name:"o\'brien"', "= 'o''brien'", True),
        ("invokedby:ec2*", "lower(coalesce(userIdentity.invokedBy, '')) LIKE 'ec2%'", True),
    ],
)
def test_lake_sql_text(text: str, fragment: str, exact: bool) -> None:
    query = to_lake_sql(compile_filter(text), STORE, START, END)
    assert fragment in query.text
    assert query.exact is exact
    assert query.text.startswith("SELECT eventID AS eventID, eventTime AS eventTime")
    assert f"FROM {STORE} WHERE eventTime >= '2000-01-01 00:00:00' AND eventTime <= " in query.text
    assert query.text.endswith("ORDER BY eventTime DESC LIMIT 10000")


def test_negated_widened_terms_and_free_text_are_not_pushed() -> None:
    query = to_lake_sql(compile_filter("-user:alice -ip:10.0.0.0/8 alice"), STORE, START, END)
    assert (
        "WHERE eventTime >= '2000-01-01 00:00:00' AND eventTime <= '2100-01-01 00:00:00' "
        "ORDER BY" in query.text
    )
    assert query.widened == ("-user:alice", "-ip:10.0.0.0/8", "alice")


def test_an_or_with_an_unpushable_branch_pushes_only_the_window() -> None:
    query = to_lake_sql(compile_filter("error:any or alice"), STORE, START, END)
    assert "errorCode" not in query.text.split("WHERE")[1]


def test_store_id_is_checked() -> None:
    with pytest.raises(ValueError):
        to_lake_sql(compile_filter(""), "x; DROP", START, END)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "fields @timestamp, @message | sort @timestamp desc | limit 10000"),
        (
            "error:AccessDenied*",
            "fields @timestamp, @message | filter (ispresent(errorCode) and errorCode =~ "
            "/(?i)^AccessDenied.*$/) | sort @timestamp desc | limit 10000",
        ),
        (
            "-name:Get*",
            "fields @timestamp, @message | filter not ((ispresent(eventName) and eventName =~ "
            "/(?i)^Get.*$/)) | sort @timestamp desc | limit 10000",
        ),
        (
            "name:* source:kms",
            "fields @timestamp, @message | filter ((not ispresent(eventName) or eventName =~ "
            "/(?i)^.*$/) and ((ispresent(eventSource) and eventSource =~ /(?i)^kms$/) or "
            "(ispresent(eventSource) and eventSource =~ /(?i)^kms\\.amazonaws\\.com$/))) "
            "| sort @timestamp desc | limit 10000",
        ),
        (
            "ip:10.1.0.0/16",
            "fields @timestamp, @message | filter sourceIPAddress like /(?i).*10\\.1\\..*/ "
            "| sort @timestamp desc | limit 10000",
        ),
        (
            "resource:arn:aws:s3:::b/k",
            "fields @timestamp, @message | filter @message like "
            "/(?i).*arn:aws:s3:::b\\/k.*/ | sort @timestamp desc | limit 10000",
        ),
        ("readonly:true alice", "fields @timestamp, @message | sort @timestamp desc | limit 10000"),
    ],
)
def test_insights_text(text: str, expected: str) -> None:
    assert to_insights(compile_filter(text)).text == expected


def test_insights_user_is_widened_over_every_identity_field() -> None:
    query = to_insights(compile_filter("user:alice"))
    assert not query.exact
    for field in ("userIdentity.arn", "userIdentity.principalId", "userIdentity.userName"):
        assert f"{field} like /(?i).*alice.*/" in query.text
    assert json.dumps(query.text)  # one line, no control characters
