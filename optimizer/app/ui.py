"""`Ui`: what the pages draw with, given to them by the app's entry script.

The pages of `optimizer.app` never import Streamlit: the library does not depend on the app
framework. The repository's top-level ``app.py`` (the one script that imports ``streamlit``;
``streamlit run app.py``, and ``carbonpark app`` runs it from an installed package) passes
the ``streamlit`` module to `optimizer.app.main.main`, which passes it on to every page and
helper as their first argument, ``st``. `Ui` names the part of Streamlit's API they use, so
a test may pass an object of its own with the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Ui"]


class Ui(Protocol):
    """The ``streamlit`` module, or an object with its API, as the pages use it.

    Every name is Streamlit's own (``st.title``, ``st.session_state``, ...), with its
    signature and behaviour; a page reaches Streamlit only through the ``st`` it is given.

    Examples
    --------
    >>> import types
    >>> fake = types.SimpleNamespace(title=print)
    >>> def page(st: Ui) -> None:
    ...     st.title("Data")
    >>> page(fake)
    Data
    """

    # The session's state, navigation and layout (caches are not Streamlit's: `optimizer.app.cache`).
    session_state: Any
    sidebar: Any
    column_config: Any
    set_page_config: Callable[..., Any]
    navigation: Callable[..., Any]
    switch_page: Callable[..., Any]
    columns: Callable[..., Any]
    tabs: Callable[..., Any]
    expander: Callable[..., Any]
    spinner: Callable[..., Any]
    fragment: Callable[..., Any]
    rerun: Callable[..., Any]
    form_submit_button: Callable[..., Any]
    # Text and messages.
    title: Callable[..., Any]
    subheader: Callable[..., Any]
    markdown: Callable[..., Any]
    caption: Callable[..., Any]
    code: Callable[..., Any]
    html: Callable[..., Any]
    info: Callable[..., Any]
    success: Callable[..., Any]
    error: Callable[..., Any]
    warning: Callable[..., Any]
    # Data, figures and charts.
    dataframe: Callable[..., Any]
    image: Callable[..., Any]
    altair_chart: Callable[..., Any]
    pydeck_chart: Callable[..., Any]
    # Controls.
    button: Callable[..., Any]
    download_button: Callable[..., Any]
    checkbox: Callable[..., Any]
    radio: Callable[..., Any]
    selectbox: Callable[..., Any]
    multiselect: Callable[..., Any]
    slider: Callable[..., Any]
    text_input: Callable[..., Any]
    file_uploader: Callable[..., Any]

    @property
    def Page(self) -> Callable[..., Any]:  # noqa: N802 - Streamlit's name (a class)
        """``st.Page``: a page of the navigation."""
