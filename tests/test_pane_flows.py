"""Pilot tests of the flow-log pane against the seeded emulator: what a user sees on incident 3."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.apptools import demo_app
from tests.hostile import HOSTILE
from tui.app import HamariApp
from tui.demo.runtime import AttachedRuntime
from tui.demo.seed import V5_FIELDS, clients
from tui.demo.server import FaultRule
from tui.dialogs.flow_detail import FlowDetailScreen
from tui.panes.flowrows import FlowRows, columns_for
from tui.panes.flows import FlowsPane
from tui.panes.flowtext import pair_detail
from tui.settings import Settings
from widgets.filter_bar import FilterBar
from widgets.record_table import RecordTable

ESCAPE_BYTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _app(emulator: Any, world: Any) -> HamariApp:
    return HamariApp(
        Settings(demo=True),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
    )


def _app_reading(emulator: Any, world: Any, tmp_path: Any, lines: list[str]) -> HamariApp:
    """The demo app with its flow pane reading these lines from a local file."""
    path = tmp_path / "flows.log"
    path.write_text("\n".join(lines) + "\n")
    return HamariApp(
        Settings(demo=True, flows_source=str(path)),
        clock=lambda: world.now,
        demo_runtime=AttachedRuntime(emulator.url, world),
    )


async def _wait(pilot: Any, predicate: Any, timeout: float = 15.0) -> bool:
    waited = 0.0
    while waited < timeout:
        if predicate():
            return True
        await pilot.pause(0.1)
        waited += 0.1
    return bool(predicate())


async def _open_flows(pilot: Any) -> FlowsPane:
    await pilot.press("3")
    pane = pilot.app.screen.query_one(FlowsPane)
    assert await _wait(pilot, lambda: pane.records and pane._loaded_for is not None)
    await pilot.pause()
    return pane


def _visible_cells(table: RecordTable) -> list[list[str]]:
    rows = table.rows
    return [list(rows[i]) for i in range(min(len(rows), 400))]


def _status(pane: FlowsPane) -> str:
    return str(pane.query_one(".pane-status").render())


def _text(widget: Any) -> str:
    return str(widget.render())


async def test_records_newest_first_with_marked_rejects(emulator: Any, demo_world: Any) -> None:
    app = _app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = await _open_flows(pilot)
        table = pane.table
        rows = table.rows
        assert isinstance(rows, FlowRows)
        starts = [rows.record(i).start or 0 for i in range(len(rows))]
        assert starts == sorted(starts, reverse=True)
        cells = _visible_cells(table)
        rejects = [i for i, row in enumerate(cells) if "✗ REJECT" in row]
        assert rejects, "REJECT rows are marked in words, not only colour"
        assert rows.style(rejects[0]) == "error"
        assert [c.key for c in table.columns] == [c.key for c in columns_for(76)]
        status = _status(pane)
        assert "loaded" in status and "NODATA" in status and "SKIPDATA" in status


async def test_filter_applies_and_malformed_filter_points_at_column(
    emulator: Any, demo_world: Any
) -> None:
    app = _app(emulator, demo_world)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        pane = await _open_flows(pilot)
        total = len(pane.matched)
        await pilot.press("slash")
        bar = pane.query_one(FilterBar)
        assert bar.has_focus
        await pilot.press(*"action=REJECT", "enter")
        assert await _wait(pilot, lambda: len(pane.matched) < total)
        assert pane.matched and all(r.action == "REJECT" for r in pane.matched)
        assert "match" in _status(pane)
        matched = len(pane.table.rows)

        await pilot.press("slash")
        bar.value = ""
        await pilot.press(*"action=REJECT and (dstport=", "enter")
        await pilot.pause()
        assert bar.error is not None and bar.error.startswith("col ")
        assert len(pane.table.rows) == matched, "a malformed filter never changes the table"

        await pilot.press("escape")
        assert await _wait(pilot, lambda: len(pane.matched) == total)


async def test_pairs_view_shows_cross_az_reject_and_nacl_rule(
    emulator: Any, demo_world: Any
) -> None:
    world = demo_world
    app = _app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _open_flows(pilot)
        await pilot.press("p")
        assert await _wait(pilot, lambda: bool(pane.pairs))
        top = pane.pairs[0]
        assert top.sample.cross_az and top.sample.rejected == "reverse"
        table = pane.query_one("#flows-pairs-table", RecordTable)
        assert table.has_focus
        first = list(table.rows[0])
        assert "return ✗" in first and "cross" in first[3]
        detail = _text(pane.query_one("#flows-pair-detail"))
        assert "stateless rule on the return path?" in detail
        assert world.nacl_id in detail and f"rule {world.nacl_deny_rule}" in detail
        assert world.tgw_attachment_id in detail

        await pilot.press("e")
        assert await _wait(pilot, lambda: isinstance(app.screen, FlowDetailScreen))
        nacl = _text(app.screen.query_one("#flow-detail-nacl"))
        assert world.nacl_id in nacl and f"rule {world.nacl_deny_rule}" in nacl
        assert "← decides" in nacl
        fields = _text(app.screen.query_one("#flow-detail-fields"))
        assert "flow-direction" in fields and "REJECT" in fields
        await pilot.press("escape")
        assert not isinstance(app.screen, FlowDetailScreen)

        await pilot.press("a")
        assert await _wait(
            pilot, lambda: len(pane.query_one("#flows-agg-table", RecordTable).rows) > 0
        )
        await pilot.press("a")  # REJECTs by AZ
        await pilot.pause(0.3)
        caption = _text(pane.query_one("#flows-agg-caption"))
        assert "REJECTs by AZ" in caption
        await pilot.press("escape")
        assert pane.view == "records"


async def test_hostile_strings_render_literally(emulator: Any, demo_world: Any) -> None:
    world = demo_world
    sendable = [h for h in HOSTILE if not re.search("[\ud800-\udfff]", h)]  # HTTP can't carry them
    # EC2 answers in XML 1.0, which cannot carry C0 controls: AWS itself never returns them there.
    in_xml = [h for h in sendable if not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", h)]
    boto = clients(world.url, world.region)
    ec2, logs = boto["ec2"], boto["logs"]
    hostile_eni = ec2.create_network_interface(
        SubnetId=world.subnet_ids[world.az_names[0]], Description=" ".join(in_xml)[:255]
    )["NetworkInterface"]["NetworkInterfaceId"]
    stamp = int(world.now.timestamp()) - 120
    values = dict.fromkeys(V5_FIELDS, "-")
    values.update(
        {
            "version": "5",
            "account-id": world.account_id,
            "interface-id": hostile_eni,
            "srcaddr": "10.20.1.99",
            "dstaddr": "10.20.1.10",
            "srcport": "4444",
            "dstport": "22",
            "protocol": "6",
            "packets": "1",
            "bytes": "40",
            "start": str(stamp),
            "end": str(stamp + 60),
            "action": "REJECT",
            "log-status": "OK",
        }
    )
    lines = []
    for i, evil in enumerate(sendable):
        token = re.sub(r"\s", "_", evil) or "x"
        row = dict(values, **{"subnet-id": token, "sublocation-id": f"{token}{i}"})
        lines.append(" ".join(row[f] for f in V5_FIELDS))
    lines.append("[/] [bold]not a flow record")
    logs.create_log_stream(logGroupName=world.log_group_v5, logStreamName="hostile")
    logs.put_log_events(
        logGroupName=world.log_group_v5,
        logStreamName="hostile",
        logEvents=[{"timestamp": stamp * 1000, "message": line} for line in lines],
    )
    app = _app(emulator, world)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        pane = await _open_flows(pilot)
        assert await _wait(pilot, lambda: any(r.interface_id == hostile_eni for r in pane.records))
        assert pane.counts.bad_lines >= 1
        rows = pane.table.rows
        assert isinstance(rows, FlowRows)
        index = next(i for i in range(len(rows)) if "\x1b]52" in (rows.record(i).subnet_id or ""))
        pane.table.move_cursor(index)
        await pilot.pause()
        for y in range(pane.table.size.height):
            text = pane.table.render_line(y).text
            assert not ESCAPE_BYTES.search(text)
        await pilot.press("e")
        assert await _wait(pilot, lambda: isinstance(app.screen, FlowDetailScreen))
        await pilot.pause()
        shown = "".join(_text(w) for w in app.screen.query("Static"))
        assert not ESCAPE_BYTES.search(shown)
        assert "\\x1b" in shown and "[/]" in shown and "[link=https://evil.example]" in shown
        await pilot.press("escape")
    assert app.return_code in (None, 0)


async def test_access_denied_on_filter_log_events_is_inline(emulator: Any, demo_world: Any) -> None:
    emulator.faults.add(FaultRule("logs", "FilterLogEvents", "access_denied"))
    app = _app(emulator, demo_world)
    try:
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await pilot.press("3")
            pane = app.screen.query_one(FlowsPane)
            panel = pane.query_one("ErrorPanel")
            assert await _wait(pilot, lambda: panel.has_class("-shown"))
            assert "logs:FilterLogEvents" in _text(panel)
            assert pane.has_class("-stale")
            metrics = app.screen.query_one("#metrics")
            assert not metrics.query_one("ErrorPanel").has_class("-shown")
    finally:
        emulator.faults.clear()


def test_pair_detail_without_topology_is_plain_text() -> None:
    from tui.models.flowlog import FlowLogParser
    from tui.panes.flowrows import group_pairs

    parser = FlowLogParser()
    lines = [
        "2 1 eni-a 10.0.1.5 192.168.1.1 40000 5432 6 3 180 100 160 ACCEPT OK",
        "2 1 eni-b 192.168.1.1 10.0.1.5 5432 40000 6 3 180 101 160 REJECT OK",
    ]
    records = [r for r in map(parser.feed_line, lines) if r is not None]
    groups = group_pairs(records, {"eni-a": "use1-az1", "eni-b": "use1-az2"})
    assert len(groups) == 1 and groups[0].sample.cross_az
    text = pair_detail(groups[0], None).plain
    assert "stateless rule on the return path?" in text and "eni-b" in text


async def test_more_records_than_memory_holds_are_counted_filtered_and_aggregated_in_duckdb(
    emulator: Any, demo_world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """Past the in-memory cap nothing is lost: the count, the filter's matches and the
    aggregations cover every loaded record, and the table shows the newest matches."""
    import tui.evidence.flows as flows_module

    monkeypatch.setattr(flows_module, "MAX_RECORDS", 300)
    now = int(demo_world.now.timestamp())
    fields = ["version", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport"]
    fields += ["protocol", "packets", "bytes", "start", "end", "action", "log-status"]
    lines = [" ".join(fields)]
    rejects = 0
    for i in range(1000):
        action = "REJECT" if i % 7 == 0 else "ACCEPT"
        rejects += action == "REJECT"
        start = now - 1800 + i
        lines.append(
            f"5 eni-0{i % 3} 10.0.{i % 5}.1 10.1.0.{i % 9} {40000 + i} 443 6 3 180 "
            f"{start} {start + 60} {action} OK"
        )
    app = _app_reading(emulator, demo_world, tmp_path, lines)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _open_flows(pilot)
        assert await _wait(pilot, lambda: pane.store is not None and pane.loaded_count == 1000)
        assert len(pane.records) == 300  # memory holds the newest 300
        await _wait(pilot, lambda: "1,000 loaded" in _status(pane))
        assert "dropped" not in _status(pane)
        await pilot.press("slash")
        await pilot.press(*"action=REJECT")
        await pilot.press("enter")
        assert await _wait(pilot, lambda: f"{rejects:,} match" in _status(pane))
        assert len(pane.matched) == rejects <= 300  # every REJECT, not only the newest 300's
        newest = max(r.start for r in pane.matched)
        assert newest == now - 1800 + 994  # the last REJECT of the file
        pane.agg_kind = "by-action"
        pane.action_aggregate()
        caption = pane.query_one("#flows-agg-caption")
        assert await _wait(pilot, lambda: f"over {rejects:,} filtered" in _text(caption))
        agg = _visible_cells(pane.query_one("#flows-agg-table", RecordTable))
        assert agg[0][0] == "REJECT" and agg[0][1] == f"{rejects:,}"


async def test_without_the_store_the_oldest_are_dropped_and_the_status_says_so(
    emulator: Any, demo_world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    import tui.evidence.flows as flows_module
    import tui.models.flowengine as engine_module

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(flows_module, "MAX_RECORDS", 300)
    monkeypatch.setattr(engine_module, "FlowEngine", broken)
    now = int(demo_world.now.timestamp())
    lines = ["version interface-id srcaddr dstaddr start end action log-status"]
    lines += [
        f"5 eni-01 10.0.0.1 10.0.0.2 {now - 900 + i} {now - 840 + i} ACCEPT OK" for i in range(500)
    ]
    app = _app_reading(emulator, demo_world, tmp_path, lines)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _open_flows(pilot)
        assert await _wait(pilot, lambda: "oldest 200 dropped" in _status(pane))
        assert pane.store is None and len(pane.records) == 300
        assert "No space left on device" in (pane.counts.store_error or "")


async def test_pairs_find_a_forward_leg_older_than_memory_holds(
    emulator: Any, demo_world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    """The ACCEPTed request was loaded long before its REJECTed response: memory no longer has
    it, the store does, and the pairs view still shows the conversation."""
    import tui.evidence.flows as flows_module

    monkeypatch.setattr(flows_module, "MAX_RECORDS", 300)
    now = int(demo_world.now.timestamp())
    fields = "version interface-id srcaddr dstaddr srcport dstport protocol packets bytes"
    lines = [fields + " start end action log-status"]

    def line(src: str, dst: str, sport: int, dport: int, at: int, action: str) -> str:
        return f"5 eni-01 {src} {dst} {sport} {dport} 6 3 180 {at} {at + 60} {action} OK"

    lines.append(line("10.9.9.9", "192.168.7.7", 50000, 5432, now - 1800, "ACCEPT"))
    lines += [
        line("10.0.0.1", "10.1.0.1", 40000 + i, 443, now - 1700 + i, "ACCEPT") for i in range(600)
    ]
    lines.append(line("192.168.7.7", "10.9.9.9", 5432, 50000, now - 600, "REJECT"))
    app = _app_reading(emulator, demo_world, tmp_path, lines)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _open_flows(pilot)
        assert await _wait(pilot, lambda: pane.loaded_count == 602)
        assert all(r.srcaddr != "10.9.9.9" for r in pane.records)  # the request left memory
        await pilot.press("p")
        table = pane.query_one("#flows-pairs-table", RecordTable)
        assert await _wait(pilot, lambda: len(table.rows) == 1)
        assert "10.9.9.9 → 192.168.7.7:5432" in " ".join(_visible_cells(table)[0])
        # Export writes every loaded record, streamed from the store, not the 300 in memory.
        out = tmp_path / "all.ndjson"
        pane._export_to(str(out))
        assert await _wait(pilot, lambda: out.exists() and out.read_text().count("\n") == 602)
        # The findings pair the same records (the request is in what they are given).
        assert await _wait(
            pilot, lambda: any(r.srcaddr == "10.9.9.9" for r in pane.findings_records)
        )


def test_export_records_csv_and_ndjson_from_a_list_or_a_stream(tmp_path: Any) -> None:
    import csv
    import json
    from pathlib import Path

    from tui.evidence.flows import export_records
    from tui.models.flowlog import FlowLogParser

    a = FlowLogParser(["version", "srcaddr", "action"]).feed_line("5 10.0.0.1 REJECT")
    b = FlowLogParser(["version", "dstaddr", "action"]).feed_line("5 =HYPERLINK(x) ACCEPT")
    assert a is not None and b is not None
    where, n = export_records(str(tmp_path / "list.csv"), [a, b])
    rows = list(csv.reader(Path(where).read_text(encoding="utf-8").splitlines()))
    assert n == 2 and rows[0] == ["version", "srcaddr", "action", "dstaddr"]
    assert rows[2][3] == "'=HYPERLINK(x)"  # a spreadsheet must not run it
    where, n = export_records(str(tmp_path / "stream.csv"), iter([a, a]))
    header = Path(where).read_text(encoding="utf-8").splitlines()[0]
    assert n == 2 and header.split(",") == list(a.FORMAT)
    where, n = export_records(str(tmp_path / "x.ndjson"), iter([a, b]))
    lines = [json.loads(line) for line in Path(where).read_text(encoding="utf-8").splitlines()]
    assert n == 2 and lines[1] == {"version": 5, "dstaddr": "=HYPERLINK(x)", "action": "ACCEPT"}
    assert export_records(str(tmp_path / "none.csv"), iter([]))[1] == 0


async def test_a_failing_store_query_falls_back_to_memory_and_says_so(
    emulator: Any, demo_world: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    import tui.evidence.flows as flows_module
    import tui.models.flowengine as engine_module

    monkeypatch.setattr(flows_module, "MAX_RECORDS", 300)
    now = int(demo_world.now.timestamp())
    lines = ["version interface-id srcaddr dstaddr start end action log-status"]
    lines += [
        f"5 eni-01 10.0.0.1 10.0.0.2 {now - 900 + i} {now - 840 + i} "
        f"{'REJECT' if i % 2 else 'ACCEPT'} OK"
        for i in range(500)
    ]
    app = _app_reading(emulator, demo_world, tmp_path, lines)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _open_flows(pilot)
        assert await _wait(pilot, lambda: pane.loaded_count == 500)

        def out_of_memory(*_: Any, **__: Any) -> Any:
            raise MemoryError("could not allocate block of size 256.0 KiB")

        monkeypatch.setattr(engine_module.FlowEngine, "newest", out_of_memory)
        await pilot.press("slash")
        await pilot.press(*"action=REJECT")
        await pilot.press("enter")
        assert await _wait(pilot, lambda: "150 match" in _status(pane))  # REJECTs in memory
        notes = [n.message for n in app._notifications]
        assert any("could not allocate" in m and "in memory only" in m for m in notes)


async def test_a_file_being_read_is_named_literally_with_how_far_it_is(
    emulator: Any, demo_world: Any
) -> None:
    """While DuckDB reads a local file the status says which and how far; the name is a
    path from the user's disk, shown as text (never markup, no escape sequences)."""
    app = _app(emulator, demo_world)
    async with app.run_test(size=(120, 36)) as pilot:
        pane = await _open_flows(pilot)
        name = "/tmp/[bold]flows[/]\x1b]52;c;eA==\x07.log.gz 43%"
        pane._update_status(loading=True, reading=name)
        await pilot.pause()
        shown = _status(pane)
        assert shown.startswith("⟳ reading /tmp/[bold]flows[/]") and "43% · " in shown
        assert not ESCAPE_BYTES.search(shown)


@pytest.mark.parametrize("source", ["files", "cloudwatch"])
async def test_a_full_store_folder_stops_the_load_keeps_what_is_stored_and_says_so(
    emulator: Any, demo_world: Any, tmp_path: Any, monkeypatch: Any, source: str
) -> None:
    """The store folder fills while the flow pane loads (a folder of files, or records
    streamed from CloudWatch Logs): the pane says "Store folder full" with the fix, keeps
    what it stored searchable (not dropped to the newest in memory), names what it did not
    read, and does not read the source again on later refreshes; a new window starts over."""
    import tui.evidence.flows as flows_module
    from tui.models import scratch
    from tui.panes.base import ErrorPanel
    from tui.screens.main import TextPrompt

    monkeypatch.setattr(flows_module, "MAX_RECORDS", 50)
    checks: list[int] = []

    def short(folder: str, needed: int) -> str | None:
        checks.append(needed)  # the first write is allowed, every later one is refused
        return "only 1 MB left" if len(checks) > 1 else None

    monkeypatch.setattr(scratch, "short_of_room", short)
    settings: dict[str, Any] = {"demo_refresh_seconds": 1.0}
    if source == "files":
        now = int(demo_world.now.timestamp())
        for f in range(4):
            lines = ["version interface-id srcaddr dstaddr start end action log-status"]
            lines += [
                f"5 eni-01 10.0.0.1 10.0.0.2 {now - 900 + f * 100 + i} {now - 840 + f * 100 + i}"
                " ACCEPT OK"
                for i in range(100)
            ]
            (tmp_path / f"f{f}.log").write_text("\n".join(lines) + "\n")
        settings["flows_source"] = str(tmp_path)
    app = demo_app(emulator, demo_world, **settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("3")
        pane = app.screen.query_one(FlowsPane)
        panel = pane.query_one(ErrorPanel)
        if source == "cloudwatch":  # the window loads; then follow mode reads new records
            assert await _wait(pilot, lambda: pane._loaded_for is not None, 30)
            assert pane.store is not None and len(checks) == 1
            stamp = int(demo_world.now.timestamp()) - 60
            values = dict.fromkeys(V5_FIELDS, "-")
            values.update({"version": "5", "interface-id": "eni-0late", "action": "ACCEPT"})
            values.update({"start": str(stamp), "end": str(stamp + 30), "log-status": "OK"})
            logs = clients(demo_world.url, demo_world.region)["logs"]
            logs.create_log_stream(logGroupName=demo_world.log_group_v5, logStreamName="late")
            logs.put_log_events(
                logGroupName=demo_world.log_group_v5,
                logStreamName="late",
                logEvents=[
                    {
                        "timestamp": stamp * 1000 + i,
                        "message": " ".join(values[f] for f in V5_FIELDS),
                    }
                    for i in range(20)
                ],
            )
            pane.wake()
        assert await _wait(pilot, lambda: "Store folder full" in _text(panel), 30)
        assert "TMPDIR" in _text(panel) and "bug" not in _text(panel)
        store = pane.store
        assert store is not None  # kept, not closed for a memory-only fallback
        kept = store.count()
        assert kept >= 50 and pane.loaded_count == kept
        assert "dropped" not in _status(pane)
        assert "loading stopped: store folder full" in _status(pane)
        if source == "files":
            assert kept == 100  # the first file; the three others are named, not read
            unread = [s for s in pane.skipped_items() if "store folder is full" in s.reason]
            assert len(unread) == 3
        else:
            assert pane.counts.unstored == 20 and "20 not stored (disk full)" in _status(pane)
        reads = len(emulator.calls("logs", "FilterLogEvents"))
        tries = len(checks)
        for _ in range(2):  # r: nothing is read again into the full folder, and still said
            pane.wake()
            await pilot.pause(1.2)
            assert panel.has_class("-shown") and "Store folder full" in _text(panel)
            assert len(checks) == tries and pane.store is store and store.count() == kept
            assert len(emulator.calls("logs", "FilterLogEvents")) == reads
        # A new window starts over (the folder has room again): the panel goes.
        monkeypatch.setattr(scratch, "short_of_room", lambda folder, needed: None)
        await pilot.press("w")
        assert await _wait(pilot, lambda: isinstance(app.screen, TextPrompt), 3)
        await pilot.press(*"2h", "enter")
        assert await _wait(pilot, lambda: not panel.has_class("-shown"), 30)
        assert "loading stopped" not in _status(pane)


@pytest.mark.parametrize(
    ("operation", "records_load"),
    [
        ("DescribeFlowLogs", False),  # where the records are is unknown: said, not "none exist"
        ("DescribeNetworkAcls", True),
        ("DescribeSubnets", True),
        ("DescribeNetworkInterfaces", True),  # was required: the pane showed no record at all
    ],
)
async def test_one_refused_describe_is_named_and_the_pane_recovers_when_granted(
    emulator: Any, demo_world: Any, operation: str, records_load: bool
) -> None:
    """AccessDenied on one EC2 Describe* the flow pane's network context needs: the pane says
    which part is missing and why (never that flow logs do not exist), shows the records it
    can, and once the permission is granted the next refresh fills in what was missing."""
    emulator.faults.add(FaultRule("ec2", operation, "access_denied"))
    app = demo_app(emulator, demo_world, demo_refresh_seconds=1.0)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.press("3")
        pane = app.screen.query_one(FlowsPane)
        warning = pane.query_one("#flows-warning")
        assert await _wait(pilot, lambda: pane.loaded_at is not None, 30)
        said = _text(warning)
        assert warning.has_class("-shown") and f"ec2:{operation}" in said
        assert "No VPC flow logs exist" not in said and "create-flow-logs" not in said
        if operation == "DescribeFlowLogs":  # no --flows-source was given: naming one helps
            assert "name the source: --flows-source cwl:LOG_GROUP" in said, said
        assert (pane.loaded_count > 0) is records_load
        emulator.faults.clear()
        pane.wake()
        assert await _wait(pilot, lambda: not warning.has_class("-shown"), 30)
        assert await _wait(pilot, lambda: pane.loaded_count > 0, 30)
        assert not pane.topology.warnings
