"""The page server: dashboard.py behind the security headers, on a seeded store.

`make run` and the systemd unit start it as `streamlit run serve.py`: Streamlit finds `app` below and serves
it, with every `--server.*` option and STREAMLIT_* variable as for dashboard.py (`uvicorn serve:app` serves
it too). The headers and the store are configured by the environment (README, "Running it for a team").
"""

import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware

from timeline import server
from timeline.errors import TimelineError

try:
    headers = server.security_headers()
    server.seed_store()
except (TimelineError, OSError) as error:
    sys.exit(f"event-timeline: cannot start: {error}")

app = st.App(
    Path(__file__).with_name("dashboard.py"),
    routes=[server.download_route()],
    middleware=[Middleware(server.SecurityHeaders, headers=headers)],
)
