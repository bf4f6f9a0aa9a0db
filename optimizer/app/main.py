"""carbonpark's Streamlit app: the pages and their navigation (``carbonpark app``).

``carbonpark app`` runs this file with Streamlit from the installed package, and the
repository's ``app.py`` calls `main` (``streamlit run app.py``). Pages are functions in
the `optimizer.app` package, thin over the public API of `optimizer`; each runs inside
`optimizer.app.common.guarded`, so an error shows as one message, never a traceback.
The demo country's cell size comes from ``CARBONPARK_APP_CELL_KM`` (default 10 km).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import streamlit as st

from optimizer.app.common import guarded
from optimizer.app.compare_page import compare_page
from optimizer.app.data_page import data_page
from optimizer.app.export_page import export_page
from optimizer.app.frontier_page import frontier_page
from optimizer.app.gaps_page import gaps_page
from optimizer.app.plan_page import plan_page

__all__ = ["main"]


def main() -> None:
    """Run the app once (Streamlit runs the script again on every interaction)."""
    st.set_page_config(page_title="carbonpark", page_icon="🌳", layout="wide")
    pages = [
        st.Page(guarded(data_page), title="Data", url_path="data", default=True),
        st.Page(guarded(gaps_page), title="Gaps", url_path="gaps"),
        st.Page(guarded(plan_page), title="Plan", url_path="plan"),
        st.Page(guarded(compare_page), title="Compare", url_path="compare"),
        st.Page(guarded(frontier_page), title="Frontier", url_path="frontier"),
        st.Page(guarded(export_page), title="Export", url_path="export"),
    ]
    st.navigation(pages).run()


if __name__ == "__main__":  # `streamlit run` runs the file as __main__
    main()
