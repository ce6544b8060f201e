"""The operator console (/console): sign-in, the queue, case pages, administration."""
