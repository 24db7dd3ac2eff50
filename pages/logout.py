"""The menu's logout entry: sign out and show the page it was clicked from (its login form)."""

from lib import ui

ui.log_out()
