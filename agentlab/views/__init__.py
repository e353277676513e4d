"""Views: what a person looks at — charts, written reports, safe HTML and notebook widgets.

``charts`` draws one question per function and returns a matplotlib Figure; ``_names`` gives
every variant one short label and one colour; ``report`` writes a run's summary, tables and
charts to a folder; ``_html`` renders untrusted model output as escaped HTML (``_diff`` the
prompt diffs); ``widgets`` is the public face of the prompt playground (``_playground``, with
``_taskpicker`` and the result tabs in ``_tabs``) and the results browser (``_browser``), which
share the Responses view of ``_responses`` and only call library functions.
"""
