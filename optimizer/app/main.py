"""carbonpark's Streamlit app: the pages and their navigation.

The repository's top-level ``app.py`` is the app's one script, and the one file that
imports Streamlit: it calls ``main(st)`` with the ``streamlit`` module (``streamlit run
app.py`` in a checkout; ``carbonpark app`` runs the same script from an installed package,
where it is ``optimizer/app/entry/app.py``). Nothing in `optimizer` imports Streamlit:
`main` passes the module it is given, ``st`` (`optimizer.app.ui.Ui`), to every page. Pages
are functions ``page(st)`` in the `optimizer.app` package, thin over the public API of
`optimizer`; each runs inside `optimizer.app.common.guarded`, so an error shows as one
message, never a traceback. The demo country's cell size comes from
``CARBONPARK_APP_CELL_KM`` (default 10 km).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from optimizer.app import state
from optimizer.app.common import guarded
from optimizer.app.compare_page import compare_page
from optimizer.app.data_page import data_page
from optimizer.app.export_page import export_page
from optimizer.app.frontier_page import frontier_page
from optimizer.app.gaps_page import gaps_page
from optimizer.app.plan_page import plan_page
from optimizer.app.ui import Ui

__all__ = ["PAGES", "main"]

#: The pages in the order of the navigation: (title, URL path, page function). Each opens at
#: its own URL (``/data``, ``/plan``, ...); the root URL opens the first.
PAGES = (("Data", "data", data_page), ("Gaps", "gaps", gaps_page), ("Plan", "plan", plan_page),
         ("Compare", "compare", compare_page), ("Frontier", "frontier", frontier_page),
         ("Export", "export", export_page))


def main(st: Ui) -> None:
    """Run the app once with the Streamlit module ``st`` (Streamlit runs the script again on
    every interaction)."""
    st.set_page_config(page_title="carbonpark", page_icon="🌳", layout="wide")
    state.keep(st)  # every control keeps its value on pages that do not draw it
    pages = [st.Page(guarded(st, page), title=title, url_path=path) for title, path, page in PAGES]

    def start() -> None:  # the app's root URL opens the first page at its own URL
        st.switch_page(pages[0])

    root = st.Page(start, title=PAGES[0][0], url_path="start", default=True, visibility="hidden")
    st.navigation([root, *pages]).run()
