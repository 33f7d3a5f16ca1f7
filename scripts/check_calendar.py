#!/usr/bin/env python3
"""Compare our working-day calendar with an independent record, day by day.

Every date from 2020-01-01 to 2026-12-31 is classified as workday / restday / holiday (with the
holiday's name) from our data and from the `chinesecalendar` package (PyPI), which is maintained
independently from the same State Council notices. Any disagreement is printed; fix it by reading
the notice's text, never by copying the other side.

How to run (Python 3.11+; not part of CI, which must not depend on pip):

    pip install chinesecalendar            # its data covers up to 2026
    python3 scripts/check_calendar.py                      # reads data/calendar/*.toml
    python3 scripts/check_calendar.py --cli target/debug/yichuang --database sqlite:///tmp/cal.db
                                                           # reads `yichuang calendar days` output,
                                                           # i.e. what the database really holds

Exit status 0 when every date agrees, 1 otherwise.
"""

import argparse
import datetime as dt
import pathlib
import subprocess
import sys
import tomllib

FIRST = dt.date(2020, 1, 1)
LAST = dt.date(2026, 12, 31)
ROOT = pathlib.Path(__file__).resolve().parent.parent

# chinesecalendar names holidays in English; ours are the notices' Chinese names.
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
}


def days(first, last):
    d = first
    while d <= last:
        yield d
        d += dt.timedelta(days=1)


def as_date(v):
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(v)


def ours_from_files():
    """Weekends are rest days; each year's file is applied in year order, so a later notice
    (e.g. the 2023 notice making 2022-12-31 a holiday) overrides an earlier one (R-CALENDAR)."""
    out = {}
    for d in days(FIRST - dt.timedelta(days=31), LAST + dt.timedelta(days=31)):
        out[d] = ("restday" if d.weekday() >= 5 else "workday", None)
    for path in sorted((ROOT / "data" / "calendar").glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for h in data.get("holidays", []):
            for d in days(as_date(h["from"]), as_date(h["to"])):
                out[d] = ("holiday", h["name"])
        for w in data.get("workdays", []):
            out[as_date(w["date"])] = ("workday", None)
    return out


def ours_from_cli(binary, database):
    cmd = [binary, "calendar", "days", "--from", FIRST.isoformat(), "--to", LAST.isoformat()]
    if database:
        cmd += ["--database", database]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    out = {}
    for line in text.splitlines():
        cols = line.split("\t")
        d = dt.date.fromisoformat(cols[0])
        if "unofficial" in cols[2:]:
            print(f"{d}: our calendar has no loaded arrangement for {d.year}")
        name = cols[2] if len(cols) > 2 and cols[2] != "unofficial" else None
        out[d] = (cols[1], name)
    return out


def theirs(d):
    import chinese_calendar as cc

    if cc.is_workday(d):
        return ("workday", None)
    on_holiday, name = cc.get_holiday_detail(d)
    if on_holiday and name is not None:
        return ("holiday", NAMES.get(str(name), str(name)))
    return ("restday", None)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cli", help="path of the yichuang binary; default: read data/calendar/*.toml")
    p.add_argument("--database", help="database URL passed to the binary")
    a = p.parse_args()
    ours = ours_from_cli(a.cli, a.database) if a.cli else ours_from_files()
    bad = 0
    for d in days(FIRST, LAST):
        mine, other = ours.get(d), theirs(d)
        if mine != other:
            bad += 1
            print(f"{d} ({d.strftime('%a')}): ours {mine}, chinesecalendar {other}")
    total = (LAST - FIRST).days + 1
    print(f"{total - bad} passed, {bad} failed")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
