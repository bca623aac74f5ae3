"""The floor for a cold open: a Streamlit page with a 10-point Plotly chart and a 10-row table.

Whatever a page does, Streamlit's and Plotly's own JavaScript has to load and draw first; bench.run opens
this page once to show how much of the 3 s cold-open budget that takes on the machine it runs on.
"""

import pandas as pd
import plotly.express as px
import streamlit as st

st.set_page_config(page_title="Floor", layout="wide")
df = pd.DataFrame({"x": range(10), "y": [i * i for i in range(10)], "kind": ["a", "b"] * 5})
st.sidebar.text_input("Search")
st.sidebar.text_input("From")
st.sidebar.text_input("To")
st.title("Floor")
st.plotly_chart(px.scatter(df, x="x", y="y", color="kind"), width="stretch")
st.dataframe(df)
