#!/usr/bin/env python3

# Issue a month, print the ten largest bills, retry the dead letters.
#   python3 month_report.py 2026-10      (settings: ./.env and the environment)
import heapq
import sys

import billing

month = sys.argv[1] if len(sys.argv) > 1 else "2026-10"
with billing.connect() as ctx:
    try:
        run_id = ctx.batch_run(month, progress=lambda p: print(
            f"\r{p['processed']:,}/{p['total']:,} subscribers", end="", flush=True))
    except billing.Conflict as e:          # another run of the month is active
        sys.exit(f"cannot issue {month}: {e}")
    st = ctx.batch_status(run_id)
    print(f"\nissued {st['issued']} statements ({st['skipped']} had one, "
          f"{st['failed']} failed) in run #{run_id}")

    top = heapq.nlargest(10, ctx.statements(month), key=lambda s: s["billed_amount"])
    for rank, s in enumerate(top, 1):
        print(f"{rank:3}. subscriber {s['user_id']:<8} {s['billed_amount']:>12,} won")

    # dead letters go back to WAITING; billing-worker sends them again
    print(f"retried {ctx.message_retry_filter(status='DEAD')} dead letters")
