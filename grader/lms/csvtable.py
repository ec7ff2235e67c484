"""A CSV file kept as it was, except for the cells an exporter fills.

LMS imports are picky: Moodle finds columns by their localised names, Canvas reads
its own Points Possible and muted rows. So a row we do not touch is written back
byte for byte, a row we fill keeps the raw text of its other cells, and the byte
order mark, delimiter and line endings stay those of the file.
"""
import codecs
import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _

DELIMITERS = (",", ";", "\t")


class CsvFormatError(ValueError):
    """A CSV file that cannot be used; the message names the file and the line."""


@dataclass
class CsvRow:
    line: int  # physical line (1-based) where the record starts
    values: list
    raw: str  # the record as it was in the file, line terminator included
    filled: dict = field(default_factory=dict)  # column index -> new cell value

    @property
    def blank(self) -> bool:
        return not any(value.strip() for value in self.values)


@dataclass
class CsvTable:
    path: Path
    delimiter: str
    byte_order_mark: bool
    header: CsvRow
    rows: list  # the records after the header, blank ones included

    def column(self, name):
        """Index of the column named exactly `name`, or None."""
        try:
            return self.header.values.index(name)
        except ValueError:
            return None

    def render(self) -> str:
        """The file's text with the filled cells replaced (a leading BOM character when the file had one)."""
        parts = ["\ufeff" if self.byte_order_mark else ""]
        for row in (self.header, *self.rows):
            parts.append(_render_row(row, self.delimiter) if row.filled else row.raw)
        return "".join(parts)


def read_table(path, *, what="CSV file") -> CsvTable:
    """Parse `path` strictly: UTF-8 (BOM allowed), one header, every record as wide as the header."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFormatError(_("{file} cannot be read: {problem}").format(file=path, problem=exc.strerror)) from None
    bom = data.startswith(codecs.BOM_UTF8)
    body = data[len(codecs.BOM_UTF8):] if bom else data
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[:exc.start].count(b"\n") + 1
        raise CsvFormatError(_("{file}, line {line}: not UTF-8 text (byte 0x{byte:02x}); save the {what} as "
                               "CSV in UTF-8 and try again").format(file=path, line=line, byte=body[exc.start],
                                                                     what=what)) from None
    if not text.strip():
        raise CsvFormatError(_("{file} is empty: expected a {what}").format(file=path, what=what))
    lines = list(io.StringIO(text, newline=""))
    delimiter = _sniff_delimiter(lines[0])
    records = _records(lines, delimiter, path)
    header, rows = records[0], records[1:]
    for row in rows:
        if not row.blank and len(row.values) != len(header.values):
            raise CsvFormatError(_("{file}, line {line}: {count} cells where the header has {width}; "
                                   "the rows of a {what} must all be as wide as its header").format(
                file=path, line=row.line, count=len(row.values), width=len(header.values), what=what))
    return CsvTable(path, delimiter, bom, header, rows)


def _sniff_delimiter(first_line: str) -> str:
    """The delimiter of the header line: the candidate that occurs most often outside quotes."""
    outside = re.sub(r'"[^"]*"', "", first_line)
    counts = {delimiter: outside.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _records(lines, delimiter, path):
    consumed = []

    def feed():
        for line in lines:
            consumed.append(line)
            yield line

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    records, line_number = [], 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvFormatError(_("{file}, line {line}: malformed CSV ({problem})").format(
                file=path, line=line_number + len(consumed) - 1, problem=exc)) from None
        records.append(CsvRow(line_number, values, "".join(consumed)))
        line_number += len(consumed)
        consumed.clear()
    return records


def _render_row(row: CsvRow, delimiter: str) -> str:
    """A filled row: untouched cells keep their raw text, filled ones are quoted like their original."""
    body = row.raw.rstrip("\r\n")
    ending = row.raw[len(body):] or ""
    raw_cells = _split_raw(body, delimiter)
    if len(raw_cells) != len(row.values) or any(_unquote(raw) != value for raw, value in zip(raw_cells, row.values)):
        raw_cells = [_quote(value, delimiter, False) for value in row.values]  # a dialect we do not mimic: plain CSV
    cells = [(_quote(row.filled[index], delimiter, raw.startswith('"')) if index in row.filled else raw)
             for index, raw in enumerate(raw_cells)]
    return delimiter.join(cells) + ending


def _split_raw(body: str, delimiter: str) -> list:
    cells, start, quoted = [], 0, False
    for position, character in enumerate(body):
        if character == '"':
            quoted = not quoted
        elif character == delimiter and not quoted:
            cells.append(body[start:position])
            start = position + 1
    cells.append(body[start:])
    return cells


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1].replace('""', '"')
    return raw


def _quote(value: str, delimiter: str, always: bool) -> str:
    """One cell as the csv module would write it (minimal quoting), or always quoted."""
    if value == "" and not always:
        return ""  # the csv module writes a lone empty field as ""
    buffer = io.StringIO()
    quoting = csv.QUOTE_ALL if always else csv.QUOTE_MINIMAL
    # The terminator matters: the csv module quotes a value that holds any of its characters.
    csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerow([value])
    return buffer.getvalue()[:-2]


def parse_number(text: str):
    """A number as a gradebook shows it ("17.50", "17,50", " 8 "), or None for anything else."""
    cleaned = text.strip()
    if re.fullmatch(r"-?\d+,\d+", cleaned):
        cleaned = cleaned.replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        return None


def format_points(value: float, *, like: str = "") -> str:
    """Points with two decimals, as Canvas and Moodle write them, with a decimal comma when `like` has one."""
    text = str(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return text.replace(".", ",") if re.fullmatch(r"\s*-?\d+,\d+\s*", like or "") else text
