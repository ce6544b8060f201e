"""The voice hotline over Twilio Voice: keypad (and speech) menus answered in TwiML.

`routes` holds the webhooks, `ivr` the menus, `prompts` what the caller hears (spoken, recorded
or neither), `calls` the Call records kept for reports, `taking` an operator taking a waiting
caller from the console.
"""

from fastapi import APIRouter

from bot.channels.voice import routes, taking

router = APIRouter()
# taking's fixed paths first: the menus' /{step} would answer them otherwise
router.include_router(taking.router)
router.include_router(routes.router)

__all__ = ["router"]
