"""Event Timeline page: lays out widgets and calls timeline/ (placeholder until the dashboard issue)."""

from __future__ import annotations

import streamlit as st

from timeline import bundled, schema, store

st.set_page_config(page_title="Event Timeline", layout="wide")
st.title("Event Timeline")

datasets = store.list_datasets()
if not datasets:
    st.info("No datasets yet. Import one with `python -m timeline import FILE`.")
    st.stop()

ids = [d.dataset_id for d in datasets]
default = ids.index(bundled.DATASET_ID) if bundled.DATASET_ID in ids else 0
dataset_id = st.sidebar.selectbox("Dataset", ids, index=default)
events = store.load(dataset_id).to_pandas()
st.caption(f"Showing {len(events)} of {len(events)} events")
st.dataframe(events[[c for c in schema.COLUMN_NAMES if c != schema.EXTRA]], hide_index=True)
