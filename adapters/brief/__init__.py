"""The brief page: ``GET /brief/{token}`` (``http.py``) rendered as HTML (``page.py``) from
the core's ``bot.brief.Brief``; the page's template, style and script are package data
in ``templates/``, read with importlib.resources."""
