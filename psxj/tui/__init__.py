"""The Textual interface: the only part of psxj that imports Textual."""
