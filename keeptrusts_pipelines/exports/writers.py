"""Format writers: each turns a stream of shaped record batches into one file.

A writer is made as `Writer(header, records_key)` for each part file (the producer of a tabular
format in exports/formats.py); how its rows are shaped is its format's entry's `shaping`.
"""

import json
from collections.abc import Sequence
from typing import BinaryIO, Protocol

import polars as pl
import pyarrow.parquet as pq

from keeptrusts_pipelines.exports.formats import FormatKind, Shaping, format_named

RFC3339_MICROS = "%Y-%m-%dT%H:%M:%S%.6fZ"
# A cell starting with one of these would run as a formula in a spreadsheet.
FORMULA_START = r"^[=+\-@\t\r]"
# Rows JSON text is encoded for at a time: Polars encodes all it is given before writing, and
# whole batches of JSON made peak memory at 10M events 20% higher than at 1M.
JSON_SLICE_ROWS = 12_500


class FormatWriter(Protocol):
    def begin(self, handle: BinaryIO) -> None: ...

    def write(self, frame: pl.DataFrame) -> None: ...

    def end(self) -> None: ...


def shape(frame: pl.LazyFrame, file_format: str, redacted: Sequence[str] = ()) -> pl.LazyFrame:
    """Rows as the format shows them (its entry's shaping): text formats get RFC 3339 times;
    flat ones (CSV) get nested values as JSON and no cell a spreadsheet would run, except in
    the `redacted` columns, which `neutralise_formulas` treats once redaction has run."""
    shaping = format_named(file_format).shaping
    if shaping is Shaping.TYPED:
        return frame
    frame = _times_as_text(frame)
    if shaping is not Shaping.FLAT:
        return frame
    frame = _nested_as_json(frame)
    text = [name for name, dtype in frame.collect_schema().items() if dtype == pl.String]
    return neutralise_formulas(frame, [name for name in text if name not in redacted])


def _times_as_text(frame: pl.LazyFrame) -> pl.LazyFrame:
    schema = frame.collect_schema()
    times = [name for name, dtype in schema.items() if isinstance(dtype, pl.Datetime)]
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC").dt.strftime(RFC3339_MICROS) for name in times
    )


def _nested_as_json(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Lists of structs (policies, citations) and lists of strings as compact JSON text."""
    columns = []
    for name, dtype in frame.collect_schema().items():
        if isinstance(dtype, pl.List):
            inner = dtype.inner
            # A plain value is encoded as a one-field object, then unwrapped, so Polars' JSON
            # encoder does all the escaping.
            element = (
                pl.element().struct.json_encode()
                if isinstance(inner, pl.Struct)
                else pl.struct(v=pl.element())
                .struct.json_encode()
                .str.strip_prefix('{"v":')
                .str.strip_suffix("}")
            )
            columns.append(
                pl.concat_str(
                    pl.lit("["), pl.col(name).list.eval(element).list.join(","), pl.lit("]")
                ).alias(name)
            )
    return frame.with_columns(columns)


def neutralise_formulas(frame: pl.LazyFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """`columns` with a leading `'` where a spreadsheet would run the cell as a formula."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START))
        .then(pl.concat_str(pl.lit("'"), pl.col(name)))
        .otherwise(pl.col(name))
        .alias(name)
        for name in columns
    )


class CsvWriter:
    """RFC 4180 CSV (UTF-8, CRLF), header first, formulas neutralised."""

    def __init__(self, header: dict[str, object], records_key: str) -> None:
        pass  # a CSV file has no header object

    def begin(self, handle: BinaryIO) -> None:
        self.handle, self.header_written = handle, False

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height or not self.header_written:
            frame.write_csv(
                self.handle, include_header=not self.header_written, line_terminator="\r\n"
            )
            self.header_written = True

    def end(self) -> None:
        pass


class JsonlWriter:
    """One JSON object per line."""

    def __init__(self, header: dict[str, object], records_key: str) -> None:
        pass  # lines only: the export's facts are in its record

    def begin(self, handle: BinaryIO) -> None:
        self.handle = handle

    def write(self, frame: pl.DataFrame) -> None:
        for piece in frame.iter_slices(JSON_SLICE_ROWS):
            piece.write_ndjson(self.handle)

    def end(self) -> None:
        pass


class JsonWriter:
    """`{export_id, created_at, window, filters, <records_key>: [...]}`, streamed."""

    def __init__(self, header: dict[str, object], records_key: str) -> None:
        self.header, self.records_key = header, records_key

    def begin(self, handle: BinaryIO) -> None:
        self.handle, self.first = handle, True
        opening = json.dumps(self.header, ensure_ascii=False)[:-1]
        handle.write(f'{opening}, "{self.records_key}": [\n'.encode())

    def write(self, frame: pl.DataFrame) -> None:
        for piece in frame.iter_slices(JSON_SLICE_ROWS):
            lines = piece.write_ndjson().rstrip("\n").replace("\n", ",\n")
            self.handle.write((("" if self.first else ",\n") + lines).encode())
            self.first = False

    def end(self) -> None:
        self.handle.write(b"\n]}\n")


class ParquetWriter:
    """Parquet with fixed settings, so the same rows give the same bytes."""

    def __init__(self, header: dict[str, object], records_key: str) -> None:
        pass  # columns only: the export's facts are in its record

    def begin(self, handle: BinaryIO) -> None:
        self.handle, self.writer = handle, None

    def write(self, frame: pl.DataFrame) -> None:
        table = frame.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.handle, table.schema, compression="zstd")
        self.writer.write_table(table)

    def end(self) -> None:
        if self.writer is not None:
            self.writer.close()


def writer_for(file_format: str, header: dict[str, object], records_key: str) -> FormatWriter:
    """A new writer of a tabular format, for one part file."""
    entry = format_named(file_format)
    if entry.kind is not FormatKind.TABULAR:
        raise ValueError(f"{file_format} is a {entry.kind} format, not rows; it has no writer")
    return entry.load_producer()(header, records_key)  # type: ignore[return-value]
