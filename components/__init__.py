"""Custom Streamlit components of the dashboard (each in its own folder: JS, CSS and a Python wrapper)."""
