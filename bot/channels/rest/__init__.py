"""The REST channel: a JSON webhook in the shape of Rasa's REST channel (channel `rest`)."""
