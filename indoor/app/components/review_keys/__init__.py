"""The Review page's keyboard helper (st.components.v2, draws nothing): Streamlit ignores keyboard shortcuts while
an input has the focus, so ``index.js`` takes the focus off a decision-form checkbox once it is clicked, and off
any field of the form on Esc; then K, P, L, ... act at once."""

from __future__ import annotations

from indoor.app.components import load

NAME = "indoor_review_keys"


def review_keys(*, key: str) -> None:
    """Mount the helper (once per page run; it installs its listeners once per browser page)."""
    load(NAME, "review_keys")(key=key, height=0)
