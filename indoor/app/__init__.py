"""The Streamlit app layer: the only part of ``indoor`` that imports Streamlit."""
