#!/usr/bin/env python
"""Profile pages of ``pages.py`` (cProfile, or ``--pyinstrument`` once it is pip-installed)
on a SQLite database of ``--users`` users built on the first run (``--db``) and kept after.

    .venv/bin/python benchmarks/profile_page.py --users 100000 --page "System users: first page"

The data, license and license manager are ``pages.py``'s; the database is reused as it is (a
database built by older code may need deleting). Prints each page's median CPU time of
``--repeats`` requests, then the profile of as many more.
"""

import argparse
import cProfile
import json
import pstats
import sys
import tempfile
import time
from pathlib import Path

import _support
import pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None,
                        help="the SQLite file to build or reuse (default: wl-profile-N.sqlite3 "
                             "in the temporary directory)")
    parser.add_argument("--page", action="append", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--pyinstrument", action="store_true")
    args = parser.parse_args()
    db = args.db or Path(tempfile.gettempdir()) / f"wl-profile-{args.users}.sqlite3"
    exists = db.exists()
    _support.setup_django(db, persistent=True)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    User = get_user_model()
    keys = db.with_suffix(".keys.json")
    if not exists:
        from django.conf import settings

        _support.install_license(pages.PRODUCTS, license_id="BENCH-PAGES")
        keys.write_text(json.dumps(settings.WAGTAIL_LICENSING))
        pages.build_manager()
        groups = [Group.objects.create(name=f"Bench group {i}") for i in range(5)]
        pages.add_users(0, args.users, groups)
    else:  # trust the key that signed the installed license
        from django.test import override_settings

        override_settings(WAGTAIL_LICENSING=json.loads(keys.read_text())).enable()
    manager = User.objects.get(username="bench-manager")
    group = Group.objects.get(name="Bench group 0")
    client = Client()
    client.force_login(manager)
    first = list(User.objects.filter(username__startswith="u").order_by("username")
                 .values_list("pk", flat=True)[:pages.PAGE])
    by_name = {page.name: page for page in pages.pages(first, group.pk)}
    for name in args.page:
        page = by_name[name]
        for _ in range(2):
            pages.request(client, page)
        times = []
        for _ in range(args.repeats):
            start = time.process_time()
            pages.request(client, page)
            times.append(time.process_time() - start)
        times.sort()
        print(f"{name}: median {times[len(times) // 2] * 1000:.1f} ms CPU")
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            for _ in range(args.repeats):
                pages.request(client, page)
            profiler.stop()
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        else:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.repeats):
                pages.request(client, page)
            profile.disable()
            stats = pstats.Stats(profile, stream=sys.stdout)
            stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
