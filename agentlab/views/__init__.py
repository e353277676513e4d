"""Views: what a person looks at — charts, written reports, safe HTML and notebook widgets.

``charts`` draws one question per function and returns a matplotlib Figure; ``_names`` gives
every variant one short label and one colour; ``report`` writes a run's summary, tables and
charts to a folder; ``_html`` renders untrusted model output as escaped HTML; ``widgets`` holds
the prompt playground and the results browser (ipywidgets), which only call library functions.
"""
