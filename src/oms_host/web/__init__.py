"""The order desk's web UI: server-rendered Jinja2 pages, a little vanilla JS, no build step.

Pages call the same desk functions as the JSON API; the order entry page's
live price and availability call the API itself (``/api/quote``,
``/api/availability``) with the login cookie. Replace this package with your own
front end and keep the API: see ``docs/host-app.md``.
"""

from .routes import install_ui

__all__ = ["install_ui"]
