"""The web console (SPEC §12) at /console/: server-rendered pages for people, over the same
services as the API. This package: sign-in and sessions, the security desk."""
