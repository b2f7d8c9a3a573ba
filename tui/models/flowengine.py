"""A DuckDB-backed store for loaded flow records, and the fast path for flow-log files.

A bastion has one gigabyte of memory and two cores; a day of flow logs is millions of records.
Holding those as Python tuples costs about a kilobyte each, and re-running a Python predicate
over a million of them takes seconds, so loaded records live in an embedded columnar engine
instead: DuckDB parses S3-style text (gzip or plain, header line first) and Parquet itself, keeps
the columns compressed, spills to a temp directory above ``memory_limit``, and answers a
re-filter or a re-aggregation of a million records in tens of milliseconds. The filter language
is not duplicated here: :meth:`FlowFilter.to_sql` compiles the same AST to DuckDB SQL, and when
a filter cannot be compiled (an IPv6 CIDR) the engine says so and falls back to the pure
predicate, the authority on what a filter means.

Counts match the pure reader (:func:`tui.models.flowlog.read_flow_logs`): lines DuckDB rejects
are re-read by :class:`FlowLogParser` (so a trailing ``# comment`` still parses and a bad line is
counted once), and a file DuckDB cannot read whole (a truncated gzip, CloudWatch JSON) is read by
the pure reader, which keeps what precedes the break and counts the file as bad.

:func:`scan_files` is the streaming path of ``hamari flows FILE --filter ...``: it never
stores the records. When the filter pins a field to one literal (``action=REJECT``,
``dstport=443``), :mod:`tui.models.flowscan` parses only the lines that can match; otherwise
DuckDB reads the file with the SQL filter pushed into the scan.

No UI here; DuckDB is imported when an engine is created (no pyarrow: records parsed in
Python go in through DuckDB's own appender).

Size (~1,200 lines): the store and the streaming scan share their DuckDB SQL; the scan (scan_files)
is the seam.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import sys
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tui.models.flowagg import AGGREGATIONS, AggRow, finish, key_function
from tui.models.flowagg import aggregate as pure_aggregate
from tui.models.flowfilter import FilterError, FlowFilter
from tui.models.flowlog import (
    _CHUNK,
    FIELDS,
    FIELDS_BY_ATTR,
    MAX_EPOCH,
    MAX_INT,
    PROTOCOL_NAMES,
    TIME_FIELDS,
    FlowLogParser,
    FlowRecord,
    ParseStats,
    _lines_from_chunks,
    _looks_like_header,
    _read_one,
    _sidecar_format,
    file_error,
    guess_layout,
    iter_files,
    layout_for,
)
from tui.models.flowscan import (
    Formatter,
    RawBlock,
    covers,
    helper_worth_it,
    literals,
    scan_prefiltered,
    status_column,
)
from tui.models.gunzip import _decompressobj
from tui.models.gunzip import gunzip as _gunzip

if TYPE_CHECKING:  # annotations only: a scan of files needs neither
    from tui.models.focus import FocusScope
    from tui.models.network import Topology

__all__ = ["NOT_READ_FULL", "SQL_TYPES", "FlowEngine", "scan_files"]

#: Why a file was not read: the store's folder had too little room left (see ``_room_for``).
NOT_READ_FULL: Final = "not read: the store folder is full"

#: DuckDB column type per field kind.
SQL_TYPES: Final[dict[str, str]] = {"int": "BIGINT", "str": "VARCHAR", "ip": "VARCHAR"}

_TABLE: Final = "flow_store"
_VIEW: Final = "flows"
_FILE_COL: Final = "_file"
_BYTES_PER_RECORD: Final = 600  # an insert writes a record twice: write-ahead log, database
_SEQ: Final = "_seq"  # arrival order of records added by add() (files keep the row order)
_ROW: Final = "_row"  # load order, in the view
# Rows turned into Python tuples per fetch when records are built for the app: DuckDB holds the
# GIL while it converts a batch (10,000 rows of a v5 record took ~50 ms, a frozen UI meanwhile).
_FETCH_ROWS: Final = 1000


def _attr(name: str) -> str:
    """Column name of a field: the Athena/attribute spelling (``az_id``); unknown ones too."""
    spec = FIELDS.get(name) or FIELDS_BY_ATTR.get(name)
    return spec.attr if spec is not None else name.replace("-", "_")


def _aws(column: str) -> str:
    """AWS name (``az-id``) of a column; unknown columns keep their (underscored) name."""
    spec = FIELDS_BY_ATTR.get(column)
    return spec.name if spec is not None else column


def _type(name: str) -> str:
    spec = FIELDS.get(name) or FIELDS_BY_ATTR.get(name)
    return SQL_TYPES[spec.kind] if spec is not None else "VARCHAR"


def _quote(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_FIRST_LINE_MAX: Final = 1 << 16  # a header of every field AWS defines is ~700 bytes


def _first_line(path: Path) -> tuple[str, bytes, bool]:
    """(kind, first line, gzip?) where kind is ``parquet``, ``json``, ``text`` or ``empty``."""
    with path.open("rb") as fh:
        head = fh.read(_CHUNK)
    if head[:4] == b"PAR1":
        return "parquet", b"", False
    gz = head[:2] == b"\x1f\x8b"
    if gz:
        try:
            # Only what the first line needs: the whole megabyte read inflates to ~9 MB, which
            # cost 50 ms before the scan, in a run of 0.4 s.
            head = _decompressobj().decompress(head, _FIRST_LINE_MAX)
        except Exception:
            return "text", b"", True  # let the reader fail and count it
    stripped = head.lstrip()
    if not stripped:
        return "empty", b"", gz
    if stripped[:1] in (b"{", b"["):
        return "json", b"", gz
    return "text", head.split(b"\n", 1)[0], gz


def _file_format(
    path: Path, first: bytes, fields: Sequence[str] | None, stats: ParseStats
) -> tuple[tuple[str, ...] | None, bool]:
    """(field names, has header) of a text file; names None when no layout is known. A layout
    guessed from the field count is noted in ``stats``, as the parser notes it."""
    parts = first.decode("utf-8", "replace").split("#", 1)[0].split()
    if parts and (parts[0] in FIELDS or parts[0] in FIELDS_BY_ATTR) and _looks_like_header(parts):
        return layout_for(tuple(parts)).fields, True
    if fields is not None:
        return layout_for(tuple(fields)).fields, False
    side = _sidecar_format(path)
    if side is not None:
        return layout_for(side).fields, False
    guess = guess_layout(parts)
    if guess is None:
        return None, False
    if guess[1]:
        stats.guess(str(path), guess[1])
    return guess[0], False


def _csv_columns(names: Sequence[str]) -> list[tuple[str, str]]:
    """(column, type) for read_csv; a repeated name keeps its first position, like the parser."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        col = _attr(name)
        if col in seen:
            col = f"_dup{i}_{col}"
        seen.add(col)
        out.append((col, _type(name)))
    return out


def _read_csv_sql(path: Path, columns: Sequence[tuple[str, str]], header: bool, gz: bool) -> str:
    """DuckDB's reader of a flow-log text file; every column as text (see :func:`_text_view`)."""
    spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c, _ in columns)
    return (
        f"read_csv({_lit(str(path))}, delim=' ', header={str(header).lower()}, nullstr='-', "
        f"quote='', escape='', comment='#', columns={{{spec}}}, auto_detect=false, "
        f"new_line='\\n', compression={_lit('gzip' if gz else 'none')}, ignore_errors=true, "
        "store_rejects=true, rejects_table='hamari_rejects', rejects_scan='hamari_reject_scans')"
    )


def _int_ok(col: str, top: int) -> str:
    """SQL: the text of a number column reads as the pure parser reads it.

    DuckDB's cast is lenient where ``int()`` is not (``5.5`` is 6, ``1e3`` 1000, ``0x10`` 16)
    and strict where it is not (more than 19 digits): only plain digits short enough to be
    below ``top`` are left to DuckDB; any other row goes to the pure parser.
    """
    c = _quote(col)
    width = len(str(top)) - 1
    return f"({c} IS NULL OR (length({c}) <= {width} AND NOT {c} GLOB '*[!0-9]*'))"


def _text_view(path: Path, names: Sequence[str], header: bool, gz: bool) -> tuple[str, list[str]]:
    """``(SELECT fields..., _raw, _ok FROM read_csv(...))`` and the field columns it has.

    Numbers are read as text and converted here, so that ``_ok`` can say whether DuckDB read
    the row as the pure parser does; ``_raw`` is the line itself (from the text of every
    column), for the rows that are not ``_ok`` and for export.
    """
    columns = _csv_columns(names)
    keep = [c for c, _ in columns if not c.startswith("_dup")]
    exprs, checks = [], []
    for name, (col, typ) in zip(names, columns, strict=True):
        if typ == "BIGINT":
            top = MAX_EPOCH if name in TIME_FIELDS else MAX_INT
            checks.append(_int_ok(col, top))
            if not col.startswith("_dup"):
                exprs.append(f"TRY_CAST({_quote(col)} AS BIGINT) AS {_quote(col)}")
        elif not col.startswith("_dup"):
            exprs.append(_quote(col))
    raw = "concat_ws(' ', " + ", ".join(f"coalesce({_quote(c)}, '-')" for c, _ in columns) + ")"
    ok = " AND ".join(checks) or "TRUE"
    src = _read_csv_sql(path, columns, header, gz)
    return f"(SELECT {', '.join(exprs)}, {raw} AS _raw, {ok} AS _ok FROM {src})", keep


#: Bytes after which DuckDB's reading of a line may differ from the pure parser's: non-ASCII
#: (invalid UTF-8 becomes ``?`` in DuckDB, U+FFFD here; Unicode spaces split here only),
#: control characters (a tab or form feed splits here only), ``#`` (a comment leaves empty
#: columns that DuckDB fills with NULL) and a space at either end of a line or beside another.
_PLAIN_BYTES: Final = bytes(range(0x21, 0x7F)).replace(b"#", b"") + b" \n"
_UNEVEN: Final = (b"  ", b"\n ", b" \n")


def _plain_text(path: Path, gz: bool) -> bool:
    """Whether DuckDB may read the file: only bytes both readers split the same way.

    A pass over the (decompressed) bytes at memory speed; a file that fails it is read by the
    pure parser, so that the engine never decides what a line means.
    """
    prev = b"\n"
    try:
        with path.open("rb") as fh:
            chunks = _gunzip(fh) if gz else iter(lambda: fh.read(_CHUNK * 8), b"")
            for chunk in chunks:
                if chunk.translate(None, _PLAIN_BYTES):
                    return False
                edge = prev[-1:] + chunk[:1]
                if edge in _UNEVEN or any(u in chunk for u in _UNEVEN):
                    return False
                prev = chunk
    except Exception:  # a truncated gzip: the pure reader keeps what precedes the break
        return False
    return not prev.endswith(b" ")


class _NotPlain(Exception):
    """DuckDB's reading of a file may differ from the pure parser's: the pure reader takes it."""


def _reparse(
    rejected: Sequence[tuple[Any, Any]], names: Sequence[str], path: Path
) -> tuple[list[FlowRecord], ParseStats]:
    """Give lines DuckDB rejected to the pure parser, which decides what they are (a record
    with a trailing comment, a bad line, a header), with their line numbers; counted apart."""
    scratch = ParseStats()
    parser = FlowLogParser(names, stats=scratch, source=str(path))
    recovered: list[FlowRecord] = []
    for lineno, text in rejected:
        parser._lineno = int(lineno) - 1
        rec = parser.feed_line(str(text))
        if rec is not None:
            recovered.append(rec)
    return recovered, scratch


class _Counting:
    """``SELECT log_status, count(*)`` over a file, and the lines DuckDB rejected in that scan,
    run in a thread on its own cursor (the rejects are that cursor's temporary tables)."""

    def __init__(self, cursor: Any, src: str, status: str) -> None:
        import threading

        self._rows: list[tuple[Any, Any]] = []
        self._rejected: list[tuple[Any, Any]] = []
        self._error: BaseException | None = None
        self._cursor = cursor
        self._thread = threading.Thread(
            target=self._run, args=(src, status), name="hamari-count", daemon=True
        )
        self._thread.start()

    def _run(self, src: str, status: str) -> None:
        try:
            cur = self._cursor
            self._rows = cur.execute(f"SELECT {status}, count(*) FROM {src} GROUP BY 1").fetchall()
            self._rejected = cur.execute(
                "SELECT line, any_value(csv_line) FROM hamari_rejects GROUP BY line ORDER BY line"
            ).fetchall()
        except BaseException as exc:  # raised in the caller's thread
            self._error = exc

    def result(self) -> tuple[list[tuple[Any, Any]], list[tuple[Any, Any]]]:
        """(counts by log status, (line number, text) of each rejected line)."""
        self._thread.join()
        self._cursor.close()  # and its temporary tables
        if self._error is not None:
            raise self._error
        return self._rows, self._rejected


def duckdb_errors() -> type[Exception]:
    """DuckDB's base error (a conversion or a malformed line), imported when first needed."""
    import duckdb

    return duckdb.Error


def _interrupted(exc: BaseException) -> bool:
    import duckdb

    return isinstance(exc, duckdb.InterruptException)


def _valid(value: Any) -> Any:
    """``value`` with a string made valid UTF-8 (a lone surrogate becomes U+FFFD)."""
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _record_class_for(columns: Sequence[str]) -> Any:
    return layout_for(tuple(_aws(c) for c in columns)).record_class


def _raw_sql(columns: Sequence[str], table: str = "") -> str:
    """The record's line rebuilt from its columns (``-`` for NULL), by DuckDB: a Python join
    per row cost more than the whole scan. ``table`` qualifies the columns (``f.``)."""
    return (
        "concat_ws(' ', "
        + ", ".join(f"coalesce(CAST({table}{_quote(c)} AS VARCHAR), '-')" for c in columns)
        + ")"
    )


class FlowEngine:
    """Loaded flow records in DuckDB, with a memory limit.

    Example:
        >>> engine = FlowEngine(memory_limit="256MB")  # doctest: +SKIP
        >>> stats = engine.load_files(["flows/"])  # doctest: +SKIP
        >>> rows = engine.aggregate("rejects-by-az", parse_filter("action=REJECT"))  # doctest: +SKIP

    Attributes:
        stats: Counters over every load (records, bad lines and files, NODATA, SKIPDATA).
        fallback: Why the last query or aggregation ran in Python instead of SQL, or None.
    """

    def __init__(
        self,
        memory_limit: str = "256MB",
        temp_directory: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        on_disk: bool = True,
    ) -> None:
        """Create an empty store.

        Args:
            memory_limit: DuckDB ``memory_limit``; above it DuckDB spills to the temp directory.
            temp_directory: Where the store and spill files go (a private directory is created
                in it and removed by :meth:`close`); the system temp directory if None.
            threads: DuckDB worker threads (default: DuckDB's choice, the core count).
            on_disk: Keep the table in a database file in the temp directory (compressed and
                evictable, so resident memory stays bounded); False keeps it in memory.
        """
        import shutil  # here, like duckdb: a scan of files (`hamari flows FILE`) opens no store
        import tempfile

        import duckdb

        from tui.models.scratch import make_dir

        self._dir = (
            make_dir("hamari-flows-")
            if temp_directory is None
            else tempfile.mkdtemp(prefix="hamari-flows-", dir=temp_directory)
        )
        # Removed at exit even if close() never runs (an app quitting while a query is busy).
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        database = self._database = (
            os.path.join(self._dir, "flows.duckdb") if on_disk else ":memory:"
        )
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            "temp_directory": os.path.join(self._dir, "spill"),
            "preserve_insertion_order": True,
        }
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(database, config=config)
        # Progress is tracked (for progress()) but never printed.
        self.con.execute("SET enable_progress_bar = true")
        self.con.execute("SET enable_progress_bar_print = false")
        self.stats = ParseStats()
        self.fallback: str | None = None
        self._columns: list[str] = [_FILE_COL, _SEQ]
        self._seq = 0
        self.inserted_as_text = 0  # records of add() that went in as text (the fast path)
        self._files = itertools.count(1)
        self.con.execute(f"CREATE TABLE {_TABLE} ({_FILE_COL} INTEGER, {_SEQ} BIGINT)")
        self._refresh_view()

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close DuckDB and remove the store and spill files."""
        try:
            self.con.close()
        finally:
            self._cleanup()

    def __enter__(self) -> FlowEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """Stored field columns (attribute spelling), in first-seen order."""
        return [c for c in self._columns if c not in (_FILE_COL, _SEQ)]

    def _ensure_columns(self, columns: Iterable[tuple[str, str]]) -> None:
        added = False
        for col, typ in columns:
            if col not in self._columns and not col.startswith("_dup"):
                self.con.execute(f"ALTER TABLE {_TABLE} ADD COLUMN {_quote(col)} {typ}")
                self._columns.append(col)
                added = True
        if added:
            self._refresh_view()

    def _refresh_view(self) -> None:
        # Every known field is queryable; fields no loaded file has read as NULL.
        missing = [
            f"CAST(NULL AS {SQL_TYPES[s.kind]}) AS {_quote(s.attr)}"
            for s in FIELDS.values()
            if s.attr not in self._columns
        ]
        extra = (", " + ", ".join(missing)) if missing else ""
        self.con.execute(
            f"CREATE OR REPLACE VIEW {_VIEW} AS "
            f"SELECT *, coalesce({_SEQ}, rowid) AS {_ROW}{extra} FROM {_TABLE}"
        )

    # -- loading -----------------------------------------------------------------------------

    def load_files(
        self,
        paths: str | Path | Iterable[str | Path],
        fields: Sequence[str] | None = None,
        *,
        stats: ParseStats | None = None,
        threads: int | None = None,
    ) -> ParseStats:
        """Load flow-log files and folders (text or gzip with or without header, Parquet, JSON).

        Args:
            paths: A file, a folder (read recursively) or several.
            fields: The format of files without a header line (``LogFormat`` names); if None,
                a ``name.format`` sidecar or the AWS default (14 or 36 fields) is used.
            stats: Counters of this load alone, kept instead of the engine's :attr:`stats`.
            threads: DuckDB worker threads for this load only (an app leaves a core to its
                event loop); the engine's setting otherwise.

        Returns:
            The counters updated (``stats``, or the engine's running :attr:`stats`).
        """
        running = self.stats
        if stats is not None:
            self.stats = stats
        before = None
        if threads is not None:
            before = self.con.execute("SELECT current_setting('threads')").fetchone()
            self.con.execute(f"SET threads = {int(threads)}")
        try:
            return self._load_files(paths, fields)
        finally:
            self.stats = running
            if before is not None:
                self.con.execute(f"SET threads = {int(before[0])}")

    def progress(self) -> float | None:
        """How far the running statement is (percent), from any thread; None when unknown."""
        try:
            done = float(self.con.query_progress())
        except Exception:  # closed, or an older DuckDB
            return None
        return done if done >= 0 else None

    def interrupt(self) -> None:
        """Stop the running statement (from any thread); it raises in its own thread."""
        with contextlib.suppress(Exception):
            self.con.interrupt()

    def keep_window(self, lo: int, hi: int) -> tuple[int, int | None, int | None]:
        """Delete the records outside ``[lo, hi]`` (epoch seconds), as the pane windows files.

        A record stays when it ends at or after ``lo`` and starts at or before ``hi`` (a missing
        time keeps it). Returns how many were deleted, and the earliest start and latest start
        or end of every record before the deletion (None when no record has a start).
        """
        have = set(self._columns)
        start = "start" if "start" in have else "NULL"
        end = '"end"' if "end" in have else "NULL"
        row = self.con.execute(
            f"SELECT min({start}), greatest(max({start}), max({end})) FROM {_TABLE}"
        ).fetchone()
        first, last = (row[0], row[1]) if row and row[0] is not None else (None, None)
        keep = (
            f"({end} IS NULL OR {end} >= {int(lo)}) AND ({start} IS NULL OR {start} <= {int(hi)})"
        )
        gone = self.con.execute(f"DELETE FROM {_TABLE} WHERE NOT ({keep})").fetchone()
        outside = int(gone[0]) if gone else 0
        return (
            outside,
            (int(first) if first is not None else None),
            (int(last) if last is not None else None),
        )

    def _load_files(
        self, paths: str | Path | Iterable[str | Path], fields: Sequence[str] | None
    ) -> ParseStats:
        files = iter_files(paths, skipped=self.stats.skipped)
        for path in files:
            file_id = next(self._files)
            mark = self.stats.mark()
            try:
                kind, first, gz = _first_line(path)
            except OSError as exc:
                self.stats.file_done(str(path), mark, file_error(exc, path))
                continue
            error: str | None = None
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            try:
                self._room_for(size * (10 if gz else 1))  # raises when the disk is short
            except OSError:
                # This file and every one after it are named, not left out in silence.
                self.stats.file_done(str(path), mark, NOT_READ_FULL)
                for rest in files:
                    self.stats.file_done(str(rest), self.stats.mark(), NOT_READ_FULL)
                raise
            if kind == "empty":  # or a gzip too short to inflate: the pure reader judges it
                error = self._load_pure(path, file_id, fields)
            elif kind == "parquet":
                if not self._load_parquet(path, file_id):
                    error = self._load_pure(path, file_id, fields)
            else:
                names, header = (
                    _file_format(path, first, fields, self.stats)
                    if kind == "text"
                    else (None, False)
                )
                if names is None or not self._load_text(path, file_id, names, header, gz):
                    error = self._load_pure(path, file_id, fields)
            self.stats.file_done(str(path), mark, error)
        return self.stats

    def _load_text(
        self, path: Path, file_id: int, names: tuple[str, ...], header: bool, gz: bool
    ) -> bool:
        """Load a text file with DuckDB; False (nothing loaded) when the pure reader must read it:
        bytes DuckDB splits otherwise, a number DuckDB reads otherwise, a second header."""
        if not _plain_text(path, gz):
            return False
        view, keep = _text_view(path, names, header, gz)
        self._ensure_columns((c, t) for c, t in _csv_columns(names) if c in keep)
        select = ", ".join(_quote(c) for c in keep)
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"INSERT INTO {_TABLE} ({_FILE_COL}, {select}) SELECT {file_id}, {select} "
                f"FROM {view} WHERE CASE WHEN _ok THEN TRUE ELSE error('hamari: not plain') END"
            )
            rejected = con.execute(
                "SELECT line, any_value(csv_line) FROM hamari_rejects GROUP BY line ORDER BY line"
            ).fetchall()
            recovered, scratch = _reparse(rejected, names, path)
            if scratch.headers:  # another header: the lines after it have another layout
                raise _NotPlain
        except Exception as exc:
            con.execute("ROLLBACK")
            if _interrupted(exc):  # stopped (interrupt()): not a file for the pure reader
                raise
            return False
        con.execute("COMMIT")
        con.execute("DROP TABLE IF EXISTS hamari_rejects")
        con.execute("DROP TABLE IF EXISTS hamari_reject_scans")
        self.stats.headers += int(header)
        self.stats.bad_lines += scratch.bad_lines
        for bad in scratch.samples:
            self.stats.note(bad.source, bad.lineno, bad.reason, bad.text)
        if recovered:
            self._insert_records(recovered, file_id)
        self._count_statuses(file_id)
        return True

    def _count_statuses(self, file_id: int) -> None:
        rows = self.con.execute(
            f"SELECT log_status, count(*) FROM {_VIEW} WHERE {_FILE_COL} = ? GROUP BY 1",
            [file_id],
        ).fetchall()
        _add_statuses(self.stats, rows)

    def _load_parquet(self, path: Path, file_id: int) -> bool:
        con = self.con
        try:
            names = [
                str(r[0])
                for r in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})"
                ).fetchall()
            ]
            types = {
                str(r[0]): str(r[1])
                for r in con.execute(
                    f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})"
                ).fetchall()
            }
        except Exception:
            return False
        fields = [n.replace("_", "-") if n.replace("_", "-") in FIELDS else n for n in names]
        columns = _csv_columns(fields)
        self._ensure_columns(columns)
        nulls = "('', '-', 'None', 'null', 'NULL', 'nan', 'NaN')"
        exprs = []
        for src, (col, typ) in zip(names, columns, strict=True):
            if col.startswith("_dup"):
                continue
            s = _quote(src)
            text = f"CAST({s} AS VARCHAR)"
            numeric = any(k in types[src] for k in ("INT", "DOUBLE", "FLOAT", "DECIMAL"))
            if typ == "BIGINT":
                # A value the pure reader would call bad (5.5, -1, a millisecond epoch, text)
                # stops the load: the pure reader then reads the file and names the line.
                top = MAX_EPOCH if fields[names.index(src)] in TIME_FIELDS else MAX_INT
                bad = (
                    f"CAST({s} AS DOUBLE) <> floor(CAST({s} AS DOUBLE)) "
                    f"OR CAST({s} AS DOUBLE) < 0 OR CAST({s} AS DOUBLE) > {top}"
                    if numeric
                    else f"NOT {_int_ok(src, top)}"
                )
                exprs.append(
                    f"CASE WHEN {s} IS NULL OR {text} IN {nulls} THEN NULL "
                    f"WHEN {bad} THEN error('hamari: not a count') "
                    f"ELSE CAST(CAST({s} AS DOUBLE) AS BIGINT) END AS {_quote(col)}"
                    if numeric
                    else f"CASE WHEN {s} IS NULL OR {text} IN {nulls} THEN NULL "
                    f"WHEN {bad} THEN error('hamari: not a count') "
                    f"ELSE CAST({s} AS BIGINT) END AS {_quote(col)}"
                )
            else:
                if numeric and col.endswith("account_id"):
                    text = f"lpad(CAST(CAST({s} AS BIGINT) AS VARCHAR), 12, '0')"
                elif numeric and "INT" not in types[src]:
                    text = (
                        f"CASE WHEN {s} = floor({s}) THEN CAST(CAST({s} AS BIGINT) AS VARCHAR) "
                        f"ELSE CAST({s} AS VARCHAR) END"
                    )
                exprs.append(
                    f"CASE WHEN {s} IS NULL OR CAST({s} AS VARCHAR) IN {nulls} THEN NULL "
                    f"ELSE replace({text}, ' ', '_') END AS {_quote(col)}"
                )
        keep = [c for c, _ in columns if not c.startswith("_dup")]
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"INSERT INTO {_TABLE} ({_FILE_COL}, {', '.join(_quote(c) for c in keep)}) "
                f"SELECT {file_id}, {', '.join(exprs)} FROM read_parquet({_lit(str(path))})"
            )
        except Exception:  # a non-numeric value in a number column: the pure reader counts it
            con.execute("ROLLBACK")
            return False
        con.execute("COMMIT")
        self._count_statuses(file_id)
        return True

    def _load_pure(self, path: Path, file_id: int, fields: Sequence[str] | None) -> str | None:
        """Read one file with the pure reader (JSON, unknown layout, truncated or odd files);
        why it could not be read to its end, or None."""
        file_fmt = fields if fields is not None else _sidecar_format(path)
        parser = FlowLogParser(file_fmt, stats=self.stats, source=str(path))
        batch: list[FlowRecord] = []
        try:
            for rec in _read_one(path, parser):
                batch.append(rec)
                if len(batch) >= 65536:
                    self._insert_records(batch, file_id)
                    batch = []
        except Exception as exc:  # one bad file must never stop the others
            error: str | None = file_error(exc, path, parser._lineno)
        else:
            error = None
        if batch:
            self._insert_records(batch, file_id)
        return error

    def add(self, records: Sequence[FlowRecord]) -> None:
        """Store records that were parsed elsewhere (a pane's stream), in arrival order."""
        if records:
            self._room_for(len(records) * _BYTES_PER_RECORD)
            self._insert_records(records, 0)

    def _room_for(self, needed: int) -> None:
        """Raise a full-disk OSError before writing when the disk would be left with too little
        (:func:`~tui.models.scratch.short_of_room`): DuckDB invalidates a database whose
        checkpoint could not be written, and nothing stored could be queried after that."""
        if self._database == ":memory:":
            return
        from tui.models.scratch import checkpoint_bytes, short_of_room

        ((rows,),) = self.con.execute(f"SELECT count(*) FROM {_TABLE}").fetchall()
        needed += checkpoint_bytes(self._database, int(rows))
        why = short_of_room(os.path.dirname(self._dir), needed)
        if why is not None:
            raise OSError(errno.ENOSPC, why)

    def _insert_records(self, records: Sequence[FlowRecord], file_id: int) -> None:
        """Insert parsed records (grouped by format): as text DuckDB's CSV reader splits when
        every value can be told apart in it, else value by value through DuckDB's appender."""
        base = self._seq
        self._seq += len(records)
        groups: dict[tuple[str, ...], list[tuple[int, FlowRecord]]] = {}
        if len({rec.FORMAT for rec in records}) > 1:
            for seq, rec in enumerate(records, base):
                groups.setdefault(rec.FORMAT, []).append((seq, rec))
        for fmt in groups or (records[0].FORMAT,):
            columns = _csv_columns(fmt)
            self._ensure_columns(columns)
            keep = [i for i, (col, _) in enumerate(columns) if not col.startswith("_dup")]
            typed = [(_SEQ, "BIGINT"), *(columns[i] for i in keep)]
            pairs = groups.get(fmt)
            if pairs is None and len(keep) == len(columns):
                # The usual batch, one layout: its lines are built by C loops alone (a record
                # carries its raw line after its fields).
                fields = map(itemgetter(slice(0, len(columns))), records)
                text = "\n".join(
                    map(
                        "{} {}".format,
                        range(base, base + len(records)),
                        map(" ".join, map(partial(map, str), fields)),
                    )
                )
                nones = sum(
                    map(tuple.count, map(itemgetter(slice(0, len(columns))), records), repeat(None))
                )
                if self._insert_text(typed, text, len(records), nones, file_id):
                    self.inserted_as_text += len(records)
                    continue
            pairs = pairs or list(enumerate(records, base))
            rows = [(seq, *(rec[i] for i in keep)) for seq, rec in pairs]
            text = "\n".join(map(" ".join, map(partial(map, str), rows)))
            nones = sum(map(tuple.count, rows, repeat(None)))
            if self._insert_text(typed, text, len(rows), nones, file_id):
                self.inserted_as_text += len(rows)
            else:
                self._append(typed, rows, file_id)

    def _insert_text(
        self, typed: Sequence[tuple[str, str]], text: str, count: int, nones: int, file_id: int
    ) -> bool:
        """Insert ``count`` rows of space-separated ``text`` (``None`` for NULL) read by DuckDB;
        False (nothing inserted) when a value would not read back exactly: a space, a newline
        or ``None`` in a string, a lone surrogate, a value of another type."""
        if (
            text.count(" ") != count * (len(typed) - 1)
            or text.count("\n") != count - 1
            or text.count("None") != nones
            or "\r" in text
            or "\0" in text
        ):
            return False
        path = os.path.join(self._dir, "batch.txt")  # the engine's private (0700) folder
        try:
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            del text
            names = ", ".join(_quote(c) for c, _ in typed)
            types = ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in typed)
            self.con.execute(
                f"INSERT INTO {_TABLE} ({_FILE_COL}, {names}) SELECT {int(file_id)}, {names} "
                f"FROM read_csv({_lit(path)}, delim=' ', quote='', escape='', header=false, "
                f"auto_detect=false, new_line='\\n', nullstr='None', columns={{{types}}})"
            )
        except (UnicodeEncodeError, duckdb_errors()):
            return False
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return True

    def _append(
        self, typed: Sequence[tuple[str, str]], rows: list[tuple[Any, ...]], file_id: int
    ) -> None:
        """Insert ``rows`` value by value (exact for any value a column can hold; a lone
        surrogate from a JSON escape, which DuckDB refuses, becomes U+FFFD)."""
        appender = self.con.appender(_TABLE, columns=[_FILE_COL, *(c for c, _ in typed)])
        appender.append_rows([(file_id, *(_valid(v) for v in row)) for row in rows])
        appender.flush()  # one statement: the whole group or nothing

    # -- queries -----------------------------------------------------------------------------

    def count(self, flt: FlowFilter | None = None, *, scope: FocusScope | None = None) -> int:
        """Number of stored rows (status rows included) matching ``flt`` (all if None)."""
        where = self._where(flt, scope)
        if where is None:
            pred = self._predicate(flt, scope)
            return sum(1 for r in self._all_records() if pred(r))
        row = self.con.execute(f"SELECT count(*) FROM {_VIEW} WHERE {where}").fetchone()
        return int(row[0]) if row else 0

    def _predicate(
        self, flt: FlowFilter | None, scope: FocusScope | None
    ) -> Callable[[FlowRecord], bool]:
        keep = flt.to_predicate() if flt is not None and not flt.is_empty else None
        if scope is None:
            return keep or (lambda r: True)
        from tui.models.focus import flow_in_scope

        if keep is None:
            return lambda r: flow_in_scope(r, scope)
        return lambda r: keep(r) and flow_in_scope(r, scope)

    def _where(self, flt: FlowFilter | None, scope: FocusScope | None = None) -> str | None:
        """The SQL condition, or None (after noting why) when it cannot be compiled."""
        where = self._filter_where(flt)
        if where is None or scope is None:
            return where
        # The focused resource: flows logged on its interfaces or by its instance.
        enis = ", ".join(_lit(e) for e in sorted(scope.eni_ids)) or "NULL"
        ids = ", ".join(_lit(i) for i in sorted(scope.ids)) or "NULL"
        return f"({where}) AND (interface_id IN ({enis}) OR instance_id IN ({ids}))"

    def _filter_where(self, flt: FlowFilter | None) -> str | None:
        self.fallback = None
        if flt is None or flt.is_empty:
            return "TRUE"
        for name in flt.fields():
            col = _attr(name)
            if col not in self._columns and name not in FIELDS:
                self._ensure_columns([(col, "VARCHAR")])
        try:
            return flt.to_sql_where("duckdb")
        except FilterError as err:
            self.fallback = f"filter runs in Python, not DuckDB: {err.message}"
            return None

    def query(self, flt: FlowFilter | None = None, limit: int | None = None) -> Iterator[dict]:
        """Matching records as dicts keyed by AWS field name (stored columns), in load order.

        Args:
            flt: The filter; None or empty for everything.
            limit: At most this many rows.

        Yields:
            ``{"version": 5, "account-id": "...", ...}`` (``-`` is None).
        """
        for rec in self.records(flt, limit):
            yield rec.as_dict()

    def records(
        self,
        flt: FlowFilter | None = None,
        limit: int | None = None,
        *,
        scope: FocusScope | None = None,
    ) -> Iterator[FlowRecord]:
        """Matching records as :class:`FlowRecord` (the format is every stored column)."""
        where = self._where(flt, scope)
        if where is None:
            pred = self._predicate(flt, scope)
            matched = (r for r in self._all_records() if pred(r))
            yield from itertools.islice(matched, limit)
            return
        lim = f" LIMIT {int(limit)}" if limit is not None else ""
        yield from self._fetch(f"WHERE {where}{lim}")

    def conversation_records(self, limit: int = 200_000) -> list[FlowRecord]:
        """Every record of the conversations that have a REJECTed leg (the newest ``limit``).

        What :func:`~tui.models.flowlog.one_sided_conversations` needs to pair legs over the
        whole store: a conversation is both directions of (protocol, endpoints), so the legs
        are matched on the unordered pair of ``address port`` endpoints (packet-level addresses
        first, as :func:`~tui.models.flowlog.conversation_key` does). Status rows are left out.
        """
        ends = (
            "coalesce(pkt_srcaddr, srcaddr, '') || ' ' || coalesce(CAST(srcport AS VARCHAR), '')"
            " AS _ea, coalesce(pkt_dstaddr, dstaddr, '') || ' ' || "
            "coalesce(CAST(dstport AS VARCHAR), '') AS _eb"
        )
        # Only the key travels through the join; the chosen rows are read whole afterwards.
        legs = (
            f"SELECT {_ROW}, start, protocol, action, {ends} FROM {_VIEW} "
            "WHERE action IS NOT NULL AND coalesce(log_status, '') NOT IN ('NODATA', 'SKIPDATA')"
        )
        order = f"coalesce(start, 0) DESC, {_ROW} DESC"
        ids = (
            f"WITH e AS ({legs}), k AS (SELECT DISTINCT protocol AS p, least(_ea, _eb) AS lo, "
            "greatest(_ea, _eb) AS hi FROM e WHERE upper(action) = 'REJECT') "
            f"SELECT {_ROW} AS id, start AS s FROM e SEMI JOIN k ON e.protocol IS NOT "
            "DISTINCT FROM k.p AND least(e._ea, e._eb) = k.lo AND greatest(e._ea, e._eb) = k.hi "
            f"ORDER BY {order} LIMIT {int(limit)}"
        )
        return self._fetch_ids(ids)

    def newest(
        self, flt: FlowFilter | None, limit: int, *, scope: FocusScope | None = None
    ) -> list[FlowRecord]:
        """The ``limit`` matching records that started last, oldest of them first.

        What a pane shows of a store bigger than it keeps in memory: the newest matches of
        everything loaded, not the matches among the newest records.
        """
        where = self._where(flt, scope)
        if where is None:
            import heapq

            pred = self._predicate(flt, scope)
            got = heapq.nlargest(
                limit,
                enumerate(r for r in self._all_records(ordered=True) if pred(r)),
                key=lambda ir: (ir[1].start or 0, ir[0]),
            )
            return [r for _, r in reversed(got)]
        # The row number breaks ties in load order, as the pane's stable sort by start does.
        ids = (
            f"SELECT {_ROW} AS id, start AS s FROM {_VIEW} WHERE {where} "
            f"ORDER BY coalesce(start, 0) DESC, {_ROW} DESC LIMIT {int(limit)}"
        )
        return self._fetch_ids(ids)

    def _fetch_ids(self, ids: str) -> list[FlowRecord]:
        """Whole records for the rows ``ids`` selects (columns ``id``, ``s``), oldest first.

        The top-N runs on the row number and start alone; only the chosen rows are read whole
        and have their line rebuilt (sorting whole rows of a big store ran out of memory
        under a 64 MB limit).
        """
        cols = self.columns
        if not cols:
            return []
        names = ", ".join(f"f.{_quote(c)}" for c in cols)
        sql = (
            f"WITH ids AS ({ids}) SELECT {names}, {_raw_sql(cols, 'f.')} FROM {_VIEW} f "
            f"JOIN ids ON f.{_ROW} = ids.id ORDER BY coalesce(ids.s, 0), ids.id"
        )
        cls = _record_class_for(cols)
        new = tuple.__new__
        intern = sys.intern
        cur = self.con.cursor()
        try:
            cur.execute(sql)
            rows: list[FlowRecord] = []
            # Kept for a while (table, pairs, findings): text values shared as the parser
            # shares them, batch by batch, so DuckDB's copies of one ENI do not pile up.
            while batch := cur.fetchmany(_FETCH_ROWS):
                rows.extend(
                    new(cls, (*(intern(v) if v.__class__ is str else v for v in r[:-1]), r[-1]))
                    for r in batch
                )
        finally:
            cur.close()
        return rows

    def _all_records(self, *, ordered: bool = False) -> Iterator[FlowRecord]:
        """Every stored record; ``ordered`` sorts by arrival (a sort of the whole store)."""
        return self._fetch(f"ORDER BY {_ROW}" if ordered else "")

    def _fetch(self, tail: str) -> Iterator[FlowRecord]:
        cols = self.columns
        if not cols:
            return
        cls = _record_class_for(cols)
        new = tuple.__new__
        cur = self.con.cursor()
        names = ", ".join(_quote(c) for c in cols)
        cur.execute(f"SELECT {names}, {_raw_sql(cols)} FROM {_VIEW} {tail}")
        while batch := cur.fetchmany(_FETCH_ROWS):
            for row in batch:
                yield new(cls, row)

    def aggregate(
        self,
        kind: str,
        flt: FlowFilter | None = None,
        *,
        limit: int = 50,
        topology: Topology | None = None,
        scope: FocusScope | None = None,
    ) -> list[AggRow]:
        """The aggregations of :mod:`tui.models.flowagg`, in SQL (same rows, same order).

        Args:
            kind: One of :data:`~tui.models.flowagg.AGGREGATIONS`.
            flt: Applied first; a filter SQL cannot express runs in Python (see :attr:`fallback`).
            limit: Maximum rows.
            topology: Names ENIs and AZs and fills AZ and direction for formats without them,
                as the pure aggregation does.
            scope: Only the flows of the focused resource's interfaces.

        Raises:
            ValueError: For an unknown kind.
        """
        if kind not in AGGREGATIONS:
            raise ValueError(
                f"unknown aggregation {kind!r}; choose one of {', '.join(AGGREGATIONS)}"
            )
        where = self._where(flt, scope)
        if where is None:
            pred = self._predicate(flt, scope)
            matched = (r for r in self._all_records() if pred(r))
            return pure_aggregate(matched, kind, topology, limit=limit)
        source = f"SELECT * FROM {_VIEW} WHERE {where}"
        if topology is None:
            return self._aggregate_sql(kind, source, limit)
        return self._aggregate_mapped(kind, source, topology, limit)

    def _aggregate_mapped(
        self, kind: str, source: str, topology: Topology, limit: int
    ) -> list[AggRow]:
        """Sum in SQL by the columns the key reads, then key, order and label in Python.

        The keys that need the topology (the AZ of a v2 record's ENI, the direction of a flow
        from the ENI's addresses) are computed by :func:`~tui.models.flowagg.key_function` on
        one representative per group, so that they cannot drift from the pure aggregation.
        Columns the key does not need when the record carries the answer are nulled first,
        which keeps the groups few (one per AZ id, not per ENI).
        """
        raw = _RAW_KEYS.get(kind)
        acc: dict[tuple[str, ...], list[int]] = {}
        if raw is None:  # the key needs no topology; only the labels do
            rows = self._aggregate_sql(kind, source, 1 << 62)
            acc = {r.key: [r.flows, r.packets, r.bytes, r.rejects, r.accepts] for r in rows}
            return finish(acc, kind, topology, limit=limit)
        names = [name for name, _ in raw]
        exprs = ", ".join(f"{expr} AS {_quote(name)}" for name, expr in raw)
        groups = ", ".join(_quote(n) for n in names)
        sql = (
            f"SELECT {groups}, count(*), sum(coalesce(packets, 0)), sum(coalesce(bytes, 0)), "
            "count(*) FILTER (action = 'REJECT'), count(*) FILTER (action = 'ACCEPT') "
            f"FROM (SELECT {exprs}, packets, bytes, action FROM ({source}) s) g GROUP BY {groups}"
        )
        cls = _record_class_for(names)
        new = tuple.__new__
        key_fn = key_function(kind, topology)
        n = len(names)
        for row in self.con.execute(sql).fetchall():
            key = key_fn(new(cls, (*row[:n], "")))
            if key is None:
                continue
            a = acc.setdefault(key, [0, 0, 0, 0, 0])
            for i, v in enumerate(row[n:]):
                a[i] += int(v)
        return finish(acc, kind, topology, limit=limit)

    def _aggregate_sql(self, kind: str, source: str, limit: int) -> list[AggRow]:
        keys, having, order = _AGG_SQL[kind]
        key_cols = ", ".join(f"{k} AS k{i}" for i, k in enumerate(keys))
        groups = ", ".join(f"k{i}" for i in range(len(keys)))
        sql = (
            f"SELECT {groups}, count(*) AS flows, sum(coalesce(packets, 0)) AS packets, "
            "sum(coalesce(bytes, 0)) AS bytes, count(*) FILTER (action = 'REJECT') AS rejects, "
            "count(*) FILTER (action = 'ACCEPT') AS accepts "
            f"FROM (SELECT {key_cols}, packets, bytes, action FROM ({source}) s) g "
            f"WHERE k0 IS NOT NULL GROUP BY {groups} {having} "
            f"ORDER BY {order}, {groups} LIMIT {int(limit)}"
        )
        out = []
        n = len(keys)
        for row in self.con.execute(sql).fetchall():
            key = tuple(str(v) for v in row[:n])
            flows, packets, nbytes, rejects, accepts = (int(v) for v in row[n:])
            out.append(AggRow(key, _label(kind, key), flows, packets, nbytes, rejects, accepts))
        return out


_PROTO_SQL: Final = (
    "CASE WHEN protocol IS NULL THEN '-' "
    + " ".join(f"WHEN protocol = {n} THEN '{name}'" for n, name in PROTOCOL_NAMES.items())
    + " ELSE CAST(protocol AS VARCHAR) END"
)
_SERVICE_PORT_SQL: Final = (
    "CASE WHEN srcport IS NULL OR dstport IS NULL THEN "
    "coalesce(CAST(coalesce(dstport, srcport) AS VARCHAR), '-') "
    "WHEN srcport > 0 AND srcport < dstport THEN CAST(srcport AS VARCHAR) "
    "ELSE CAST(dstport AS VARCHAR) END"
)
_REJECTS: Final = "HAVING count(*) FILTER (action = 'REJECT') > 0"
_BY_REJECTS: Final = "rejects DESC, flows DESC"

# kind -> (key expressions, HAVING, ORDER BY); a NULL first key drops the record.
_AGG_SQL: Final[dict[str, tuple[tuple[str, ...], str, str]]] = {
    "top-talkers": (
        (
            # As flowagg.talker_key: not on action (Transit Gateway logs have none).
            "CASE WHEN coalesce(log_status, '') NOT IN ('NODATA', 'SKIPDATA') AND "
            "coalesce(pkt_srcaddr, srcaddr, pkt_dstaddr, dstaddr) IS NOT NULL "
            "THEN coalesce(pkt_srcaddr, srcaddr, '-') END",
            "coalesce(pkt_dstaddr, dstaddr, '-')",
        ),
        "",
        "bytes DESC, packets DESC",
    ),
    "rejects-by-az": (("coalesce(az_id, '?')",), _REJECTS, _BY_REJECTS),
    "rejects-by-eni": (("coalesce(interface_id, '?')",), _REJECTS, _BY_REJECTS),
    "rejects-by-port": ((_PROTO_SQL, _SERVICE_PORT_SQL), _REJECTS, _BY_REJECTS),
    "rejects-by-direction": (("coalesce(flow_direction, '?')",), _REJECTS, _BY_REJECTS),
    "by-action": (("coalesce(action, log_status, '?')",), "", "flows DESC"),
}


# kind -> the columns its key reads when a topology fills the gaps (see _aggregate_mapped).
_RAW_KEYS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "rejects-by-az": (
        ("az_id", "az_id"),
        ("interface_id", "CASE WHEN az_id IS NULL THEN interface_id END"),
    ),
    "rejects-by-direction": tuple(
        (
            c,
            "flow_direction"
            if c == "flow_direction"
            else f"CASE WHEN flow_direction IS NULL THEN {c} END",
        )
        for c in ("flow_direction", "interface_id", "srcaddr", "dstaddr")
    ),
}


def _label(kind: str, key: tuple[str, ...]) -> str:
    """As :mod:`tui.models.flowagg` labels rows without a topology."""
    if kind == "top-talkers":
        return f"{key[0]} → {key[1]}"
    if kind == "rejects-by-port":
        return f"{key[0]}/{key[1]}"
    return key[0]


def _add_statuses(stats: ParseStats, rows: Iterable[tuple[Any, Any]]) -> None:
    for status, n in rows:
        if status == "NODATA":
            stats.nodata += int(n)
        elif status == "SKIPDATA":
            stats.skipdata += int(n)
        else:
            stats.records += int(n)


# --- the streaming scan of ``hamari flows FILE`` ------------------------------------------------


def scan_files(
    paths: str | Path | Iterable[str | Path],
    flt: FlowFilter,
    *,
    fields: Sequence[str] | None = None,
    stats: ParseStats | None = None,
    memory_limit: str = "256MB",
    raw: Formatter | None = None,
) -> Iterator[tuple[str, FlowRecord | RawBlock]]:
    """Stream the records of files that match ``flt``, without storing them.

    Text files with a header whose filter pins fields to literals are pre-filtered on bytes
    (see the module docstring); other text files are read by DuckDB with the filter pushed into
    the scan; JSON, Parquet and anything DuckDB cannot read (a truncated gzip), or a filter SQL
    cannot express, go through the pure reader. Records, counts and named bad lines match the
    pure reader's (tests/test_flow_engines_agree.py), except that the pre-filter counts a
    well-formed line with a bad number (``x``, ``5.5``, a millisecond epoch) as a record or a
    status row unless it holds the literals: it never parses that line, and never shows it.
    Likewise a short and a long line whose spaces add up, in one region, to whole lines.

    Args:
        paths: Files and folders.
        flt: The filter.
        fields: Format of header-less files.
        stats: Counters to update (records, bad lines and files, NODATA, SKIPDATA).
        memory_limit: For the DuckDB scans.
        raw: How the caller writes plain matching lines: when the filter's every condition is
            a literal checked on the bytes, those come as :class:`~tui.models.flowscan.RawBlock`
            text instead of records (see there).

    Yields:
        (source path, record or block of written lines), in file order.
    """
    stats = stats if stats is not None else ParseStats()
    pred = flt.to_predicate()
    try:
        flt.to_sql_where("duckdb")
        sql_ok = True
    except FilterError:
        sql_ok = False
    con: Any = None
    try:
        for path in iter_files(paths, skipped=stats.skipped):
            source = str(path)
            mark = stats.mark()
            try:
                kind, first, gz = _first_line(path)
            except OSError as exc:
                stats.file_done(source, mark, file_error(exc, path))
                continue
            names, header = (
                _file_format(path, first, fields, stats) if kind == "text" else (None, False)
            )
            tokens = literals(flt, names) if names is not None and header else []
            file_fmt = fields if fields is not None else _sidecar_format(path)
            parser = FlowLogParser(file_fmt, stats=stats, source=source)
            try:
                if tokens and names is not None:
                    spaces = len(names) - 1
                    helper = helper_worth_it(path, gz)
                    rows: Iterable[FlowRecord | RawBlock] = scan_prefiltered(
                        path,
                        gz,
                        parser,
                        spaces,
                        tokens,
                        pred,
                        status_column=status_column(names),
                        helper=helper,
                        raw=raw if raw is not None and covers(flt, names) else None,
                    )
                else:
                    got = None
                    if kind == "text" and names is not None and sql_ok and not flt.is_empty:
                        if con is None:
                            import duckdb

                            con = duckdb.connect(config={"memory_limit": memory_limit})
                            con.execute("SET enable_progress_bar = false")
                        got = _scan_sql(con, path, flt, pred, names, header, gz, stats)
                    if got is None:
                        everything: Iterator[FlowRecord] = filter(pred, _read_one(path, parser))
                        got = everything
                    rows = got
                for rec in rows:
                    yield source, rec
            except Exception as exc:  # one bad file must never stop the others
                stats.file_done(source, mark, file_error(exc, path, parser._lineno))
            else:
                stats.file_done(source, mark)
    finally:
        if con is not None:
            con.close()


def _scan_sql(
    con: Any,
    path: Path,
    flt: FlowFilter,
    pred: Callable[[FlowRecord], bool],
    names: tuple[str, ...],
    header: bool,
    gz: bool,
    stats: ParseStats,
) -> Iterator[FlowRecord] | None:
    """The matching rows of one text file read by DuckDB, then its counts.

    The counts need a second pass over the file; it runs at the same time, on its own cursor
    in a thread (DuckDB releases the GIL), so a second core decompresses the file again
    instead of the caller waiting for it. That pass also collects the lines DuckDB rejected.

    Returns None when the file holds bytes DuckDB would split otherwise than the parser (see
    :func:`_plain_text`) or DuckDB cannot read its first rows: the pure reader takes it. A
    failure later raises, and the caller counts the file as bad.
    """
    if not _plain_text(path, gz):
        return None
    text_view, keep = _text_view(path, names, header, gz)
    missing = [
        f"CAST(NULL AS {SQL_TYPES[s.kind]}) AS {_quote(s.attr)}"
        for s in FIELDS.values()
        if s.attr not in keep
    ]
    view = f"(SELECT *{', ' if missing else ''}{', '.join(missing)} FROM {text_view})"
    cols = ", ".join(_quote(c) for c in keep)
    cls = _record_class_for(keep)
    new = tuple.__new__
    cur = con.cursor()
    try:
        where = flt.to_sql_where("duckdb")
        # Rows DuckDB may read otherwise than the parser (see _text_view) come back whatever the
        # filter, in file order: the parser reads them from their text.
        cur.execute(f"SELECT {cols}, _raw, _ok FROM {view} WHERE NOT _ok OR ({where})")
        batch = cur.fetchmany(10000)
    except Exception:
        return None
    # A format without log-status has no status rows: every row counts as a record.
    status = "log_status" if "log_status" in keep else "NULL"
    counting = _Counting(con.cursor(), f"{view} v WHERE _ok", status)
    parser = FlowLogParser(names, stats=stats, source=str(path))

    def rows() -> Iterator[FlowRecord]:
        nonlocal batch
        unplaced: list[int] = []  # samples of lines read from their text: line numbers later
        while batch:
            for row in batch:
                if row[-1]:
                    yield new(cls, row[:-1])
                    continue
                before = len(stats.samples)
                rec = parser.feed_line(row[-2])
                unplaced.extend(range(before, len(stats.samples)))
                if rec is not None and pred(rec):
                    yield rec
            batch = cur.fetchmany(10000)
        cur.close()
        counts, rejected = counting.result()
        _add_statuses(stats, counts)
        stats.headers += int(header)
        for lineno, text in rejected:
            parser._lineno = int(lineno) - 1
            rec = parser.feed_line(str(text))
            if rec is not None and pred(rec):
                yield rec
        if unplaced:
            _place(stats, unplaced, path, gz)

    return rows()


def _place(stats: ParseStats, indices: Sequence[int], path: Path, gz: bool) -> None:
    """Give the samples of lines DuckDB handed over by text their line numbers (k-th sample of
    a text is its k-th line), by one more read of the file; only when such lines were bad."""
    import dataclasses

    wanted: dict[str, list[int]] = {}
    for i in indices:
        wanted.setdefault(stats.samples[i].text, []).append(i)
    with path.open("rb") as fh:
        chunks = _gunzip(fh) if gz else iter(lambda: fh.read(_CHUNK), b"")
        for lineno, line in enumerate(_lines_from_chunks(chunks), 1):
            waiting = wanted.get(line[:200])
            if waiting:
                i = waiting.pop(0)
                stats.samples[i] = dataclasses.replace(stats.samples[i], lineno=lineno)
                if not waiting:
                    del wanted[line[:200]]
                    if not wanted:
                        return
