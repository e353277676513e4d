"""Order queries used by the reporting endpoints (asyncpg, raw SQL)."""

from datetime import date

import asyncpg

# Table: orders(id bigserial pk, customer_id bigint, status text, total numeric,
#               created_at timestamptz, region text)  -- ~40M rows, no secondary indexes
# EXPLAIN ANALYZE of search_orders(status='paid', region='eu', start, end):
#   Seq Scan on orders  (cost=0.00..1093412.00 rows=51200 width=64) (actual time=0.04..8123.55)
#     Filter: ((status = 'paid') AND (region = 'eu') AND (created_at >= ...) AND (created_at < ...))
#     Rows Removed by Filter: 39948800


async def search_orders(
    conn: asyncpg.Connection,
    status: str | None,
    region: str | None,
    start: date,
    end: date,
) -> list[asyncpg.Record]:
    sql = "SELECT id, customer_id, status, total, created_at FROM orders WHERE created_at >= $1 AND created_at < $2"
    args: list[object] = [start, end]
    if status is not None:
        args.append(status)
        sql += f" AND status = ${len(args)}"
    if region is not None:
        args.append(region)
        sql += f" AND region = ${len(args)}"
    sql += " ORDER BY created_at DESC"
    return await conn.fetch(sql, *args)
