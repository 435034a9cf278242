"""The bot's one web server (aiohttp): the Telegram webhook, `/healthz` and the organisers' dashboard.

- `web.server`: the server itself, attached to an application and started by a lifecycle step.
- `web.dashboard`: the dashboard pages, sign-in and CSV exports (server-rendered, French and English).
- `web.charts`: SVG charts rendered on the server. `web.exports`: CSV that spreadsheets read right.
- `web.runner`: run the application in webhook mode (no PTB updater).
- `web/templates/`, `web/static/`: Jinja2 templates (autoescaped) and local CSS/JS (no CDN).
"""
