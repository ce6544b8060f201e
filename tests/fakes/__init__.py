"""Local stand-ins for providers' APIs (Telegram Bot API, Twilio, WhatsApp Graph), served on
loopback by real HTTP servers so the real client libraries talk to them."""
