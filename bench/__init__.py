"""Benchmarks: Event Timeline against plain pyarrow and the tutorial Streamlit app (`python -m bench.run`)."""
