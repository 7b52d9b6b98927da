"""`deskbase bench_partitions`: hash-partitioned comments and attachments vs plain, by ticket."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from deskbase.dbtools import bench


class Command(BaseCommand):
    help = "Compare reads by ticket on hash-partitioned and plain copies (docs/partitions.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partitions", type=int, default=16)
        parser.add_argument("--samples", type=int, default=2000, help="tickets read")
        parser.add_argument("--rounds", type=int, default=3, help="timed passes over them")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--keep", action="store_true", help="keep the scratch schema")

    def handle(self, *args: Any, **options: Any) -> None:
        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        with psycopg.connect(**params, autocommit=True) as conn:
            result = bench.run(
                conn, partitions=options["partitions"], samples=options["samples"],
                rounds=options["rounds"], seed=options["seed"], keep=options["keep"],
                say=lambda m: self.stderr.write(m),
            )  # fmt: skip
        self.stdout.write(json.dumps(result, indent=2))
