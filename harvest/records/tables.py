"""A page's rows as Arrow tables of the declared schema: columns built from the row tuples, never inferred.

pyarrow is imported on first use, not with the module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

TABLES = ("records", "raw", "quarantine")  # where a page's records go

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


def _micros(values: list) -> list:
    """Datetimes as microseconds since the epoch (naive ones taken as UTC): pyarrow converts
    timezone-aware datetimes through pandas, which would cost every harvest ~45 MB to import."""
    out, last, last_us = [], None, None
    for v in values:
        if v is None or isinstance(v, int):
            out.append(v)
            continue
        if v is not last:  # a run's rows share one harvested_at object
            last, last_us = v, (v - (_NAIVE_EPOCH if v.tzinfo is None else _EPOCH)) // _US
        out.append(last_us)
    return out


class ColumnBuffer:
    """Rows accumulated until they become one Arrow table of the declared schema. A row is a tuple
    of its values in schema order (harvest.records writes its rows so) or a dict; zip transposes
    the tuples into columns in one pass. A dict gives its tuple by operator.itemgetter, None for a
    column it lacks."""

    def __init__(self, table: str):
        self.table = table
        self._schema = None
        self._values = None  # a dict row's values in schema order
        self.rows: list[tuple | dict] = []

    @property
    def schema(self) -> pa.Schema:
        if self._schema is None:
            from operator import itemgetter

            from harvest.config.schemas import arrow_schema

            self._schema = arrow_schema(self.table, with_partitions=False)
            names = self._schema.names
            self._values = itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
        return self._schema

    def _tuple(self, row: dict) -> tuple:
        try:
            return self._values(row)
        except KeyError:
            return tuple(map(row.get, self.schema.names))

    def _columns(self, rows: list) -> list:
        names = self.schema.names
        if not rows:
            return [[] for _ in names]
        tuples = [r if r.__class__ is tuple else self._tuple(r) for r in rows]
        if len(set(map(len, tuples))) != 1 or len(tuples[0]) != len(names):  # zip would cut or shift values
            raise ValueError(f"{self.table}: a row tuple does not have the table's {len(names)} columns")
        return list(zip(*tuples))

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: tuple | dict) -> None:
        self.rows.append(row)

    def take(self) -> pa.Table:
        """The buffered rows as an Arrow table of the declared schema; the buffer is emptied."""
        import pyarrow as pa

        rows, self.rows = self.rows, []
        arrays = []
        for f, values in zip(self.schema, self._columns(rows)):
            arrays.append(pa.array(_micros(values) if pa.types.is_timestamp(f.type) else values, type=f.type))
        return pa.Table.from_arrays(arrays, schema=self.schema)
