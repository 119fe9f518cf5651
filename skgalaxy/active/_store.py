"""The append-only SQLite record of a hunt: its labels, shown samples and metadata."""

import json
import sqlite3
import time

import numpy as np

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS shown (
    round INTEGER NOT NULL, position INTEGER NOT NULL, idx INTEGER NOT NULL,
    PRIMARY KEY (round, position));
CREATE TABLE IF NOT EXISTS labels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, idx INTEGER NOT NULL, label TEXT,
    round INTEGER NOT NULL, time REAL NOT NULL);
"""


class _Store:
    """The append-only SQLite record of a hunt (in memory without a directory)."""

    def __init__(self, path):
        self.connection = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,  # autocommit; transactions are explicit
        )
        try:
            self.connection.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.connection.close()
            raise ValueError(f"{path} is not a hunt's label store: {exc}.") from exc

    def get_meta(self, key, default=None):
        row = self.connection.execute(
            "SELECT value FROM meta WHERE key = ?", (key,)
        ).fetchone()
        return default if row is None else json.loads(row[0])

    def set_meta(self, key, value):
        self.connection.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value))
        )

    def add_shown(self, round_, indices):
        with self.connection:
            self.connection.execute("BEGIN")
            self.connection.executemany(
                "INSERT INTO shown VALUES (?, ?, ?)",
                [(round_, pos, int(i)) for pos, i in enumerate(indices)],
            )

    def shown(self, round_=None):
        query, args = "SELECT idx FROM shown", ()
        if round_ is not None:
            query, args = query + " WHERE round = ?", (round_,)
        rows = self.connection.execute(query + " ORDER BY round, position", args)
        return np.array([r[0] for r in rows], dtype=np.int64)

    def add_labels(self, indices, labels, round_):
        now = time.time()
        rows = [
            (int(i), None if lab is None else json.dumps(lab), round_, now)
            for i, lab in zip(indices, labels)
        ]
        with self.connection:
            self.connection.execute("BEGIN")
            self.connection.executemany(
                "INSERT INTO labels (idx, label, round, time) VALUES (?, ?, ?, ?)",
                rows,
            )

    def labels(self):
        """``{index: (label, round, time)}``, the latest entry of each index."""
        rows = self.connection.execute(
            "SELECT idx, label, round, time FROM labels ORDER BY seq"
        )
        latest = {}
        for idx, label, round_, when in rows:
            latest[idx] = (None if label is None else json.loads(label), round_, when)
        return latest

    def close(self):
        self.connection.close()
