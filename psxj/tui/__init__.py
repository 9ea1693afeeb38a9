"""The Textual interface: the only part of psxj that imports Textual, at the top of the pipeline beside the
command line and the browser view, and imported by neither below. app.py composes the main screen
(main_screen.py) of features, one module each (feature.py says what a feature is)."""
