"""carbonpark's Streamlit app: ``streamlit run app.py`` (``make app``; ``carbonpark app``).

The one file of carbonpark that imports Streamlit: the pages (`optimizer.app`) are given
the ``streamlit`` module as ``st`` (`optimizer.app.main.main`), so the library never
depends on the app framework. A wheel ships this very file as
``optimizer/app/entry/app.py`` (pyproject.toml's package-dir), which ``carbonpark app``
runs from an installed package.
"""

import streamlit as st

from optimizer.app.main import main

main(st)
