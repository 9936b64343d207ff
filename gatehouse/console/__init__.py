"""The web console (SPEC §12) at /console/: server-rendered pages for people, over the same
services as the API: `auth.py` (sign-in, sessions), `web.py` (what every page shares), `pages/`
(one module per area), `templates/` and `static/`."""
