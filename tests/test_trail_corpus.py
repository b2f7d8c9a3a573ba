"""Every real CloudTrail sample in the shared corpus parses, or is skipped or rejected with a reason.

The corpus lives outside the repository (``../shared/corpus``, or ``$HAMARI_CORPUS``); the module is
skipped when it is absent.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tui.models.cloudtrail import ParseResult, SourceKind, iter_trail_path, read_trail_bytes
from tui.models.related import Reason, find_related
from tui.models.trailfilter import compile_filter

CORPUS = Path(
    os.environ.get("HAMARI_CORPUS") or Path(__file__).resolve().parents[2] / "shared" / "corpus"
)
TRAIL = CORPUS / "cloudtrail"

if not TRAIL.is_dir():
    pytest.skip(f"CloudTrail corpus not found at {TRAIL}", allow_module_level=True)


@pytest.fixture(scope="module")
def results() -> dict[str, ParseResult]:
    return {str(Path(r.name).relative_to(TRAIL)): r for r in iter_trail_path(TRAIL)}


@pytest.fixture(scope="module")
def manifest() -> dict[str, dict[str, object]]:
    path = CORPUS / "MANIFEST.jsonl"
    if not path.is_file():
        pytest.skip("MANIFEST.jsonl not found")
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {
        str(e["file"]).removeprefix("cloudtrail/"): e
        for e in entries
        if str(e["file"]).startswith("cloudtrail/")
    }


def test_every_file_is_accounted_for(results: dict[str, ParseResult]) -> None:
    on_disk = {str(p.relative_to(TRAIL)) for p in TRAIL.rglob("*") if p.is_file()}
    assert set(results) == on_disk
    for name, result in results.items():
        if result.skipped or result.bad_file:
            assert result.reason, name
            assert not result.events, name
        else:
            assert result.events or result.bad_count, name
            for bad in result.bad_samples:
                assert bad.reason, name


def test_event_counts_match_the_manifest(
    results: dict[str, ParseResult], manifest: dict[str, dict[str, object]]
) -> None:
    # Two documentation "events" are userIdentity fragments without eventTime: counted as bad.
    fragments = {
        "awsdocs_aws-cloudtrail-user-guide/cloudtrail-event-reference-user-identity__L257.json",
        "awsdocs_iam-user-guide/id_credentials_temp_control-access_monitor__L385.json",
    }
    checked = 0
    for name, entry in manifest.items():
        records, fmt = entry["records"], str(entry["format"])
        if not isinstance(records, int) or "digest" in fmt or "Lake" in fmt:
            continue
        result = results[name]
        if name in fragments:
            assert result.events == [] and result.bad_count == 1
            assert "missing eventTime" in result.bad_samples[0].reason
            continue
        assert len(result.events) == records, name
        assert result.bad_count == 0, (name, result.bad_samples)
        checked += 1
    assert checked > 140


def test_invictus_dataset(results: dict[str, ParseResult]) -> None:
    files = [
        r
        for n, r in results.items()
        if n.startswith("invictus-ir_aws_dataset/") and n.endswith(".json")
    ]
    assert len(files) == 55
    assert all(r.kind is SourceKind.RECORDS for r in files)
    events = [e for r in files for e in r.events]
    assert len(events) == 2900
    assert sum(r.bad_count for r in files) == 0
    assert len({e.event_id for e in events}) == 2900
    errors = Counter(e.error_code for e in events if e.is_error)
    assert errors["ThrottlingException"] == 102
    assert errors["AccessDenied"] == 16
    assert errors["Client.UnauthorizedOperation"] == 44
    service_kms = [e for e in events if e.source == "kms" and e.invoked_by]
    assert {e.invoked_by for e in service_kms} >= {"secretsmanager.amazonaws.com", "AWS Internal"}
    untyped = [e for e in events if not e.identity_type]
    assert len(untyped) == 42
    assert all(e.principal == e.invoked_by for e in untyped if e.invoked_by)
    assert any(e.user_agent.startswith("[") for e in events)  # user agents in square brackets
    assert {e.event_version for e in events} == {"1.08", "1.09"}
    # the filter language on real data
    assert len(compile_filter("error:AccessDenied*").apply(events)) == 16
    assert len(compile_filter("error:Throttling*").apply(events)) == 102
    assert len(compile_filter("source:kms invokedby:secretsmanager*").apply(events)) == 76
    assert len(compile_filter("error:none").apply(events)) == 2600
    denied = compile_filter("error:AccessDenied*").apply(events)[0]
    related = find_related(denied, events)
    assert related.items  # an attacker's denied call has company
    assert all(
        Reason.PRINCIPAL in i.reasons or Reason.RESOURCE in i.reasons or Reason.REQUEST in i.reasons
        for i in related.items
    )


def test_digest_lake_empty_and_licences_skipped(results: dict[str, ParseResult]) -> None:
    kinds = Counter(r.kind for r in results.values())
    assert kinds[SourceKind.DIGEST] == 2
    assert kinds[SourceKind.LAKE] == 5
    assert kinds[SourceKind.EMPTY] == 1
    assert (
        results["open-telemetry_opentelemetry-collector-contrib/cloudtrail_digest.json"].kind
        is SourceKind.DIGEST
    )
    assert results["invictus-ir_aws_dataset/LICENSE"].kind is SourceKind.NOT_A_LOG


def test_lookup_events_cli_output(results: dict[str, ParseResult]) -> None:
    result = results["aws_aws-cli/lookup-events__L9_output.json"]
    assert result.kind is SourceKind.LOOKUP
    (event,) = result.events
    assert not event.partial
    assert event.event_name == "ConsoleLogin"
    assert event.principal == "my-role/my-session-name"
    assert "my-session-name" in event.user_names  # what LookupEvents' Username holds
    # the inner CloudTrailEvent wins over the outer EventTime of the CLI example
    assert event.event_time.isoformat() == "2016-01-26T21:42:12+00:00"
    insights = results["awsdocs_aws-cloudtrail-user-guide/view-insights-events-cli__L55.json"]
    assert insights.kind is SourceKind.LOOKUP and len(insights.events) == 2
    assert {e.event_type for e in insights.events} == {"AwsCloudTrailInsight"}


def test_invalid_doc_snippets_are_bad_not_crashes(results: dict[str, ParseResult]) -> None:
    snippets = {n: r for n, r in results.items() if "/invalid_json_doc_snippets/" in n}
    assert len(snippets) == 18
    for name, result in snippets.items():
        assert result.bad_file or result.bad_count > 0, name
        if result.bad_file:
            assert result.reason.startswith(("invalid JSON at line", "not a JSON object")), name
    # one snippet is a complete event followed by "... additional entries ...": recovered
    recovered = [r for r in snippets.values() if r.events]
    assert [e.event_name for r in recovered for e in r.events] == ["StartLogging"]


def test_opentelemetry_layouts(results: dict[str, ParseResult]) -> None:
    log = results["open-telemetry_opentelemetry-collector-contrib/cloudtrail_log.json"]
    assert log.kind is SourceKind.RECORDS and len(log.events) == 7
    assert "IdentityCenterUser" in {e.identity_type for e in log.events}
    start = next(e for e in log.events if e.event_name == "StartInstances")
    assert "i-EXAMPLE56126103cb" in start.resources
    for name in ("cloudtrail_log_cw.json", "cloudtrail_log_cw_reordered.json"):
        cwl = results[f"open-telemetry_opentelemetry-collector-contrib/{name}"]
        assert cwl.kind is SourceKind.CWL_SUBSCRIPTION
        (event,) = cwl.events
        assert (event.event_name, event.aws_region, event.principal) == (
            "PutObject",
            "eu-west-1",
            "s3.amazonaws.com",
        )
        assert any(r.startswith("arn:aws:s3:::elastic-sar-bucket") for r in event.resources)


def test_event_versions_and_identity_types_across_corpus(results: dict[str, ParseResult]) -> None:
    events = [e for r in results.values() for e in r.events]
    versions = {e.event_version for e in events}
    assert {"1.0", "1.02", "1.05", "1.08", "1.09", "1.11"} <= versions
    types = {e.identity_type for e in events}
    assert {
        "IAMUser",
        "AssumedRole",
        "AWSService",
        "Root",
        "AWSAccount",
        "IdentityCenterUser",
    } <= types
    assert all(e.event_time.tzinfo is not None for e in events)
    kms_grants = [e for e in events if e.event_name == "CreateGrant"]
    assert kms_grants and all(e.source == "kms" for e in kms_grants)


def test_gzip_copy_of_a_corpus_file_reads_the_same(results: dict[str, ParseResult]) -> None:
    name = "open-telemetry_opentelemetry-collector-contrib/cloudtrail_log.json"
    data = (TRAIL / name).read_bytes()
    again = read_trail_bytes(gzip.compress(data), name + ".gz")
    assert [e.event_id for e in again.events] == [e.event_id for e in results[name].events]


def test_every_corpus_file_gives_events_or_one_line_saying_why() -> None:
    import asyncio

    from tui.aws.cloudtrail import TrailBatch, stream_local

    async def collect() -> list[TrailBatch]:
        return [b async for b in stream_local(str(TRAIL))]

    batches = [b for b in asyncio.run(collect()) if not b.done]
    on_disk = {str(p) for p in TRAIL.rglob("*") if p.is_file()}
    assert {b.source for b in batches} == on_disk
    for batch in batches:
        if batch.scanned:
            assert not batch.skipped, batch.source
            continue
        (line,) = batch.skipped
        where, _, why = line.partition(": ")
        assert where == batch.source and why.strip(), line
        assert "Extra data" not in why, line
