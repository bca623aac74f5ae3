"""The naive peer: the tutorial Streamlit app a user writes for an events file, plainly.

`BENCH_PARQUET=events.parquet streamlit run bench/naive_app.py`. It reads the same canonical events the
project stores, filters them with an actor multiselect, a from/to window and a search box, and draws every
filtered event with px.scatter plus the whole filtered table. No caching beyond st.cache_data on the load.
"""

import os

import pandas as pd
import plotly.express as px
import streamlit as st

st.set_page_config(page_title="Events", layout="wide")


@st.cache_data
def load_data(path):
    return pd.read_parquet(path)


df = load_data(os.environ["BENCH_PARQUET"])

st.title("Events")
actors = st.sidebar.multiselect("Actor", sorted(df["actor"].unique()))
start = st.sidebar.text_input("From")
end = st.sidebar.text_input("To")
search = st.sidebar.text_input("Search")

filtered = df
if actors:
    filtered = filtered[filtered["actor"].isin(actors)]
if start:
    filtered = filtered[filtered["timestamp"] >= pd.Timestamp(start, tz="UTC")]
if end:
    filtered = filtered[filtered["timestamp"] < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)]
if search:
    filtered = filtered[
        filtered["title"].str.contains(search, case=False, na=False)
        | filtered["description"].str.contains(search, case=False, na=False)
    ]

st.write(f"Showing {len(filtered)} of {len(df)} events")
fig = px.scatter(
    filtered,
    x="timestamp",
    y="actor",
    color="event_type",
    hover_data=["title", "source_name"],
    height=800,
)
st.plotly_chart(fig, width="stretch")
st.dataframe(filtered)
