"""A CloudTrail load from S3 that fails part-way and is taken up again counts every file and
event once: the pane's "scanned N events in M files" and the events it holds are the bucket's,
whether the events are in memory or in the store, and follow polls after it add only what
was delivered since."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from tests.apptools import demo_app, wait_for
from tests.awstools import world_client
from tui.demo.server import FaultRule
from tui.models.cloudtrail import parse_event
from tui.panes.trail import TrailPane


def _bucket(world: Any) -> tuple[int, int, set[str]]:
    """The trail bucket's delivery files, the events they hold, and the distinct event keys,
    read with boto3 (not hamari)."""
    s3 = world_client(world, "s3")
    files = events = 0
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=world.trail_bucket):
        for item in page.get("Contents", []):
            if "/CloudTrail/" not in item["Key"]:  # digests live under CloudTrail-Digest/
                continue
            body = s3.get_object(Bucket=world.trail_bucket, Key=item["Key"])["Body"].read()
            records = json.loads(gzip.decompress(body))["Records"]
            files += 1
            events += len(records)
            keys |= {parse_event(r).key for r in records}
    return files, events, keys


def _status(pane: TrailPane) -> str:
    return str(pane.query_one(".pane-status").render())


@pytest.mark.parametrize("store_above", [50_000, 50], ids=["memory", "store"])
async def test_an_s3_load_failing_mid_way_counts_every_file_and_event_once_when_resumed(
    emulator: Any, demo_world: Any, monkeypatch: pytest.MonkeyPatch, store_above: int
) -> None:
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: 0.05)
    monkeypatch.setattr("tui.evidence.trail.STORE_ABOVE", store_above)
    files, events, keys = _bucket(demo_world)
    assert files > 4 and events > len(keys) / 2  # a bucket worth interrupting
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=1.0, trail_source="s3")
    # Three objects are read, then every GetObject answers 500 (past the retries). Several
    # are in flight at once: the three read are not always the listing's first three.
    emulator.faults.add(FaultRule("s3", "GetObject", "server_error", after=3))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)
        failed: list[str] = []
        on_failure = pane.on_failure

        def record(err: Any) -> None:
            on_failure(err)
            failed.append(err.message)

        monkeypatch.setattr(pane, "on_failure", record)
        assert await wait_for(pilot, lambda: bool(failed), 30)
        assert "s3:GetObject" in failed[0]
        ev = pane.evidence
        # Failed part-way, with every object that was read shown (not only those before the
        # first that failed in the listing's order).
        assert ev.pages == 3 < files and ev.has_data(), _status(pane)
        ticker: list[str] = []  # the progress line of the resumed load, batch by batch
        add_batch = pane._add_batch

        def tick(batch: Any, *, follow: bool = False) -> None:
            add_batch(batch, follow=follow)
            if batch.progress is not None and not follow and pane._s3_progress is not None:
                ticker.append(pane._s3_progress.describe())

        monkeypatch.setattr(pane, "_add_batch", tick)
        emulator.faults.clear()  # the fault is lifted; the pane takes the load up again
        pane.wake()
        assert await wait_for(pilot, lambda: pane._complete and not pane.refreshing, 30)
        for _ in range(3):  # and follow polls after it re-read nothing

            def polled(before: int = len(emulator.requests_seen)) -> bool:
                return len(emulator.requests_seen) > before and not pane.refreshing

            assert await wait_for(pilot, polled, 10)
        await pilot.pause(0.5)
        stored = pane._store
        assert (stored is not None) == (store_above < events)
        held = {e.key for e in ev.all_events()}
        assert held == keys and ev.loaded_count == len(keys)
        assert (ev.pages, ev.scanned) == (files, events), _status(pane)
        assert ev.folded == events - len(keys), _status(pane)
        assert f"scanned {events:,} events in {files:,} files" in _status(pane)
        # The resumed load's progress line counted the events read before it too.
        assert f"{files}/{files} objects" in ticker[-1] and f"{events:,} events" in ticker[-1]


async def test_a_lookup_load_failing_mid_way_is_read_again_and_counted_once(
    emulator: Any, demo_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LookupEvents cannot resume from a page of a failed load: it is read again from the
    start, with the failed attempt's counts forgotten (its events stay shown meanwhile)."""
    monkeypatch.setattr("tui.aws.session.Aws._backoff", lambda self, attempt: 0.05)
    app = demo_app(emulator, demo_world, fast=True, demo_refresh_seconds=30.0)
    emulator.faults.add(FaultRule("cloudtrail", "LookupEvents", "server_error", after=3))
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        pane = app.screen.query_one(TrailPane)
        ev = pane.evidence
        assert await wait_for(pilot, lambda: pane.stale and not pane.refreshing, 30)
        assert ev.pages > 0 and ev.has_data() and not pane._complete
        emulator.faults.clear()
        pane.wake()
        assert await wait_for(pilot, lambda: pane._complete and not pane.refreshing, 30)
        assert ev.pages > 3 and ev.duplicates == 0
        # LookupEvents returns each event once: scanned once each, none lost, none twice.
        assert ev.scanned == ev.loaded_count == len({e.key for e in ev.ordered}), _status(pane)
        assert f"scanned {ev.loaded_count:,} events in {ev.pages:,} pages" in _status(pane)
