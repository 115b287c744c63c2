"""Error analyses: pure functions of the cache's arrays and DataFrames (no I/O, no Streamlit), one module per
question. :mod:`.tables` runs the ones a build stores."""
