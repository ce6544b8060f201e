"""Message catalogs (`<lang>/LC_MESSAGES/messages.po`) and voice recordings, as package data."""
