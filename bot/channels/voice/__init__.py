"""The voice hotline over Twilio Voice: keypad (and speech) menus answered in TwiML.

`routes` holds the webhooks, `ivr` the menus, `prompts` what the caller hears (spoken, recorded
or neither), `calls` the Call records kept for reports.
"""

from bot.channels.voice.routes import router

__all__ = ["router"]
