"""The one delivery path: every outgoing Telegram request goes through here.

- `throttle.TelegramThrottle`: the PTB rate limiter installed on the Application (all requests).
- `outbox`: domain functions that queue messages as rows of `outgoing_messages`.
- `sender.OutboxSender`: sends those rows, exactly once barring a crash mid-request.
"""
