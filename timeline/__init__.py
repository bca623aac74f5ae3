"""Event Timeline: time-stamped event rows in, an interactive timeline out."""
