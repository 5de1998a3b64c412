"""pgbench beside a benchmark: PostgreSQL's own latency for one statement, with no Python in the way."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.db import connection
from psycopg import ClientCursor


def pg_env() -> dict:
    """libpq's variables for the test database, from the live connection."""
    connection.ensure_connection()
    info = connection.connection.info
    env = {**os.environ, "PGUSER": info.user, "PGDATABASE": info.dbname}
    env["PGHOST"], env["PGPORT"] = info.host, str(info.port)
    if info.password:
        env["PGPASSWORD"] = info.password
    return env


def literal_sql(sql: str, args) -> str:
    """The statement with its arguments inlined, as a pgbench script needs it."""
    connection.ensure_connection()
    return ClientCursor(connection.connection).mogrify(sql, args)


def pgbench_latencies(sql: str, *, transactions: int) -> list[float] | None:
    """Per-statement latencies in ms of ``transactions`` runs on one connection (None without pgbench)."""
    binary = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not os.path.exists(binary):
        return None
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "statement.sql")
        script.write_text(" ".join(sql.split()).rstrip(";") + ";\n")
        subprocess.run(
            [
                binary,
                "-n",
                "-c",
                "1",
                "-t",
                str(transactions),
                "-f",
                str(script),
                "-l",
                "--log-prefix",
                str(Path(folder, "log")),
            ],
            env=pg_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
            cwd=folder,
        )
        # One line per transaction: client, number, latency in µs, script, epoch, µs.
        lines = [line.split() for log in Path(folder).glob("log*") for line in log.read_text().splitlines()]
    return [int(fields[2]) / 1000 for fields in lines]
