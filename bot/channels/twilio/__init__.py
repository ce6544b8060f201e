"""Twilio: SMS and WhatsApp through Programmable Messaging (`routes` for the webhooks,
`sender` for the outbox, `segments` for SMS lengths), the signature check (`auth`) and the
REST client (`client`) that the voice line shares."""
