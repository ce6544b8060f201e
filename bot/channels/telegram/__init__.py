"""Telegram: the webhook (`routes`), the Bot API sender (`sender`) and its rate limits
(`limits`), through python-telegram-bot."""
