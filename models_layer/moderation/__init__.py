"""Moderation: the content policies of this deployment and the one service every way in and out uses."""
