"""Import of a generated customer CSV as a background job, on PostgreSQL.

    python bench/import_customers.py [--rows 100000] [--batch 500]

Generates a CSV (UTF-8, Chinese headers; 2% rows with a bad phone, 1% repeating an earlier
phone), submits it like the API does (file stored with the job, rows counted), then runs the
job as a worker does (``dialflow.background.run_job`` calls ``run_import``) and prints rows per
second and the counts. Works in a throw-away schema of ``BENCH_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from crm.imports import run_import, submit_import
from crm.models import Job, User
from crm.users import create_user
from dialflow import schema
from dialflow.runtime import Runtime
from dialflow.settings import Settings

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"


def generate(rows: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "手机", "邮箱", "公司", "地区", "来源", "标签", "备注"])
    for i in range(rows):
        phone = f"13{rng.randint(0, 9)}{i:08d}"
        roll = rng.random()
        if roll < 0.02:
            phone = "12345"
        elif roll < 0.03 and i > 10:
            phone = f"13{0}{i - 5:08d}"  # may repeat an earlier row
        name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        writer.writerow(
            [
                name,
                phone,
                f"c{i}@example.com" if rng.random() < 0.3 else "",
                f"{name}贸易有限公司" if rng.random() < 0.4 else "",
                rng.choice(["上海", "北京", "广州", "深圳", "杭州"]),
                rng.choice(["展会", "官网", "转介绍"]),
                "VIP" if rng.random() < 0.1 else "",
                "",
            ]
        )
    return out.getvalue().encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://127.0.0.1:5432/test"),
    )
    args = parser.parse_args()
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(
        {
            "DATABASE_URL": args.postgres,
            "DATABASE_SCHEMA": name,
            "SECRET_KEY": "b" * 32,
            "LOG_LEVEL": "WARNING",
        }
    )
    rt = Runtime.build(settings)
    try:
        schema.upgrade(rt.db.engine, schema=name)
        with rt.db.unit_of_work() as session:
            create_user(session, username="importer", role="manager", team="华东一组")
        data = generate(args.rows)
        print(f"file: {args.rows:,} rows, {len(data) / 1e6:.1f} MB")
        started = time.perf_counter()
        with rt.db.unit_of_work() as session:
            actor = session.query(User).filter_by(username="importer").one()
            job = submit_import(
                session, actor=actor, file_name="bench.csv", data=data, max_rows=args.rows
            )
            job_id = job.id
        submitted = time.perf_counter()
        status = run_import(
            rt.db,
            job_id,
            region=settings.default_region,
            default_timezone=settings.default_timezone,
            batch_rows=args.batch,
        )
        finished = time.perf_counter()
        with rt.db.unit_of_work() as session:
            job = session.get(Job, job_id)
            counts = (job.rows_created, job.rows_duplicate, job.rows_error, job.rows_processed)
        run = finished - submitted
        print(f"submit (store + count rows): {submitted - started:.1f} s")
        print(f"job {status}: {run:.1f} s, {args.rows / run:,.0f} rows/s")
        print("created {:,}, duplicates {:,}, errors {:,}, processed {:,}".format(*counts))
    finally:
        rt.close()
        engine = create_engine(settings.database_url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    main()
