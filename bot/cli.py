"""Command line: `hackbot run | check-config | db upgrade | simulator | demo` (also `python -m bot`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bot.settings import OFFICIAL_API_URL, Settings, SettingsError, load_settings
from schedule.config import EventConfig
from schedule.loader import ConfigError, load_event_config

log = logging.getLogger("hackbot")

EXIT_OK = 0
EXIT_CONFIG = 2


def configure_logging(level: str) -> None:
    """Readable logs; httpx's request lines are silenced because their URLs contain the bot token."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _fail(message: str) -> int:
    sys.stderr.write(f"hackbot: {message}\n")
    return EXIT_CONFIG


def _load_event(path: Path, rehearse_at: datetime | None = None) -> EventConfig:
    event = load_event_config(path)
    return event.shifted_to(rehearse_at) if rehearse_at is not None else event


def _parse_rehearsal_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time: {value!r} (e.g. 2026-11-30T18:00)") from None
    return moment


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate an event file and print each problem with its path (`--online`: and ask Telegram)."""
    try:
        event = load_event_config(args.file)
    except ConfigError as exc:
        sys.stderr.write(f"{exc.path}: {len(exc.errors)} problem(s)\n")
        for error in exc.errors:
            sys.stderr.write(f"  {error}\n")
        return EXIT_CONFIG
    sys.stdout.write(
        f"{args.file}: OK ({len(event.programme)} programme items, {len(event.challenges)} challenges, "
        f"{len(event.meals)} meals)\n"
    )
    if getattr(args, "online", False):
        return _check_online(event)
    return EXIT_OK


def _check_online(event: EventConfig) -> int:
    """Ask Telegram what the file cannot say (token, staff group rights, organisers reachable)."""
    import asyncio

    from bot.online_check import check_online

    username, problems = asyncio.run(check_online(load_settings(), event))
    for problem in problems:
        sys.stderr.write(f"  {problem}\n")
    if problems:
        sys.stderr.write(f"online: {len(problems)} problem(s)\n")
        return EXIT_CONFIG
    sys.stdout.write(f"online: OK (bot @{username}: staff group and organisers reachable)\n")
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply database migrations."""
    from models.migrate import upgrade_sync

    settings = load_settings()
    configure_logging(settings.log_level)
    upgrade_sync(settings.database_url, schema=settings.database_schema)
    log.info("database is up to date")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot with long polling."""
    settings = load_settings()
    configure_logging(settings.log_level)
    token_ok = settings.bot_token()  # fail early, with one line, before touching anything else
    del token_ok
    rehearse_at = args.rehearse_at
    if rehearse_at is not None and rehearse_at.tzinfo is None:
        event_tz = load_event_config(settings.event_config).tz
        rehearse_at = rehearse_at.replace(tzinfo=event_tz)
    event = _load_event(settings.event_config, rehearse_at)
    if rehearse_at is not None:
        log.info("rehearsal: programme shifted to start at %s", event.start.isoformat())
    return run_bot(settings, event, webhook=bool(getattr(args, "webhook", False)) or settings.webhook_mode)


def run_bot(settings: Settings, event: EventConfig, *, webhook: bool = False) -> int:
    """Migrate the database, then poll Telegram (or receive webhooks) until interrupted.

    The web server (dashboard, `/healthz`, and in webhook mode the webhook) runs alongside.
    """
    from bot.app import build_application
    from models.migrate import upgrade_sync
    from web.server import ALLOWED_UPDATES, attach

    if webhook and not settings.webhook_url and settings.telegram_api_url == OFFICIAL_API_URL:
        raise SettingsError(
            "WEBHOOK_URL is not set: webhook mode needs the public HTTPS address Telegram posts to"
        )
    upgrade_sync(settings.database_url, schema=settings.database_schema)
    if webhook:
        from web.runner import run_webhook

        run_webhook(settings, event)
        return EXIT_OK
    application = build_application(settings, event)
    if settings.dashboard_enabled:
        attach(application, webhook=False)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return EXIT_OK


def cmd_reload(args: argparse.Namespace) -> int:
    """Check the event file, then ask the running bot to reload it (SIGHUP via its pid file)."""
    from schedule.reload import request_reload

    ok, message = request_reload(load_settings())
    (sys.stdout if ok else sys.stderr).write(f"hackbot: {message}\n")
    return EXIT_OK if ok else EXIT_CONFIG


def cmd_simulator(args: argparse.Namespace) -> int:
    """Run the local Bot API simulator."""
    from simulator.__main__ import main as simulator_main

    return simulator_main(args.simulator_args)


def cmd_demo(args: argparse.Namespace) -> int:
    """Rehearse the event in a browser: the bot, a simulated Telegram and a web chat (no token needed)."""
    import asyncio

    from bot.demo import DemoError, run_demo

    settings = load_settings()
    # The rehearsal's banner (address, times) must not scroll away under routine log lines: unless
    # LOG_LEVEL asks for them, only warnings and errors are printed.
    configure_logging(settings.log_level if "log_level" in settings.model_fields_set else "WARNING")
    event = load_event_config(args.event or settings.event_config)
    starts_in = timedelta(minutes=args.starts_in) if args.starts_in is not None else None
    try:
        asyncio.run(
            run_demo(
                settings,
                event,
                host=args.host,
                port=args.port,
                starts_in=starts_in,
                from_item=args.from_item,
                out=sys.stdout,
            )
        )
    except DemoError as exc:
        return _fail(str(exc))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the impact report (PDF, and the same page as HTML beside it)."""
    import asyncio

    from bot.after_event import report_files, write_report

    settings = load_settings()
    configure_logging(settings.log_level)
    pdf, html = asyncio.run(report_files(settings, load_event_config(settings.event_config)))
    page = write_report(pdf, html, args.out)
    sys.stdout.write(f"report written to {args.out} (and {page})\n")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete personal data now (`--dry-run`: only say what would go)."""
    import asyncio

    from bot.after_event import describe_plan, dry_run, purge_now

    settings = load_settings()
    configure_logging(settings.log_level)
    event = load_event_config(settings.event_config)
    if args.dry_run:
        sys.stdout.write("\n".join(describe_plan(asyncio.run(dry_run(settings, event)))) + "\n")
        return EXIT_OK
    progress = asyncio.run(purge_now(settings, event))
    sys.stdout.write(
        f"personal data deleted: {progress.participants_erased} participant(s), "
        f"{progress.rows_erased} record(s); the report's figures are kept\n"
    )
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Write the archive of the event (CSV files and the report) before the purge."""
    import asyncio

    from bot.after_event import archive

    settings = load_settings()
    configure_logging(settings.log_level)
    args.out.write_bytes(asyncio.run(archive(settings, load_event_config(settings.event_config))))
    sys.stdout.write(f"archive written to {args.out}\n")
    return EXIT_OK


def cmd_badges(args: argparse.Namespace) -> int:
    """Write the printable badges of every registered participant (A4 PDF, 8 per page)."""
    import asyncio

    settings = load_settings()
    configure_logging(settings.log_level)
    event = load_event_config(settings.event_config)
    args.out.write_bytes(asyncio.run(_badges(settings, event, args.bot_username)))
    sys.stdout.write(f"badges written to {args.out}\n")
    return EXIT_OK


async def _badges(settings: Settings, event: EventConfig, bot_username: str | None) -> bytes:
    from telegram import Bot

    from bot.badges import event_badges_pdf
    from bot.i18n import Catalog
    from models.db import Database

    if bot_username is None:  # the QR codes name the bot: ask Telegram who we are
        async with Bot(settings.bot_token(), base_url=settings.bot_api_base_url) as bot:
            bot_username = bot.username
    db = Database(settings.database_url, schema=settings.database_schema)
    try:
        catalog = Catalog.load(default_language=event.default_language)
        return await event_badges_pdf(db, event, catalog, bot_username)
    finally:
        await db.dispose()


def build_parser() -> argparse.ArgumentParser:
    """The `hackbot` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hackbot", description="Telegram assistant for community hackathons"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run the bot (long polling)")
    run.add_argument(
        "--rehearse-at",
        type=_parse_rehearsal_time,
        default=None,
        help="shift the programme so that it starts at this moment (event timezone if none given)",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook (WEBHOOK_URL, WEBHOOK_SECRET) instead of long polling",
    )
    run.set_defaults(handler=cmd_run)

    check = commands.add_parser("check-config", help="validate an event file")
    check.add_argument("file", type=Path)
    check.add_argument(
        "--online",
        action="store_true",
        help="also ask Telegram: the token, the bot's rights in the staff group, organisers reachable",
    )
    check.set_defaults(handler=cmd_check_config)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply migrations").set_defaults(handler=cmd_db_upgrade)

    reload = commands.add_parser("reload", help="re-read the event file in the running bot")
    reload.set_defaults(handler=cmd_reload)

    sim = commands.add_parser("simulator", help="run the local Bot API simulator", add_help=False)
    sim.add_argument("simulator_args", nargs=argparse.REMAINDER)
    sim.set_defaults(handler=cmd_simulator)

    report = commands.add_parser("report", help="write the impact report (PDF and HTML)")
    report.add_argument("--out", type=Path, default=Path("report.pdf"), help="PDF file (default report.pdf)")
    report.set_defaults(handler=cmd_report)

    purge = commands.add_parser("purge", help="delete personal data now (the report's figures are kept)")
    purge.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    purge.set_defaults(handler=cmd_purge)

    export = commands.add_parser("export", help="write the archive: CSV files and the report, in a zip")
    export.add_argument("--out", type=Path, default=Path("archive.zip"), help="zip (default archive.zip)")
    export.set_defaults(handler=cmd_export)

    badges = commands.add_parser("badges", help="write the printable badges (A4 PDF with QR codes)")
    badges.add_argument("--out", type=Path, default=Path("badges.pdf"), help="PDF file (default badges.pdf)")
    badges.add_argument(
        "--bot-username", default=None, help="the bot's username for the QR links (default: ask Telegram)"
    )
    badges.set_defaults(handler=cmd_badges)

    demo = commands.add_parser(
        "demo", help="rehearse the event in a browser, without Telegram (bot + simulator + web chat)"
    )
    demo.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8088, help="port of the page (default 8088; busy: any)")
    demo.add_argument(
        "--starts-in",
        type=float,
        default=None,
        metavar="MINUTES",
        help="start the programme in this many minutes (default: its first reminder 3 minutes from now)",
    )
    demo.add_argument(
        "--from", dest="from_item", default=None, metavar="ITEM", help="rehearse from this programme item id"
    )
    demo.add_argument("--event", type=Path, default=None, help="event file (default: EVENT_CONFIG)")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `hackbot` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SettingsError as exc:
        return _fail(str(exc))
    except ConfigError as exc:
        return _fail(f"{exc.path}: " + "; ".join(exc.errors))
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
