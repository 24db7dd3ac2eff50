"""The menu's language entry: switch to the other language and go back to the page it was clicked from."""

from lib import ui

ui.switch_language()
